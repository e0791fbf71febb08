// Package toolcmp runs command-line tools for comparison: wall time and peak
// RSS of each run (medians over repeats), the OpenAPI corpus, pinned installs
// of the peer tools, and scratch Go modules that check whether generated code
// compiles.
package toolcmp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Cmd is one command to run.
type Cmd struct {
	Dir  string
	Env  []string // added to the environment
	Path string
	Args []string
	// Stdout receives standard output; nil keeps it in Run.Stdout.
	Stdout io.Writer
}

// Run is the outcome of one command.
type Run struct {
	Wall time.Duration
	// CPU is the user and system time of the command and of the processes it
	// waited for (what a loaded machine does not inflate the way it does Wall).
	CPU       time.Duration
	MaxRSSKiB int64
	Stdout    []byte
	Stderr    []byte
	// ExitCode is the exit status (-1 when the command did not start or was killed).
	ExitCode int
	// Err is a failure to start or wait, nil for any exit status.
	Err error
}

// Exec runs c and measures it.
//
// Peak RSS comes from GNU time (/usr/bin/time -f %M) when it is installed:
// Linux counts, in a process's maxrss, the memory of the process it was
// forked from until its exec, so the rusage of a child forked straight from
// this (large) process would never read below this process's own RSS. Without
// GNU time the child's own rusage is used, an upper bound.
func Exec(ctx context.Context, c Cmd) Run {
	// Resolve the command first: through GNU time a missing command would look
	// like a command that exited 127.
	if _, err := exec.LookPath(c.Path); err != nil {
		return Run{Err: err, ExitCode: -1}
	}
	path, args := c.Path, c.Args
	var rssFile string
	if gnuTime, err := exec.LookPath("/usr/bin/time"); err == nil {
		f, err := os.CreateTemp("", "toolcmp-rss-")
		if err == nil {
			rssFile = f.Name()
			f.Close()
			defer os.Remove(rssFile)
			path, args = gnuTime, append([]string{"-f", "%M", "-o", rssFile, c.Path}, c.Args...)
		}
	}
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Dir = c.Dir
	cmd.Env = append(os.Environ(), c.Env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	if c.Stdout != nil {
		cmd.Stdout = c.Stdout
	}
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	r := Run{Wall: time.Since(start), Stdout: stdout.Bytes(), Stderr: stderr.Bytes(), ExitCode: -1}
	if cmd.ProcessState != nil {
		r.ExitCode = cmd.ProcessState.ExitCode()
		r.CPU = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			r.MaxRSSKiB = ru.Maxrss // KiB on Linux
		}
	}
	if rssFile != "" {
		// GNU time writes "Command exited with non-zero status N" first on failure.
		b, _ := os.ReadFile(rssFile)
		lines := strings.Fields(strings.TrimSpace(string(b)))
		if n := len(lines); n > 0 {
			if kib, err := strconv.ParseInt(lines[n-1], 10, 64); err == nil {
				r.MaxRSSKiB = kib
			}
		}
	}
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		r.Err = err
	}
	return r
}

// Repeat runs c n times (at least once) and returns the median wall time, the
// largest peak RSS and the last run. newStdout, when not nil, gives each run a
// fresh standard output (and is closed after it).
func Repeat(ctx context.Context, n int, c Cmd, newStdout func() (io.WriteCloser, error)) (time.Duration, int64, Run) {
	st := Measure(ctx, n, c, newStdout)
	return st.Wall, st.RSSKiB, st.Last
}

// Stats are the medians of repeated runs of one command.
type Stats struct {
	Wall, CPU time.Duration // medians
	RSSKiB    int64         // the largest peak RSS
	Last      Run
}

// Measure runs c n times (at least once) like Repeat and returns the median
// wall and CPU times, the largest peak RSS and the last run; all zero but Last
// when a run could not start or ctx ended.
func Measure(ctx context.Context, n int, c Cmd, newStdout func() (io.WriteCloser, error)) Stats {
	var walls, cpus []time.Duration
	var rss int64
	var last Run
	for range max(n, 1) {
		if newStdout != nil {
			w, err := newStdout()
			if err != nil {
				return Stats{Last: Run{Err: err, ExitCode: -1}}
			}
			c.Stdout = w
			last = Exec(ctx, c)
			if err := w.Close(); err != nil && last.Err == nil {
				last.Err = err
			}
		} else {
			last = Exec(ctx, c)
		}
		if last.Err != nil || ctx.Err() != nil {
			return Stats{Last: last}
		}
		walls = append(walls, last.Wall)
		cpus = append(cpus, last.CPU)
		rss = max(rss, last.MaxRSSKiB)
	}
	slices.Sort(walls)
	slices.Sort(cpus)
	return Stats{Wall: walls[len(walls)/2], CPU: cpus[len(cpus)/2], RSSKiB: rss, Last: last}
}

// Spec is one OpenAPI document of the corpus.
type Spec struct {
	// Name is the corpus entry (file or directory name).
	Name string
	// Path is the document to generate from.
	Path string
	// Pkg is a Go package (and directory) name derived from Name.
	Pkg string
}

// Corpus lists the specs of dir: each *.yaml, *.yml or *.json file, and for each
// subdirectory the document in it that the others reference (the one not
// nested deeper: its first YAML or JSON file at the top of the directory).
func Corpus(dir string) ([]Spec, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("toolcmp: corpus: %w", err)
	}
	var specs []Spec
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		if e.IsDir() {
			sub, err := os.ReadDir(p)
			if err != nil {
				return nil, fmt.Errorf("toolcmp: corpus: %w", err)
			}
			for _, s := range sub {
				if !s.IsDir() && isSpec(s.Name()) {
					specs = append(specs, Spec{Name: e.Name(), Path: filepath.Join(p, s.Name()), Pkg: pkgName(e.Name())})
					break
				}
			}
			continue
		}
		if isSpec(e.Name()) {
			specs = append(specs, Spec{Name: e.Name(), Path: p, Pkg: pkgName(e.Name())})
		}
	}
	return specs, nil
}

func isSpec(name string) bool {
	switch filepath.Ext(name) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}

// pkgName turns "twilio-api-v2010.json" into "twilio_api_v2010".
func pkgName(name string) string {
	name = strings.TrimSuffix(name, filepath.Ext(name))
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	s := b.String()
	if s == "" || (s[0] >= '0' && s[0] <= '9') {
		s = "p" + s
	}
	return s
}

// Module is a scratch Go module outside any workspace, for compiling generated
// packages as their users would.
type Module struct {
	Dir string
}

// goEnv keeps the scratch module independent of the caller's workspace and
// vendoring settings.
var goEnv = []string{"GOWORK=off", "GOFLAGS=-mod=mod"}

// NewModule writes dir/go.mod with the module path and extra directives
// (require/replace lines).
func NewModule(dir, modPath, goVersion, extra string) (*Module, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	mod := fmt.Sprintf("module %s\n\ngo %s\n\n%s\n", modPath, goVersion, extra)
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(mod), 0o644); err != nil {
		return nil, err
	}
	return &Module{Dir: dir}, nil
}

// Tidy resolves the module's requirements from its packages' imports.
func (m *Module) Tidy(ctx context.Context) error {
	r := Exec(ctx, Cmd{Dir: m.Dir, Env: goEnv, Path: "go", Args: []string{"mod", "tidy", "-e"}})
	if r.Err != nil || r.ExitCode != 0 {
		return fmt.Errorf("toolcmp: go mod tidy in %s: %v %s", m.Dir, r.Err, FirstLines(r.Stderr, 3))
	}
	return nil
}

// Check runs go build and go vet on the package in dir (relative to the
// module) and returns "ok" or the first lines of each failure.
func (m *Module) Check(ctx context.Context, dir string) (build, vet string) {
	pkg := "./" + filepath.ToSlash(dir) + "/..."
	build = verdict(Exec(ctx, Cmd{Dir: m.Dir, Env: goEnv, Path: "go", Args: []string{"build", pkg}}))
	if build != "ok" {
		return build, "-"
	}
	return build, verdict(Exec(ctx, Cmd{Dir: m.Dir, Env: goEnv, Path: "go", Args: []string{"vet", pkg}}))
}

func verdict(r Run) string {
	if r.Err != nil {
		return "failed: " + r.Err.Error()
	}
	if r.ExitCode == 0 {
		return "ok"
	}
	return "FAILS: " + FirstLines(r.Stderr, 2)
}

// FirstLines returns the first n lines of b that are not "# package" headers,
// joined by "; ".
func FirstLines(b []byte, n int) string {
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "# ") {
			continue
		}
		out = append(out, l)
		if len(out) == n {
			break
		}
	}
	return strings.Join(out, "; ")
}
