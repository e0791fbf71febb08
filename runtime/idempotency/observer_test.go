package idempotency_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idemgen/idemgen/runtime/idempotency"
	"github.com/idemgen/idemgen/runtime/store/memstore"
)

// slowStore makes every claim and completion take at least d.
type slowStore struct {
	idempotency.Store
	d time.Duration
}

func (s slowStore) Claim(ctx context.Context, id, fp, token string, lease time.Duration) (idempotency.Claim, error) {
	time.Sleep(s.d)
	return s.Store.Claim(ctx, id, fp, token, lease)
}

func (s slowStore) Complete(ctx context.Context, id, token string, result []byte, ttl time.Duration) error {
	time.Sleep(s.d)
	return s.Store.Complete(ctx, id, token, result, ttl)
}

// TestEventLatenciesAndKey: an executed request's Event splits its latency
// into the store's share (claim + completion) and the handler's, and
// carries the key; a replay's has the store's share only. The bounds are
// lower bounds set by sleeps, so a loaded machine cannot fail them.
func TestEventLatenciesAndKey(t *testing.T) {
	const storeDelay, handlerDelay = 5 * time.Millisecond, 20 * time.Millisecond
	mem := memstore.New()
	defer mem.Close()
	var mu sync.Mutex
	var events []idempotency.Event
	mw, err := idempotency.New(slowStore{mem, storeDelay}, idempotency.Policy{Operation: "createOrder"},
		idempotency.WithObserver(idempotency.ObserverFunc(func(_ context.Context, e idempotency.Event) {
			mu.Lock()
			defer mu.Unlock()
			events = append(events, e)
		})))
	if err != nil {
		t.Fatal(err)
	}
	h := mw.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(handlerDelay)
		w.WriteHeader(http.StatusCreated)
	}))
	send := func(key string) {
		req := httptest.NewRequest(http.MethodPost, "/orders", strings.NewReader(`{"n":1}`))
		if key != "" {
			req.Header.Set("Idempotency-Key", key)
		}
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
	send("k-1") // executed
	send("k-1") // replayed
	send("")    // rejected: no key

	if len(events) != 3 {
		t.Fatalf("%d events, want 3", len(events))
	}
	ex, re, rej := events[0], events[1], events[2]
	if ex.Outcome != idempotency.OutcomeExecuted || ex.Key != "k-1" ||
		ex.StoreLatency < 2*storeDelay || ex.HandlerLatency < handlerDelay ||
		ex.Latency < ex.StoreLatency+ex.HandlerLatency {
		t.Errorf("executed: %v key %q, latency %v = store %v + handler %v + ...; want store >= %v, handler >= %v",
			ex.Outcome, ex.Key, ex.Latency, ex.StoreLatency, ex.HandlerLatency, 2*storeDelay, handlerDelay)
	}
	if re.Outcome != idempotency.OutcomeReplayed || re.Key != "k-1" || re.HandlerLatency != 0 ||
		re.StoreLatency < storeDelay || re.Latency < re.StoreLatency {
		t.Errorf("replayed: %v key %q, latency %v, store %v, handler %v; want no handler time and store >= %v",
			re.Outcome, re.Key, re.Latency, re.StoreLatency, re.HandlerLatency, storeDelay)
	}
	if rej.Outcome != idempotency.OutcomeRejectedKey || rej.Key != "" || rej.StoreLatency != 0 || rej.HandlerLatency != 0 {
		t.Errorf("rejected: %+v, want no key and no store or handler time", rej)
	}

	// Do reports the same way, fn as the handler.
	events = nil
	fn := func(context.Context) ([]byte, error) { time.Sleep(handlerDelay); return []byte("ok"), nil }
	if _, _, err := mw.Do(context.Background(), "", "k-2", nil, fn); err != nil {
		t.Fatal(err)
	}
	if e := events[0]; e.Outcome != idempotency.OutcomeExecuted || e.Key != "k-2" || e.StoreLatency < 2*storeDelay || e.HandlerLatency < handlerDelay {
		t.Errorf("Do executed: %+v", e)
	}
}

func TestKeyHash(t *testing.T) {
	// sha256("abc") = ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad
	if got := idempotency.KeyHash("abc"); got != "ba7816bf8f01cfea" {
		t.Errorf("KeyHash(abc) = %q, want the SHA-256's first 16 hex digits ba7816bf8f01cfea", got)
	}
}
