package loader

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idemgen/idemgen/generator/model"
)

// corpusDir is the shared corpus of real-world specs: $IDEMGEN_CORPUS, or
// ../shared/corpus beside the repository root.
func corpusDir(t testing.TB) string {
	dir := os.Getenv("IDEMGEN_CORPUS")
	if dir == "" {
		dir = filepath.Join("..", "shared", "corpus")
	}
	if !filepath.IsAbs(dir) { // relative to the repository root
		dir = filepath.Join("..", "..", dir)
	}
	if _, err := os.Stat(dir); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("corpus %s is missing and CI=true: %v", dir, err)
		}
		t.Skipf("corpus %s is absent (set IDEMGEN_CORPUS); skipping", dir)
	}
	return dir
}

// corpusSpecs lists the root documents of the corpus: every .yaml/.yml/.json
// file at the top level, and file_reference.yml-style roots in subdirectories
// (a subdirectory's root is the file that is not inside a further subdirectory).
func corpusSpecs(t testing.TB) []string {
	dir := corpusDir(t)
	var specs []string
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		if e.IsDir() {
			sub, _ := os.ReadDir(p)
			for _, s := range sub {
				if !s.IsDir() && isSpec(s.Name()) {
					specs = append(specs, filepath.Join(p, s.Name()))
				}
			}
			continue
		}
		if isSpec(e.Name()) {
			specs = append(specs, p)
		}
	}
	if len(specs) == 0 {
		t.Fatalf("no specs in corpus %s", dir)
	}
	return specs
}

func isSpec(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}

// TestCorpusLoads loads every corpus spec: no error, no error diagnostic (none
// carries x-idempotent, so nothing may claim the extension is invalid), and a
// model with operations whose positions name a real file.
func TestCorpusLoads(t *testing.T) {
	for _, spec := range corpusSpecs(t) {
		t.Run(filepath.Base(spec), func(t *testing.T) {
			api, err := Load(context.Background(), spec)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if len(api.Operations) == 0 {
				t.Fatalf("no operations")
			}
			for _, d := range api.Diagnostics {
				if d.Severity == model.Error {
					t.Errorf("error diagnostic: %s [%s]", d.Error(), d.Rule)
				}
			}
			for _, op := range api.Operations {
				if op.GoName == "" || op.ID == "" || !op.Pos.IsValid() || op.Pos.Line == 0 {
					t.Errorf("%s %s: incomplete operation: id %q goName %q pos %v", op.Method, op.Path, op.ID, op.GoName, op.Pos)
				}
			}
			seen := map[string]bool{}
			for _, s := range api.Schemas {
				if seen[s.GoName] {
					t.Errorf("duplicate schema GoName %q", s.GoName)
				}
				seen[s.GoName] = true
			}
			warnings := 0
			for _, d := range api.Diagnostics {
				if d.Severity == model.Warning {
					warnings++
				}
			}
			t.Logf("%d operations, %d named schemas, %d warnings", len(api.Operations), len(api.Schemas), warnings)
		})
	}
}
