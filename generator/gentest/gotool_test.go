package gentest_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idemgen/idemgen/generator/emit"
	"github.com/idemgen/idemgen/generator/gentest"
)

// TestGoGenerateWithGoTool runs idemgen the way a user's project does: as a Go
// 1.24 tool dependency (a "tool" directive in go.mod) from a //go:generate
// line, then builds and vets the result.
func TestGoGenerateWithGoTool(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds idemgen and generated code in a temporary module")
	}
	m := gentest.NewModule(t)
	goMod := filepath.Join(m.Dir, "go.mod")
	data, err := os.ReadFile(goMod)
	if err != nil {
		t.Fatal(err)
	}
	data = []byte(strings.Replace(string(data), "require github.com/idemgen/idemgen v0.0.0\n",
		"require github.com/idemgen/idemgen v0.0.0\n\ntool github.com/idemgen/idemgen/cmd/idemgen\n", 1))
	if err := os.WriteFile(goMod, data, 0o644); err != nil {
		t.Fatal(err)
	}
	spec, err := os.ReadFile(filepath.Join(gentest.RepoRoot(), "testdata", "golden", "songs", "openapi.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	m.Add(t, "internal/api", []emit.File{
		{Name: "openapi.yaml", Content: spec},
		{Name: "gen.go", Content: []byte("// Package api is generated from openapi.yaml.\npackage api\n\n" +
			"//go:generate go tool idemgen generate --spec openapi.yaml --out . --package api --models --server\n")},
	})
	ctx := context.Background()
	// Record the tool's own requirements in go.mod (-mod=mod), as
	// "go get -tool" does; "go tool" itself does not update go.mod.
	if out, err := m.Go(ctx, "build", "-o", os.DevNull, "github.com/idemgen/idemgen/cmd/idemgen"); err != nil {
		t.Fatalf("go build of the tool: %v\n%s", err, out)
	}
	if out, err := m.Go(ctx, "generate", "./..."); err != nil {
		t.Fatalf("go generate with go tool idemgen: %v\n%s", err, out)
	}
	for _, name := range []string{"models_gen.go", "server_gen.go", "policies_gen.go"} {
		if _, err := os.Stat(filepath.Join(m.Dir, "internal", "api", name)); err != nil {
			t.Errorf("go generate did not write %s: %v", name, err)
		}
	}
	m.BuildAndVet(t)
}
