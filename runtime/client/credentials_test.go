package client_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/idemgen/idemgen/runtime/client"
)

var testSchemes = []client.Scheme{
	{Name: "bearer", Kind: client.Bearer, AuthScheme: "Bearer"},
	{Name: "basic", Kind: client.Basic, AuthScheme: "Basic"},
	{Name: "cookie", Kind: client.APIKey, In: "cookie", Param: "session"},
	{Name: "query", Kind: client.APIKey, In: "query", Param: "api_key"},
	{Name: "cert", Kind: client.MutualTLS},
}

// TestCredentials: each call sends the credentials of the first alternative
// the client has all of, none for an operation without a requirement, and
// the token func's token; the key is not made of them.
func TestCredentials(t *testing.T) {
	var got []*http.Request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Clone(context.Background()))
	}))
	defer srv.Close()
	var n atomic.Int64
	b, err := client.NewBase(client.BaseConfig{Package: "api", Schemes: testSchemes}, srv.URL,
		client.WithTokenFunc("bearer", func(context.Context) (string, error) {
			n.Add(1)
			return "t" + strings.Repeat("x", int(n.Load())), nil
		}),
		client.WithAPIKey("cookie", "c1"),
		client.WithAPIKey("query", "q&1"),
	)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	call := func(sec []client.Requirement, query string) *http.Request {
		t.Helper()
		inv := b.Begin(client.Operation{ID: "op", Method: "POST", Idempotent: true, Security: sec}, []client.CallOption{client.WithIdempotencyKey("k-1")})
		inv.Key = inv.ChooseKey("", client.NewKey)
		req, err := inv.NewRequest(ctx, "/p", map[string][]string{"a": {query}}, []byte(`{}`), "application/json")
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Idempotency-Key", inv.Key)
		if _, err := inv.Do(ctx, req); err != nil {
			t.Fatal(err)
		}
		return got[len(got)-1]
	}
	// basic is not configured: the second alternative is used.
	r := call([]client.Requirement{{"basic"}, {"bearer", "cookie"}}, "1")
	if r.Header.Get("Authorization") != "Bearer tx" || cookie(r, "session") != "c1" || r.Header.Get("Idempotency-Key") != "k-1" {
		t.Errorf("AND alternative: Authorization %q, session %q, key %q", r.Header.Get("Authorization"), cookie(r, "session"), r.Header.Get("Idempotency-Key"))
	}
	// The query key joins the operation's own query; mutualTLS asks nothing per request.
	r = call([]client.Requirement{{"query", "cert"}}, "1")
	if r.URL.Query().Get("api_key") != "q&1" || r.URL.Query().Get("a") != "1" || r.Header.Get("Authorization") != "" {
		t.Errorf("query key: %q, Authorization %q", r.URL.RawQuery, r.Header.Get("Authorization"))
	}
	// Optional first: credentials are still sent when the client has them.
	r = call([]client.Requirement{{}, {"bearer"}}, "1")
	if r.Header.Get("Authorization") != "Bearer txx" {
		t.Errorf("optional: Authorization %q", r.Header.Get("Authorization"))
	}
	// No requirement, or none the client can meet: nothing is added.
	for _, sec := range [][]client.Requirement{nil, {{"basic"}}} {
		r = call(sec, "1")
		if r.Header.Get("Authorization") != "" || r.Header.Get("Cookie") != "" || r.URL.Query().Has("api_key") {
			t.Errorf("%v: credentials sent: %v %q", sec, r.Header, r.URL.RawQuery)
		}
	}
}

func cookie(r *http.Request, name string) string {
	c, err := r.Cookie(name)
	if err != nil {
		return ""
	}
	return c.Value
}

// TestCredentialsBasicAndErrors: basic credentials are encoded; a token
// func's error fails the call before anything is sent.
func TestCredentialsBasicAndErrors(t *testing.T) {
	var sent atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sent.Add(1)
		if u, p, ok := r.BasicAuth(); !ok || u != "ana" || p != "s:e" {
			w.WriteHeader(401)
		}
	}))
	defer srv.Close()
	b, err := client.NewBase(client.BaseConfig{Package: "api", Schemes: testSchemes}, srv.URL,
		client.WithBasicAuth("basic", "ana", "s:e"),
		client.WithTokenFunc("bearer", func(context.Context) (string, error) { return "", errors.New("token source down") }))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	do := func(sec client.Requirement) (*client.Response, error) {
		inv := b.Begin(client.Operation{ID: "op", Method: "GET", Security: []client.Requirement{sec}}, nil)
		req, err := inv.NewRequest(ctx, "/", nil, nil, "")
		if err != nil {
			t.Fatal(err)
		}
		return inv.Do(ctx, req)
	}
	if resp, err := do(client.Requirement{"basic"}); err != nil || resp.HTTP.StatusCode != 200 {
		t.Errorf("basic: %v %v", resp, err)
	}
	_, err = do(client.Requirement{"bearer"})
	if err == nil || !strings.Contains(err.Error(), `api: op: credentials of scheme "bearer": token source down`) {
		t.Errorf("token func error: %v", err)
	}
	if n := sent.Load(); n != 1 {
		t.Errorf("%d requests sent, want 1 (none after the token func failed)", n)
	}
}

func TestCredentialOptionsChecked(t *testing.T) {
	for _, tc := range []struct {
		opt  client.ClientOption
		want string
	}{
		{client.WithBearerToken("nope", "t"), `WithBearerToken("nope"): the API has no security scheme "nope" (it has "bearer", "basic", "cookie", "query", "cert")`},
		{client.WithBasicAuth("query", "u", "p"), `WithBasicAuth("query"): scheme "query" takes an API key`},
		{client.WithAPIKey("bearer", "k"), `WithAPIKey("bearer"): scheme "bearer" takes a token`},
		{client.WithBearerToken("cert", "k"), `scheme "cert" takes a client certificate`},
	} {
		if _, err := client.NewBase(client.BaseConfig{Package: "api", Schemes: testSchemes}, "http://h", tc.opt); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("err = %v, want %q", err, tc.want)
		}
	}
	if _, err := client.NewBase(client.BaseConfig{Package: "api"}, "http://h", client.WithAPIKey("k", "v")); err == nil || !strings.Contains(err.Error(), "(it has none)") {
		t.Errorf("no schemes: %v", err)
	}
	// A token for an apiKey scheme is fine (WithBearerToken, WithTokenFunc).
	if _, err := client.NewBase(client.BaseConfig{Package: "api", Schemes: testSchemes}, "http://h", client.WithBearerToken("query", "k")); err != nil {
		t.Error(err)
	}
}
