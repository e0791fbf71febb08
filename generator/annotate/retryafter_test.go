package annotate_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idemgen/idemgen/generator/annotate"
	"github.com/idemgen/idemgen/generator/lint"
	"github.com/idemgen/idemgen/generator/loader"
	"github.com/idemgen/idemgen/generator/model"
)

// TestAnnotateRetryAfterOnExisting409: a 409 the spec already documents
// without Retry-After gets the header, in place (every line of the source is
// kept, flow style and quoting included), so doc-retry-after no longer fires
// and a second run changes nothing.
func TestAnnotateRetryAfterOnExisting409(t *testing.T) {
	const spec = `openapi: 3.0.3
info: { title: t, version: "1" }
paths:
  /orders:
    post:
      operationId: createOrder
      description: Creates an order.
      x-idempotent: { ttl: 1h }
      parameters:
        - { name: Idempotency-Key, in: header, required: true, schema: { type: string, minLength: 1, maxLength: 255 } }
      responses:
        '201':
          description: created
          headers:
            Idempotent-Replayed: { description: replay, schema: { type: string } }
        '400': { description: bad, content: { application/problem+json: { schema: { type: object } } } }
        '409':
          description: Another request with this key is in flight.
          content:
            application/problem+json:
              schema: { type: object }
        '422': { description: reused, content: { application/problem+json: { schema: { type: object } } } }
`
	ctx := context.Background()
	path, api := loadSpec(t, spec)
	if !hasRule(lint.Lint(ctx, api, nil), lint.RuleDocRetryAfter) {
		t.Fatalf("the spec does not trigger %s", lint.RuleDocRetryAfter)
	}
	res, err := annotate.Annotate(api, []byte(spec))
	if err != nil {
		t.Fatal(err)
	}
	out := string(res.Data)
	if !strings.Contains(out, "Retry-After") {
		t.Fatalf("no Retry-After added:\n%s", out)
	}
	// In place: every source line is still there, in order.
	rest := out
	for _, line := range strings.Split(strings.TrimSuffix(spec, "\n"), "\n") {
		if line == "      description: Creates an order." {
			continue // annotate appends the policy sentence
		}
		i := strings.Index(rest, line+"\n")
		if i < 0 {
			t.Fatalf("line %q lost or moved:\n%s", line, out)
		}
		rest = rest[i+len(line)+1:]
	}
	if err := os.WriteFile(path, res.Data, 0o644); err != nil {
		t.Fatal(err)
	}
	after, err := loader.Load(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if fs := lint.Lint(ctx, after, nil); hasRule(fs, lint.RuleDocRetryAfter) {
		t.Errorf("%s still fires after annotate:\n%s", lint.RuleDocRetryAfter, out)
	}
	again, err := annotate.Annotate(after, res.Data)
	if err != nil {
		t.Fatal(err)
	}
	if string(again.Data) != out || again.Changed != 0 {
		t.Errorf("a second run changed the document (changed %d):\n%s", again.Changed, again.Data)
	}
}

func hasRule(fs []lint.Finding, rule string) bool {
	for _, f := range fs {
		if f.Rule == rule {
			return true
		}
	}
	return false
}

// loadSpec writes spec to a file and loads it.
func loadSpec(t *testing.T, spec string) (string, *model.API) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "api.yaml")
	if err := os.WriteFile(path, []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	api, err := loader.Load(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	return path, api
}
