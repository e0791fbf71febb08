package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/idemgen/idemgen/bench/contender"
)

// child is one contender server process.
type child struct {
	name    string
	url     string // the endpoint the load generator posts to
	control string // base URL of the control server
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	ctl     *http.Client
}

// startChild starts `benchcompare serve` for contender name and waits for it to
// be ready. With cpu >= 0 the child is pinned to that CPU (taskset), so the
// server gets one core and the load generator the other.
func startChild(ctx context.Context, name, id string, env contender.Env, cpu int) (*child, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	args := []string{exe, "serve", "-contender", name, "-id", id,
		"-redis", env.RedisURL, "-postgres", env.PostgresURL, "-sqlite", env.SQLitePath}
	if cpu >= 0 {
		args = append([]string{"taskset", "-c", strconv.Itoa(cpu)}, args...)
	}
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &child{name: name, cmd: cmd, stdin: stdin, ctl: &http.Client{Timeout: 30 * time.Second}}
	ready := make(chan error, 1)
	go func() {
		line, err := bufio.NewReader(stdout).ReadString('\n')
		if err != nil {
			ready <- fmt.Errorf("contender %s exited before it was ready", name)
			return
		}
		f := strings.Fields(line)
		if len(f) != 3 || f[0] != "READY" {
			ready <- fmt.Errorf("contender %s: unexpected %q", name, line)
			return
		}
		c.url = "http://" + f[1] + "/payments"
		c.control = "http://" + f[2]
		ready <- nil
	}()
	select {
	case err = <-ready:
	case <-time.After(60 * time.Second):
		err = fmt.Errorf("contender %s: not ready after 60s", name)
	}
	if err != nil {
		c.stop()
		return nil, err
	}
	return c, nil
}

// stop closes the child's standard input (its signal to exit) and waits.
func (c *child) stop() {
	c.stdin.Close()
	done := make(chan struct{})
	go func() {
		_ = c.cmd.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = c.cmd.Process.Kill()
		<-done
	}
}

func (c *child) reset(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.control+"/reset", nil)
	if err != nil {
		return err
	}
	resp, err := c.ctl.Do(req)
	if err != nil {
		return fmt.Errorf("contender %s: reset: %w", c.name, err)
	}
	resp.Body.Close()
	return nil
}

func (c *child) get(ctx context.Context, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.control+path, nil)
	if err != nil {
		return err
	}
	resp, err := c.ctl.Do(req)
	if err != nil {
		return fmt.Errorf("contender %s: %s: %w", c.name, path, err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return fmt.Errorf("contender %s: %s: %w", c.name, path, err)
	}
	return nil
}

func (c *child) stats(ctx context.Context) (procStats, error) {
	var s procStats
	err := c.get(ctx, "/stats", &s)
	return s, err
}

func (c *child) keys(ctx context.Context) (map[string]uint32, error) {
	var m map[string]uint32
	err := c.get(ctx, "/keys", &m)
	return m, err
}

// profile saves a CPU profile of the child over d to path.
func (c *child) profile(ctx context.Context, d time.Duration, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", c.control, int(d.Seconds())), nil)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Timeout: d + 30*time.Second}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
