package gentest_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/idemgen/idemgen/generator/emit"
	"github.com/idemgen/idemgen/generator/loader"
	"github.com/idemgen/idemgen/generator/model"
)

// pathNamesSpec has a wildcard of each kind: named after its parameter
// (/orders/{orderId}), by position because ServeMux refuses the name
// (item-id), because the operations sharing a pattern name the segment
// differently (/m/{x}/{k}/c and /m/{y}/d/{w} cross, so they share
// /m/{_p1}/{_p2}/{_p3}), and because text surrounds the parameters
// (/files/{name}.{ext}).
const pathNamesSpec = `openapi: 3.0.3
info: {title: t, version: "1"}
paths:
  /orders/{orderId}:
    get:
      operationId: getOrder
      parameters: [{name: orderId, in: path, required: true, schema: {type: string}}]
      responses: {"204": {description: ok}}
  /items/{item-id}:
    get:
      operationId: getItem
      parameters: [{name: item-id, in: path, required: true, schema: {type: string}}]
      responses: {"204": {description: ok}}
  /m/{x}/{k}/c:
    get:
      operationId: getC
      parameters:
        - {name: x, in: path, required: true, schema: {type: string}}
        - {name: k, in: path, required: true, schema: {type: string}}
      responses: {"204": {description: ok}}
  /m/{y}/d/{w}:
    get:
      operationId: getD
      parameters:
        - {name: y, in: path, required: true, schema: {type: string}}
        - {name: w, in: path, required: true, schema: {type: string}}
      responses: {"204": {description: ok}}
  /files/{name}.{ext}:
    get:
      operationId: getFile
      parameters:
        - {name: name, in: path, required: true, schema: {type: string}}
        - {name: ext, in: path, required: true, schema: {type: string}}
      responses: {"204": {description: ok}}
`

// TestPathValuesUnderSpecNames: whichever way a wildcard is named, the
// operation reads every path parameter under its spec name.
func TestPathValuesUnderSpecNames(t *testing.T) {
	spec := filepath.Join(t.TempDir(), "openapi.yaml")
	if err := os.WriteFile(spec, []byte(pathNamesSpec), 0o644); err != nil {
		t.Fatal(err)
	}
	api, err := loader.Load(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	var (
		served  string
		pattern string
		values  map[string]string
	)
	mux := http.NewServeMux()
	err = emit.RouteServer(api, mux, func(op *model.Operation) http.Handler {
		return http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
			served, pattern, values = op.ID, r.Pattern, map[string]string{}
			for _, p := range op.Params {
				if p.In == model.InPath {
					values[p.Name] = r.PathValue(p.Name)
				}
			}
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path, op, pattern string
		values            map[string]string
	}{
		{"/orders/o-1", "getOrder", "GET /orders/{orderId}", map[string]string{"orderId": "o-1"}},
		{"/items/i-2", "getItem", "GET /items/{_p1}", map[string]string{"item-id": "i-2"}},
		{"/m/a/b/c", "getC", "GET /m/{_p1}/{_p2}/{_p3}", map[string]string{"x": "a", "k": "b"}},
		{"/m/a/d/e", "getD", "GET /m/{_p1}/{_p2}/{_p3}", map[string]string{"y": "a", "w": "e"}},
		{"/files/report.pdf", "getFile", "GET /files/{_p1}", map[string]string{"name": "report", "ext": "pdf"}},
	} {
		served, pattern, values = "", "", nil
		mux.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", c.path, nil))
		if served != c.op || pattern != c.pattern {
			t.Errorf("GET %s: served by %q under %q, want %q under %q", c.path, served, pattern, c.op, c.pattern)
			continue
		}
		for name, want := range c.values {
			if values[name] != want {
				t.Errorf("GET %s: r.PathValue(%q) = %q, want %q", c.path, name, values[name], want)
			}
		}
	}
}
