package lint_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/idemgen/idemgen/generator/extension"
	"github.com/idemgen/idemgen/generator/lint"
	"github.com/idemgen/idemgen/generator/loader"
)

// corpusDir returns $IDEMGEN_CORPUS (default ../shared/corpus from the
// repository root). It skips when the corpus is absent, except in CI.
func corpusDir(tb testing.TB) string {
	dir := os.Getenv("IDEMGEN_CORPUS")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "corpus")
	}
	if _, err := os.Stat(dir); err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("corpus %s missing in CI (set IDEMGEN_CORPUS): %v", dir, err)
		}
		tb.Skipf("corpus %s not found (set IDEMGEN_CORPUS to run): %v", dir, err)
	}
	return dir
}

func corpusSpecs(tb testing.TB) []string {
	dir := corpusDir(tb)
	var specs []string
	for _, pat := range []string{"*.yaml", "*.yml", "*.json", "*/*.yml", "*/*.yaml"} {
		m, _ := filepath.Glob(filepath.Join(dir, pat))
		for _, f := range m {
			if strings.Contains(filepath.Base(filepath.Dir(f)), "external") {
				continue // $ref targets, not documents
			}
			specs = append(specs, f)
		}
	}
	if len(specs) == 0 {
		tb.Fatalf("no specs in corpus %s", dir)
	}
	return specs
}

// extensionRules are the rules that say "x-idempotent is invalid".
var extensionRules = map[string]bool{}

func init() {
	for _, r := range lint.Rules() {
		if r.Category == lint.CategoryExtension || r.ID == extension.RuleSafeMethod ||
			r.ID == extension.RulePointerNotInSchema || r.ID == extension.RuleScopeUndeclared ||
			r.ID == extension.RuleDeriveUndeclared || r.ID == extension.RuleKeyRequiredMismatch {
			extensionRules[r.ID] = true
		}
	}
	// Loader findings about the OpenAPI document itself are not about x-idempotent.
	for _, id := range []string{loader.RuleOpenAPIInvalid, loader.RuleSchemaUntyped, loader.RuleOperationIDDuplicate} {
		delete(extensionRules, id)
	}
}

// TestCorpus lints the real-world specs (none has x-idempotent): no crash, no
// "x-idempotent invalid" finding, and every unsafe operation reported as
// idempotency-missing with its position.
func TestCorpus(t *testing.T) {
	ctx := context.Background()
	for _, spec := range corpusSpecs(t) {
		t.Run(filepath.Base(spec), func(t *testing.T) {
			t.Parallel()
			api, err := loader.Load(ctx, spec)
			if err != nil {
				t.Fatalf("load: %v", err)
			}
			unsafe := 0
			for _, op := range append(api.Operations, api.Receivers()...) {
				if lint.IsUnsafe(op.Method) {
					unsafe++
				}
			}
			missing := 0
			for _, f := range lint.Lint(ctx, api, nil) {
				if extensionRules[f.Rule] {
					t.Errorf("false x-idempotent finding on a spec without the extension: %s:%d:%d %s %s", f.Pos.File, f.Pos.Line, f.Pos.Col, f.Rule, f.Message)
				}
				if f.Rule == lint.RuleMissing {
					missing++
					if f.Pos.Line == 0 || f.OperationID() == "" {
						t.Errorf("unlocated finding %+v", f)
					}
				}
			}
			if missing != unsafe {
				t.Errorf("%d idempotency-missing findings for %d unsafe operations", missing, unsafe)
			}
		})
	}
}

// TestCorpusMarked lints copies of the corpus specs with x-idempotent: true on
// every POST and PATCH: the default policy must be valid everywhere, so no
// finding may say the extension is invalid.
func TestCorpusMarked(t *testing.T) {
	ctx := context.Background()
	for _, spec := range corpusSpecs(t) {
		if filepath.Base(filepath.Dir(spec)) != filepath.Base(corpusDir(t)) {
			continue // multi-file specs cannot be copied alone
		}
		t.Run(filepath.Base(spec), func(t *testing.T) {
			t.Parallel()
			file, marked := markedCopy(t, spec)
			api, err := loader.Load(ctx, file)
			if err != nil {
				t.Fatalf("load: %v", err)
			}
			idem := 0
			for _, op := range append(api.Operations, api.Receivers()...) {
				if op.Idempotent() {
					idem++
				}
			}
			if idem != marked {
				t.Errorf("%d idempotent operations, %d marked", idem, marked)
			}
			for _, f := range lint.Lint(ctx, api, nil) {
				// key-required-mismatch is a true finding: some specs declare an
				// optional Idempotency-Key header, and the default key is required.
				if (extensionRules[f.Rule] && f.Rule != extension.RuleKeyRequiredMismatch) || f.Rule == lint.RuleMissing {
					t.Errorf("%s:%d:%d %s %s", f.Pos.File, f.Pos.Line, f.Pos.Col, f.Rule, f.Message)
				}
			}
		})
	}
}

// markedCopy writes a copy of spec with x-idempotent: true on every POST and
// PATCH (of webhooks and callbacks too) and returns its path and the number of operations marked.
func markedCopy(tb testing.TB, spec string) (string, int) {
	tb.Helper()
	data, err := os.ReadFile(spec)
	if err != nil {
		tb.Fatal(err)
	}
	marked, out := 0, []byte(nil)
	file := filepath.Join(tb.TempDir(), "spec"+filepath.Ext(spec))
	if strings.HasSuffix(spec, ".json") {
		// encoding/json, not yaml.v3: JSON escapes such as surrogate pairs.
		var doc map[string]any
		if err := json.Unmarshal(data, &doc); err != nil {
			tb.Fatal(err)
		}
		// The path items of paths, webhooks and callbacks.
		var mark func(items any)
		mark = func(items any) {
			m, _ := items.(map[string]any)
			for _, item := range m {
				item, _ := item.(map[string]any)
				for m, op := range item {
					if op, ok := op.(map[string]any); ok && (m == "post" || m == "patch") {
						op["x-idempotent"] = true
						marked++
						cbs, _ := op["callbacks"].(map[string]any)
						for _, cb := range cbs {
							mark(cb)
						}
					}
				}
			}
		}
		mark(doc["paths"])
		mark(doc["webhooks"])
		out, err = json.Marshal(doc)
	} else {
		var doc yaml.Node
		if err := yaml.Unmarshal(data, &doc); err != nil {
			tb.Fatal(err)
		}
		// The path items of paths, webhooks and callbacks.
		var mark func(items *yaml.Node)
		mark = func(items *yaml.Node) {
			for i := 1; items != nil && i < len(items.Content); i += 2 {
				item := items.Content[i]
				for j := 0; j+1 < len(item.Content); j += 2 {
					if m := item.Content[j].Value; m == "post" || m == "patch" {
						op := item.Content[j+1]
						op.Content = append(op.Content,
							&yaml.Node{Kind: yaml.ScalarNode, Value: "x-idempotent"},
							&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: "true"})
						marked++
						if cbs := mapValue(op, "callbacks"); cbs != nil {
							for k := 1; k < len(cbs.Content); k += 2 {
								mark(cbs.Content[k])
							}
						}
					}
				}
			}
		}
		mark(mapValue(doc.Content[0], "paths"))
		mark(mapValue(doc.Content[0], "webhooks"))
		out, err = yaml.Marshal(&doc)
	}
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(file, out, 0o644); err != nil {
		tb.Fatal(err)
	}
	return file, marked
}

func mapValue(n *yaml.Node, key string) *yaml.Node {
	for i := 0; n != nil && i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// BenchmarkLintTwilio measures lint alone (not loading) on the largest corpus
// spec, as it is and with every POST marked x-idempotent: true so that every
// rule runs. BenchmarkLoadTwilio is the loading it comes after.
func BenchmarkLintTwilio(b *testing.B) {
	spec := filepath.Join(corpusDir(b), "twilio-api-v2010.json")
	ctx := context.Background()
	api, err := loader.Load(ctx, spec)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("as-is", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			lint.Lint(ctx, api, nil)
		}
	})
	marked, _ := markedCopy(b, spec)
	idem, err := loader.Load(ctx, marked)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("all-idempotent", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			lint.Lint(ctx, idem, nil)
		}
	})
}

func BenchmarkLoadTwilio(b *testing.B) {
	spec := filepath.Join(corpusDir(b), "twilio-api-v2010.json")
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := loader.Load(ctx, spec); err != nil {
			b.Fatal(err)
		}
	}
}
