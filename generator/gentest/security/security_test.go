package security

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idemgen/idemgen/runtime/client"
	"github.com/idemgen/idemgen/runtime/serverkit"
	"github.com/idemgen/idemgen/runtime/store/memstore"
)

// shop implements Handler. It has no code about principals beyond reading
// serverkit.Principal to echo it: scoping keys by principal is the server's job.
type shop struct {
	UnimplementedHandler
	orders atomic.Int64
}

func (s *shop) CreateOrder(ctx context.Context, req CreateOrderRequestObject) (CreateOrderResponseObject, error) {
	n := s.orders.Add(1)
	return CreateOrder201TextResponse{Body: fmt.Sprintf("order %d: %s for %s", n, req.Body.Item, serverkit.Principal(ctx))}, nil
}

func (s *shop) SendEvent(ctx context.Context, req SendEventRequestObject) (SendEventResponseObject, error) {
	n := s.orders.Add(1)
	return SendEvent202TextResponse{Body: fmt.Sprintf("event %d: %s for %s", n, req.Topic, serverkit.Principal(ctx))}, nil
}

func (s *shop) GetInternal(ctx context.Context, req GetInternalRequestObject) (GetInternalResponseObject, error) {
	return GetInternal200TextResponse{Body: serverkit.Principal(ctx)}, nil
}

func (s *shop) CreateReport(ctx context.Context, req CreateReportRequestObject) (CreateReportResponseObject, error) {
	return CreateReport200TextResponse{Body: serverkit.Principal(ctx)}, nil
}

func (s *shop) GetFeed(ctx context.Context, req GetFeedRequestObject) (GetFeedResponseObject, error) {
	return GetFeed200TextResponse{Body: serverkit.Principal(ctx)}, nil
}

func (s *shop) GetMe(ctx context.Context, req GetMeRequestObject) (GetMeResponseObject, error) {
	return GetMe200TextResponse{Body: serverkit.Principal(ctx)}, nil
}

func (s *shop) GetPublic(ctx context.Context, req GetPublicRequestObject) (GetPublicResponseObject, error) {
	p := serverkit.Principal(ctx)
	if p == "" {
		p = "anonymous"
	}
	return GetPublic200TextResponse{Body: p}, nil
}

func (s *shop) GetHealth(ctx context.Context, req GetHealthRequestObject) (GetHealthResponseObject, error) {
	return GetHealth200TextResponse{Body: "ok " + serverkit.Principal(ctx)}, nil
}

// auth is the SecurityHandler. Tokens are "tok:<principal>:<scope>,<scope>";
// API keys "key-<principal>"; the one basic user is ana:secret. It records
// what it was asked, to check the scopes and operation it is told.
type auth struct {
	mu    sync.Mutex
	calls []string
}

func (a *auth) note(format string, args ...any) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls = append(a.calls, fmt.Sprintf(format, args...))
}

func (a *auth) token(token string, info serverkit.AuthInfo) (string, error) {
	a.note("%s %s %s %v", info.Scheme, info.OperationID, token, info.Scopes)
	parts := strings.SplitN(token, ":", 3)
	if len(parts) != 3 || parts[0] != "tok" || parts[1] == "" {
		return "", serverkit.ErrInvalidCredentials
	}
	if err := serverkit.RequireScopes(strings.Split(parts[2], ","), info.Scopes); err != nil {
		return "", err
	}
	return parts[1], nil
}

// key accepts "key-<principal>", and "key-<principal>.<n>" for the n-th
// key of one principal (keys are rotated).
func (a *auth) key(key string) (string, error) {
	p, ok := strings.CutPrefix(key, "key-")
	p, _, _ = strings.Cut(p, ".")
	if !ok || p == "" {
		return "", errors.New("unknown API key")
	}
	return p, nil
}

func (a *auth) HandleBearer(ctx context.Context, token string, info serverkit.AuthInfo) (string, error) {
	return a.token(token, info)
}

func (a *auth) HandleOauth(ctx context.Context, token string, info serverkit.AuthInfo) (string, error) {
	return a.token(token, info)
}

func (a *auth) HandleBasic(ctx context.Context, username, password string, info serverkit.AuthInfo) (string, error) {
	if username != "ana" || password != "secret" {
		return "", serverkit.ErrInvalidCredentials
	}
	return "basic:" + username, nil
}

func (a *auth) HandleClientCert(ctx context.Context, certs []*x509.Certificate, info serverkit.AuthInfo) (string, error) {
	return "cert:" + certs[0].Subject.CommonName, nil
}

func (a *auth) HandleHeaderKey(ctx context.Context, key string, info serverkit.AuthInfo) (string, error) {
	return a.key(key)
}

func (a *auth) HandleQueryKey(ctx context.Context, key string, info serverkit.AuthInfo) (string, error) {
	p, err := a.key(key)
	return "query:" + p, err
}

func (a *auth) HandleCookieKey(ctx context.Context, key string, info serverkit.AuthInfo) (string, error) {
	p, err := a.key(key)
	return "cookie:" + p, err
}

func serve(t *testing.T) (*shop, *auth, *httptest.Server) {
	t.Helper()
	store := memstore.New()
	t.Cleanup(func() { store.Close() })
	h, a := &shop{}, &auth{}
	srv, err := NewServer(h, a, serverkit.WithStore(store), serverkit.WithProblemType("https://shop.example/problems"))
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return h, a, ts
}

type reply struct {
	status int
	header http.Header
	body   string
}

// send sends one request; headers are name/value pairs.
func send(t *testing.T, ts *httptest.Server, method, path, body string, headers ...string) reply {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, ts.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return reply{resp.StatusCode, resp.Header, string(b)}
}

// wantProblem checks a problem+json answer of status whose type ends with
// #name and whose challenges contain each of challenges.
func wantProblem(t *testing.T, r reply, status int, name string, challenges ...string) {
	t.Helper()
	if r.status != status || r.header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("got %d %s %q, want %d problem+json", r.status, r.header.Get("Content-Type"), r.body, status)
	}
	var p struct {
		Type   string `json:"type"`
		Status int    `json:"status"`
	}
	if err := json.Unmarshal([]byte(r.body), &p); err != nil || p.Status != status || p.Type != "https://shop.example/problems#"+name {
		t.Errorf("problem %s (%v), want status %d type ...#%s", r.body, err, status, name)
	}
	got := strings.Join(r.header.Values("WWW-Authenticate"), "\n")
	for _, c := range challenges {
		if !strings.Contains(got, c) {
			t.Errorf("WWW-Authenticate %q does not contain %q", got, c)
		}
	}
}

const order = `{"item": "tea"}`

// TestUnauthenticated: no credentials, or credentials not accepted, get 401
// problem+json with a challenge, before the key is claimed: the handler does
// not run, and the same key sent with a valid token afterwards runs it.
func TestUnauthenticated(t *testing.T) {
	h, _, ts := serve(t)
	wantProblem(t, send(t, ts, "POST", "/orders", order, "Idempotency-Key", "k1"),
		http.StatusUnauthorized, "authentication-required", `Bearer realm="security", scope="orders:write"`)
	r := send(t, ts, "POST", "/orders", order, "Idempotency-Key", "k1", "Authorization", "Bearer nonsense")
	wantProblem(t, r, http.StatusUnauthorized, "authentication-required", `error="invalid_token"`)
	// Another auth scheme in Authorization is no bearer token.
	wantProblem(t, send(t, ts, "POST", "/orders", order, "Idempotency-Key", "k1", "Authorization", "Basic YW5hOnNlY3JldA=="),
		http.StatusUnauthorized, "authentication-required")
	// A request that would not even decode is refused for its credentials first.
	wantProblem(t, send(t, ts, "POST", "/orders", "{", "Idempotency-Key", "k1"), http.StatusUnauthorized, "authentication-required")
	if n := h.orders.Load(); n != 0 {
		t.Fatalf("handler ran %d times for unauthenticated requests", n)
	}
	r = send(t, ts, "POST", "/orders", order, "Idempotency-Key", "k1", "Authorization", "Bearer tok:ana:orders:write")
	if r.status != http.StatusCreated || r.body != "order 1: tea for ana" || r.header.Get("Idempotent-Replayed") != "" {
		t.Errorf("after the 401s, the key's first valid request: %d %q (replayed %q)", r.status, r.body, r.header.Get("Idempotent-Replayed"))
	}
}

// TestInsufficientScope: a valid token without the operation's scope gets
// 403 with an insufficient_scope challenge; the handler does not run.
func TestInsufficientScope(t *testing.T) {
	h, a, ts := serve(t)
	r := send(t, ts, "POST", "/orders", order, "Idempotency-Key", "k1", "Authorization", "Bearer tok:ana:orders:read")
	wantProblem(t, r, http.StatusForbidden, "insufficient-scope", `error="insufficient_scope"`, `scope="orders:write"`)
	if !strings.Contains(r.body, "orders:write") {
		t.Errorf("403 detail does not name the scope: %s", r.body)
	}
	if n := h.orders.Load(); n != 0 {
		t.Errorf("handler ran %d times", n)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.calls) != 1 || a.calls[0] != "oauth createOrder tok:ana:orders:read [orders:write]" {
		t.Errorf("security handler calls %q, want the oauth scheme told createOrder and [orders:write]", a.calls)
	}
}

// TestPrincipalScopesKeys: the authenticated principal scopes the key with no
// WithPrincipal and no handler code: one key from two principals is two
// records (the handler runs twice); the same principal again is a replay.
func TestPrincipalScopesKeys(t *testing.T) {
	h, _, ts := serve(t)
	ana := send(t, ts, "POST", "/orders", order, "Idempotency-Key", "shared", "Authorization", "Bearer tok:ana:orders:write")
	bo := send(t, ts, "POST", "/orders", order, "Idempotency-Key", "shared", "Authorization", "Bearer tok:bo:orders:write")
	again := send(t, ts, "POST", "/orders", order, "Idempotency-Key", "shared", "Authorization", "Bearer tok:ana:orders:write,other")
	if ana.body != "order 1: tea for ana" || bo.body != "order 2: tea for bo" {
		t.Errorf("ana %d %q, bo %d %q: want two orders", ana.status, ana.body, bo.status, bo.body)
	}
	if again.status != http.StatusCreated || again.body != ana.body || again.header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("ana again (another token, same principal): %d %q replayed %q, want ana's replay", again.status, again.body, again.header.Get("Idempotent-Replayed"))
	}
	if n := h.orders.Load(); n != 2 {
		t.Errorf("handler ran %d times, want 2", n)
	}
}

// TestRequirements: AND within an alternative, OR between alternatives, API
// keys in the query and a cookie, basic credentials, the root requirement
// inherited, optional security and a `security: []` override.
func TestRequirements(t *testing.T) {
	_, _, ts := serve(t)
	for _, tc := range []struct {
		name, method, path string
		headers            []string
		status             int
		body               string
	}{
		{"AND: bearer alone", "POST", "/reports", []string{"Authorization", "Bearer tok:ana:"}, 401, ""},
		{"AND: key alone", "POST", "/reports", []string{"X-API-Key", "key-ana"}, 401, ""},
		{"AND: bearer and key", "POST", "/reports", []string{"Authorization", "Bearer tok:ana:", "X-API-Key", "key-ana"}, 200, "ana"},
		{"AND: bearer and a bad key", "POST", "/reports", []string{"Authorization", "Bearer tok:ana:", "X-API-Key", "nope"}, 401, ""},
		{"OR: basic", "POST", "/reports", []string{"Authorization", "Basic YW5hOnNlY3JldA=="}, 200, "basic:ana"},
		{"OR: basic, wrong password", "POST", "/reports", []string{"Authorization", "Basic YW5hOm5vcGU="}, 401, ""},
		{"OR: basic, not base64", "POST", "/reports", []string{"Authorization", "Basic %%%"}, 401, ""},
		{"query key", "GET", "/feed?api_key=key-ana", nil, 200, "query:ana"},
		{"cookie key", "GET", "/feed", []string{"Cookie", "session=key-bo"}, 200, "cookie:bo"},
		{"bad query key, good cookie", "GET", "/feed?api_key=nope", []string{"Cookie", "session=key-bo"}, 200, "cookie:bo"},
		{"no key", "GET", "/feed", nil, 401, ""},
		{"root requirement", "GET", "/me", []string{"Authorization", "Bearer tok:cy:"}, 200, "cy"},
		{"root requirement, none", "GET", "/me", nil, 401, ""},
		{"optional, none", "GET", "/public", nil, 200, "anonymous"},
		{"optional, valid", "GET", "/public", []string{"Authorization", "Bearer tok:cy:"}, 200, "cy"},
		{"optional, invalid", "GET", "/public", []string{"Authorization", "Bearer nope"}, 401, ""},
		{"security: [] overrides the root", "GET", "/health", nil, 200, "ok "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := send(t, ts, tc.method, tc.path, "", tc.headers...)
			if r.status != tc.status || (tc.status == 200 && r.body != tc.body) {
				t.Fatalf("%d %q, want %d %q", r.status, r.body, tc.status, tc.body)
			}
			if tc.status == 401 && len(r.header.Values("WWW-Authenticate")) == 0 {
				t.Errorf("401 without WWW-Authenticate")
			}
		})
	}
	// The 401 of an OR lists a challenge per scheme.
	r := send(t, ts, "POST", "/reports", "")
	wantProblem(t, r, 401, "authentication-required", `Bearer realm="security"`, `ApiKey realm="security", in="header", name="X-API-Key"`, `Basic realm="security", charset="UTF-8"`)
	r = send(t, ts, "GET", "/feed", "")
	wantProblem(t, r, 401, "authentication-required", `in="query", name="api_key"`, `in="cookie", name="session"`)
}

// TestNewServerNeedsSecurityHandler: a nil SecurityHandler is an error, not
// an open server.
func TestNewServerNeedsSecurityHandler(t *testing.T) {
	if _, err := NewServer(&shop{}, nil); err == nil || !strings.Contains(err.Error(), "nil SecurityHandler") {
		t.Errorf("NewServer(h, nil) = %v, want a nil SecurityHandler error", err)
	}
}

// recorder keeps what the server received, per path.
type recorder struct {
	mu   sync.Mutex
	seen map[string][]*http.Request
	next http.Handler
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec.mu.Lock()
	rec.seen[r.URL.Path] = append(rec.seen[r.URL.Path], r.Clone(context.Background()))
	rec.mu.Unlock()
	rec.next.ServeHTTP(w, r)
}

// TestClientCredentials: the generated client sends each operation the
// credentials its requirement names (none where it needs none), the
// credentials are not the idempotency key, and a changed token for the same
// principal still replays (the fingerprint does not include them).
func TestClientCredentials(t *testing.T) {
	store := memstore.New()
	defer store.Close()
	h := &shop{}
	srv, err := NewServer(h, &auth{}, serverkit.WithStore(store))
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{seen: map[string][]*http.Request{}, next: srv}
	ts := httptest.NewServer(rec)
	defer ts.Close()
	ctx := context.Background()

	var tokens atomic.Int64
	c, err := NewClient(ts.URL,
		client.WithTokenFunc("oauth", func(context.Context) (string, error) {
			// A fresh token per call, the same principal.
			return fmt.Sprintf("tok:ana:orders:write,n%d", tokens.Add(1)), nil
		}),
		client.WithBearerToken("bearer", "tok:ana:"),
		client.WithAPIKey("headerKey", "key-ana"),
		client.WithAPIKey("queryKey", "key-ana"),
		client.WithBasicAuth("basic", "ana", "secret"))
	if err != nil {
		t.Fatal(err)
	}
	first, raw1, err := c.CreateOrder(ctx, CreateOrderRequestObject{Body: CreateOrderRequest{Item: "tea"}}, client.WithIdempotencyKey("order-1"))
	if err != nil {
		t.Fatal(err)
	}
	second, raw2, err := c.CreateOrder(ctx, CreateOrderRequestObject{Body: CreateOrderRequest{Item: "tea"}}, client.WithIdempotencyKey("order-1"))
	if err != nil {
		t.Fatal(err)
	}
	if first.(CreateOrder201TextResponse).Body != "order 1: tea for ana" || second != first || !raw2.Result.Replayed || raw1.Result.Key != "order-1" {
		t.Errorf("first %v, second %v (replayed %v), key %q: want one order replayed under the caller's key", first, second, raw2.Result.Replayed, raw1.Result.Key)
	}
	if n := h.orders.Load(); n != 1 {
		t.Errorf("handler ran %d times, want 1", n)
	}
	// Each call's token came from the func; the key header is the key, not the token.
	orders := rec.seen["/orders"]
	if len(orders) != 2 || orders[0].Header.Get("Authorization") != "Bearer tok:ana:orders:write,n1" || orders[1].Header.Get("Authorization") != "Bearer tok:ana:orders:write,n2" {
		t.Errorf("createOrder Authorization headers: %q", authHeaders(orders))
	}
	for _, r := range orders {
		if k := r.Header.Get("Idempotency-Key"); strings.Contains(k, "tok:") || r.URL.Query().Has("api_key") || r.Header.Get("X-API-Key") != "" {
			t.Errorf("createOrder carried another scheme's credentials or a key made of them: key %q, query %q", k, r.URL.RawQuery)
		}
	}

	// AND: the first alternative the client has all credentials for (bearer + key).
	if resp, _, err := c.CreateReport(ctx, CreateReportRequestObject{}); err != nil || resp.(CreateReport200TextResponse).Body != "ana" {
		t.Errorf("createReport: %v, %v", resp, err)
	}
	if r := rec.seen["/reports"][0]; r.Header.Get("Authorization") != "Bearer tok:ana:" || r.Header.Get("X-API-Key") != "key-ana" {
		t.Errorf("createReport sent Authorization %q, X-API-Key %q", r.Header.Get("Authorization"), r.Header.Get("X-API-Key"))
	}
	// The query key goes in the query.
	if resp, _, err := c.GetFeed(ctx, GetFeedRequestObject{}); err != nil || resp.(GetFeed200TextResponse).Body != "query:ana" {
		t.Errorf("getFeed: %v, %v", resp, err)
	}
	if r := rec.seen["/feed"][0]; r.URL.Query().Get("api_key") != "key-ana" || r.Header.Get("Authorization") != "" {
		t.Errorf("getFeed sent query %q, Authorization %q", r.URL.RawQuery, r.Header.Get("Authorization"))
	}
	// No requirement: nothing sent.
	if _, _, err := c.GetHealth(ctx, GetHealthRequestObject{}); err != nil {
		t.Fatal(err)
	}
	if r := rec.seen["/health"][0]; r.Header.Get("Authorization") != "" || r.URL.RawQuery != "" || r.Header.Get("X-API-Key") != "" {
		t.Errorf("getHealth carried credentials: %v %q", r.Header, r.URL.RawQuery)
	}

	// Basic only: the client without bearer credentials uses the other alternative.
	basic, err := NewClient(ts.URL, client.WithBasicAuth("basic", "ana", "secret"))
	if err != nil {
		t.Fatal(err)
	}
	if resp, _, err := basic.CreateReport(ctx, CreateReportRequestObject{}); err != nil || resp.(CreateReport200TextResponse).Body != "basic:ana" {
		t.Errorf("createReport with basic: %v, %v", resp, err)
	}
	// Optional: a client without credentials calls getPublic anonymously.
	anon, err := NewClient(ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	if resp, _, err := anon.GetPublic(ctx, GetPublicRequestObject{}); err != nil || resp.(GetPublic200TextResponse).Body != "anonymous" {
		t.Errorf("getPublic anonymously: %v, %v", resp, err)
	}
	// Without credentials a secured operation is a 401 *client.Error.
	_, _, err = anon.GetMe(ctx, GetMeRequestObject{})
	var ce *client.Error
	if !errors.As(err, &ce) || ce.Status != http.StatusUnauthorized || ce.Problem == nil {
		t.Errorf("getMe without credentials: %v, want a 401 *client.Error with its problem", err)
	}
}

func authHeaders(rs []*http.Request) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Header.Get("Authorization"))
	}
	return out
}

// TestClientCredentialOptionErrors: a credential option for a scheme the API
// lacks, or of the wrong kind, fails NewClient.
func TestClientCredentialOptionErrors(t *testing.T) {
	for _, tc := range []struct {
		opt  client.ClientOption
		want string
	}{
		{client.WithBearerToken("bearr", "t"), `WithBearerToken("bearr"): the API has no security scheme "bearr" (it has "basic", "bearer", "clientCert", "cookieKey", "headerKey", "oauth", "queryKey")`},
		{client.WithBasicAuth("bearer", "u", "p"), `WithBasicAuth("bearer"): scheme "bearer" takes a token`},
		{client.WithAPIKey("basic", "k"), `WithAPIKey("basic"): scheme "basic" takes a username and password`},
	} {
		_, err := NewClient("http://127.0.0.1:1", tc.opt)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("NewClient error %v, want %q", err, tc.want)
		}
	}
}

// TestQueryKeyIsNotFingerprinted: an API key in the query is a credential,
// not part of the request: a retry with the principal's rotated key replays
// (the fingerprint compares the query), another topic is a 422.
func TestQueryKeyIsNotFingerprinted(t *testing.T) {
	h, _, ts := serve(t)
	first := send(t, ts, "POST", "/events?api_key=key-ana.1&topic=a", "", "Idempotency-Key", "e1")
	retry := send(t, ts, "POST", "/events?topic=a&api_key=key-ana.2", "", "Idempotency-Key", "e1")
	if first.status != 202 || first.body != "event 1: a for query:ana" || retry.body != first.body || retry.header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("first %d %q, retry with a rotated key %d %q (replayed %q)", first.status, first.body, retry.status, retry.body, retry.header.Get("Idempotent-Replayed"))
	}
	other := send(t, ts, "POST", "/events?api_key=key-ana.2&topic=b", "", "Idempotency-Key", "e1")
	if other.status != http.StatusUnprocessableEntity {
		t.Errorf("another topic under the key: %d %q, want 422", other.status, other.body)
	}
	if n := h.orders.Load(); n != 1 {
		t.Errorf("handler ran %d times, want 1", n)
	}
}

// TestMutualTLS: over a real TLS connection, a request without a client
// certificate is a 401; one with a certificate the server verified gets the
// principal the handler made of it.
func TestMutualTLS(t *testing.T) {
	srv, err := NewServer(&shop{}, &auth{}, serverkit.WithStore(memstore.New()))
	if err != nil {
		t.Fatal(err)
	}
	cert, pool := clientCertificate(t, "svc-billing")
	ts := httptest.NewUnstartedServer(srv)
	ts.TLS = &tls.Config{ClientAuth: tls.VerifyClientCertIfGiven, ClientCAs: pool}
	ts.StartTLS()
	defer ts.Close()

	r := send(t, ts, "GET", "/internal", "")
	if r.status != 401 || r.header.Get("WWW-Authenticate") != `MutualTLS realm="security"` {
		t.Errorf("without a certificate: %d %q", r.status, r.header.Get("WWW-Authenticate"))
	}
	// A transport of its own: ts.Client()'s pooled connection has no certificate.
	tr := ts.Client().Transport.(*http.Transport).Clone()
	tr.TLSClientConfig.Certificates = []tls.Certificate{cert}
	withCert := &http.Client{Transport: tr}
	resp, err := withCert.Get(ts.URL + "/internal")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(body) != "cert:svc-billing" {
		t.Errorf("with a certificate: %d %q", resp.StatusCode, body)
	}
}

// clientCertificate makes a self-signed client certificate and a pool that
// trusts it.
func clientCertificate(t *testing.T, cn string) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}
