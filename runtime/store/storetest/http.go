package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idemgen/idemgen/runtime/idempotency"
)

// executions counts handler runs per idempotency key.
type executions struct {
	mu sync.Mutex
	n  map[string]int
}

func (e *executions) add(key string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.n == nil {
		e.n = map[string]int{}
	}
	e.n[key]++
	return e.n[key]
}

func (e *executions) get(key string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.n[key]
}

// quietLogger keeps expected warnings (takeovers, lost claims) out of test output.
var quietLogger = slog.New(slog.DiscardHandler)

// server starts an httptest server running handler behind a middleware for p
// on s (each call is one "process" sharing the store).
func server(t *testing.T, s idempotency.Store, p idempotency.Policy, h http.HandlerFunc, opts ...idempotency.Option) (*httptest.Server, *idempotency.Middleware) {
	t.Helper()
	opts = append([]idempotency.Option{idempotency.WithLogger(quietLogger)}, opts...)
	m, err := idempotency.New(s, p, opts...)
	if err != nil {
		t.Fatalf("idempotency.New: %v", err)
	}
	mux := http.NewServeMux()
	mux.Handle("POST /things", m.Wrap(h))
	mux.Handle("GET /things/status", m.StatusHandler())
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, m
}

func client(t *testing.T) *http.Client {
	tr := &http.Transport{MaxIdleConnsPerHost: 256, DisableCompression: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func post(t *testing.T, c *http.Client, url, key string, body string, hdr ...string) (response, error) {
	req, err := http.NewRequest(http.MethodPost, url+"/things", bytes.NewBufferString(body))
	if err != nil {
		return response{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Add(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: b}, err
}

func mustPost(t *testing.T, c *http.Client, url, key, body string, hdr ...string) response {
	t.Helper()
	r, err := post(t, c, url, key, body, hdr...)
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	return r
}

// work stands for a handler's own work of duration d, so that concurrent
// duplicates overlap it; it ends early when ctx is done. It is the handler's
// time, not the store's: no expiry depends on it.
func work(ctx context.Context, d time.Duration) {
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
	case <-ctx.Done():
	}
}

// created answers 201 with a body naming the key and the execution number.
func created(ex *executions, delay time.Duration) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get("Idempotency-Key")
		n := ex.add(key)
		body, _ := io.ReadAll(r.Body) // the body is readable after fingerprinting
		work(r.Context(), delay)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Location", "/things/"+key)
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"key":%q,"execution":%d,"request":%s}`, key, n, body)
	}
}

// testHTTPExactlyOnce sends 64 concurrent duplicates on each of 8 keys, spread
// over two servers ("processes") sharing the store: each key's handler runs
// exactly once, every other caller gets the replay or 409, and the replay is
// the first response.
func testHTTPExactlyOnce(t *testing.T, s idempotency.Store, clk Clock) {
	const keys, dups = 8, 64
	var ex executions
	p := idempotency.Policy{Operation: uniq("op"), Lease: 10 * time.Second, TTL: time.Minute}
	srvA, _ := server(t, s, p, created(&ex, 20*time.Millisecond))
	srvB, _ := server(t, s, p, created(&ex, 20*time.Millisecond))
	c := client(t)
	type result struct {
		key string
		r   response
		err error
	}
	results := make(chan result, keys*dups)
	start := make(chan struct{})
	var wg sync.WaitGroup
	keyNames := make([]string, keys)
	for k := range keyNames {
		keyNames[k] = uniq("key")
	}
	for k := 0; k < keys; k++ {
		for d := 0; d < dups; d++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				url := srvA.URL
				if d%2 == 1 {
					url = srvB.URL
				}
				<-start
				r, err := post(t, c, url, keyNames[k], `{"amount": 10, "currency": "EUR"}`)
				results <- result{keyNames[k], r, err}
			}()
		}
	}
	close(start)
	wg.Wait()
	close(results)
	first := map[string][]byte{}
	var conflicts int
	for res := range results {
		if res.err != nil {
			t.Errorf("POST: %v", res.err)
			continue
		}
		switch res.r.status {
		case http.StatusCreated:
			if prev, ok := first[res.key]; ok && !bytes.Equal(prev, res.r.body) {
				t.Errorf("key %s: two different 201 bodies:\n%s\n%s", res.key, prev, res.r.body)
			}
			first[res.key] = res.r.body
		case http.StatusConflict:
			conflicts++
			checkProblem(t, res.r, http.StatusConflict)
			if res.r.header.Get("Retry-After") == "" {
				t.Errorf("409 without Retry-After")
			}
		default:
			t.Errorf("key %s: status %d (%s), want 201 or 409", res.key, res.r.status, res.r.body)
		}
	}
	for _, key := range keyNames {
		if n := ex.get(key); n != 1 {
			t.Errorf("key %s: handler ran %d times, want exactly once", key, n)
		}
		r := mustPost(t, c, srvB.URL, key, `{"currency":"EUR","amount":10}`)
		if r.status != http.StatusCreated || r.header.Get("Idempotent-Replayed") != "true" {
			t.Errorf("key %s: later request got %d, Idempotent-Replayed %q; want a 201 replay", key, r.status, r.header.Get("Idempotent-Replayed"))
		}
		if first[key] != nil && !bytes.Equal(first[key], r.body) {
			t.Errorf("key %s: replay body %s, want %s", key, r.body, first[key])
		}
	}
	t.Logf("%d requests: %d conflicts", keys*dups, conflicts)
}

func checkProblem(t *testing.T, r response, status int) {
	t.Helper()
	if r.status != status || r.header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("got %d %q, want %d application/problem+json", r.status, r.header.Get("Content-Type"), status)
	}
	if !bytes.Contains(r.body, []byte(`"status":`+strconv.Itoa(status))) {
		t.Errorf("problem body %s does not carry status %d", r.body, status)
	}
}

// testHTTPConcurrentWait: with concurrent: wait every duplicate waits for the
// first and gets its replay (no 409s).
func testHTTPConcurrentWait(t *testing.T, s idempotency.Store, clk Clock) {
	const dups = 64
	var ex executions
	p := idempotency.Policy{Operation: uniq("op"), Concurrent: idempotency.ConcurrentWait, Lease: 5 * time.Second, TTL: time.Minute}
	srvA, _ := server(t, s, p, created(&ex, 150*time.Millisecond))
	srvB, _ := server(t, s, p, created(&ex, 150*time.Millisecond))
	c := client(t)
	key := uniq("key")
	bodies := make(chan response, dups)
	var wg sync.WaitGroup
	for d := 0; d < dups; d++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			url := srvA.URL
			if d%2 == 1 {
				url = srvB.URL
			}
			r, err := post(t, c, url, key, `{"a":1}`)
			if err != nil {
				t.Errorf("POST: %v", err)
				return
			}
			bodies <- r
		}()
	}
	wg.Wait()
	close(bodies)
	var first []byte
	replays := 0
	for r := range bodies {
		if r.status != http.StatusCreated {
			t.Errorf("status %d (%s), want 201 for every waiting duplicate", r.status, r.body)
			continue
		}
		if r.header.Get("Idempotent-Replayed") == "true" {
			replays++
		}
		if first != nil && !bytes.Equal(first, r.body) {
			t.Errorf("different bodies:\n%s\n%s", first, r.body)
		}
		first = r.body
	}
	if n := ex.get(key); n != 1 {
		t.Errorf("handler ran %d times, want once", n)
	}
	if replays != dups-1 {
		t.Errorf("%d replays, want %d", replays, dups-1)
	}
}

// testHTTPReplayIdentity: status, replayed headers and body bytes are those of
// the first response; Set-Cookie, Date and hop-by-hop headers are not replayed.
func testHTTPReplayIdentity(t *testing.T, s idempotency.Store, clk Clock) {
	var ex executions
	body := make([]byte, 4096)
	for i := range body {
		body[i] = byte(i)
	}
	p := idempotency.Policy{Operation: uniq("op"), TTL: time.Minute}
	srv, m := server(t, s, p, func(w http.ResponseWriter, r *http.Request) {
		ex.add(r.Header.Get("Idempotency-Key"))
		h := w.Header()
		h.Set("Content-Type", "application/octet-stream")
		h.Add("X-Multi", "one")
		h.Add("X-Multi", "two")
		h.Set("ETag", `"v1"`)
		h.Set("Set-Cookie", "session=secret")
		w.WriteHeader(http.StatusAccepted)
		w.Write(body[:1000])
		w.Write(body[1000:])
	})
	c := client(t)
	key := uniq("key")
	first := mustPost(t, c, srv.URL, key, "not json \x00\xff")
	second := mustPost(t, c, srv.URL, key, "not json \x00\xff")
	if ex.get(key) != 1 {
		t.Fatalf("handler ran %d times, want once", ex.get(key))
	}
	if first.status != http.StatusAccepted || second.status != first.status {
		t.Errorf("statuses %d then %d, want 202 twice", first.status, second.status)
	}
	if !bytes.Equal(first.body, body) || !bytes.Equal(second.body, first.body) {
		t.Errorf("replayed body differs from the first (%d vs %d bytes)", len(second.body), len(first.body))
	}
	if first.header.Get("Idempotent-Replayed") != "" || second.header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("Idempotent-Replayed: first %q, replay %q; want \"\" then \"true\"", first.header.Get("Idempotent-Replayed"), second.header.Get("Idempotent-Replayed"))
	}
	for _, name := range []string{"Content-Type", "X-Multi", "Etag", "Location"} {
		if a, b := first.header.Values(name), second.header.Values(name); fmt.Sprint(a) != fmt.Sprint(b) {
			t.Errorf("header %s: first %q, replay %q", name, a, b)
		}
	}
	if v := second.header.Get("Set-Cookie"); v != "" {
		t.Errorf("replay leaked Set-Cookie %q", v)
	}
	// Status lookup sees the completed record with its status.
	st, err := m.StatusKey(context.Background(), "", key)
	if err != nil || st.State != idempotency.StateCompleted || st.StatusCode != http.StatusAccepted {
		t.Errorf("StatusKey = %+v, %v; want completed with 202", st, err)
	}
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/things/status", nil)
	req.Header.Set("Idempotency-Key", key)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("status GET: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Contains(b, []byte(`"state":"completed"`)) || !bytes.Contains(b, []byte(`"status":202`)) {
		t.Errorf("status handler: %d %s", resp.StatusCode, b)
	}
}

// testHTTPMismatch: reusing a key with another payload is 422; the same JSON
// with other key order and whitespace is the same payload.
func testHTTPMismatch(t *testing.T, s idempotency.Store, clk Clock) {
	var ex executions
	p := idempotency.Policy{Operation: uniq("op"), TTL: time.Minute}
	srv, _ := server(t, s, p, created(&ex, 0))
	c := client(t)
	key := uniq("key")
	first := mustPost(t, c, srv.URL, key, `{"amount":10,"currency":"EUR","items":[{"a":1,"b":2}]}`)
	if first.status != http.StatusCreated {
		t.Fatalf("first: %d %s", first.status, first.body)
	}
	same := mustPost(t, c, srv.URL, key, "{ \"items\" : [ {\"b\":2, \"a\":1} ],\n \"currency\":\"EUR\", \"amount\":10 }")
	if same.status != http.StatusCreated || same.header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("reordered, re-spaced JSON: %d %q, want a 201 replay", same.status, same.header.Get("Idempotent-Replayed"))
	}
	other := mustPost(t, c, srv.URL, key, `{"amount":11,"currency":"EUR","items":[{"a":1,"b":2}]}`)
	checkProblem(t, other, http.StatusUnprocessableEntity)
	if bytes.Contains(other.body, []byte("EUR")) {
		t.Errorf("422 leaks the stored payload: %s", other.body)
	}
	if ex.get(key) != 1 {
		t.Errorf("handler ran %d times, want once", ex.get(key))
	}
}

// testHTTPScopeIsolation: the same key under two tenants is two records, and
// no tenant can see the other's.
func testHTTPScopeIsolation(t *testing.T, s idempotency.Store, clk Clock) {
	var ex executions
	p := idempotency.Policy{Operation: uniq("op"), Scope: []string{"header:X-Tenant"}, TTL: time.Minute}
	srv, _ := server(t, s, p, func(w http.ResponseWriter, r *http.Request) {
		ex.add(r.Header.Get("X-Tenant"))
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, "secret of %s", r.Header.Get("X-Tenant"))
	})
	c := client(t)
	key := uniq("key")
	a := mustPost(t, c, srv.URL, key, `{}`, "X-Tenant", "a")
	b := mustPost(t, c, srv.URL, key, `{}`, "X-Tenant", "b")
	if a.status != http.StatusCreated || b.status != http.StatusCreated || b.header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("tenants a, b: %d, %d (b replayed %q); want two executions", a.status, b.status, b.header.Get("Idempotent-Replayed"))
	}
	if string(a.body) != "secret of a" || string(b.body) != "secret of b" {
		t.Errorf("bodies %q, %q", a.body, b.body)
	}
	if ex.get("a") != 1 || ex.get("b") != 1 {
		t.Errorf("executions a=%d b=%d, want 1 each", ex.get("a"), ex.get("b"))
	}
	// A different payload in tenant c is no mismatch: tenant c has no record.
	cc := mustPost(t, c, srv.URL, key, `{"other":true}`, "X-Tenant", "c")
	if cc.status != http.StatusCreated || string(cc.body) != "secret of c" {
		t.Errorf("tenant c: %d %q", cc.status, cc.body)
	}
	again := mustPost(t, c, srv.URL, key, `{}`, "X-Tenant", "a")
	if string(again.body) != "secret of a" || again.header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("tenant a replay: %q", again.body)
	}
	for tenant, want := range map[string]int{"a": http.StatusOK, "d": http.StatusNotFound} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/things/status", nil)
		req.Header.Set("Idempotency-Key", key)
		req.Header.Set("X-Tenant", tenant)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("status lookup as tenant %s: %d %s, want %d", tenant, resp.StatusCode, body, want)
		}
		if bytes.Contains(body, []byte("secret")) {
			t.Errorf("status lookup leaks the stored body: %s", body)
		}
	}
}

// testHTTPTakeover: a first attempt that outlives its lease (as a crashed
// worker would) is taken over by the next retry; the stale attempt's late
// completion is refused by the fencing token, so the retry's response is the
// one replayed.
func testHTTPTakeover(t *testing.T, s idempotency.Store, clk Clock) {
	var ex executions
	release := make(chan struct{})
	started := make(chan struct{})
	var takeovers atomic.Int32
	// A longer lease than elsewhere: the 409 below must arrive within it even
	// on a loaded machine.
	lease := 1 * time.Second
	p := idempotency.Policy{Operation: uniq("op"), Lease: lease, TTL: time.Minute}
	srv, _ := server(t, s, p, func(w http.ResponseWriter, r *http.Request) {
		n := ex.add("k")
		if n == 1 {
			close(started)
			<-release // the "crashed" first attempt hangs past its lease
		}
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, "execution %d", n)
	}, idempotency.WithObserver(idempotency.ObserverFunc(func(_ context.Context, e idempotency.Event) {
		if e.Outcome == idempotency.OutcomeTakeover {
			takeovers.Add(1)
		}
	})))
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	t.Cleanup(unblock) // runs before the server's Close, which waits for the handler
	c := client(t)
	key := uniq("key")
	firstDone := make(chan response, 1)
	go func() {
		r, err := post(t, c, srv.URL, key, `{}`)
		if err != nil {
			t.Errorf("first POST: %v", err)
		}
		firstDone <- r
	}()
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("the first attempt never reached the handler")
	}
	inFlight := mustPost(t, c, srv.URL, key, `{}`)
	checkProblem(t, inFlight, http.StatusConflict)
	clk.Advance(t, lease+margin)
	retry := mustPost(t, c, srv.URL, key, `{}`)
	if retry.status != http.StatusCreated || string(retry.body) != "execution 2" {
		t.Fatalf("retry after the lease: %d %q, want 201 \"execution 2\"", retry.status, retry.body)
	}
	unblock()
	first := <-firstDone
	if first.status != http.StatusCreated || string(first.body) != "execution 1" {
		t.Errorf("stale first attempt still answers its own client: got %d %q", first.status, first.body)
	}
	replay := mustPost(t, c, srv.URL, key, `{}`)
	if string(replay.body) != "execution 2" || replay.header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("replay after the stale completion: %q (replayed %q), want the retry's \"execution 2\"", replay.body, replay.header.Get("Idempotent-Replayed"))
	}
	t.Logf("takeover events: %d", takeovers.Load())
}

// testHTTPRelease: an uncached outcome (5xx) releases the claim so the retry
// runs again; the first cached outcome is then replayed.
func testHTTPRelease(t *testing.T, s idempotency.Store, clk Clock) {
	var ex executions
	p := idempotency.Policy{Operation: uniq("op"), TTL: time.Minute}
	srv, _ := server(t, s, p, func(w http.ResponseWriter, r *http.Request) {
		n := ex.add("k")
		if n == 1 {
			http.Error(w, "try again", http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, "execution %d", n)
	})
	c := client(t)
	key := uniq("key")
	if r := mustPost(t, c, srv.URL, key, `{}`); r.status != http.StatusServiceUnavailable {
		t.Fatalf("first: %d, want 503 from the handler", r.status)
	}
	if r := mustPost(t, c, srv.URL, key, `{}`); r.status != http.StatusCreated || string(r.body) != "execution 2" {
		t.Fatalf("retry: %d %q, want 201 \"execution 2\"", r.status, r.body)
	}
	if r := mustPost(t, c, srv.URL, key, `{}`); string(r.body) != "execution 2" || r.header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("third: %q, want the replay of \"execution 2\"", r.body)
	}
}

// testDoExactlyOnce: 64 concurrent Do calls with one key run fn once; with
// concurrent: wait every caller gets the result.
func testDoExactlyOnce(t *testing.T, s idempotency.Store, clk Clock) {
	for _, mode := range []idempotency.Concurrency{idempotency.ConcurrentReject, idempotency.ConcurrentWait} {
		p := idempotency.Policy{Operation: uniq("do"), Concurrent: mode, Lease: 5 * time.Second, TTL: time.Minute}
		m, err := idempotency.New(s, p, idempotency.WithLogger(quietLogger))
		if err != nil {
			t.Fatal(err)
		}
		var runs atomic.Int32
		var wg sync.WaitGroup
		var inFlight, got atomic.Int32
		key := uniq("msg")
		for i := 0; i < 64; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, _, err := m.Do(context.Background(), "tenant", key, []byte(`{"n":1}`), func(context.Context) ([]byte, error) {
					runs.Add(1)
					work(context.Background(), 50*time.Millisecond)
					return []byte("result"), nil
				})
				switch {
				case errors.Is(err, idempotency.ErrInFlight) && mode == idempotency.ConcurrentReject:
					inFlight.Add(1)
				case err != nil:
					t.Errorf("%s: Do: %v", mode, err)
				case string(res) != "result":
					t.Errorf("%s: Do = %q", mode, res)
				default:
					got.Add(1)
				}
			}()
		}
		wg.Wait()
		if runs.Load() != 1 {
			t.Errorf("%s: fn ran %d times, want once", mode, runs.Load())
		}
		if mode == idempotency.ConcurrentWait && got.Load() != 64 {
			t.Errorf("%s: %d callers got the result, want 64", mode, got.Load())
		}
		res, replayed, err := m.Do(context.Background(), "tenant", key, []byte(`{ "n" : 1 }`), func(context.Context) ([]byte, error) {
			t.Errorf("%s: fn ran on a repeat", mode)
			return nil, nil
		})
		if err != nil || !replayed || string(res) != "result" {
			t.Errorf("%s: repeat Do = %q, %v, %v; want the stored result, replayed", mode, res, replayed, err)
		}
		if _, _, err := m.Do(context.Background(), "tenant", key, []byte(`{"n":2}`), func(context.Context) ([]byte, error) { return nil, nil }); !errors.Is(err, idempotency.ErrMismatch) {
			t.Errorf("%s: Do with another payload: err = %v, want ErrMismatch", mode, err)
		}
	}
}
