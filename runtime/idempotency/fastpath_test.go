package idempotency_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idemgen/idemgen/runtime/idempotency"
	"github.com/idemgen/idemgen/runtime/store/memstore"
)

// claimCounter is a memstore (so a Peeker) that counts Claim calls: a replay
// answered by the fast path makes none.
type claimCounter struct {
	*memstore.Store
	claims atomic.Int32
	lastFP atomic.Value // string
}

func (c *claimCounter) Claim(ctx context.Context, id, fp, tok string, lease time.Duration) (idempotency.Claim, error) {
	c.claims.Add(1)
	c.lastFP.Store(fp)
	return c.Store.Claim(ctx, id, fp, tok, lease)
}

// plainStore hides memstore's Peeker: the middleware takes the path every
// other store takes (and stores fingerprints without the raw-hash suffix).
// It keeps InProcess, so its fingerprints are of the same kind.
type plainStore struct {
	idempotency.Store
	idempotency.InProcess
}

// shaStore hides everything but the Store: fingerprints are SHA-256.
type shaStore struct{ idempotency.Store }

func newCounter(t *testing.T) *claimCounter {
	s := memstore.New(memstore.WithSweepInterval(-1))
	t.Cleanup(func() { s.Close() })
	return &claimCounter{Store: s}
}

func replayed(w interface{ Header() http.Header }) bool {
	return w.Header().Get("Idempotent-Replayed") == "true"
}

func TestReplayFastPath(t *testing.T) {
	s := newCounter(t)
	hs := newHarnessStore(t, s, idempotency.Policy{}, nil)
	body := `{"b":[1,2,{"y":2,"x":1}],"a":1}`
	first := hs.post("k", body)
	if first.Code != http.StatusCreated || s.claims.Load() != 1 {
		t.Fatalf("first: %d, %d claims", first.Code, s.claims.Load())
	}

	// The same bytes: replayed from the peeked record, without a Claim.
	w := hs.post("k", body)
	if !replayed(w) || w.Body.String() != first.Body.String() || s.claims.Load() != 1 {
		t.Errorf("byte-identical repeat: %d replayed=%v, %d claims (want 1: the fast path claims nothing)", w.Code, replayed(w), s.claims.Load())
	}
	if got := hs.ev.last().Outcome; got != idempotency.OutcomeReplayed {
		t.Errorf("outcome %s, want replayed", got)
	}

	// The same payload in other bytes: the canonical path (a Claim) replays it.
	w = hs.post("k", "{\"a\": 1, \"b\": [1, 2, {\"x\":1,\"y\":2}]}")
	if !replayed(w) || w.Body.String() != first.Body.String() || s.claims.Load() != 2 {
		t.Errorf("reordered repeat: %d replayed=%v, %d claims (want 2)", w.Code, replayed(w), s.claims.Load())
	}

	// Another payload: 422, as without the fast path.
	wantProblem(t, hs.post("k", `{"b":[1,2,{"y":2,"x":1}],"a":2}`), http.StatusUnprocessableEntity)
	// Other bytes in a fingerprinted item than the body: the query.
	wantProblem(t, hs.do(http.MethodPost, "/things?x=1", body, "Idempotency-Key", "k", "Content-Type", "application/json"), http.StatusUnprocessableEntity)
	// The same body under another Content-Type is not the same request either
	// (a form body is fingerprinted by its fields): the canonical path decides.
	form := newHarnessStore(t, newCounter(t), idempotency.Policy{}, nil)
	form.do(http.MethodPost, "/things", "a=1&b=2", "Idempotency-Key", "f", "Content-Type", "application/x-www-form-urlencoded")
	if w := form.do(http.MethodPost, "/things", "b=2&a=1", "Idempotency-Key", "f", "Content-Type", "application/x-www-form-urlencoded"); !replayed(w) {
		t.Errorf("reordered form fields: %d, not replayed", w.Code)
	}
	wantProblem(t, form.do(http.MethodPost, "/things", "a=1&b=2", "Idempotency-Key", "f", "Content-Type", "text/plain"), http.StatusUnprocessableEntity)
	if runs := hs.runs.Load(); runs != 1 {
		t.Errorf("handler ran %d times, want 1", runs)
	}
}

// A record stored without the raw-hash suffix (by a middleware that did not
// see a Peeker, or by another seed) is replayed through the canonical path,
// and a concurrent reordered duplicate of an in-flight request is a 409, not
// a 422: fingerprints compare by their canonical part.
func TestReplayFastPathMixedRecords(t *testing.T) {
	s := newCounter(t)
	p := idempotency.Policy{Operation: "createThing"}
	plain := newHarnessStore(t, plainStore{s, s}, p, nil)
	plain.post("k", `{"a":1}`)
	if fp := s.lastFP.Load().(string); len(fp) != 32 || strings.Contains(fp, ".") {
		t.Fatalf("fingerprint %q through a non-Peeker InProcess store: want 32 hex digits", fp)
	}
	peeking := newHarnessStore(t, s, p, nil)
	if w := peeking.post("k", `{"a":1}`); !replayed(w) || peeking.runs.Load() != 0 {
		t.Errorf("record without suffix: %d replayed=%v runs=%d", w.Code, replayed(w), peeking.runs.Load())
	}
	// And the other way round: a suffixed record, read by a middleware with
	// another seed, then by one without the fast path.
	peeking.post("k2", `{"a":2}`)
	if fp := s.lastFP.Load().(string); len(fp) != 32+12 || fp[32] != '.' {
		t.Fatalf("fingerprint %q through a Peeker store: want 32 hex digits, '.', 11 base64url characters", fp)
	}
	other := newHarnessStore(t, s, p, nil)
	if w := other.post("k2", `{"a":2}`); !replayed(w) {
		t.Errorf("another seed: %d, not replayed", w.Code)
	}
	if w := plain.post("k2", ` {"a":2}`); !replayed(w) {
		t.Errorf("suffixed record through a non-Peeker middleware: %d, not replayed", w.Code)
	}
	wantProblem(t, plain.post("k2", `{"a":3}`), http.StatusUnprocessableEntity)

	release := make(chan struct{})
	started := make(chan struct{})
	slow := newHarnessStore(t, s, idempotency.Policy{Operation: "slow", Lease: time.Hour}, func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
		w.WriteHeader(http.StatusCreated)
	})
	done := make(chan struct{})
	go func() { defer close(done); slow.post("k", `{"a":1,"b":2}`) }()
	<-started
	w := slow.post("k", `{"b":2,"a":1}`)
	close(release)
	<-done
	wantProblem(t, w, http.StatusConflict)
}

func TestDoReplayFastPath(t *testing.T) {
	s := newCounter(t)
	m, err := idempotency.New(s, idempotency.Policy{Operation: "consume"}, idempotency.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	runs := 0
	fn := func(context.Context) ([]byte, error) { runs++; return []byte("done"), nil }
	if _, replayed, err := m.Do(ctx, "tenant", "msg-1", []byte(`{"a":1,"b":2}`), fn); err != nil || replayed {
		t.Fatalf("first Do: replayed=%v err=%v", replayed, err)
	}
	res, replayed, err := m.Do(ctx, "tenant", "msg-1", []byte(`{"a":1,"b":2}`), fn)
	if err != nil || !replayed || string(res) != "done" || s.claims.Load() != 1 {
		t.Errorf("byte-identical redelivery: %q replayed=%v err=%v, %d claims (want 1)", res, replayed, err, s.claims.Load())
	}
	res, replayed, err = m.Do(ctx, "tenant", "msg-1", []byte(`{"b":2, "a":1}`), fn)
	if err != nil || !replayed || string(res) != "done" || s.claims.Load() != 2 {
		t.Errorf("reordered redelivery: %q replayed=%v err=%v, %d claims (want 2)", res, replayed, err, s.claims.Load())
	}
	if _, _, err := m.Do(ctx, "tenant", "msg-1", []byte(`{"a":1,"b":3}`), fn); !errors.Is(err, idempotency.ErrMismatch) {
		t.Errorf("other payload: %v, want ErrMismatch", err)
	}
	if runs != 1 {
		t.Errorf("fn ran %d times, want 1", runs)
	}
}

// With an InProcess store fingerprints are 128 seeded bits (32 hex digits),
// the same for every Middleware on the store; through a wrapper that hides
// InProcess they are SHA-256 (64). The two kinds never match: a retry that
// meets a record of the other kind is a 422 (the handler does not run again),
// never a replay of a payload nobody compared.
func TestInProcessFingerprints(t *testing.T) {
	s := newCounter(t)
	p := idempotency.Policy{Operation: "createThing"}
	local := newHarnessStore(t, s, p, nil)
	first := local.post("k", `{"b":2,"a":1}`)
	if fp := s.lastFP.Load().(string); len(fp) != 32+12 || strings.Trim(fp[:32], "0123456789abcdef") != "" {
		t.Fatalf("fingerprint %q through an InProcess store: want 32 hex digits and the raw-hash suffix", fp)
	}
	// Another Middleware on the store (another raw seed, the same store
	// seed): the same payload in other bytes replays, another one is a 422.
	rebuilt := newHarnessStore(t, s, p, nil)
	if w := rebuilt.post("k", `{"a":1,"b":2}`); !replayed(w) || w.Body.String() != first.Body.String() {
		t.Errorf("same payload through another Middleware: %d replayed=%v", w.Code, replayed(w))
	}
	wantProblem(t, rebuilt.post("k", `{"a":1,"b":3}`), http.StatusUnprocessableEntity)

	sha := newHarnessStore(t, shaStore{s}, p, nil)
	sha.post("k2", `{"a":1}`)
	if fp := s.lastFP.Load().(string); len(fp) != 64 || strings.Contains(fp, ".") {
		t.Fatalf("fingerprint %q through a store that is not InProcess: want 64 hex digits", fp)
	}
	wantProblem(t, local.post("k2", `{"a":1}`), http.StatusUnprocessableEntity)
	wantProblem(t, sha.post("k", `{"a":1,"b":2}`), http.StatusUnprocessableEntity)
	if runs := local.runs.Load() + rebuilt.runs.Load() + sha.runs.Load(); runs != 2 {
		t.Errorf("handlers ran %d times, want 2 (one per key)", runs)
	}
}
