package gentest_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/idemgen/idemgen/generator/emit"
	"github.com/idemgen/idemgen/generator/gentest"
	"github.com/idemgen/idemgen/generator/loader"
	"github.com/idemgen/idemgen/generator/model"
	"github.com/idemgen/idemgen/generator/proxyplan"
	"github.com/idemgen/idemgen/runtime/gateway"
	"github.com/idemgen/idemgen/runtime/issuedkey"
	"github.com/idemgen/idemgen/runtime/store/memstore"
)

// TestProxyRoutesWhatServerRoutes checks, on every golden, example and corpus
// spec, that `idemgen proxy` routes every operation the generated server
// routes, to the same operation. For each operation a request path is built
// from its route (each parameter a sample value); the generated server's
// routing (emit.RouteServer: its ServeMux patterns and dispatch, run in
// process) and the gateway's route table (proxyplan.Routes, as `idemgen proxy
// --check` builds it) must both send it to that operation.
func TestProxyRoutesWhatServerRoutes(t *testing.T) {
	root := gentest.RepoRoot()
	t.Run("golden", func(t *testing.T) {
		specs, err := filepath.Glob(filepath.Join(root, "testdata", "golden", "*", "openapi.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		examples, _ := filepath.Glob(filepath.Join(root, "examples", "*", "openapi.yaml"))
		checkProxySpecs(t, root, append(specs, examples...))
	})
	t.Run("corpus", func(t *testing.T) {
		checkProxySpecs(t, root, corpusSpecs(t, corpusDir(t)))
	})
}

func checkProxySpecs(t *testing.T, root string, specs []string) {
	ops, nspecs := 0, 0
	for _, spec := range specs {
		name, _ := filepath.Rel(root, spec)
		api, err := loader.Load(context.Background(), spec)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if hasErrors(api) {
			// Neither generate nor proxy accepts it.
			t.Logf("%s: has errors, skipped", name)
			continue
		}
		nspecs++
		ops += checkProxyRoutes(t, name, api)
	}
	t.Logf("checked %d operations over %d specs", ops, nspecs)
	if ops == 0 {
		t.Fatal("no operation checked")
	}
}

func hasErrors(api *model.API) bool {
	for _, d := range api.Diagnostics {
		if d.Severity == model.Error {
			return true
		}
	}
	return false
}

// routings builds the two routings of api: the generated server's
// (emit.RouteServer) and the gateway's (proxyplan.Routes, as `idemgen proxy`
// builds it). Each returns the operationId a request reaches, "" for none.
func routings(t testing.TB, api *model.API) (server, proxy func(method, path string) string, err error) {
	var served *model.Operation
	mux := http.NewServeMux()
	err = emit.RouteServer(api, mux, func(op *model.Operation) http.Handler {
		return http.HandlerFunc(func(http.ResponseWriter, *http.Request) { served = op })
	})
	if err != nil {
		return nil, nil, fmt.Errorf("the generated server's routes: %w", err)
	}
	routes, err := proxyplan.Routes(api)
	if err != nil {
		return nil, nil, err
	}
	iss, err := issuedkey.New(issuedkey.Config{Secret: []byte(strings.Repeat("k", 32))})
	if err != nil {
		return nil, nil, err
	}
	st := memstore.New()
	t.Cleanup(func() { st.Close() })
	gw, err := gateway.New(gateway.Config{
		Routes: routes, Upstream: &url.URL{Scheme: "http", Host: "127.0.0.1:9"}, Store: st,
		Logger:    slog.New(slog.DiscardHandler),
		Principal: func(*http.Request) (string, error) { return "p", nil }, Issuer: iss,
	})
	if err != nil {
		return nil, nil, err
	}
	if len(gw.Routes()) != len(api.Operations) {
		return nil, nil, fmt.Errorf("the gateway has %d routes for %d operations", len(gw.Routes()), len(api.Operations))
	}
	server = func(method, path string) string {
		served = nil
		mux.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(method, path, nil))
		if served == nil {
			return ""
		}
		return served.ID
	}
	proxy = func(method, path string) string {
		r, _ := gw.Lookup(method, path)
		return r.Operation
	}
	return server, proxy, nil
}

// checkProxyRoutes compares the two routings on a request for each operation
// and on requests where a parameter takes a literal of another route of the
// method at its position (so that several routes may match and precedence
// decides). It returns how many operations it checked.
func checkProxyRoutes(t *testing.T, name string, api *model.API) int {
	t.Helper()
	server, proxy, err := routings(t, api)
	if err != nil {
		t.Errorf("%s: %v", name, err)
		return 0
	}
	for _, op := range api.Operations {
		path := samplePath(op.Route, -1, "")
		if got := server(op.Method, path); got != op.ID {
			t.Errorf("%s: %s %s: the generated server serves %s with %q", name, op.Method, op.Path, path, got)
		} else if got := proxy(op.Method, path); got != op.ID {
			t.Errorf("%s: %s %s: the proxy routes %s to %q (\"\" is pass-through), the generated server to %s", name, op.Method, op.Path, path, got, op.ID)
		}
		if op.Method == http.MethodGet {
			// ServeMux serves HEAD with a GET pattern unless a HEAD one matches.
			if s, p := server(http.MethodHead, path), proxy(http.MethodHead, path); s != p {
				t.Errorf("%s: HEAD %s: the proxy routes it to %q, the generated server to %q", name, path, p, s)
			}
		}
	}
	type at struct {
		method string
		i      int
	}
	literals := map[at][]string{}
	for _, op := range api.Operations {
		for i, seg := range op.Route.Segments {
			k := at{op.Method, i}
			if lit, ok := seg.Literal(); ok && lit != "" && !slices.Contains(literals[k], lit) {
				literals[k] = append(literals[k], lit)
			}
		}
	}
	overlaps := 0
	for _, op := range api.Operations {
		for i, seg := range op.Route.Segments {
			if _, ok := seg.Whole(); !ok {
				continue
			}
			for _, lit := range literals[at{op.Method, i}] {
				path := samplePath(op.Route, i, lit)
				if s, p := server(op.Method, path), proxy(op.Method, path); s != p {
					t.Errorf("%s: %s %s: the proxy routes it to %q, the generated server to %q", name, op.Method, path, p, s)
				}
				overlaps++
			}
		}
	}
	t.Logf("%s: %d operations, %d requests with a parameter set to another route's literal", name, len(api.Operations), overlaps)
	return len(api.Operations)
}

// samplePath is an escaped request path for route with a distinct sample
// value for each parameter, except segment at, a whole parameter, set to lit.
func samplePath(route model.Route, at int, lit string) string {
	var b strings.Builder
	n := 0
	for i, seg := range route.Segments {
		b.WriteByte('/')
		for _, p := range seg.Parts {
			if p.IsParam() {
				n++
				if i == at {
					b.WriteString(url.PathEscape(lit))
					continue
				}
				fmt.Fprintf(&b, "v%d", n)
			} else {
				b.WriteString(url.PathEscape(p.Literal))
			}
		}
	}
	return b.String()
}

// precedenceSpec has routes that overlap: a literal beside a parameter at
// different positions, partial segments, and a route whose pattern is more
// specific than another's without serving all of it.
const precedenceSpec = `openapi: 3.0.3
info: {title: Precedence, version: "1"}
paths:
  /files/upload_sessions/{id}: {get: {operationId: session, parameters: [{name: id, in: path, required: true, schema: {type: string}}], responses: {"200": {description: ok}}}}
  /files/{id}/comments: {get: {operationId: comments, parameters: [{name: id, in: path, required: true, schema: {type: string}}], responses: {"200": {description: ok}}}}
  /files/{id}/tasks: {get: {operationId: tasks, parameters: [{name: id, in: path, required: true, schema: {type: string}}], responses: {"200": {description: ok}}}}
  /files/{id}/{kind}: {get: {operationId: anyKind, parameters: [{name: id, in: path, required: true, schema: {type: string}}, {name: kind, in: path, required: true, schema: {type: string}}], responses: {"200": {description: ok}}}}
  /x/{a}.json: {get: {operationId: xJSON, parameters: [{name: a, in: path, required: true, schema: {type: string}}], responses: {"200": {description: ok}}}}
  /{b}/{c}: {get: {operationId: pair, parameters: [{name: b, in: path, required: true, schema: {type: string}}, {name: c, in: path, required: true, schema: {type: string}}], responses: {"200": {description: ok}}}}
  /songs/{id}: {get: {operationId: song, parameters: [{name: id, in: path, required: true, schema: {type: string}}], responses: {"200": {description: ok}}}}
  /songs/{id}.json: {get: {operationId: songJSON, parameters: [{name: id, in: path, required: true, schema: {type: string}}], responses: {"200": {description: ok}}}}
  /songs/latest: {get: {operationId: latest, responses: {"200": {description: ok}}}}
`

// TestRoutePrecedence checks where the generated server and the gateway send
// requests that several routes match: to the same operation, the one
// model.ComparePrecedence puts first.
func TestRoutePrecedence(t *testing.T) {
	spec := filepath.Join(t.TempDir(), "openapi.yaml")
	if err := os.WriteFile(spec, []byte(precedenceSpec), 0o644); err != nil {
		t.Fatal(err)
	}
	api, err := loader.Load(context.Background(), spec)
	if err != nil || hasErrors(api) {
		t.Fatalf("load: %v %v", err, api.Diagnostics)
	}
	checkProxyRoutes(t, "precedence", api)
	server, proxy, err := routings(t, api)
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		"/files/upload_sessions/comments": "session",
		"/files/upload_sessions/tasks":    "session",
		"/files/f1/comments":              "comments",
		"/files/f1/tasks":                 "tasks",
		"/files/f1/other":                 "anyKind",
		"/x/a.json":                       "xJSON",
		"/x/a.xml":                        "pair", // not a 404: the pair route matches
		"/songs/latest":                   "latest",
		"/songs/42.json":                  "songJSON",
		"/songs/42":                       "song",
		"/songs/42.xml":                   "song",
	} {
		if s, p := server("GET", path), proxy("GET", path); s != want || p != want {
			t.Errorf("GET %s: the generated server serves it with %q, the gateway with %q; want %s", path, s, p, want)
		}
	}
}
