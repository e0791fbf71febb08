package otelidem_test

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"

	"github.com/idemgen/idemgen/runtime/client"
	"github.com/idemgen/idemgen/runtime/idempotency"
	"github.com/idemgen/idemgen/runtime/otelidem"
	"github.com/idemgen/idemgen/runtime/serverkit"
)

// TestOperationMiddleware wires Middleware as docs/observability.md tells a
// generated server to (serverkit.WithOperationMiddleware), with a server built
// the way a generated NewServer builds one: every span carries the route
// template with the spec's parameter names and the operationId, idempotent
// operation or not, and the idempotency outcome lands on the same span.
func TestOperationMiddleware(t *testing.T) {
	h := newHarness(t)
	kit := serverkit.New("api",
		serverkit.WithObserver(h.tel.IdempotencyObserver()),
		serverkit.WithOperationMiddleware(func(op serverkit.OperationInfo, next http.Handler) http.Handler {
			return h.tel.Middleware(op.ID, op.Route)(next)
		}))
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusCreated) })
	put, err := kit.Idempotent("putSong", idempotency.Policy{Operation: "putSong"}, ok)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`^(.+?)\.(.+?)$`)
	for pattern, op := range map[string]http.Handler{
		"PUT /songs/{_p1}": kit.Operation(serverkit.OperationInfo{ID: "putSong", Method: "PUT", Route: "/songs/{songId}"}, put,
			serverkit.PathParam{Name: "songId", Wildcard: "_p1"}),
		"GET /files/{_p1}": kit.Operation(serverkit.OperationInfo{ID: "getFile", Method: "GET", Route: "/files/{name}.{ext}"}, ok,
			serverkit.PathParam{Name: "name", Wildcard: "_p1", Regexp: re, Group: 1},
			serverkit.PathParam{Name: "ext", Wildcard: "_p1", Regexp: re, Group: 2}),
	} {
		if err := kit.Handle(pattern, op); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(kit.Handler())
	for _, r := range []struct{ method, path string }{{"PUT", "/songs/7"}, {"GET", "/files/a.mp3"}} {
		req, _ := http.NewRequest(r.method, srv.URL+r.path, strings.NewReader(`{}`))
		req.Header.Set("Idempotency-Key", client.KeyHeaderValue(keyA))
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("%s %s: %d", r.method, r.path, resp.StatusCode)
		}
	}
	srv.Close()

	want := map[string]map[attribute.Key]string{
		"PUT /songs/{songId}":     {"http.route": "/songs/{songId}", "oas.operation": "putSong", otelidem.AttrOutcome: "executed"},
		"GET /files/{name}.{ext}": {"http.route": "/files/{name}.{ext}", "oas.operation": "getFile", otelidem.AttrOutcome: ""},
	}
	spans := h.spans.GetSpans()
	if len(spans) != len(want) {
		t.Fatalf("%d spans, want %d", len(spans), len(want))
	}
	for _, s := range spans {
		w, found := want[s.Name]
		if !found {
			t.Errorf("unexpected span %q", s.Name)
			continue
		}
		a := attrs(s.Attributes)
		for k, v := range w {
			if a[k] != v {
				t.Errorf("%s: %s = %q, want %q", s.Name, k, a[k], v)
			}
		}
	}
}
