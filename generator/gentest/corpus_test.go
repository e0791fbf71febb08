package gentest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/idemgen/idemgen/generator/emit"
	"github.com/idemgen/idemgen/generator/gentest"
	"github.com/idemgen/idemgen/generator/loader"
	"github.com/idemgen/idemgen/generator/model"
)

// corpusDir returns $IDEMGEN_CORPUS (default ../shared/corpus beside the
// checkout). It skips the test when the corpus is absent, except under CI=true,
// where a missing corpus fails.
func corpusDir(t *testing.T) string {
	dir := os.Getenv("IDEMGEN_CORPUS")
	if dir == "" {
		dir = filepath.Join(gentest.RepoRoot(), "..", "shared", "corpus")
	}
	if _, err := os.Stat(dir); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("corpus %s is missing (CI=true): %v", dir, err)
		}
		t.Skipf("corpus %s is absent; set IDEMGEN_CORPUS to run the corpus test", dir)
	}
	return dir
}

// corpusSpecs lists the OpenAPI documents of the corpus: the top-level YAML and
// JSON files, and in each subdirectory the files that start a document (an
// "openapi" key) rather than being $ref targets.
func corpusSpecs(t *testing.T, dir string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var specs []string
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		if !e.IsDir() {
			if isSpecName(e.Name()) {
				specs = append(specs, p)
			}
			continue
		}
		sub, err := os.ReadDir(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range sub {
			if s.IsDir() || !isSpecName(s.Name()) {
				continue
			}
			data, err := os.ReadFile(filepath.Join(p, s.Name()))
			if err == nil && openapiKey.Match(data) {
				specs = append(specs, filepath.Join(p, s.Name()))
			}
		}
	}
	if len(specs) == 0 {
		t.Fatalf("no specs in corpus %s", dir)
	}
	return specs
}

var openapiKey = regexp.MustCompile(`(?m)^\s*"?openapi"?\s*:`)

func isSpecName(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}

// markIdempotent returns the document with x-idempotent: true added to every
// POST and PATCH operation that has none (webhooks and callbacks included), by editing its tree: JSON through
// encoding/json (yaml.v3 rejects some JSON string escapes), YAML through the
// YAML node tree (which keeps key order and comments).
func markIdempotent(data []byte, isJSON bool) ([]byte, int, error) {
	if isJSON {
		return markIdempotentJSON(data)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, 0, err
	}
	if len(doc.Content) == 0 {
		return nil, 0, fmt.Errorf("empty document")
	}
	marked := 0
	// markItems marks the path items of paths, webhooks or a callback, and
	// the callbacks of their operations.
	var markItems func(items *yaml.Node)
	markItems = func(items *yaml.Node) {
		if items == nil || items.Kind != yaml.MappingNode {
			return
		}
		for i := 1; i < len(items.Content); i += 2 {
			item := items.Content[i]
			if item.Kind != yaml.MappingNode {
				continue
			}
			for j := 0; j+1 < len(item.Content); j += 2 {
				method := strings.ToLower(item.Content[j].Value)
				op := item.Content[j+1]
				if (method != "post" && method != "patch") || op.Kind != yaml.MappingNode {
					continue
				}
				if cbs := mapValue(op, "callbacks"); cbs != nil && cbs.Kind == yaml.MappingNode {
					for k := 1; k < len(cbs.Content); k += 2 {
						markItems(cbs.Content[k])
					}
				}
				if mapValue(op, "x-idempotent") != nil {
					continue
				}
				op.Content = append(op.Content,
					&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "x-idempotent"},
					&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: "true"})
				marked++
			}
		}
	}
	markItems(mapValue(doc.Content[0], "paths"))
	markItems(mapValue(doc.Content[0], "webhooks"))
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, 0, err
	}
	return buf.Bytes(), marked, nil
}

func markIdempotentJSON(data []byte) ([]byte, int, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		return nil, 0, err
	}
	marked := 0
	var markItems func(items any)
	markItems = func(items any) {
		m, _ := items.(map[string]any)
		for _, item := range m {
			ops, _ := item.(map[string]any)
			for method, op := range ops {
				o, ok := op.(map[string]any)
				method = strings.ToLower(method)
				if !ok || (method != "post" && method != "patch") {
					continue
				}
				if cbs, ok := o["callbacks"].(map[string]any); ok {
					for _, cb := range cbs {
						markItems(cb)
					}
				}
				if _, has := o["x-idempotent"]; !has {
					o["x-idempotent"] = true
					marked++
				}
			}
		}
	}
	markItems(doc["paths"])
	markItems(doc["webhooks"])
	out, err := json.MarshalIndent(doc, "", "  ")
	return out, marked, err
}

func mapValue(m *yaml.Node, key string) *yaml.Node {
	if m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// newServersMain is a program that calls every generated package's NewServer
// (and NewWebhookHandler, for the packages in webhooks) with the default options: the ServeMux
// panics on conflicting patterns, which only shows at run time. One program links once for all
// cases. A package whose operations are secured gets a SecurityHandler that is never called
// (a struct embedding the nil interface); one whose webhooks or callbacks are (hooksSecured), a
// WebhookSecurityHandler alike.
func newServersMain(modPath string, pkgs []string, webhooks, secured, hooksSecured map[string]bool) []byte {
	var b strings.Builder
	b.WriteString("package main\n\nimport (\n\t\"fmt\"\n\t\"os\"\n\n")
	for i, p := range pkgs {
		fmt.Fprintf(&b, "\tp%d %q\n", i, modPath+"/corpus/"+p)
	}
	b.WriteString(")\n\nfunc main() {\n\tfailed := false\n")
	for i, p := range pkgs {
		sh := ""
		if secured[p] {
			sh = fmt.Sprintf(", struct{ p%d.SecurityHandler }{}", i)
		}
		fmt.Fprintf(&b, "\tif _, err := p%d.NewServer(p%d.UnimplementedHandler{}%s); err != nil {\n\t\tfmt.Println(%q, err)\n\t\tfailed = true\n\t}\n", i, i, sh, p)
		if webhooks[p] {
			wsh := ""
			if hooksSecured[p] {
				wsh = fmt.Sprintf(", struct{ p%d.WebhookSecurityHandler }{}", i)
			}
			fmt.Fprintf(&b, "\tif _, err := p%d.NewWebhookHandler(p%d.UnimplementedWebhookHandler{}%s); err != nil {\n\t\tfmt.Println(%q, err)\n\t\tfailed = true\n\t}\n", i, i, wsh, p)
		}
	}
	b.WriteString("\tif failed {\n\t\tos.Exit(1)\n\t}\n}\n")
	return []byte(b.String())
}

// TestCorpus generates every corpus spec, as it is and with x-idempotent: true
// on every POST and PATCH, into one temporary module (one package per case),
// then builds, vets and runs NewServer in each.
func TestCorpus(t *testing.T) {
	dir := corpusDir(t)
	specs := corpusSpecs(t, dir)
	ctx := context.Background()
	m := gentest.NewModule(t)
	work := t.TempDir()
	pkgIdent := regexp.MustCompile(`[^a-z0-9]+`)
	var pkgs []string
	webhooks := map[string]bool{}
	secured, hooksSecured := map[string]bool{}, map[string]bool{}
	for _, spec := range specs {
		rel, _ := filepath.Rel(dir, spec)
		base := strings.Trim(pkgIdent.ReplaceAllString(strings.ToLower(rel), "_"), "_")

		// The spec with x-idempotent added lives in a copy of its directory,
		// so that relative $refs still resolve.
		data, err := os.ReadFile(spec)
		if err != nil {
			t.Fatal(err)
		}
		isJSON := strings.EqualFold(filepath.Ext(spec), ".json")
		marked, n, err := markIdempotent(data, isJSON)
		if err != nil {
			t.Fatalf("%s: %v", rel, err)
		}
		copyDir := filepath.Join(work, base)
		if err := os.CopyFS(copyDir, os.DirFS(filepath.Dir(spec))); err != nil {
			t.Fatal(err)
		}
		markedSpec := filepath.Join(copyDir, "idempotent-"+filepath.Base(spec))
		if err := os.WriteFile(markedSpec, marked, 0o644); err != nil {
			t.Fatal(err)
		}

		for _, c := range []struct{ name, path string }{{base, spec}, {base + "_idempotent", markedSpec}} {
			api, err := loader.Load(ctx, c.path)
			if err != nil {
				t.Errorf("%s: load: %v", rel, err)
				continue
			}
			for _, d := range api.Diagnostics {
				if d.Severity == model.Error {
					t.Logf("%s: spec error (generating anyway): %s", c.name, d.Error())
				}
			}
			res, err := emit.Generate(api, emit.Options{Package: "api", Models: true, Server: true, Client: true, Version: "test"})
			if err != nil {
				t.Errorf("%s: generate: %v", c.name, err)
				continue
			}
			idempotent := 0
			for _, op := range append(api.Operations, api.Receivers()...) {
				if op.Idempotent() {
					idempotent++
				}
			}
			webhooks[c.name] = len(api.Receivers()) > 0
			if c.path == markedSpec && idempotent < n {
				t.Errorf("%s: %d operations marked, %d idempotent in the model", c.name, n, idempotent)
			}
			t.Logf("%s: %d operations, %d webhooks and callbacks (%d idempotent), %d schemas, %d emit warnings", c.name, len(api.Operations), len(api.Receivers()), idempotent, len(api.Schemas), len(res.Diagnostics))
			m.Add(t, "corpus/"+c.name, res.Files)
			pkgs = append(pkgs, c.name)
			secured[c.name] = slices.ContainsFunc(api.Operations, requiresAuth)
			hooksSecured[c.name] = slices.ContainsFunc(api.Receivers(), requiresAuth)
		}
	}
	if t.Failed() {
		return
	}
	if testing.Short() {
		t.Skip("-short: generated the corpus, skipping the compile (go build, go vet, NewServer)")
	}
	m.Add(t, "cmd/newservers", []emit.File{{Name: "main.go", Content: newServersMain(m.Path, pkgs, webhooks, secured, hooksSecured)}})
	m.BuildAndVet(t)
	if out, err := m.Go(ctx, "run", "./cmd/newservers"); err != nil {
		t.Fatalf("NewServer fails on generated corpus code: %v\n%s", err, out)
	}
}

// requiresAuth reports an operation with a security alternative naming a scheme, which the
// generated code authenticates.
func requiresAuth(op *model.Operation) bool {
	return slices.ContainsFunc(op.Security, func(alt model.SecurityRequirement) bool { return len(alt.Schemes) > 0 })
}
