package loader

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/idemgen/idemgen/generator/model"
)

// FuzzLoad feeds arbitrary documents to Load and the model build. Load must
// never panic, and a model it returns must keep the invariants emitters rely
// on: unique operation IDs and GoNames, unique schema GoNames, located
// operations. Seeds are the testdata specs and the corpus specs up to 128 KB
// (bigger ones make each fuzzing run and minimisation slow; TestCorpusLoads
// covers them).
func FuzzLoad(f *testing.F) {
	var seeds []string
	for _, pat := range []string{"*/*.yaml", "*/*.json"} {
		m, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "specs", pat))
		seeds = append(seeds, m...)
	}
	if d, err := corpusDirNoSkip(); err == nil {
		for _, pat := range []string{"*.yaml", "*.json"} {
			m, _ := filepath.Glob(filepath.Join(d, pat))
			seeds = append(seeds, m...)
		}
	}
	for _, s := range seeds {
		data, err := os.ReadFile(s)
		if err != nil || len(data) > 128<<10 {
			continue
		}
		f.Add(data)
	}
	f.Add([]byte("openapi: 3.0.0\npaths:\n  /a:\n    post:\n      x-idempotent: {key: {derive: []}}\n"))
	f.Add([]byte(`{"openapi":"3.1.0","paths":{"/a":{"post":{"x-idempotent":{"ttl":"1s","lease":"2s"}}}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		path := filepath.Join(dir, "openapi.yaml")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		api, err := Load(context.Background(), path)
		if err != nil {
			return
		}
		checkInvariants(t, api)
	})
}

// corpusDirNoSkip is corpusDir without the testing.TB side effects.
func corpusDirNoSkip() (string, error) {
	dir := os.Getenv("IDEMGEN_CORPUS")
	if dir == "" {
		dir = filepath.Join("..", "shared", "corpus")
	}
	if !filepath.IsAbs(dir) {
		dir = filepath.Join("..", "..", dir)
	}
	_, err := os.Stat(dir)
	return dir, err
}

func checkInvariants(t *testing.T, api *model.API) {
	t.Helper()
	ids, goNames := map[string]bool{}, map[string]bool{}
	for _, op := range api.Operations {
		if op.ID == "" || op.GoName == "" || ids[op.ID] || goNames[op.GoName] {
			t.Fatalf("operation %s %s: empty or duplicate ID %q / GoName %q", op.Method, op.Path, op.ID, op.GoName)
		}
		ids[op.ID], goNames[op.GoName] = true, true
		if !op.Pos.IsValid() {
			t.Fatalf("operation %s %s has no position", op.Method, op.Path)
		}
		params := map[string]bool{}
		for _, p := range op.Params {
			if p.GoName == "" || params[p.GoName] {
				t.Fatalf("operation %s: empty or duplicate param GoName %q", op.ID, p.GoName)
			}
			params[p.GoName] = true
		}
		if op.Idempotency != nil && op.Idempotency.Enabled && op.Idempotency.Policy.Operation != op.ID {
			t.Fatalf("operation %s: policy names %q", op.ID, op.Idempotency.Policy.Operation)
		}
	}
	schemas := map[string]bool{}
	for _, s := range api.Schemas {
		if s.GoName == "" || schemas[s.GoName] {
			t.Fatalf("empty or duplicate schema GoName %q", s.GoName)
		}
		schemas[s.GoName] = true
		props := map[string]bool{}
		for _, p := range s.Properties {
			if p.GoName == "" || props[p.GoName] {
				t.Fatalf("schema %s: empty or duplicate property GoName %q", s.GoName, p.GoName)
			}
			props[p.GoName] = true
		}
	}
	for _, d := range api.Diagnostics {
		if d.Rule == "" || d.Message == "" || d.Severity == "" {
			t.Fatalf("incomplete diagnostic %+v", d)
		}
	}
}
