package cli

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestInitProjectRuns scaffolds a project that uses this checkout (a go.mod
// replace), then does what the scaffold tells its user: go generate, and runs
// the result. Its own test (main_test.go, the generated client against the
// generated server) must pass, and the built server must answer a retried
// POST with a replay, on the embedded SQLite store.
func TestInitProjectRuns(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command on PATH")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	checkout := filepath.Dir(repoTestdata())
	dir := filepath.Join(t.TempDir(), "notes")
	// Everything below comes from the module cache. The scaffold's tidy needs
	// every module of this checkout's graph there, as `go mod download` leaves
	// it (.ci/run does it first); `go test` alone fetches only what it compiles,
	// so on a fresh machine the tidy found modules missing. Download them
	// here, with the environment's proxy; offline with a full cache this does
	// nothing.
	dl := exec.CommandContext(ctx, "go", "mod", "download")
	dl.Dir = checkout
	if out, err := dl.CombinedOutput(); err != nil {
		t.Logf("go mod download in %s: %v\n%s(continuing with the module cache as it is)", checkout, err, out)
	}
	// The go commands that init and this test run inherit these.
	t.Setenv("GOPROXY", "off")
	t.Setenv("GOSUMDB", "off")
	t.Setenv("GOWORK", "off")
	var stdout, stderr bytes.Buffer
	code := Run(ctx, []string{"init", "--module", "example.com/notes", "--replace", checkout, dir}, nil, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("idemgen init exited %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
	if !strings.Contains(stdout.String(), "go generate ./...") {
		t.Errorf("init did not tell the next steps:\n%s", stdout.String())
	}

	goCmd := func(args ...string) string {
		t.Helper()
		cmd := exec.CommandContext(ctx, "go", args...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	goCmd("generate", "./...")
	for _, f := range []string{"models_gen.go", "server_gen.go", "client_gen.go", "policies_gen.go"} {
		if _, err := os.Stat(filepath.Join(dir, "api", f)); err != nil {
			t.Errorf("go generate did not write api/%s: %v", f, err)
		}
	}
	// go test also runs go vet's high-confidence checks on the scaffold.
	if out := goCmd("test", "-count=1", "./..."); !strings.Contains(out, "ok  \texample.com/notes") {
		t.Errorf("go test in the scaffold:\n%s", out)
	}
	bin := filepath.Join(t.TempDir(), "notes")
	goCmd("build", "-o", bin, ".")

	// Run it as "go run ." would, with its default store (an SQLite file
	// under data/ in the project).
	srv := exec.CommandContext(ctx, bin, "-addr", "127.0.0.1:0")
	srv.Dir = dir
	var logs bytes.Buffer
	srv.Stderr = &logs
	out, err := srv.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = srv.Process.Signal(os.Interrupt)
		done := make(chan error, 1)
		go func() { done <- srv.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("the scaffolded server exited with %v after an interrupt\n%s", err, logs.String())
			}
		case <-time.After(10 * time.Second):
			_ = srv.Process.Kill()
			t.Error("the scaffolded server did not stop within 10s of an interrupt")
		}
	}()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the server's first line: %v\n%s", err, logs.String())
	}
	go io.Copy(io.Discard, out)
	base, ok := strings.CutPrefix(strings.TrimSpace(line), "listening on ")
	if !ok {
		t.Fatalf("first line %q, want \"listening on URL\"", line)
	}
	post := func() (*http.Response, string) {
		req, _ := http.NewRequestWithContext(ctx, "POST", base+"/notes", strings.NewReader(`{"title":"hi"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", "init-test-1")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	r1, b1 := post()
	r2, b2 := post()
	if r1.StatusCode != http.StatusCreated || r2.StatusCode != http.StatusCreated || b1 != b2 {
		t.Fatalf("two POSTs with one key: %d %s / %d %s, want two identical 201s", r1.StatusCode, b1, r2.StatusCode, b2)
	}
	if r2.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("the retry was not replayed (Idempotent-Replayed %q)", r2.Header.Get("Idempotent-Replayed"))
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "idempotency.db")); err != nil {
		t.Errorf("the default SQLite store was not created: %v", err)
	}
}

// TestGoDirectiveMatchesGoMod: the scaffold's go directive is idemgen's own,
// the least version a module requiring idemgen can have.
func TestGoDirectiveMatchesGoMod(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(filepath.Dir(repoTestdata()), "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, "go "); ok {
			if v != goDirective {
				t.Fatalf("go.mod says go %s, init's goDirective is %s", v, goDirective)
			}
			return
		}
	}
	t.Fatal("go.mod has no go directive")
}

// TestTidyErrors: init quotes tidy's errors when the tool does not build,
// without the expected missing generated package, without repeats, and at
// most maxTidyErrors of them.
func TestTidyErrors(t *testing.T) {
	out := "go: finding module for package example.com/notes/api\n" +
		"go: downloading github.com/inconshreveable/mousetrap v1.1.0\n" +
		"go: example.com/notes imports\n" +
		"\texample.com/notes/api: cannot find module providing package example.com/notes/api: module lookup disabled by GOPROXY=off\n" +
		"go: github.com/go-logr/stdr@v1.2.2 requires\n" +
		"\tgithub.com/go-logr/logr@v1.2.2: module lookup disabled by GOPROXY=off\n" +
		"go: github.com/go-logr/stdr@v1.2.2 requires\n" +
		"\tgithub.com/go-logr/logr@v1.2.2: module lookup disabled by GOPROXY=off\n"
	want := "  go: github.com/go-logr/stdr@v1.2.2 requires github.com/go-logr/logr@v1.2.2: module lookup disabled by GOPROXY=off"
	if got := tidyErrors(out, "example.com/notes/api"); got != want {
		t.Errorf("tidyErrors:\n%s\nwant:\n%s", got, want)
	}
	if got := tidyErrors("go: finding module for package example.com/notes/api\ngo: example.com/notes imports\n\texample.com/notes/api: cannot find module providing package example.com/notes/api\n", "example.com/notes/api"); got != "" {
		t.Errorf("tidyErrors of the expected error alone = %q, want none", got)
	}
	var many strings.Builder
	for i := range maxTidyErrors + 2 {
		fmt.Fprintf(&many, "go: m%d requires\n\tx: module lookup disabled by GOPROXY=off\n", i)
	}
	got := tidyErrors(many.String(), "example.com/notes/api")
	if n := strings.Count(got, "\n") + 1; n != maxTidyErrors+1 || !strings.HasSuffix(got, "(and 2 more)") {
		t.Errorf("tidyErrors of %d errors:\n%s\nwant %d lines ending in (and 2 more)", maxTidyErrors+2, got, maxTidyErrors+1)
	}
}
