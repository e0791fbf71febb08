// Package gentest compiles generated code the way a user's project would: in a
// temporary Go module that requires github.com/idemgen/idemgen and replaces it
// with this checkout. The golden, corpus and end-to-end tests use it.
package gentest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/idemgen/idemgen/generator/emit"
)

// RepoRoot returns the absolute path of this checkout.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// Module is a temporary Go module whose packages are generated code.
type Module struct {
	// Dir is the module's root directory.
	Dir string
	// Path is the module path ("gentest.local").
	Path string
}

// NewModule creates a module in a temporary directory of t. Its go.sum is this
// checkout's, so building needs no checksum database, and the module cache
// provides every dependency.
func NewModule(t testing.TB) *Module {
	t.Helper()
	m := &Module{Dir: t.TempDir(), Path: "gentest.local"}
	root := RepoRoot()
	goMod := fmt.Sprintf("module %s\n\ngo 1.24\n\nrequire github.com/idemgen/idemgen v0.0.0\n\nreplace github.com/idemgen/idemgen => %s\n", m.Path, root)
	if err := os.WriteFile(filepath.Join(m.Dir, "go.mod"), []byte(goMod), 0o644); err != nil {
		t.Fatal(err)
	}
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(m.Dir, "go.sum"), sum, 0o644); err != nil {
		t.Fatal(err)
	}
	return m
}

// Add writes files into the package directory rel (e.g. "cases/songs").
func (m *Module) Add(t testing.TB, rel string, files []emit.File) {
	t.Helper()
	dir := filepath.Join(m.Dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(dir, f.Name), f.Content, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// Go runs the go command in the module with args and returns its combined
// output. The environment resolves modules from the local cache (-mod=mod, no
// checksum database) and ignores any go.work.
func (m *Module) Go(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = m.Dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod -buildvcs=false", "GOSUMDB=off", "GOWORK=off", "GOTOOLCHAIN=local")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// BuildAndVet runs go build and go vet over every package of the module and
// fails t with the compiler's output when either fails.
func (m *Module) BuildAndVet(t testing.TB) {
	t.Helper()
	ctx := context.Background()
	if out, err := m.Go(ctx, "build", "./..."); err != nil {
		t.Fatalf("generated code does not build: %v\n%s", err, out)
	}
	if out, err := m.Go(ctx, "vet", "./..."); err != nil {
		t.Fatalf("generated code is not vet clean: %v\n%s", err, out)
	}
}

// Numbered returns src with line numbers, for failure messages.
func Numbered(src []byte) string {
	var b strings.Builder
	for i, line := range strings.Split(string(src), "\n") {
		fmt.Fprintf(&b, "%5d  %s\n", i+1, line)
	}
	return b.String()
}
