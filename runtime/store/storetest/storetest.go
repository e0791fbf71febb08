package storetest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idemgen/idemgen/runtime/idempotency"
)

// Durations the suite works with. Lease is long enough to survive scheduling
// noise under -race on a loaded machine when the store reads a real clock.
const (
	lease   = 400 * time.Millisecond
	margin  = 300 * time.Millisecond // advanced beyond a lease or ttl before expecting expiry
	longTTL = time.Minute
)

// Subject is one store under test, as the open function of RunSubjects
// returns it for one subtest.
type Subject struct {
	Store idempotency.Store
	// Clock is the time Store reads. nil means a real clock that the suite
	// cannot move (a Redis or PostgreSQL server's): WallClock.
	Clock Clock
	// Write and Committed are the AtomicStore capability hook: Write performs a
	// business write named name through the transaction ctx carries (as a
	// handler in atomic mode would), and Committed reports whether that write
	// is visible outside it. With both set the atomic tests check that the
	// handler's writes commit with the completed record and only then; with
	// both nil they check the records only. A Store that does not implement
	// idempotency.AtomicStore must leave them nil.
	Write     func(ctx context.Context, name string) error
	Committed func(ctx context.Context, name string) (bool, error)
}

// Run runs the conformance suite on a store that reads a real clock. open is
// called once per subtest and must return a ready store (register its cleanup
// with t.Cleanup); stores may be shared between calls. Subtests call
// t.Parallel.
func Run(t *testing.T, open func(t *testing.T) idempotency.Store) {
	t.Helper()
	RunSubjects(t, func(t *testing.T) Subject { return Subject{Store: open(t)} })
}

// RunSubjects runs the conformance suite: every subtest calls open for a
// store of its own (with its clock and, for an AtomicStore, its capability
// hook). The atomic subtests run when the store implements
// idempotency.AtomicStore and are skipped otherwise.
func RunSubjects(t *testing.T, open func(t *testing.T) Subject) {
	t.Helper()
	tests := []struct {
		name   string
		fn     func(t *testing.T, s idempotency.Store, clk Clock)
		atomic func(t *testing.T, sub Subject, clk Clock)
	}{
		{name: "Claim", fn: testClaim},
		{name: "CompleteThenReplay", fn: testCompleteThenReplay},
		{name: "Release", fn: testRelease},
		{name: "Fencing", fn: testFencing},
		{name: "LeaseExpiryTakeover", fn: testLeaseExpiryTakeover},
		{name: "TTLExpiry", fn: testTTLExpiry},
		{name: "Purge", fn: testPurge},
		{name: "ConcurrentClaimsExactlyOnce", fn: testConcurrentClaims},
		{name: "HTTPExactlyOnce", fn: testHTTPExactlyOnce},
		{name: "HTTPConcurrentWait", fn: testHTTPConcurrentWait},
		{name: "HTTPReplayIdentity", fn: testHTTPReplayIdentity},
		{name: "HTTPMismatch", fn: testHTTPMismatch},
		{name: "HTTPScopeIsolation", fn: testHTTPScopeIsolation},
		{name: "HTTPTakeover", fn: testHTTPTakeover},
		{name: "HTTPReleaseOnUncached", fn: testHTTPRelease},
		{name: "DoExactlyOnce", fn: testDoExactlyOnce},
		{name: "AtomicCommit", atomic: testAtomicCommit},
		{name: "AtomicFencing", atomic: testAtomicFencing},
		{name: "AtomicRollback", atomic: testAtomicRollback},
		{name: "HTTPAtomic", atomic: testHTTPAtomic},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sub := open(t)
			if sub.Store == nil {
				t.Fatal("storetest: open returned a nil store")
			}
			clk := sub.Clock
			if clk == nil {
				clk = WallClock{}
			}
			_, isAtomic := sub.Store.(idempotency.AtomicStore)
			if (sub.Write == nil) != (sub.Committed == nil) || (sub.Write != nil && !isAtomic) {
				t.Fatalf("storetest: Subject.Write and Committed must both be set, and only for an idempotency.AtomicStore (%T)", sub.Store)
			}
			if tc.atomic != nil {
				if !isAtomic {
					t.Skipf("%T does not implement idempotency.AtomicStore", sub.Store)
				}
				tc.atomic(t, sub, clk)
				return
			}
			tc.fn(t, sub.Store, clk)
		})
	}
}

// uniq returns an id or name no other run uses.
func uniq(prefix string) string {
	return fmt.Sprintf("storetest-%s-%016x%016x", prefix, rand.Uint64(), rand.Uint64())
}

func token() string { return fmt.Sprintf("tok-%016x%016x", rand.Uint64(), rand.Uint64()) }

func claim(t *testing.T, s idempotency.Store, id, fp, tok string, d time.Duration) idempotency.Claim {
	t.Helper()
	cl, err := s.Claim(context.Background(), id, fp, tok, d)
	if err != nil {
		t.Fatalf("Claim(%q): %v", id, err)
	}
	return cl
}

func mustAcquire(t *testing.T, s idempotency.Store, id, fp, tok string, d time.Duration) idempotency.Claim {
	t.Helper()
	cl := claim(t, s, id, fp, tok, d)
	if !cl.Acquired {
		t.Fatalf("Claim(%q) = not acquired (existing %s record), want acquired", id, cl.Existing.State)
	}
	return cl
}

func testClaim(t *testing.T, s idempotency.Store, clk Clock) {
	ctx := context.Background()
	id, tok := uniq("claim"), token()
	cl := mustAcquire(t, s, id, "fp-a", tok, longTTL)
	if cl.TookOver {
		t.Errorf("first Claim: TookOver = true, want false")
	}
	again := claim(t, s, id, "fp-a", token(), longTTL)
	if again.Acquired {
		t.Fatalf("second Claim while in flight: acquired, want not acquired")
	}
	ex := again.Existing
	if ex.State != idempotency.StateInFlight || ex.Fingerprint != "fp-a" {
		t.Errorf("second Claim: Existing = %s/%q, want in_flight/\"fp-a\"", ex.State, ex.Fingerprint)
	}
	if ex.LeaseUntil.IsZero() || ex.ExpiresAt.IsZero() {
		t.Errorf("second Claim: Existing.LeaseUntil = %v, ExpiresAt = %v, want both set", ex.LeaseUntil, ex.ExpiresAt)
	}
	other := claim(t, s, id, "fp-b", token(), longTTL)
	if other.Acquired || other.Existing.Fingerprint != "fp-a" {
		t.Errorf("Claim with another fingerprint: acquired=%v existing fingerprint %q, want not acquired and \"fp-a\"", other.Acquired, other.Existing.Fingerprint)
	}
	rec, err := s.Get(ctx, id)
	if err != nil {
		t.Fatalf("Get of an in-flight record: %v", err)
	}
	if rec.State != idempotency.StateInFlight || rec.Fingerprint != "fp-a" || rec.Token != tok {
		t.Errorf("Get = %s/%q/token %q, want in_flight/\"fp-a\"/%q", rec.State, rec.Fingerprint, rec.Token, tok)
	}
	if _, err := s.Get(ctx, uniq("absent")); !errors.Is(err, idempotency.ErrNotFound) {
		t.Errorf("Get of an unknown id: err = %v, want ErrNotFound", err)
	}
}

func testCompleteThenReplay(t *testing.T, s idempotency.Store, clk Clock) {
	ctx := context.Background()
	id, tok := uniq("complete"), token()
	mustAcquire(t, s, id, "fp", tok, longTTL)
	result := make([]byte, 3000)
	for i := range result {
		result[i] = byte(i * 7) // every byte value, zeros included
	}
	if err := s.Complete(ctx, id, token(), result, longTTL); !errors.Is(err, idempotency.ErrNotOwner) {
		t.Errorf("Complete with a foreign token: err = %v, want ErrNotOwner", err)
	}
	// The caller reuses its buffer after Complete: the store must not keep it.
	buf := append([]byte(nil), result...)
	if err := s.Complete(ctx, id, tok, buf, longTTL); err != nil {
		t.Fatalf("Complete: %v", err)
	}
	for i := range buf {
		buf[i] = 'X'
	}
	rec, err := s.Get(ctx, id)
	if err != nil {
		t.Fatalf("Get after Complete: %v", err)
	}
	if rec.State != idempotency.StateCompleted || string(rec.Result) != string(result) || rec.Fingerprint != "fp" {
		t.Errorf("Get after Complete = %s, fingerprint %q, %d result bytes (equal=%v); want completed, \"fp\", the stored bytes",
			rec.State, rec.Fingerprint, len(rec.Result), string(rec.Result) == string(result))
	}
	again := claim(t, s, id, "fp", token(), longTTL)
	if again.Acquired || again.Existing.State != idempotency.StateCompleted || string(again.Existing.Result) != string(result) {
		t.Errorf("Claim of a completed record: acquired=%v state=%s result equal=%v; want not acquired, completed, the stored bytes",
			again.Acquired, again.Existing.State, string(again.Existing.Result) == string(result))
	}
	other := claim(t, s, id, "fp-other", token(), longTTL)
	if other.Acquired || other.Existing.Fingerprint != "fp" {
		t.Errorf("Claim of a completed record with another fingerprint: acquired=%v fingerprint %q; want not acquired, \"fp\"", other.Acquired, other.Existing.Fingerprint)
	}
	if err := s.Complete(ctx, id, tok, []byte("again"), longTTL); !errors.Is(err, idempotency.ErrNotOwner) {
		t.Errorf("second Complete of a completed record: err = %v, want ErrNotOwner", err)
	}
	if err := s.Release(ctx, id, tok); !errors.Is(err, idempotency.ErrNotOwner) {
		t.Errorf("Release of a completed record: err = %v, want ErrNotOwner", err)
	}
	if rec, err := s.Get(ctx, id); err != nil || string(rec.Result) != string(result) {
		t.Errorf("completed record changed by a refused Complete/Release: err=%v", err)
	}

	// An empty result is a valid result (e.g. a Do returning nothing).
	id2, tok2 := uniq("empty"), token()
	mustAcquire(t, s, id2, "fp", tok2, longTTL)
	if err := s.Complete(ctx, id2, tok2, nil, longTTL); err != nil {
		t.Fatalf("Complete with an empty result: %v", err)
	}
	if rec, err := s.Get(ctx, id2); err != nil || rec.State != idempotency.StateCompleted || len(rec.Result) != 0 {
		t.Errorf("Get after an empty Complete: state %s, %d bytes, err %v", rec.State, len(rec.Result), err)
	}
}

func testRelease(t *testing.T, s idempotency.Store, clk Clock) {
	ctx := context.Background()
	id, tok := uniq("release"), token()
	mustAcquire(t, s, id, "fp", tok, longTTL)
	if err := s.Release(ctx, id, token()); !errors.Is(err, idempotency.ErrNotOwner) {
		t.Errorf("Release with a foreign token: err = %v, want ErrNotOwner", err)
	}
	if _, err := s.Get(ctx, id); err != nil {
		t.Fatalf("record gone after a refused Release: %v", err)
	}
	if err := s.Release(ctx, id, tok); err != nil {
		t.Fatalf("Release: %v", err)
	}
	if _, err := s.Get(ctx, id); !errors.Is(err, idempotency.ErrNotFound) {
		t.Errorf("Get after Release: err = %v, want ErrNotFound", err)
	}
	if err := s.Release(ctx, id, tok); !errors.Is(err, idempotency.ErrNotOwner) {
		t.Errorf("second Release: err = %v, want ErrNotOwner", err)
	}
	cl := mustAcquire(t, s, id, "fp-new", token(), longTTL)
	if cl.TookOver {
		t.Errorf("Claim after Release: TookOver = true, want false")
	}
}

func testFencing(t *testing.T, s idempotency.Store, clk Clock) {
	ctx := context.Background()
	id, stale, fresh := uniq("fencing"), token(), token()
	mustAcquire(t, s, id, "fp", stale, lease)
	clk.Advance(t, lease+margin)
	mustAcquire(t, s, id, "fp", fresh, longTTL)
	if err := s.Complete(ctx, id, stale, []byte("stale"), longTTL); !errors.Is(err, idempotency.ErrNotOwner) {
		t.Errorf("Complete with the stale token after a takeover: err = %v, want ErrNotOwner", err)
	}
	if err := s.Release(ctx, id, stale); !errors.Is(err, idempotency.ErrNotOwner) {
		t.Errorf("Release with the stale token after a takeover: err = %v, want ErrNotOwner", err)
	}
	rec, err := s.Get(ctx, id)
	if err != nil {
		t.Fatalf("Get after refused stale writes: %v", err)
	}
	if rec.State != idempotency.StateInFlight || rec.Token != fresh {
		t.Errorf("Get after refused stale writes = %s with token %q, want in_flight with the new token %q", rec.State, rec.Token, fresh)
	}
	if err := s.Complete(ctx, id, fresh, []byte("fresh"), longTTL); err != nil {
		t.Fatalf("Complete with the new token: %v", err)
	}
	if rec, _ := s.Get(ctx, id); string(rec.Result) != "fresh" {
		t.Errorf("stored result = %q, want %q", rec.Result, "fresh")
	}
}

func testLeaseExpiryTakeover(t *testing.T, s idempotency.Store, clk Clock) {
	id := uniq("lease")
	mustAcquire(t, s, id, "fp", token(), lease)
	if cl := claim(t, s, id, "fp", token(), lease); cl.Acquired {
		t.Fatalf("Claim within the lease: acquired, want not acquired")
	}
	clk.Advance(t, lease+margin)
	cl := mustAcquire(t, s, id, "fp", token(), longTTL)
	// TookOver is informational: stores whose backend expires the crashed
	// claim by itself (Redis) see no record left to take over.
	t.Logf("Claim after the lease: TookOver = %v", cl.TookOver)
	if again := claim(t, s, id, "fp", token(), longTTL); again.Acquired {
		t.Errorf("Claim right after a takeover: acquired, want not acquired (the new lease holds)")
	}

	// A crashed attempt whose lease expired blocks no other payload either.
	id2 := uniq("lease-other")
	mustAcquire(t, s, id2, "fp-1", token(), lease)
	clk.Advance(t, lease+margin)
	mustAcquire(t, s, id2, "fp-2", token(), longTTL)
}

func testTTLExpiry(t *testing.T, s idempotency.Store, clk Clock) {
	ctx := context.Background()
	id, tok := uniq("ttl"), token()
	ttl := 4 * lease
	mustAcquire(t, s, id, "fp", tok, lease)
	start := time.Now()
	if err := s.Complete(ctx, id, tok, []byte("r"), ttl); err != nil {
		t.Fatalf("Complete: %v", err)
	}
	// The completed record outlives the lease: ttl, not lease, governs it now.
	clk.Advance(t, lease+margin)
	if rec, err := s.Get(ctx, id); err != nil || rec.State != idempotency.StateCompleted {
		// On a wall clock a starved machine can take the whole ttl between
		// Complete and Get, and then the record has rightly expired. Less
		// time than the ttl since before Complete means Get ran within it.
		if el := time.Since(start); el < ttl {
			t.Fatalf("Get after the lease, within the ttl: state %s, err %v; want completed", rec.State, err)
		} else {
			t.Logf("Get after the lease: %v passed since Complete, more than the ttl %v: not checked (state %s, err %v)", el, ttl, rec.State, err)
		}
	}
	clk.Advance(t, ttl-lease)
	if _, err := s.Get(ctx, id); !errors.Is(err, idempotency.ErrNotFound) {
		t.Errorf("Get after the ttl: err = %v, want ErrNotFound", err)
	}
	cl := mustAcquire(t, s, id, "fp", token(), longTTL)
	if cl.TookOver {
		t.Errorf("Claim after the ttl: TookOver = true, want false (the record had completed)")
	}
}

func testPurge(t *testing.T, s idempotency.Store, clk Clock) {
	ctx := context.Background()
	var expired []string
	for i := 0; i < 5; i++ {
		id, tok := uniq("purge-expired"), token()
		mustAcquire(t, s, id, "fp", tok, lease)
		if i%2 == 0 { // completed and in-flight records both expire
			if err := s.Complete(ctx, id, tok, []byte("r"), lease); err != nil {
				t.Fatalf("Complete: %v", err)
			}
		}
		expired = append(expired, id)
	}
	liveID, liveTok := uniq("purge-live"), token()
	mustAcquire(t, s, liveID, "fp", liveTok, longTTL)
	if err := s.Complete(ctx, liveID, liveTok, []byte("live"), longTTL); err != nil {
		t.Fatalf("Complete: %v", err)
	}
	flightID := uniq("purge-inflight")
	mustAcquire(t, s, flightID, "fp", token(), longTTL)
	clk.Advance(t, lease+margin)
	n, err := s.Purge(ctx)
	if err != nil {
		t.Fatalf("Purge: %v", err)
	}
	if n < 0 {
		t.Errorf("Purge = %d, want >= 0", n)
	}
	for _, id := range expired {
		if _, err := s.Get(ctx, id); !errors.Is(err, idempotency.ErrNotFound) {
			t.Errorf("Get of an expired record after Purge: err = %v, want ErrNotFound", err)
		}
	}
	if rec, err := s.Get(ctx, liveID); err != nil || string(rec.Result) != "live" {
		t.Errorf("Purge removed or changed a live completed record: err = %v", err)
	}
	if rec, err := s.Get(ctx, flightID); err != nil || rec.State != idempotency.StateInFlight {
		t.Errorf("Purge removed a live in-flight record: err = %v", err)
	}
	if _, err := s.Purge(ctx); err != nil {
		t.Errorf("second Purge: %v", err)
	}
}

// testConcurrentClaims races 64 claimers on each of 16 ids: exactly one wins
// each id, and every loser sees the winner's record.
func testConcurrentClaims(t *testing.T, s idempotency.Store, clk Clock) {
	const keys, racers = 16, 64
	ctx := context.Background()
	ids := make([]string, keys)
	for i := range ids {
		ids[i] = uniq("race")
	}
	var wins [keys]atomic.Int32
	winners := make([]string, keys)
	var mu sync.Mutex
	start := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, keys*racers)
	for k := 0; k < keys; k++ {
		for r := 0; r < racers; r++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				tok := token()
				cl, err := s.Claim(ctx, ids[k], "fp", tok, longTTL)
				if err != nil {
					errs <- err
					return
				}
				if cl.Acquired {
					wins[k].Add(1)
					mu.Lock()
					winners[k] = tok
					mu.Unlock()
				} else if cl.Existing.State != idempotency.StateInFlight || cl.Existing.Fingerprint != "fp" {
					errs <- fmt.Errorf("loser saw %s/%q, want in_flight/\"fp\"", cl.Existing.State, cl.Existing.Fingerprint)
				}
			}()
		}
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for k := range ids {
		if n := wins[k].Load(); n != 1 {
			t.Errorf("id %d: %d claimers acquired it, want exactly 1", k, n)
		}
	}
	// Racing completions: only the winner's token may complete.
	for k := range ids {
		var ok atomic.Int32
		var wg sync.WaitGroup
		for r := 0; r < 8; r++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				tok := token()
				if r == 0 {
					tok = winners[k]
				}
				if err := s.Complete(ctx, ids[k], tok, []byte("done"), longTTL); err == nil {
					ok.Add(1)
				} else if !errors.Is(err, idempotency.ErrNotOwner) {
					t.Errorf("Complete: %v", err)
				}
			}()
		}
		wg.Wait()
		if n := ok.Load(); n != 1 {
			t.Errorf("id %d: %d completions succeeded, want exactly 1 (the winner's)", k, n)
		}
	}
}
