package annotate_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/idemgen/idemgen/generator/annotate"
	"github.com/idemgen/idemgen/generator/loader"
	"github.com/idemgen/idemgen/generator/model"
	"github.com/idemgen/idemgen/runtime/idempotency"
)

// TestCorpusAnnotateInPlace annotates the real-world YAML specs of the corpus
// (every POST and PATCH made idempotent in the model, the file untouched) and
// checks that the result is a small diff: every source line outside the
// annotated operations is kept byte for byte and in order, so `git diff` of
// an in-place run shows only the annotated operations and the added problem
// schema.
func TestCorpusAnnotateInPlace(t *testing.T) {
	dir := os.Getenv("IDEMGEN_CORPUS")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "corpus")
	}
	specs, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if len(specs) == 0 {
		if os.Getenv("CI") == "true" {
			t.Fatalf("no corpus YAML specs in %s under CI (set IDEMGEN_CORPUS)", dir)
		}
		t.Skipf("no corpus YAML specs in %s (set IDEMGEN_CORPUS to run)", dir)
	}
	for _, spec := range specs {
		t.Run(filepath.Base(spec), func(t *testing.T) {
			src, err := os.ReadFile(spec)
			if err != nil {
				t.Fatal(err)
			}
			api, err := loader.Load(context.Background(), spec)
			if err != nil {
				t.Fatal(err)
			}
			var doc yaml.Node
			if err := yaml.Unmarshal(src, &doc); err != nil {
				t.Fatal(err)
			}
			skip := map[int]bool{} // 1-based lines of the annotated operations
			n := 0
			for _, op := range api.Operations {
				if op.Method != "POST" && op.Method != "PATCH" || op.Pos.File != api.File && !sameFile(op.Pos.File, spec) {
					continue
				}
				op.Idempotency = &model.Extension{Enabled: true, Policy: idempotency.Policy{Operation: op.ID}}
				if node := find(&doc, op.Pointer); node != nil {
					for l := node.Line - 1; l <= lastLine(node); l++ {
						skip[l] = true
					}
				}
				n++
			}
			if n == 0 {
				t.Skip("no POST or PATCH")
			}
			res, err := annotate.Annotate(api, src)
			if err != nil {
				t.Fatal(err)
			}
			if res.Reformatted {
				t.Fatalf("the source's formatting could not be kept")
			}
			out := strings.Split(string(res.Data), "\n")
			k, kept := 0, 0
			for i, line := range strings.Split(string(src), "\n") {
				if skip[i+1] {
					continue
				}
				for k < len(out) && out[k] != line {
					k++
				}
				if k == len(out) {
					t.Fatalf("line %d %q is not kept (in order)", i+1, line)
				}
				k++
				kept++
			}
			t.Logf("%d operations annotated, %d lines outside them kept byte for byte", n, kept)
		})
	}
}

func sameFile(a, b string) bool {
	x, _ := filepath.Abs(a)
	y, _ := filepath.Abs(b)
	return x == y
}

// find follows a JSON Pointer through mappings.
func find(doc *yaml.Node, ptr string) *yaml.Node {
	n := doc.Content[0]
	for _, tok := range strings.Split(strings.TrimPrefix(ptr, "/"), "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == tok {
				next = n.Content[i+1]
			}
		}
		if next == nil {
			return nil
		}
		n = next
	}
	return n
}

func lastLine(n *yaml.Node) int {
	l := n.Line
	if n.Kind == yaml.ScalarNode {
		l += strings.Count(n.Value, "\n") + 1 // block scalars span their lines
	}
	for _, c := range n.Content {
		l = max(l, lastLine(c))
	}
	return l
}
