package proxyplan

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idemgen/idemgen/generator/loader"
	"github.com/idemgen/idemgen/generator/model"
	"github.com/idemgen/idemgen/runtime/gateway"
	"github.com/idemgen/idemgen/runtime/idempotency"
	"github.com/idemgen/idemgen/runtime/issuedkey"
	"github.com/idemgen/idemgen/runtime/store/memstore"
)

func loadSpec(t testing.TB, path string) *model.API {
	t.Helper()
	api, err := loader.Load(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	return api
}

func routesOf(t testing.TB, api *model.API) []gateway.Route {
	t.Helper()
	routes, err := Routes(api)
	if err != nil {
		t.Fatal(err)
	}
	return routes
}

// upstream is a plain backend, the kind a gateway fronts: it counts its
// executions per (path, Idempotency-Key) and knows nothing of idempotency.
type upstream struct {
	mu    sync.Mutex
	runs  map[string]int
	total atomic.Int64
	// fail, when positive, answers the next fail requests with 503.
	fail  atomic.Int64
	delay atomic.Int64 // nanoseconds each execution takes
	keys  []string     // Idempotency-Key of every execution, in order
}

func newUpstream() *upstream { return &upstream{runs: map[string]int{}} }

func (u *upstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if u.fail.Add(-1) >= 0 {
		http.Error(w, "overloaded", http.StatusServiceUnavailable)
		return
	}
	if d := u.delay.Load(); d > 0 {
		time.Sleep(time.Duration(d))
	}
	key := r.Header.Get("Idempotency-Key")
	u.mu.Lock()
	u.runs[r.URL.Path+" "+key]++
	u.keys = append(u.keys, key)
	n := u.total.Add(1)
	u.mu.Unlock()
	switch {
	case strings.HasPrefix(r.URL.Path, "/reports/"):
		// A response larger than putReport's maxBodyBytes (1 KiB).
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintf(w, "%d %s", n, strings.Repeat("x", 4<<10))
	case r.URL.Path == "/upload":
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintf(w, "%d bytes", len(body))
	default:
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Upstream-Host", r.Host)
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"n":%d,"path":%q,"body":%q}`, n, r.URL.Path, body)
	}
}

func (u *upstream) count(path, key string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.runs[path+" "+key]
}

type fixture struct {
	up    *upstream
	upSrv *httptest.Server
	gw    *gateway.Gateway
	srv   *httptest.Server
	store *memstore.Store
	iss   *issuedkey.Issuer
}

func newFixture(t *testing.T, mod func(*gateway.Config)) *fixture {
	t.Helper()
	f := &fixture{up: newUpstream(), store: memstore.New()}
	t.Cleanup(func() { f.store.Close() })
	f.upSrv = httptest.NewServer(f.up)
	t.Cleanup(f.upSrv.Close)
	u, _ := url.Parse(f.upSrv.URL)
	var err error
	f.iss, err = issuedkey.New(issuedkey.Config{Secret: bytes.Repeat([]byte("k"), 32)})
	if err != nil {
		t.Fatal(err)
	}
	cfg := gateway.Config{
		Routes:     routesOf(t, loadSpec(t, "testdata/openapi.yaml")),
		Upstream:   u,
		Store:      f.store,
		Logger:     slog.New(slog.DiscardHandler),
		Issuer:     f.iss,
		IssuePath:  "/idempotency-keys",
		StatusPath: "/idempotency-status",
		HealthPath: "/healthz",
		ReadyPath:  "/readyz",
	}
	if mod != nil {
		mod(&cfg)
	}
	f.gw, err = gateway.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.srv = httptest.NewServer(f.gw)
	t.Cleanup(f.srv.Close)
	return f
}

type reply struct {
	status int
	header http.Header
	body   string
}

func (f *fixture) do(t *testing.T, method, path, key, body string) reply {
	t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return reply{res.StatusCode, res.Header, string(b)}
}

func isProblem(r reply, status int) bool {
	return r.status == status && r.header.Get("Content-Type") == "application/problem+json"
}

func TestDuplicatesReplay(t *testing.T) {
	f := newFixture(t, nil)
	a := f.do(t, "POST", "/accounts/acme/payments", "k1", `{"amount":5}`)
	b := f.do(t, "POST", "/accounts/acme/payments", "k1", `{ "amount" : 5 }`) // same JSON, other bytes
	if a.status != http.StatusCreated || b.status != a.status || b.body != a.body || b.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("first %d %s, second %d %s %v", a.status, a.body, b.status, b.body, b.header)
	}
	if n := f.up.count("/accounts/acme/payments", "k1"); n != 1 {
		t.Fatalf("upstream ran %d times, want 1", n)
	}
	if b.header.Get("X-Upstream-Host") != a.header.Get("X-Upstream-Host") {
		t.Errorf("replayed headers differ: %v vs %v", a.header, b.header)
	}
}

func TestMismatchAndMissingKey(t *testing.T) {
	f := newFixture(t, nil)
	f.do(t, "POST", "/accounts/acme/payments", "k1", `{"amount":5}`)
	if r := f.do(t, "POST", "/accounts/acme/payments", "k1", `{"amount":6}`); !isProblem(r, http.StatusUnprocessableEntity) {
		t.Fatalf("reused key, other body: %d %s", r.status, r.body)
	}
	if r := f.do(t, "POST", "/accounts/acme/payments", "", `{"amount":6}`); !isProblem(r, http.StatusBadRequest) {
		t.Fatalf("missing key: %d %s", r.status, r.body)
	}
	if r := f.do(t, "POST", "/accounts/acme/payments", strings.Repeat("k", 256), `{}`); r.status != http.StatusBadRequest {
		t.Fatalf("invalid key: %d %s", r.status, r.body)
	}
	if n := f.up.total.Load(); n != 1 {
		t.Fatalf("upstream ran %d times, want 1", n)
	}
}

// TestSegmentWithTwoParameters: /files/{name}.{ext} is routed (not passed
// through) and each parameter gets its part of the segment, as in the
// generated server: the key derived from both tells a.tar.gz from a.tar.
func TestSegmentWithTwoParameters(t *testing.T) {
	f := newFixture(t, nil)
	first := f.do(t, "POST", "/files/a.tar.gz", "", "")
	again := f.do(t, "POST", "/files/a.tar.gz", "", "")
	other := f.do(t, "POST", "/files/a.tar", "", "")
	if first.status != http.StatusCreated || again.header.Get("Idempotent-Replayed") != "true" || other.header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("first %d; again %d %q; other %d %q", first.status, again.status, again.header.Get("Idempotent-Replayed"), other.status, other.header.Get("Idempotent-Replayed"))
	}
	if n := f.up.total.Load(); n != 2 {
		t.Fatalf("upstream ran %d times, want 2", n)
	}
	if r, ok := f.gw.Lookup("POST", "/files/a.tar.gz"); !ok || r.Operation != "uploadFile" {
		t.Fatalf("Lookup = %+v, %v", r, ok)
	}
	if _, ok := f.gw.Lookup("POST", "/files/nodot"); ok {
		t.Fatal("/files/nodot is routed")
	}
}

// TestPathScope: the scope path:account is read from the matched path, so the
// same key under two accounts is two records (else the second would be a 422).
func TestPathScope(t *testing.T) {
	f := newFixture(t, nil)
	a := f.do(t, "POST", "/accounts/acme/payments", "k1", `{"amount":5}`)
	b := f.do(t, "POST", "/accounts/glob%2Fex/payments", "k1", `{"amount":5}`)
	if a.status != http.StatusCreated || b.status != http.StatusCreated || b.header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("acme %d %s; globex %d %s", a.status, a.body, b.status, b.body)
	}
	if f.up.total.Load() != 2 {
		t.Fatalf("upstream ran %d times, want 2", f.up.total.Load())
	}
	// A derived key from a parameter inside a segment: /reports/{name}.json.
	r1 := f.do(t, "PUT", "/reports/q1.json", "", "")
	r2 := f.do(t, "PUT", "/reports/q2.json", "", "")
	if r1.status != http.StatusOK || r2.status != http.StatusOK || r1.body == r2.body {
		t.Fatalf("reports: %d %d", r1.status, r2.status)
	}
}

func TestConcurrentDuplicates(t *testing.T) {
	f := newFixture(t, func(c *gateway.Config) {})
	f.up.delay.Store(int64(50 * time.Millisecond))
	const n = 32
	var wg sync.WaitGroup
	codes := make([]int, n)
	for i := range n {
		wg.Go(func() {
			codes[i] = f.do(t, "POST", "/accounts/acme/payments", "same", `{"amount":1}`).status
		})
	}
	wg.Wait()
	if got := f.up.count("/accounts/acme/payments", "same"); got != 1 {
		t.Fatalf("upstream ran %d times for one key, want 1", got)
	}
	for _, c := range codes {
		if c != http.StatusCreated && c != http.StatusConflict {
			t.Fatalf("codes %v: want only 201 (first or replay) and 409", codes)
		}
	}
}

func TestPassThrough(t *testing.T) {
	f := newFixture(t, nil)
	for range 3 {
		// Not idempotent: runs every time, even with a key.
		if r := f.do(t, "POST", "/messages", "k", `{"text":"hi"}`); r.status != http.StatusCreated || r.header.Get("Idempotent-Replayed") != "" {
			t.Fatalf("/messages: %d %v", r.status, r.header)
		}
		// The literal path beats the template /accounts/{account}/payments...: not idempotent.
		if r := f.do(t, "POST", "/accounts/acme/payments/latest", "", ""); r.status != http.StatusCreated {
			t.Fatalf("/accounts/acme/payments/latest: %d %s, want it passed through (not capturePayment's 400)", r.status, r.body)
		}
		// A path the spec does not know.
		if r := f.do(t, "POST", "/unknown//path", "", "x"); r.status != http.StatusCreated || !strings.Contains(r.body, `"path":"/unknown//path"`) {
			t.Fatalf("unknown path: %d %s", r.status, r.body)
		}
		// A method the spec does not declare for a known path.
		f.do(t, "DELETE", "/accounts/acme/payments", "", "")
	}
	if n := f.up.total.Load(); n != 12 {
		t.Fatalf("upstream ran %d times, want 12", n)
	}
}

func TestInjectKey(t *testing.T) {
	f := newFixture(t, nil)
	a := f.do(t, "POST", "/orders", "", `{"sku":"a"}`)
	key := a.header.Get("Idempotency-Key")
	if a.status != http.StatusCreated || len(key) != 36 || key[14] != '4' {
		t.Fatalf("no key: %d, echoed key %q, want a UUIDv4", a.status, key)
	}
	if f.up.keys[0] != key {
		t.Fatalf("upstream saw key %q, client got %q", f.up.keys[0], key)
	}
	// The client retries with the echoed key: replayed.
	if b := f.do(t, "POST", "/orders", key, `{"sku":"a"}`); b.header.Get("Idempotent-Replayed") != "true" || b.body != a.body {
		t.Fatalf("retry with the echoed key: %d %v", b.status, b.header)
	}
	// A client key is kept as it is.
	if c := f.do(t, "POST", "/orders", "mine", `{"sku":"a"}`); f.up.keys[1] != "mine" || c.header.Get("Idempotency-Key") != "" {
		t.Fatalf("client key: upstream saw %q, echoed %q", f.up.keys[1], c.header.Get("Idempotency-Key"))
	}
	b := f.do(t, "POST", "/orders", "", `{"sku":"a"}`)
	if b.header.Get("Idempotency-Key") == key {
		t.Fatal("two requests without a key got the same injected key")
	}
}

func TestUpstream5xxReleasesClaim(t *testing.T) {
	f := newFixture(t, nil)
	f.up.fail.Store(1)
	if r := f.do(t, "POST", "/accounts/acme/payments", "k", `{}`); r.status != http.StatusServiceUnavailable {
		t.Fatalf("first: %d", r.status)
	}
	if r := f.do(t, "POST", "/accounts/acme/payments", "k", `{}`); r.status != http.StatusCreated || r.header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("retry after a 503: %d %v", r.status, r.header)
	}
}

func TestUpstreamDownAndTimeout(t *testing.T) {
	// An upstream address nothing listens on.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	f := newFixture(t, func(c *gateway.Config) { c.Upstream = &url.URL{Scheme: "http", Host: addr} })
	if r := f.do(t, "POST", "/accounts/acme/payments", "k", `{}`); !isProblem(r, http.StatusBadGateway) {
		t.Fatalf("upstream down: %d %s", r.status, r.body)
	}
	// The claim was released: the key is free again (no 409 and no replayed 502).
	if r := f.do(t, "POST", "/accounts/acme/payments", "k", `{}`); !isProblem(r, http.StatusBadGateway) || r.header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("retry, upstream still down: %d %v", r.status, r.header)
	}

	slow := newFixture(t, func(c *gateway.Config) { c.UpstreamTimeout = 50 * time.Millisecond })
	slow.up.delay.Store(int64(300 * time.Millisecond))
	if r := slow.do(t, "POST", "/accounts/acme/payments", "k", `{}`); !isProblem(r, http.StatusGatewayTimeout) {
		t.Fatalf("slow upstream: %d %s", r.status, r.body)
	}
	// The upstream did run: that is the caller's documented risk. The claim
	// is free again, so the retry runs it again.
	time.Sleep(300 * time.Millisecond)
	slow.up.delay.Store(0)
	if r := slow.do(t, "POST", "/accounts/acme/payments", "k", `{}`); r.status != http.StatusCreated {
		t.Fatalf("retry after a timeout: %d %s", r.status, r.body)
	}
}

// TestLargeBodies: a response over maxBodyBytes streams through and is not
// stored; a large upload to a non-idempotent path streams to the upstream.
func TestLargeBodies(t *testing.T) {
	f := newFixture(t, nil)
	a := f.do(t, "PUT", "/reports/big.json", "", "")
	b := f.do(t, "PUT", "/reports/big.json", "", "")
	if len(a.body) < 4<<10 || a.body == b.body || b.header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("large response: %d bytes; second replayed=%q", len(a.body), b.header.Get("Idempotent-Replayed"))
	}
	const size = 8 << 20
	res, err := f.srv.Client().Post(f.srv.URL+"/upload", "application/octet-stream", io.LimitReader(zeros{}, size))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(got) != fmt.Sprintf("%d bytes", size) {
		t.Fatalf("upload: %s", got)
	}
	// An idempotent request over maxRequestBytes (1 MiB) is refused.
	big := strings.Repeat("a", 2<<20)
	if r := f.do(t, "POST", "/accounts/acme/payments", "big", `{"x":"`+big+`"}`); !isProblem(r, http.StatusRequestEntityTooLarge) {
		t.Fatalf("large idempotent request: %d", r.status)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func TestIssuedKeys(t *testing.T) {
	f := newFixture(t, nil)
	res, err := f.srv.Client().Post(f.srv.URL+"/idempotency-keys", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	var issued struct{ Key string }
	if err := json.NewDecoder(res.Body).Decode(&issued); err != nil || res.StatusCode != http.StatusCreated {
		t.Fatalf("issuing: %d %v", res.StatusCode, err)
	}
	res.Body.Close()
	// Issued, not used yet: the status lookup says so.
	if r := f.do(t, "GET", "/idempotency-status/vouchers", issued.Key, ""); r.status != http.StatusOK || !strings.Contains(r.body, `"state":"issued"`) {
		t.Fatalf("status of an unused issued key: %d %s", r.status, r.body)
	}
	if r := f.do(t, "POST", "/vouchers", "client-made-key", `{}`); !isProblem(r, http.StatusBadRequest) {
		t.Fatalf("client-made key: %d %s", r.status, r.body)
	}
	a := f.do(t, "POST", "/vouchers", issued.Key, `{}`)
	b := f.do(t, "POST", "/vouchers", issued.Key, `{}`)
	if a.status != http.StatusCreated || b.header.Get("Idempotent-Replayed") != "true" || f.up.total.Load() != 1 {
		t.Fatalf("issued key: %d, then %d %v; upstream ran %d", a.status, b.status, b.header, f.up.total.Load())
	}
	if r := f.do(t, "GET", "/idempotency-status/vouchers?method=post", issued.Key, ""); !strings.Contains(r.body, `"state":"completed","status":201`) {
		t.Fatalf("status after use: %d %s", r.status, r.body)
	}
}

func TestStatusLookup(t *testing.T) {
	f := newFixture(t, nil)
	f.do(t, "POST", "/accounts/acme/payments", "k1", `{}`)
	// Scoped by path:account like the original request.
	if r := f.do(t, "GET", "/idempotency-status/accounts/acme/payments", "k1", ""); r.status != http.StatusOK || !strings.Contains(r.body, `"state":"completed"`) {
		t.Fatalf("lookup: %d %s", r.status, r.body)
	}
	if r := f.do(t, "GET", "/idempotency-status/accounts/other/payments", "k1", ""); !isProblem(r, http.StatusNotFound) {
		t.Fatalf("lookup under another account: %d %s", r.status, r.body)
	}
	for _, path := range []string{"/idempotency-status/messages", "/idempotency-status/nowhere", "/idempotency-status/accounts/acme/payments?method=PUT"} {
		if r := f.do(t, "GET", path, "k1", ""); !isProblem(r, http.StatusNotFound) {
			t.Errorf("%s: %d %s, want 404", path, r.status, r.body)
		}
	}
}

// failingStore answers every call with an error (a store outage).
type failingStore struct{ idempotency.Store }

var errDown = errors.New("store down")

func (failingStore) Get(context.Context, string) (idempotency.Record, error) {
	return idempotency.Record{}, errDown
}

func (failingStore) Claim(context.Context, string, string, string, time.Duration) (idempotency.Claim, error) {
	return idempotency.Claim{}, errDown
}

func TestHealthReady(t *testing.T) {
	f := newFixture(t, nil)
	if r := f.do(t, "GET", "/healthz", "", ""); r.status != http.StatusOK {
		t.Fatalf("healthz: %d", r.status)
	}
	if r := f.do(t, "GET", "/readyz", "", ""); r.status != http.StatusOK {
		t.Fatalf("readyz: %d", r.status)
	}
	down := newFixture(t, func(c *gateway.Config) { c.Store = failingStore{c.Store} })
	if r := down.do(t, "GET", "/readyz", "", ""); !isProblem(r, http.StatusServiceUnavailable) {
		t.Fatalf("readyz, store down: %d", r.status)
	}
	// Fail-closed: the upstream does not run.
	if r := down.do(t, "POST", "/accounts/acme/payments", "k", `{}`); !isProblem(r, http.StatusServiceUnavailable) || down.up.total.Load() != 0 {
		t.Fatalf("store down: %d, upstream ran %d", r.status, down.up.total.Load())
	}
	// Only GET is the health check; other methods go upstream.
	if r := f.do(t, "POST", "/healthz", "", "x"); r.status != http.StatusCreated {
		t.Fatalf("POST /healthz: %d", r.status)
	}
}

func TestBasePath(t *testing.T) {
	f := newFixture(t, func(c *gateway.Config) { c.BasePath = "/v1/" })
	f.do(t, "POST", "/v1/accounts/acme/payments", "k", `{}`)
	if r := f.do(t, "POST", "/v1/accounts/acme/payments", "k", `{}`); r.header.Get("Idempotent-Replayed") != "true" || !strings.Contains(r.body, `"path":"/v1/accounts/acme/payments"`) {
		t.Fatalf("base path: %d %s", r.status, r.body)
	}
	// Without the base path the spec's path is someone else's.
	f.do(t, "POST", "/accounts/acme/payments", "k", `{}`)
	f.do(t, "POST", "/v1x/accounts/acme/payments", "k", `{}`)
	if n := f.up.total.Load(); n != 3 {
		t.Fatalf("upstream ran %d times, want 3", n)
	}
}

func TestNewErrors(t *testing.T) {
	routes := routesOf(t, loadSpec(t, "testdata/openapi.yaml"))
	u, _ := url.Parse("http://127.0.0.1:1")
	st := memstore.New()
	defer st.Close()
	bad := []gateway.Route{{Method: "GET", Path: "/x", Segments: [][]gateway.Part{{{}}}}}
	for name, cfg := range map[string]gateway.Config{
		"bad route":    {Routes: bad, Upstream: u, Store: st},
		"relative url": {Routes: routes, Upstream: &url.URL{Path: "/x"}, Store: st},
		"no store":     {Routes: routes, Upstream: u},
		"no issuer":    {Routes: routes, Upstream: u, Store: st}, // redeemVoucher needs one
		"bad base":     {Routes: routes, Upstream: u, Store: st, BasePath: "v1"},
	} {
		if _, err := gateway.New(cfg); err == nil || !strings.HasPrefix(err.Error(), "gateway: ") {
			t.Errorf("%s: New = %v, want a gateway error", name, err)
		}
	}
}

// TestGracefulShutdown: a request in flight when the context is canceled
// finishes; Serve returns nil.
func TestGracefulShutdown(t *testing.T) {
	f := newFixture(t, nil)
	f.up.delay.Store(int64(200 * time.Millisecond))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.gw.Serve(ctx, ln, 5*time.Second) }()
	got := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest("POST", "http://"+ln.Addr().String()+"/accounts/acme/payments", strings.NewReader(`{}`))
		req.Header.Set("Idempotency-Key", "k")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			got <- 0
			return
		}
		res.Body.Close()
		got <- res.StatusCode
	}()
	for f.up.total.Load() == 0 && len(got) == 0 { // wait until the upstream has the request
		f.up.mu.Lock()
		n := len(f.up.keys)
		f.up.mu.Unlock()
		if n > 0 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if code := <-got; code != http.StatusCreated {
		t.Fatalf("request in flight at shutdown: %d", code)
	}
	if err := <-done; err != nil {
		t.Fatalf("Serve: %v", err)
	}
}
