package gentest_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
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

// checkProxyRoutes compares the two routings of api's operations and returns
// how many it checked.
func checkProxyRoutes(t *testing.T, name string, api *model.API) int {
	t.Helper()
	var served *model.Operation
	mux := http.NewServeMux()
	err := emit.RouteServer(api, mux, func(op *model.Operation) http.Handler {
		return http.HandlerFunc(func(http.ResponseWriter, *http.Request) { served = op })
	})
	if err != nil {
		t.Errorf("%s: the generated server's routes: %v", name, err)
		return 0
	}
	routes, err := proxyplan.Routes(api)
	if err != nil {
		t.Errorf("%s: %v", name, err)
		return 0
	}
	st := memstore.New()
	defer st.Close()
	iss, err := issuedkey.New(issuedkey.Config{Secret: []byte(strings.Repeat("k", 32))})
	if err != nil {
		t.Fatal(err)
	}
	gw, err := gateway.New(gateway.Config{
		Routes: routes, Upstream: &url.URL{Scheme: "http", Host: "127.0.0.1:9"}, Store: st,
		Logger:    slog.New(slog.DiscardHandler),
		Principal: func(*http.Request) (string, error) { return "p", nil }, Issuer: iss,
	})
	if err != nil {
		t.Errorf("%s: the gateway: %v", name, err)
		return 0
	}
	if len(gw.Routes()) != len(api.Operations) {
		t.Errorf("%s: the gateway has %d routes for %d operations", name, len(gw.Routes()), len(api.Operations))
	}
	for _, op := range api.Operations {
		path := samplePath(op.Route)
		served = nil
		mux.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(op.Method, path, nil))
		if served != op {
			t.Errorf("%s: %s %s: the generated server serves %s with %s", name, op.Method, op.Path, path, label(served))
			continue
		}
		r, ok := gw.Lookup(op.Method, path)
		if !ok || r.Operation != op.ID {
			got := "nothing (pass-through)"
			if ok {
				got = r.Operation
			}
			t.Errorf("%s: %s %s: the proxy routes %s to %s, the generated server to %s", name, op.Method, op.Path, path, got, op.ID)
		}
	}
	return len(api.Operations)
}

// samplePath is an escaped request path for route with a distinct sample
// value for each parameter.
func samplePath(route model.Route) string {
	var b strings.Builder
	n := 0
	for _, seg := range route.Segments {
		b.WriteByte('/')
		for _, p := range seg.Parts {
			if p.IsParam() {
				n++
				fmt.Fprintf(&b, "v%d", n)
			} else {
				b.WriteString(url.PathEscape(p.Literal))
			}
		}
	}
	return b.String()
}

func label(op *model.Operation) string {
	if op == nil {
		return "no operation"
	}
	return op.ID
}
