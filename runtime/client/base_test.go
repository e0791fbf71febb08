package client_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idemgen/idemgen/runtime/client"
)

func TestNewBaseRejectsBadURLs(t *testing.T) {
	for _, u := range []string{"", "/relative", "ftp://host", "http://", "::"} {
		if _, err := client.NewBase(client.BaseConfig{Package: "api"}, u); err == nil {
			t.Errorf("NewBase(%q) succeeded", u)
		}
	}
	if _, err := client.NewBase(client.BaseConfig{}, "http://h", client.WithRetryPolicy(client.Policy{MaxAttempts: -1})); err == nil {
		t.Error("a bad retry policy was accepted")
	}
}

// TestInvocation: a call sends its method, path, query, body and the key it
// chose; the User-Agent is the generated default unless WithUserAgent sets
// another (or none: net/http's own); the client's editors run before the call's; errors name
// the package and the operation.
func TestInvocation(t *testing.T) {
	type seen struct{ method, uri, body, ua, ct, order string }
	got := make(chan seen, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- seen{r.Method, r.RequestURI, string(b), r.Header.Get("User-Agent"), r.Header.Get("Content-Type"), r.Header.Get("X-Order")}
		w.WriteHeader(201)
	}))
	defer srv.Close()
	edit := func(tag string) client.RequestEditorFn {
		return func(_ context.Context, r *http.Request) error {
			r.Header.Add("X-Order", tag)
			return nil
		}
	}
	b, err := client.NewBase(client.BaseConfig{Package: "api", UserAgent: "idemgen-client/test"}, srv.URL+"/v1/",
		client.WithRequestEditorFn(edit("client")))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	call := b.Begin(client.Operation{ID: "create", Method: "POST", Idempotent: true},
		[]client.CallOption{client.WithIdempotencyKey("given"), client.WithCallRequestEditorFn(edit("call"))})
	if k := call.ChooseKey("in-request", client.NewKey); k != "given" {
		t.Errorf("key %q, want the given one", k)
	}
	call.Key = "given"
	req, err := call.NewRequest(ctx, "/songs", map[string][]string{"a": {"1"}}, []byte(`{}`), "application/json")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := call.Do(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	s := <-got
	if s.method != "POST" || s.uri != "/v1/songs?a=1" || s.body != "{}" || s.ua != "idemgen-client/test" || s.ct != "application/json" {
		t.Errorf("request %+v", s)
	}
	if raw.Result.Key != "given" || raw.HTTP.StatusCode != 201 {
		t.Errorf("result %+v", raw.Result)
	}

	b2, err := client.NewBase(client.BaseConfig{Package: "api", UserAgent: "idemgen-client/test"}, srv.URL, client.WithUserAgent(""))
	if err != nil {
		t.Fatal(err)
	}
	call = b2.Begin(client.Operation{ID: "list", Method: "GET"}, nil)
	if k := call.ChooseKey("", func() string { return "fresh" }); k != "fresh" {
		t.Errorf("key %q, want a fresh one", k)
	}
	if k := call.ChooseKey("in-request", client.NewKey); k != "in-request" {
		t.Errorf("key %q, want the request's", k)
	}
	req, _ = call.NewRequest(ctx, "/x", nil, nil, "")
	if _, err := call.Do(ctx, req); err != nil {
		t.Fatal(err)
	}
	s = <-got
	if s.ua == "idemgen-client/test" || s.body != "" || s.uri != "/x" {
		t.Errorf("request %+v, want not the default User-Agent", s)
	}
	if s.order != "" {
		t.Errorf("editors ran on another client's call: %q", s.order)
	}

	// The call's order header: the client's editor first.
	b3, _ := client.NewBase(client.BaseConfig{Package: "api"}, srv.URL, client.WithRequestEditorFn(edit("client")))
	call = b3.Begin(client.Operation{ID: "x", Method: "GET"}, []client.CallOption{client.WithCallRequestEditorFn(edit("call"))})
	req, _ = call.NewRequest(ctx, "/", nil, nil, "")
	if _, err := call.Do(ctx, req); err != nil {
		t.Fatal(err)
	}
	if s := <-got; s.order != "client" {
		t.Errorf("first X-Order %q, want the client's editor first", s.order)
	}

	failing := b3.Begin(client.Operation{ID: "broken", Method: "GET"}, []client.CallOption{client.WithCallRequestEditorFn(
		func(context.Context, *http.Request) error { return errors.New("no token") })})
	req, _ = failing.NewRequest(ctx, "/", nil, nil, "")
	if _, err := failing.Do(ctx, req); err == nil || err.Error() != "api: broken: request editor: no token" {
		t.Errorf("editor error: %v", err)
	}
	if err := failing.Error(io.EOF); !errors.Is(err, io.EOF) || !strings.HasPrefix(err.Error(), "api: broken: ") {
		t.Errorf("Error: %v", err)
	}
}

// TestCallRetryPolicy: a call's policy overrides the client's.
func TestCallRetryPolicy(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(503)
	}))
	defer srv.Close()
	noSleep := client.WithSleep(func(ctx context.Context, _ time.Duration) error { return ctx.Err() })
	b, err := client.NewBase(client.BaseConfig{Package: "api"}, srv.URL,
		client.WithRetryPolicy(client.Policy{MaxAttempts: 3}), client.WithRetryOptions(noSleep))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, c := range []struct {
		opts []client.CallOption
		want int32
	}{{nil, 3}, {[]client.CallOption{client.WithCallRetryPolicy(client.Policy{MaxAttempts: 1})}, 1}} {
		hits.Store(0)
		call := b.Begin(client.Operation{ID: "get", Method: "GET"}, c.opts)
		req, _ := call.NewRequest(ctx, "/", nil, nil, "")
		call.Do(ctx, req)
		if hits.Load() != c.want {
			t.Errorf("%d attempts, want %d", hits.Load(), c.want)
		}
	}
}

func TestResponseDecodeJSON(t *testing.T) {
	bodies := map[string]string{"/ok": `{"a":1}`, "/bad": `{"a":`, "/empty": ``}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, bodies[r.URL.Path])
	}))
	defer srv.Close()
	b, err := client.NewBase(client.BaseConfig{Package: "api"}, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	get := func(path string) *client.Response {
		call := b.Begin(client.Operation{ID: "get", Method: "GET"}, nil)
		req, _ := call.NewRequest(ctx, path, nil, nil, "")
		raw, err := call.Do(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	v := map[string]int{"keep": 1}
	if err := get("/ok").DecodeJSON(&v); err != nil || v["a"] != 1 {
		t.Errorf("ok: %v %v", v, err)
	}
	if err := get("/empty").DecodeJSON(&v); err != nil || v["keep"] != 1 {
		t.Errorf("empty: %v %v", v, err)
	}
	if err := get("/bad").DecodeJSON(&v); err == nil || !strings.Contains(err.Error(), "decoding the 200 response") {
		t.Errorf("bad: %v", err)
	}
}
