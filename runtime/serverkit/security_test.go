package serverkit

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/idemgen/idemgen/runtime/idempotency"
	"github.com/idemgen/idemgen/runtime/store/memstore"
)

// echoPrincipal answers 200 with the request's principal.
var echoPrincipal = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	_, _ = w.Write([]byte("p=" + Principal(r.Context())))
})

func TestAuthenticateMutualTLS(t *testing.T) {
	var got []*x509.Certificate
	cert := &Scheme{Name: "clientCert", Kind: MutualTLS, Authenticate: func(ctx context.Context, c Credential, info AuthInfo) (string, error) {
		got = c.Certificates
		return c.Certificates[0].Subject.CommonName, nil
	}}
	s := New("api")
	h := s.Authenticate("op", []Requirement{{{Scheme: cert}}}, echoPrincipal)

	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("POST", "/x", nil))
	if w.Code != 401 || w.Header().Get("WWW-Authenticate") != `MutualTLS realm="api"` {
		t.Errorf("no certificate: %d %q", w.Code, w.Header().Get("WWW-Authenticate"))
	}

	leaf := &x509.Certificate{}
	leaf.Subject.CommonName = "svc-a"
	r := httptest.NewRequest("POST", "/x", nil)
	r.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{leaf}}
	w = httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != 200 || w.Body.String() != "p=svc-a" || len(got) != 1 {
		t.Errorf("with a certificate: %d %q", w.Code, w.Body.String())
	}
}

func TestAuthenticateAnswers(t *testing.T) {
	var calls atomic.Int64
	bearer := &Scheme{Name: "b", Kind: Bearer, AuthScheme: "Bearer", Authenticate: func(ctx context.Context, c Credential, info AuthInfo) (string, error) {
		calls.Add(1)
		switch c.Token {
		case "good":
			return "ana", RequireScopes([]string{"read"}, info.Scopes)
		case "boom":
			return "", errors.New("token store down: secret detail")
		}
		return "", ErrInvalidCredentials
	}}
	s := New("api", WithProblemType("https://e.example/p"))
	h := s.Authenticate("getThing", []Requirement{{{Scheme: bearer, Scopes: []string{"read", `we"ird`}}}}, echoPrincipal)
	for _, tc := range []struct {
		auth, status, challenge, detail string
	}{
		{"", "401", `Bearer realm="api", scope="read we\"ird"`, "no credentials that getThing accepts"},
		{"Bearer", "401", `Bearer realm="api"`, "no credentials"},
		{"bearer nope", "401", `Bearer realm="api", error="invalid_token", scope="read we\"ird"`, "not accepted"},
		{"Bearer boom", "401", `error="invalid_token"`, "not accepted"},
		{"Bearer good", "403", `Bearer realm="api", error="insufficient_scope", scope="read we\"ird"`, "scopes: read we\"ird"},
	} {
		r := httptest.NewRequest("GET", "/thing", nil)
		if tc.auth != "" {
			r.Header.Set("Authorization", tc.auth)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if fmt.Sprint(w.Code) != tc.status || !strings.Contains(w.Header().Get("WWW-Authenticate"), tc.challenge) {
			t.Errorf("%q: %d %q, want %s with %q", tc.auth, w.Code, w.Header().Get("WWW-Authenticate"), tc.status, tc.challenge)
		}
		body := w.Body.String()
		if !strings.Contains(body, strings.ReplaceAll(tc.detail, `"`, `\"`)) || strings.Contains(body, "secret detail") {
			t.Errorf("%q: body %s, want detail %q and no handler error text", tc.auth, body, tc.detail)
		}
		if !strings.Contains(body, `"type":"https://e.example/p#`) {
			t.Errorf("%q: problem type not under the configured base: %s", tc.auth, body)
		}
	}
	if n := calls.Load(); n != 3 {
		t.Errorf("security handler called %d times, want 3 (not for missing credentials)", n)
	}
	if got := s.Authenticate("x", nil, echoPrincipal); fmt.Sprintf("%p", got) != fmt.Sprintf("%p", echoPrincipal) {
		t.Error("Authenticate without requirements wraps its handler")
	}
}

// TestPrincipalScopesIdempotency: the authenticated principal scopes keys by
// default, and WithPrincipal, which can read it, overrides it.
func TestPrincipalScopesIdempotency(t *testing.T) {
	key := &Scheme{Name: "k", Kind: APIKey, In: InHeader, Param: "X-Key", Authenticate: func(ctx context.Context, c Credential, info AuthInfo) (string, error) {
		user, _, _ := strings.Cut(c.Token, "/")
		return user, nil
	}}
	policy := idempotency.Policy{Operation: "op", Scope: []string{"principal"}}
	for _, tc := range []struct {
		name string
		opts []Option
		want int64 // runs for ana/1, bo/1, ana/2
	}{
		{"authenticated principal", nil, 2},
		{"WithPrincipal maps every user to one tenant", []Option{WithPrincipal(func(r *http.Request) (string, error) {
			if Principal(r.Context()) == "" {
				return "", errors.New("not authenticated")
			}
			return "tenant-1", nil
		})}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var runs atomic.Int64
			s := New("api", append([]Option{WithStore(memstore.New())}, tc.opts...)...)
			inner, err := s.Idempotent("op", policy, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				runs.Add(1)
				w.WriteHeader(201)
			}))
			if err != nil {
				t.Fatal(err)
			}
			h := s.Authenticate("op", []Requirement{{{Scheme: key}}}, inner)
			for _, user := range []string{"ana/1", "bo/1", "ana/2"} {
				r := httptest.NewRequest("POST", "/x", nil)
				r.Header.Set("X-Key", user)
				r.Header.Set("Idempotency-Key", "same")
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				if w.Code != 201 {
					t.Fatalf("%s: %d %s", user, w.Code, w.Body.String())
				}
			}
			if n := runs.Load(); n != tc.want {
				t.Errorf("handler ran %d times, want %d", n, tc.want)
			}
		})
	}
}

func TestRequireScopes(t *testing.T) {
	if err := RequireScopes([]string{"a", "b"}, []string{"b"}); err != nil {
		t.Error(err)
	}
	if err := RequireScopes(nil, nil); err != nil {
		t.Error(err)
	}
	err := RequireScopes([]string{"a"}, []string{"a", "b", "c"})
	if !errors.Is(err, ErrInsufficientScope) || !strings.HasSuffix(err.Error(), "missing b c") {
		t.Errorf("err = %v", err)
	}
	if p := Principal(ContextWithPrincipal(context.Background(), "ana")); p != "ana" {
		t.Errorf("Principal = %q", p)
	}
}

// BenchmarkAuthenticate measures what a bearer requirement adds to a request:
// reading the header, the handler call, the principal in the context.
func BenchmarkAuthenticate(b *testing.B) {
	bearer := &Scheme{Name: "b", Kind: Bearer, AuthScheme: "Bearer", Authenticate: func(ctx context.Context, c Credential, info AuthInfo) (string, error) {
		return "ana", nil
	}}
	h := New("api").Authenticate("op", []Requirement{{{Scheme: bearer, Scopes: []string{"read"}}}},
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	r := httptest.NewRequest("GET", "/x", nil)
	r.Header.Set("Authorization", "Bearer abc.def.ghi")
	w := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, r)
	}
}
