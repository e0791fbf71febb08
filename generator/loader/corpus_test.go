package loader

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/idemgen/idemgen/generator/extension"
	"github.com/idemgen/idemgen/generator/model"
)

// corpusDir is the shared corpus of real-world specs: $IDEMGEN_CORPUS, or
// ../shared/corpus, relative to the repository root. It skips the test when the
// corpus is absent, and fails it instead when CI=true.
func corpusDir(t testing.TB) string {
	dir, err := corpusDirNoSkip()
	if err != nil {
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
			t.Parallel()
			api, err := Load(context.Background(), spec)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if len(api.Operations) == 0 {
				t.Fatalf("no operations")
			}
			for _, d := range api.Diagnostics {
				// key-required-mismatch is a true finding: some specs declare
				// an optional Idempotency-Key, which a required key contradicts.
				if d.Severity == model.Error && d.Rule != extension.RuleKeyRequiredMismatch {
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

// injectIdempotent adds "x-idempotent: true" to every POST and PATCH operation
// of a YAML or JSON document. JSON goes through encoding/json (yaml.v3 rejects
// some JSON string escapes), YAML through yaml.v3 nodes.
func injectIdempotent(data []byte) ([]byte, int, error) {
	if t := bytes.TrimSpace(data); len(t) > 0 && t[0] == '{' {
		var doc map[string]any
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		if err := dec.Decode(&doc); err != nil {
			return nil, 0, err
		}
		n := 0
		paths, _ := doc["paths"].(map[string]any)
		for _, item := range paths {
			item, _ := item.(map[string]any)
			for _, m := range []string{"post", "patch"} {
				if op, ok := item[m].(map[string]any); ok {
					op["x-idempotent"] = true
					n++
				}
			}
		}
		out, err := json.Marshal(doc)
		return out, n, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, 0, err
	}
	n := 0
	root := doc.Content[0]
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value != "paths" {
			continue
		}
		paths := root.Content[i+1]
		for j := 1; j < len(paths.Content); j += 2 {
			item := paths.Content[j]
			for k := 0; k+1 < len(item.Content); k += 2 {
				if m := item.Content[k].Value; m != "post" && m != "patch" {
					continue
				}
				op := item.Content[k+1]
				op.Style = 0 // block style, whatever the source used
				op.Content = append(op.Content,
					&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "x-idempotent"},
					&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: "true"})
				n++
			}
		}
	}
	out, err := yaml.Marshal(&doc)
	return out, n, err
}

// TestCorpusIdempotent loads every corpus spec with x-idempotent: true added to
// every POST and PATCH: each of them must come out with an enabled, valid
// policy and no error diagnostic (no false "x-idempotent invalid").
func TestCorpusIdempotent(t *testing.T) {
	dir := corpusDir(t)
	for _, spec := range corpusSpecs(t) {
		t.Run(filepath.Base(spec), func(t *testing.T) {
			data, err := os.ReadFile(spec)
			if err != nil {
				t.Fatal(err)
			}
			if raceEnabled && len(data) > 1<<20 {
				t.Skipf("%s is too big to load again under -race; TestCorpusLoads covers it", spec)
			}
			t.Parallel()
			injected, n, err := injectIdempotent(data)
			if err != nil {
				t.Fatal(err)
			}
			// Keep $refs to sibling files working: copy the spec's directory
			// when it is a subdirectory of the corpus.
			tmp := t.TempDir()
			target := filepath.Join(tmp, filepath.Base(spec)+".yaml")
			if d := filepath.Dir(spec); d != filepath.Clean(dir) {
				if err := os.CopyFS(filepath.Join(tmp, "sub"), os.DirFS(d)); err != nil {
					t.Fatal(err)
				}
				target = filepath.Join(tmp, "sub", filepath.Base(spec)+".yaml")
			}
			if err := os.WriteFile(target, injected, 0o600); err != nil {
				t.Fatal(err)
			}
			api, err := Load(context.Background(), target)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			for _, d := range api.Diagnostics {
				// key-required-mismatch is a true finding: some specs declare
				// an optional Idempotency-Key, which a required key contradicts.
				if d.Severity == model.Error && d.Rule != extension.RuleKeyRequiredMismatch {
					t.Errorf("error diagnostic: %s [%s]", d.Error(), d.Rule)
				}
			}
			got := 0
			for _, op := range api.Operations {
				if op.Method != "POST" && op.Method != "PATCH" {
					continue
				}
				if !op.Idempotent() || op.Idempotency.Policy.Operation != op.ID || op.Idempotency.Policy.Validate() != nil {
					t.Errorf("%s %s: not idempotent or invalid policy", op.Method, op.Path)
				}
				got++
			}
			if got != n {
				t.Errorf("injected %d operations, model has %d idempotent POST/PATCH", n, got)
			}
			t.Logf("%d idempotent operations", got)
		})
	}
}
