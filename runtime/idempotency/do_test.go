package idempotency_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idemgen/idemgen/runtime/idempotency"
	"github.com/idemgen/idemgen/runtime/store/memstore"
)

func newDo(t *testing.T, s idempotency.Store, p idempotency.Policy, opts ...idempotency.Option) (*idempotency.Middleware, *events) {
	t.Helper()
	ev := &events{}
	if p.Operation == "" {
		p.Operation = "consume"
	}
	m, err := idempotency.New(s, p, append([]idempotency.Option{idempotency.WithLogger(quiet), idempotency.WithObserver(ev)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return m, ev
}

func TestDo(t *testing.T) {
	ctx := context.Background()
	s := memstore.New(memstore.WithSweepInterval(-1))
	defer s.Close()
	m, ev := newDo(t, s, idempotency.Policy{})
	runs := 0
	fn := func(context.Context) ([]byte, error) { runs++; return []byte("ok"), nil }
	res, replayed, err := m.Do(ctx, "", "msg-1", []byte(`{"a":1,"b":2}`), fn)
	if err != nil || replayed || string(res) != "ok" {
		t.Fatalf("first Do = %q %v %v", res, replayed, err)
	}
	res, replayed, err = m.Do(ctx, "", "msg-1", []byte(`{"b":2, "a":1}`), fn)
	if err != nil || !replayed || string(res) != "ok" || runs != 1 {
		t.Fatalf("repeat Do = %q %v %v, runs %d", res, replayed, err, runs)
	}
	if _, _, err := m.Do(ctx, "", "msg-1", []byte(`{"a":2}`), fn); !errors.Is(err, idempotency.ErrMismatch) {
		t.Errorf("other payload: %v", err)
	}
	if _, _, err := m.Do(ctx, "tenant-b", "msg-1", []byte(`{"a":1,"b":2}`), fn); err != nil || runs != 2 {
		t.Errorf("other scope: %v, runs %d (want a separate record)", err, runs)
	}
	if _, _, err := m.Do(ctx, "", "", nil, fn); !errors.Is(err, idempotency.ErrInvalidKey) {
		t.Errorf("empty key: %v", err)
	}
	st, err := m.StatusKey(ctx, "", "msg-1")
	if err != nil || st.State != idempotency.StateCompleted {
		t.Errorf("StatusKey = %+v, %v", st, err)
	}
	if _, err := m.StatusKey(ctx, "", "never"); !errors.Is(err, idempotency.ErrNotFound) {
		t.Errorf("StatusKey of an unknown key: %v", err)
	}
	want := "executed replayed mismatch executed rejected_key"
	if got := strings.Join(ev.outcomes(), " "); got != want {
		t.Errorf("outcomes %q, want %q", got, want)
	}
}

func TestDoErrorReleases(t *testing.T) {
	ctx := context.Background()
	s := memstore.New(memstore.WithSweepInterval(-1))
	defer s.Close()
	m, _ := newDo(t, s, idempotency.Policy{})
	boom := errors.New("downstream failed")
	if _, _, err := m.Do(ctx, "", "k", nil, func(context.Context) ([]byte, error) { return nil, boom }); !errors.Is(err, boom) {
		t.Fatalf("err %v", err)
	}
	res, replayed, err := m.Do(ctx, "", "k", nil, func(context.Context) ([]byte, error) { return []byte("second"), nil })
	if err != nil || replayed || string(res) != "second" {
		t.Errorf("redelivery after an error: %q %v %v", res, replayed, err)
	}
	func() {
		defer func() {
			if recover() != "kaboom" {
				t.Error("panic not re-raised")
			}
		}()
		m.Do(ctx, "", "p", nil, func(context.Context) ([]byte, error) { panic("kaboom") })
	}()
	if _, replayed, err := m.Do(ctx, "", "p", nil, func(context.Context) ([]byte, error) { return nil, nil }); err != nil || replayed {
		t.Errorf("after a panic the claim must be released: %v %v", replayed, err)
	}
}

func TestDoConflictAndWait(t *testing.T) {
	ctx := context.Background()
	s := memstore.New(memstore.WithSweepInterval(-1))
	defer s.Close()
	for _, mode := range []idempotency.Concurrency{idempotency.ConcurrentReject, idempotency.ConcurrentWait} {
		m, _ := newDo(t, s, idempotency.Policy{Operation: "op-" + string(mode), Concurrent: mode, Lease: 5 * time.Second})
		started, release := make(chan struct{}), make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			m.Do(ctx, "", "k", nil, func(context.Context) ([]byte, error) { close(started); <-release; return []byte("first"), nil })
		}()
		<-started
		if mode == idempotency.ConcurrentReject {
			if _, _, err := m.Do(ctx, "", "k", nil, nil); !errors.Is(err, idempotency.ErrInFlight) {
				t.Errorf("reject: %v", err)
			}
			close(release)
		} else {
			time.AfterFunc(50*time.Millisecond, func() { close(release) })
			res, replayed, err := m.Do(ctx, "", "k", nil, nil)
			if err != nil || !replayed || string(res) != "first" {
				t.Errorf("wait: %q %v %v", res, replayed, err)
			}
		}
		wg.Wait()
	}
}

func TestWaitTakesOverAfterLease(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	started := make(chan struct{})
	hs := newHarness(t, idempotency.Policy{Concurrent: idempotency.ConcurrentWait, Lease: 200 * time.Millisecond, TTL: time.Minute},
		func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("X-First") != "" {
				close(started)
				<-release // hangs past its lease
			}
			w.WriteHeader(201)
		})
	go hs.post("k", "{}", "X-First", "1")
	<-started
	// X-First is not fingerprinted, so this is a duplicate: it waits, sees the
	// lease expire and takes the claim over.
	if w := hs.post("k", "{}"); w.Code != 201 || hs.runs.Load() != 2 {
		t.Fatalf("after waiting out the lease: %d, runs %d; want 201 by takeover", w.Code, hs.runs.Load())
	}
}

func TestWaitFallsBackTo409(t *testing.T) {
	// The store's clock stands still, so the holder's lease never expires
	// while the duplicate waits its (real-time) lease out.
	frozen := time.Now()
	s := memstore.New(memstore.WithClock(func() time.Time { return frozen }), memstore.WithSweepInterval(-1))
	defer s.Close()
	release, started := make(chan struct{}), make(chan struct{})
	defer close(release)
	hs := newHarnessStore(t, s, idempotency.Policy{Concurrent: idempotency.ConcurrentWait, Lease: 100 * time.Millisecond, TTL: time.Minute},
		func(w http.ResponseWriter, r *http.Request) {
			close(started)
			<-release
		})
	go hs.post("k", "{}")
	<-started
	wantProblem(t, hs.post("k", "{}"), http.StatusConflict)
}

func TestTakeoverEventAndFencing(t *testing.T) {
	var mu sync.Mutex
	now := time.Now()
	s := memstore.New(memstore.WithClock(func() time.Time { mu.Lock(); defer mu.Unlock(); return now }), memstore.WithSweepInterval(-1))
	defer s.Close()
	release, started := make(chan struct{}), make(chan struct{})
	hs := newHarnessStore(t, s, idempotency.Policy{Lease: time.Minute}, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-First") != "" {
			close(started)
			<-release
			w.Write([]byte("stale"))
			return
		}
		w.Write([]byte("fresh"))
	})
	done := make(chan *httptest.ResponseRecorder)
	go func() { done <- hs.post("k", "{}", "X-First", "1") }()
	<-started
	mu.Lock()
	now = now.Add(2 * time.Minute) // the first worker's lease runs out
	mu.Unlock()
	if w := hs.post("k", "{}"); w.Body.String() != "fresh" {
		t.Fatalf("retry after the lease: %q", w.Body)
	}
	close(release)
	if w := <-done; w.Body.String() != "stale" {
		t.Errorf("the stale worker still answers its client: %q", w.Body)
	}
	if w := hs.post("k", "{}"); w.Body.String() != "fresh" || w.Header().Get("Idempotent-Replayed") != "true" {
		t.Errorf("replay: %q, want the fenced-in retry's response", w.Body)
	}
	want := "takeover executed not_cached replayed"
	if got := strings.Join(hs.ev.outcomes(), " "); got != want {
		t.Errorf("outcomes %q, want %q", got, want)
	}
}

// atomicStore wraps memstore with AtomicStore, recording the transaction
// protocol the middleware follows.
type atomicStore struct {
	*memstore.Store
	mu  sync.Mutex
	log []string
}

type txKey struct{}

type tx struct {
	s         *atomicStore
	id, token string
}

func (a *atomicStore) record(s string) { a.mu.Lock(); a.log = append(a.log, s); a.mu.Unlock() }

func (a *atomicStore) Begin(ctx context.Context, id, token string) (context.Context, idempotency.AtomicTx, error) {
	a.record("begin")
	t := &tx{a, id, token}
	return context.WithValue(ctx, txKey{}, t), t, nil
}

func (t *tx) Complete(ctx context.Context, result []byte, ttl time.Duration) error {
	t.s.record("commit")
	return t.s.Store.Complete(ctx, t.id, t.token, result, ttl)
}

func (t *tx) Rollback(context.Context) error { t.s.record("rollback"); return nil }

func TestAtomic(t *testing.T) {
	as := &atomicStore{Store: memstore.New(memstore.WithSweepInterval(-1))}
	defer as.Close()
	status := 201
	hs := newHarnessStore(t, as, idempotency.Policy{}, func(w http.ResponseWriter, r *http.Request) {
		if r.Context().Value(txKey{}) == nil {
			t.Error("handler context does not carry the transaction")
		}
		w.WriteHeader(status)
	}, idempotency.WithAtomic())
	hs.post("a", "{}")
	hs.post("a", "{}") // replay: no transaction
	status = 500
	hs.post("b", "{}")
	if got := strings.Join(as.log, " "); got != "begin commit begin rollback" {
		t.Errorf("transaction protocol %q", got)
	}
	if _, err := as.Get(context.Background(), "x"); !errors.Is(err, idempotency.ErrNotFound) {
		t.Fatal(err)
	}
	// Do passes the transaction's context to fn.
	as.log = nil
	m, _ := newDo(t, as, idempotency.Policy{}, idempotency.WithAtomic())
	_, _, err := m.Do(context.Background(), "", "k", nil, func(ctx context.Context) ([]byte, error) {
		if ctx.Value(txKey{}) == nil {
			t.Error("fn context does not carry the transaction")
		}
		return []byte("r"), nil
	})
	if err != nil || strings.Join(as.log, " ") != "begin commit" {
		t.Errorf("Do atomic: %v, %q", err, as.log)
	}
}

func TestStatusHandler(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{})
	hs := newHarness(t, idempotency.Policy{}, func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
		w.WriteHeader(202)
	})
	sh := hs.m.StatusHandler()
	get := func(key string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", "/status", nil)
		if key != "" {
			r.Header.Set("Idempotency-Key", key)
		}
		w := httptest.NewRecorder()
		sh.ServeHTTP(w, r)
		return w
	}
	wantProblem(t, get("k"), 404)
	wantProblem(t, get(""), 400)
	done := make(chan struct{})
	go func() { hs.post("k", "{}"); close(done) }()
	<-started
	if w := get("k"); w.Code != 200 || !strings.Contains(w.Body.String(), `"state":"in_flight"`) || !strings.Contains(w.Body.String(), "leaseUntil") {
		t.Errorf("in flight: %d %s", w.Code, w.Body)
	}
	close(release)
	<-done
	if w := get("k"); w.Code != 200 || !strings.Contains(w.Body.String(), `"status":202`) {
		t.Errorf("completed: %d %s", w.Code, w.Body)
	}
	r := httptest.NewRequest("POST", "/status", nil)
	w := httptest.NewRecorder()
	sh.ServeHTTP(w, r)
	wantProblem(t, w, 405)
	st, err := hs.m.Status(context.Background(), httptest.NewRequest("POST", "/things", strings.NewReader("{}")))
	if !errors.Is(err, idempotency.ErrInvalidKey) {
		t.Errorf("Status without a key: %+v %v", st, err)
	}
	r = httptest.NewRequest("POST", "/things", strings.NewReader("{}"))
	r.Header.Set("Idempotency-Key", "k")
	if st, err := hs.m.Status(context.Background(), r); err != nil || st.StatusCode != 202 {
		t.Errorf("Status = %+v, %v", st, err)
	}
}

func TestDoCanceledContext(t *testing.T) {
	s := memstore.New(memstore.WithSweepInterval(-1))
	defer s.Close()
	m, _ := newDo(t, s, idempotency.Policy{FailOpen: true})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, _, err := m.Do(ctx, "", "k", nil, func(context.Context) ([]byte, error) {
		t.Error("fn ran on a canceled context (fail-open must not treat cancellation as an outage)")
		return nil, nil
	})
	if !errors.Is(err, context.Canceled) || errors.Is(err, idempotency.ErrStoreUnavailable) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

// TestDoReplayIsTheCallers: a replayed result belongs to the caller; changing
// it leaves the stored record (which an in-process store shares) as it was.
func TestDoReplayIsTheCallers(t *testing.T) {
	ctx := context.Background()
	s := memstore.New(memstore.WithSweepInterval(-1))
	defer s.Close()
	m, _ := newDo(t, s, idempotency.Policy{})
	fn := func(context.Context) ([]byte, error) { return []byte("stored"), nil }
	payload := []byte(`{"a":1}`)
	if _, _, err := m.Do(ctx, "", "own-1", payload, fn); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		res, replayed, err := m.Do(ctx, "", "own-1", payload, fn)
		if err != nil || !replayed || string(res) != "stored" {
			t.Fatalf("replay %d = %q %v %v", i, res, replayed, err)
		}
		copy(res, "XXXXXX")
	}
}
