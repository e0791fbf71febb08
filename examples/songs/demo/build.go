package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// repoRoot returns the root of the idemgen checkout: the directory of the go.mod
// that the go command uses for the current directory.
func repoRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("run the demo inside the idemgen checkout (make demo)")
	}
	return filepath.Dir(gomod), nil
}

// goBuild builds pkg (relative to root) into the binary out, with overlay (a
// go build -overlay file) when it is not empty.
func goBuild(ctx context.Context, root, pkg, out, overlay string) error {
	args := []string{"build", "-o", out}
	if overlay != "" {
		args = append(args, "-overlay", overlay)
	}
	args = append(args, pkg)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build %s: %w\n%s", pkg, err, stderr.Bytes())
	}
	return nil
}

// regenerate runs the idemgen binary on the songs spec into a fresh directory
// and returns an overlay that puts the fresh files in place of the committed
// ones in api/ (deleting committed *_gen.go files that are no longer
// generated), plus the names of the files whose content changed.
func regenerate(ctx context.Context, idemgen, root, tmp string) (overlay string, changed []string, err error) {
	example := filepath.Join(root, "examples", "songs")
	outDir := filepath.Join(tmp, "api")
	cmd := exec.CommandContext(ctx, idemgen, "generate",
		"--spec", filepath.Join(example, "openapi.yaml"), "--out", outDir, "--package", "api")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.Stdout = io.Discard
	if err := cmd.Run(); err != nil {
		return "", nil, fmt.Errorf("idemgen generate: %w\n%s", err, stderr.Bytes())
	}
	fresh, err := filepath.Glob(filepath.Join(outDir, "*.go"))
	if err != nil {
		return "", nil, err
	}
	committed, err := filepath.Glob(filepath.Join(example, "api", "*_gen.go"))
	if err != nil {
		return "", nil, err
	}
	replace := make(map[string]string)
	for _, f := range committed {
		replace[f] = "" // deleted unless generated again
	}
	for _, f := range fresh {
		target := filepath.Join(example, "api", filepath.Base(f))
		replace[target] = f
		old, err := os.ReadFile(target)
		now, err2 := os.ReadFile(f)
		if err != nil || err2 != nil || !bytes.Equal(old, now) {
			changed = append(changed, filepath.Base(f))
		}
	}
	for f, to := range replace {
		if to == "" {
			changed = append(changed, filepath.Base(f)+" (removed)")
		}
	}
	slices.Sort(changed)
	b, err := json.Marshal(map[string]any{"Replace": replace})
	if err != nil {
		return "", nil, err
	}
	overlay = filepath.Join(tmp, "overlay.json")
	return overlay, changed, os.WriteFile(overlay, b, 0o644)
}

// server is the songs server running as a child process.
type server struct {
	cmd  *exec.Cmd
	addr string
	done chan error
	logs bytes.Buffer // its stderr, shown when something fails
}

// startServer runs the songs binary on a free loopback port with the store URL
// and extra flags, and waits for its "listening on" line.
func startServer(ctx context.Context, bin, storeURL string, extra ...string) (*server, error) {
	s := &server{done: make(chan error, 1)}
	s.cmd = exec.Command(bin, append([]string{"-addr", "127.0.0.1:0", "-store", storeURL}, extra...)...)
	s.cmd.Stderr = &s.logs
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if addr, ok := strings.CutPrefix(sc.Text(), "listening on http://"); ok {
				lines <- addr
			}
		}
		close(lines)
		s.done <- s.cmd.Wait()
	}()
	select {
	case addr, ok := <-lines:
		if !ok {
			return nil, fmt.Errorf("songs server exited before listening:\n%s", s.logs.String())
		}
		s.addr = addr
		return s, nil
	case <-time.After(30 * time.Second):
		s.stop()
		return nil, errors.New("songs server did not start within 30s")
	case <-ctx.Done():
		s.stop()
		return nil, ctx.Err()
	}
}

// stop interrupts the server, waits for it to exit (killing it after 5s) and
// returns its exit error, if any.
func (s *server) stop() error {
	_ = s.cmd.Process.Signal(os.Interrupt)
	select {
	case err := <-s.done:
		return err
	case <-time.After(5 * time.Second):
		_ = s.cmd.Process.Kill()
		return errors.New("songs server did not stop within 5s; killed")
	}
}
