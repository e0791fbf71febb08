package memstore_test

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idemgen/idemgen/runtime/idempotency"
	"github.com/idemgen/idemgen/runtime/store/memstore"
	"github.com/idemgen/idemgen/runtime/store/storetest"
)

func TestConformance(t *testing.T) {
	// With a busy sweeper (expired records vanish in the background) and
	// without one (expiry is only ever observed lazily, by each method), on a
	// hand-moved clock.
	for name, sweep := range map[string]time.Duration{"Sweeper": 100 * time.Millisecond, "NoSweeper": -1} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			storetest.RunSubjects(t, func(t *testing.T) storetest.Subject {
				clk := storetest.NewFakeClock()
				s := memstore.New(memstore.WithSweepInterval(sweep), memstore.WithClock(clk.Now))
				t.Cleanup(func() { s.Close() })
				return storetest.Subject{Store: s, Clock: clk}
			})
		})
	}
}

func TestConformanceBounded(t *testing.T) {
	// A bound large enough for the suite: eviction must never break a guarantee.
	storetest.RunSubjects(t, func(t *testing.T) storetest.Subject {
		clk := storetest.NewFakeClock()
		s := memstore.New(memstore.WithMaxRecords(4096), memstore.WithClock(clk.Now))
		t.Cleanup(func() { s.Close() })
		return storetest.Subject{Store: s, Clock: clk}
	})
}

// TestConformanceWallClock runs the suite once on the real clock, as a store
// reading a server's time does.
func TestConformanceWallClock(t *testing.T) {
	storetest.Run(t, func(t *testing.T) idempotency.Store {
		s := memstore.New()
		t.Cleanup(func() { s.Close() })
		return s
	})
}

// clock is a hand-moved clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newClocked(t *testing.T, opts ...memstore.Option) (*memstore.Store, *clock) {
	clk := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	s := memstore.New(append([]memstore.Option{memstore.WithClock(clk.now), memstore.WithSweepInterval(-1)}, opts...)...)
	t.Cleanup(func() { s.Close() })
	return s, clk
}

func TestInjectedClockDrivesLeaseAndTTL(t *testing.T) {
	ctx := context.Background()
	s, clk := newClocked(t)
	if cl, _ := s.Claim(ctx, "id", "fp", "t1", time.Minute); !cl.Acquired {
		t.Fatal("claim not acquired")
	}
	clk.add(59 * time.Second)
	if cl, _ := s.Claim(ctx, "id", "fp", "t2", time.Minute); cl.Acquired {
		t.Fatal("claim acquired within the lease")
	}
	clk.add(2 * time.Second)
	cl, _ := s.Claim(ctx, "id", "fp", "t2", time.Minute)
	if !cl.Acquired || !cl.TookOver {
		t.Fatalf("claim after the lease = %+v, want acquired by takeover", cl)
	}
	if err := s.Complete(ctx, "id", "t1", nil, time.Hour); !errors.Is(err, idempotency.ErrNotOwner) {
		t.Fatalf("stale Complete: %v", err)
	}
	if err := s.Complete(ctx, "id", "t2", []byte("r"), time.Hour); err != nil {
		t.Fatal(err)
	}
	clk.add(time.Hour - time.Second)
	if _, err := s.Get(ctx, "id"); err != nil {
		t.Fatalf("Get within ttl: %v", err)
	}
	clk.add(time.Second)
	if _, err := s.Get(ctx, "id"); !errors.Is(err, idempotency.ErrNotFound) {
		t.Fatalf("Get at ttl: %v", err)
	}
	if s.Len() != 1 {
		t.Fatalf("Len before Purge = %d, want 1 (expired, not yet purged)", s.Len())
	}
	if n, err := s.Purge(ctx); n != 1 || err != nil {
		t.Fatalf("Purge = %d, %v; want 1", n, err)
	}
	if s.Len() != 0 {
		t.Fatalf("Len after Purge = %d", s.Len())
	}
}

func TestBoundEvictsCompletedOnlyNeverInFlight(t *testing.T) {
	ctx := context.Background()
	s, _ := newClocked(t, memstore.WithMaxRecords(4))
	for _, id := range []string{"a", "b", "c", "d"} {
		if cl, err := s.Claim(ctx, id, "fp", "t", time.Minute); err != nil || !cl.Acquired {
			t.Fatalf("claim %s: %v %+v", id, err, cl)
		}
	}
	if _, err := s.Claim(ctx, "e", "fp", "t", time.Minute); !errors.Is(err, memstore.ErrFull) {
		t.Fatalf("claim beyond the bound with every record in flight: err = %v, want ErrFull", err)
	}
	if err := s.Complete(ctx, "b", "t", []byte("b"), time.Hour); err != nil {
		t.Fatal(err)
	}
	if cl, err := s.Claim(ctx, "e", "fp", "t", time.Minute); err != nil || !cl.Acquired {
		t.Fatalf("claim after a completion: %v %+v", err, cl)
	}
	if _, err := s.Get(ctx, "b"); !errors.Is(err, idempotency.ErrNotFound) {
		t.Fatalf("completed record b was not the one evicted: %v", err)
	}
	for _, id := range []string{"a", "c", "d", "e"} {
		if rec, err := s.Get(ctx, id); err != nil || rec.State != idempotency.StateInFlight {
			t.Fatalf("in-flight %s evicted: %v", id, err)
		}
	}
	if s.Len() > 4 {
		t.Fatalf("Len = %d, want <= 4", s.Len())
	}
}

func TestBoundUnderConcurrency(t *testing.T) {
	ctx := context.Background()
	const max = 256
	s := memstore.New(memstore.WithMaxRecords(max), memstore.WithSweepInterval(-1))
	defer s.Close()
	var wg sync.WaitGroup
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				id := string(rune('a'+g)) + "-" + time.Duration(i).String()
				cl, err := s.Claim(ctx, id, "fp", "t", time.Minute)
				if err != nil {
					continue // full of in-flight claims: allowed
				}
				if cl.Acquired {
					_ = s.Complete(ctx, id, "t", []byte("r"), time.Hour)
				}
			}
		}()
	}
	wg.Wait()
	if n := s.Len(); n > max {
		t.Fatalf("Len = %d, want <= %d", n, max)
	}
}

func TestCloseStopsSweeper(t *testing.T) {
	// The sweeper is observed through the clock it reads on every purge, not
	// through runtime.NumGoroutine: the package's other tests leave goroutines
	// (httptest connections, timers) that start or exit at any moment, which
	// made a goroutine count flaky.
	var reads atomic.Int64
	now := func() time.Time { reads.Add(1); return time.Now() }
	s := memstore.New(memstore.WithSweepInterval(time.Millisecond), memstore.WithClock(now))
	for deadline := time.Now().Add(10 * time.Second); reads.Load() == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the sweeper never ran")
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil { // idempotent
		t.Fatal(err)
	}
	// Close waits for the sweeper to exit: no purge can read the clock after it.
	n := reads.Load()
	time.Sleep(20 * time.Millisecond)
	if got := reads.Load(); got != n {
		t.Fatalf("the clock was read %d times after Close: the sweeper still runs", got-n)
	}
}

func TestSweeperPurgesExpired(t *testing.T) {
	ctx := context.Background()
	s := memstore.New(memstore.WithSweepInterval(10 * time.Millisecond))
	defer s.Close()
	if _, err := s.Claim(ctx, "id", "fp", "t", 20*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	for i := 0; s.Len() != 0 && i < 200; i++ {
		time.Sleep(5 * time.Millisecond)
	}
	if s.Len() != 0 {
		t.Fatalf("sweeper left %d expired records", s.Len())
	}
}

func TestCompleteCopiesResult(t *testing.T) {
	ctx := context.Background()
	s, _ := newClocked(t)
	s.Claim(ctx, "id", "fp", "t", time.Minute)
	res := []byte("abc")
	s.Complete(ctx, "id", "t", res, time.Hour)
	res[0] = 'X'
	if rec, _ := s.Get(ctx, "id"); string(rec.Result) != "abc" {
		t.Fatalf("stored result aliased the caller's slice: %q", rec.Result)
	}
}

func TestCanceledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s, _ := newClocked(t)
	if _, err := s.Claim(ctx, "id", "fp", "t", time.Minute); !errors.Is(err, context.Canceled) {
		t.Fatalf("Claim with a canceled context: %v", err)
	}
}

// The middleware suffixes the fingerprints it stores here with a raw-bytes
// hash: a takeover needs the same payload (the part before '.'), not the same
// bytes. PeekCompleted sees only live completed records.
func TestRawSuffixTakeoverAndPeek(t *testing.T) {
	ctx := context.Background()
	s, clk := newClocked(t)
	if cl, _ := s.Claim(ctx, "id", "fp.0000000000000001", "t1", time.Minute); !cl.Acquired {
		t.Fatal("claim not acquired")
	}
	if _, _, ok := s.PeekCompleted([]byte("id")); ok {
		t.Fatal("PeekCompleted found an in-flight record")
	}
	clk.add(2 * time.Minute)
	if cl, _ := s.Claim(ctx, "id", "fp.0000000000000002", "t2", time.Minute); !cl.Acquired || !cl.TookOver {
		t.Fatalf("claim after the lease with other raw bytes = %+v, want acquired by takeover", cl)
	}
	clk.add(2 * time.Minute)
	if cl, _ := s.Claim(ctx, "id", "other.0000000000000002", "t3", time.Minute); !cl.Acquired || cl.TookOver {
		t.Fatalf("claim after the lease with another payload = %+v, want acquired, not a takeover", cl)
	}
	if err := s.Complete(ctx, "id", "t3", []byte("r"), time.Hour); err != nil {
		t.Fatal(err)
	}
	fp, res, ok := s.PeekCompleted([]byte("id"))
	if !ok || fp != "other.0000000000000002" || string(res) != "r" {
		t.Fatalf("PeekCompleted = %q, %q, %v", fp, res, ok)
	}
	if _, _, ok := s.PeekCompleted([]byte("nope")); ok {
		t.Fatal("PeekCompleted found a missing record")
	}
	clk.add(time.Hour)
	if _, _, ok := s.PeekCompleted([]byte("id")); ok {
		t.Fatal("PeekCompleted found an expired record")
	}
}

// Whatever the store hands out is a copy: the slot of a deleted record is
// reused, and an answer being replayed must not change under it.
func TestHandedOutRecordsAreCopies(t *testing.T) {
	ctx := context.Background()
	s, clk := newClocked(t)
	a := bytes.Repeat([]byte("a"), 1000)
	s.Claim(ctx, "id", "fp", "tok", time.Minute)
	s.Complete(ctx, "id", "tok", a, time.Minute)
	rec, err := s.Get(ctx, "id")
	if err != nil {
		t.Fatal(err)
	}
	cl, _ := s.Claim(ctx, "id", "fp", "other", time.Minute)
	fp, peeked, _ := s.PeekCompleted([]byte("id"))
	appended, n, _ := s.AppendCompleted([]byte("x"), []byte("id"))
	clk.add(time.Hour)
	s.Purge(ctx)
	// New records of the same size take the freed slots.
	for i := range 8 {
		id := "other" + strconv.Itoa(i)
		s.Claim(ctx, id, "FP", "TOK", time.Minute)
		s.Complete(ctx, id, "TOK", bytes.Repeat([]byte("b"), 1000), time.Minute)
	}
	for name, got := range map[string][]byte{"Get": rec.Result, "Claim": cl.Existing.Result, "PeekCompleted": peeked, "AppendCompleted": appended[1+n:]} {
		if !bytes.Equal(got, a) {
			t.Fatalf("%s's result changed after the record was deleted: %.20q", name, got)
		}
	}
	if rec.Fingerprint != "fp" || rec.Token != "tok" || cl.Existing.Fingerprint != "fp" || fp != "fp" || string(appended[:1+n]) != "xfp" {
		t.Fatalf("fingerprints or tokens changed: %q %q %q %q %q", rec.Fingerprint, rec.Token, cl.Existing.Fingerprint, fp, appended[:1+n])
	}
}

func TestCloseReleasesAndFailsClosed(t *testing.T) {
	ctx := context.Background()
	s := memstore.New()
	s.Claim(ctx, "id", "fp", "tok", time.Minute)
	s.Complete(ctx, "id", "tok", []byte("r"), time.Hour)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Claim(ctx, "id", "fp", "tok2", time.Minute); !errors.Is(err, memstore.ErrClosed) {
		t.Fatalf("Claim after Close: %v, want ErrClosed", err)
	}
	if err := s.Complete(ctx, "id", "tok", nil, time.Hour); !errors.Is(err, memstore.ErrClosed) {
		t.Fatalf("Complete after Close: %v", err)
	}
	if err := s.Release(ctx, "id", "tok"); !errors.Is(err, memstore.ErrClosed) {
		t.Fatalf("Release after Close: %v", err)
	}
	if _, err := s.Get(ctx, "id"); !errors.Is(err, memstore.ErrClosed) {
		t.Fatalf("Get after Close: %v", err)
	}
	if _, _, ok := s.PeekCompleted([]byte("id")); ok {
		t.Fatal("PeekCompleted found a record after Close")
	}
	if n, err := s.Purge(ctx); n != 0 || err != nil {
		t.Fatalf("Purge after Close = %d, %v", n, err)
	}
	if s.Len() != 0 {
		t.Fatalf("Len after Close = %d", s.Len())
	}
}

// A takeover whose token has another length moves the record to a new slot.
func TestTakeoverWithLongerToken(t *testing.T) {
	ctx := context.Background()
	s, clk := newClocked(t)
	s.Claim(ctx, "id", "fp", "t", time.Minute)
	clk.add(2 * time.Minute)
	long := strings.Repeat("t", 300)
	if cl, err := s.Claim(ctx, "id", "fp", long, time.Minute); err != nil || !cl.TookOver {
		t.Fatalf("takeover: %+v, %v", cl, err)
	}
	if err := s.Complete(ctx, "id", "t", nil, time.Hour); !errors.Is(err, idempotency.ErrNotOwner) {
		t.Fatalf("the old token still owns the claim: %v", err)
	}
	if err := s.Complete(ctx, "id", long, []byte("r"), time.Hour); err != nil {
		t.Fatal(err)
	}
	if rec, err := s.Get(ctx, "id"); err != nil || rec.Token != long || string(rec.Result) != "r" || rec.Fingerprint != "fp" {
		t.Fatalf("Get = %+v, %v", rec, err)
	}
}
