package pgstore_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/idemgen/idemgen/runtime/idempotency"
	"github.com/idemgen/idemgen/runtime/store/pgstore"
)

// holder is a flight hook that keeps every flight on the ground until
// released, so that the calls a test makes meanwhile queue, and records the
// ids each flight sends.
type holder struct {
	release chan struct{}
	held    atomic.Int32
	// batch, when set, is called by each flight of more than one statement.
	batch func(conn *pgx.Conn, ids []string)

	mu      sync.Mutex
	flights [][]string
}

func (h *holder) hook(conn *pgx.Conn, ids []string) {
	h.mu.Lock()
	h.flights = append(h.flights, ids)
	h.mu.Unlock()
	select {
	case <-h.release:
	default:
		h.held.Add(1)
		<-h.release
	}
	if h.batch != nil && len(ids) > 1 {
		h.batch(conn, ids)
	}
}

// batched returns the flights of more than one statement.
func (h *holder) batched() [][]string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out [][]string
	for _, f := range h.flights {
		if len(f) > 1 {
			out = append(out, f)
		}
	}
	return out
}

// holdFlights sets a holder on s and occupies every flight with a claim of its
// own (ids filler-N), held; the calls the test makes next queue.
func holdFlights(t *testing.T, s *pgstore.Store) (*holder, *sync.WaitGroup) {
	t.Helper()
	h := &holder{release: make(chan struct{})}
	pgstore.SetFlightHook(s, h.hook)
	var wg sync.WaitGroup
	for i := range pgstore.MaxFlights {
		wg.Go(func() {
			if _, err := s.Claim(context.Background(), fmt.Sprint("filler-", i), "fp", "t", time.Minute); err != nil {
				t.Error(err)
			}
		})
	}
	waitFor(t, func() bool { return h.held.Load() == pgstore.MaxFlights }, "the filler flights to start")
	return h, &wg
}

func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// transactions returns how many transactions wrote the table's rows as they
// are now (their distinct xmin).
func transactions(t *testing.T, pool *pgxpool.Pool, table string) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), "SELECT count(DISTINCT xmin::text) FROM "+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

type claimResult struct {
	cl  idempotency.Claim
	err error
}

// claimAll claims each id (token tok-i) concurrently once the flights are
// held, waits until all are queued, releases the flights and returns the
// results in the order of ids.
func claimAll(t *testing.T, s *pgstore.Store, h *holder, fillers *sync.WaitGroup, ids []string) []claimResult {
	t.Helper()
	res := make([]claimResult, len(ids))
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Go(func() {
			res[i].cl, res[i].err = s.Claim(context.Background(), id, "fp", fmt.Sprint("tok-", i), time.Minute)
		})
	}
	waitFor(t, func() bool { return pgstore.Queued(s) == len(ids) }, "the claims to queue")
	close(h.release)
	wg.Wait()
	fillers.Wait()
	return res
}

// TestBatchOneTransaction: claims that queue while the flights are busy are
// sent together, in one transaction, and each gets its own answer.
func TestBatchOneTransaction(t *testing.T) {
	s, pool, table := newStore(t)
	h, fillers := holdFlights(t, s)
	ids := make([]string, 20)
	for i := range ids {
		ids[i] = fmt.Sprint("k", i)
	}
	for i, r := range claimAll(t, s, h, fillers, ids) {
		if r.err != nil || !r.cl.Acquired {
			t.Errorf("claim %s = %+v, %v; want acquired", ids[i], r.cl, r.err)
		}
	}
	if b := h.batched(); len(b) != 1 || len(b[0]) != len(ids) {
		t.Fatalf("batched flights %v; want one of the %d claims", b, len(ids))
	}
	if got, want := transactions(t, pool, table), pgstore.MaxFlights+1; got != want {
		t.Fatalf("the rows were written by %d transactions, want %d (the fillers' and one)", got, want)
	}
	for i, id := range ids {
		if err := s.Complete(context.Background(), id, fmt.Sprint("tok-", i), []byte(id), time.Minute); err != nil {
			t.Fatal(err)
		}
		if rec, err := s.Get(context.Background(), id); err != nil || string(rec.Result) != id {
			t.Fatalf("Get %s = %+v, %v", id, rec, err)
		}
	}
}

// TestBatchFailingStatement: one statement of a batch fails (an id that is not
// UTF-8), so its transaction rolls back; every other caller still gets its
// own, committed answer, and the failing one its error.
func TestBatchFailingStatement(t *testing.T) {
	ctx := context.Background()
	s, pool, table := newStore(t)
	h, fillers := holdFlights(t, s)
	ids := []string{"a", "b", "bad\xff", "c", "d"}
	res := claimAll(t, s, h, fillers, ids)
	if b := h.batched(); len(b) != 1 || len(b[0]) != len(ids) {
		t.Fatalf("batched flights %v; want one of the %d claims", b, len(ids))
	}
	for i, id := range ids {
		r := res[i]
		if id == "bad\xff" {
			if r.err == nil {
				t.Errorf("claim of an id that is not UTF-8 = %+v, want an error", r.cl)
			}
			continue
		}
		if r.err != nil || !r.cl.Acquired {
			t.Errorf("claim %s = %+v, %v; want acquired", id, r.cl, r.err)
		}
		if rec, err := s.Get(ctx, id); err != nil || rec.Token != fmt.Sprint("tok-", i) {
			t.Errorf("Get %s = %+v, %v: the acquired claim is not stored", id, rec, err)
		}
	}
	// The batch rolled back; each claim committed on its own.
	if got, want := transactions(t, pool, table), pgstore.MaxFlights+len(ids)-1; got != want {
		t.Fatalf("the rows were written by %d transactions, want %d", got, want)
	}
}

// TestBatchCancelledWhileQueued: a caller whose context ends while it is
// queued gets the context's error at once and its statement is not sent.
func TestBatchCancelledWhileQueued(t *testing.T) {
	s, _, _ := newStore(t)
	h, fillers := holdFlights(t, s)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := s.Claim(ctx, "cancelled", "fp", "t", time.Minute)
		errc <- err
	}()
	waitFor(t, func() bool { return pgstore.Queued(s) == 1 }, "the claim to queue")
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled claim: err = %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the cancelled claim did not return while the flights were held")
	}
	if n := pgstore.Queued(s); n != 0 {
		t.Fatalf("%d calls still queued after the cancellation", n)
	}
	close(h.release)
	fillers.Wait()
	if _, err := s.Get(context.Background(), "cancelled"); !errors.Is(err, idempotency.ErrNotFound) {
		t.Fatalf("Get of the cancelled claim: err = %v, want ErrNotFound (never sent)", err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, f := range h.flights {
		if slices.Contains(f, "cancelled") {
			t.Fatalf("flight %v sent the cancelled claim", f)
		}
	}
}

// TestBatchSameKeyTwice: two claims of one id that queue together are not
// sent in one transaction; exactly one acquires, the other sees it in flight.
func TestBatchSameKeyTwice(t *testing.T) {
	s, _, _ := newStore(t)
	h, fillers := holdFlights(t, s)
	ids := []string{"x", "same", "y", "same"}
	res := claimAll(t, s, h, fillers, ids)
	for i, r := range res {
		if r.err != nil {
			t.Fatalf("claim %d (%s): %v", i, ids[i], r.err)
		}
	}
	if res[1].cl.Acquired == res[3].cl.Acquired {
		t.Fatalf("claims of one id: acquired %v and %v, want exactly one", res[1].cl.Acquired, res[3].cl.Acquired)
	}
	loser := res[1]
	if loser.cl.Acquired {
		loser = res[3]
	}
	if loser.cl.Existing.State != idempotency.StateInFlight {
		t.Fatalf("the second claim saw %+v, want the first in flight", loser.cl.Existing)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, f := range h.flights {
		n := 0
		for _, id := range f {
			if id == "same" {
				n++
			}
		}
		if n > 1 {
			t.Fatalf("flight %v sent both claims of one id", f)
		}
	}
}

// TestBatchConnectionLost: the batch's connection dies before its answer, so
// whether it committed is unknown: every caller gets an error, none is told
// it acquired a claim.
func TestBatchConnectionLost(t *testing.T) {
	ctx := context.Background()
	s, _, _ := newStore(t)
	admin := openPool(t)
	h, fillers := holdFlights(t, s)
	h.batch = func(conn *pgx.Conn, _ []string) {
		pid := conn.PgConn().PID()
		if _, err := admin.Exec(ctx, "SELECT pg_terminate_backend($1)", pid); err != nil {
			t.Error(err)
		}
		waitFor(t, func() bool {
			var n int
			admin.QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pid).Scan(&n)
			return n == 0
		}, "the backend to end")
	}
	ids := []string{"p", "q", "r"}
	for i, r := range claimAll(t, s, h, fillers, ids) {
		if r.err == nil {
			t.Errorf("claim %s on a lost connection = %+v, want an error", ids[i], r.cl)
		}
		if _, err := s.Get(ctx, ids[i]); !errors.Is(err, idempotency.ErrNotFound) {
			t.Errorf("Get %s: err = %v, want ErrNotFound", ids[i], err)
		}
	}
	if len(h.batched()) != 1 {
		t.Fatalf("batched flights %v, want one", h.batched())
	}
}

// TestConcurrentFirstRequestsBatch: under concurrent first requests (no
// hook), most statements share round trips and transactions.
func TestConcurrentFirstRequestsBatch(t *testing.T) {
	ctx := context.Background()
	s, tr := benchStore(t, 8)
	const n = 64
	tr.n.Store(0)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			id := fmt.Sprint("c", i)
			if cl, err := s.Claim(ctx, id, "fp", "t", time.Minute); err != nil || !cl.Acquired {
				t.Errorf("Claim %s = %+v, %v", id, cl, err)
				return
			}
			if err := s.Complete(ctx, id, "t", result, time.Minute); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	trips := tr.n.Load()
	t.Logf("%d statements in %d round trips", 2*n, trips)
	if trips > n {
		t.Fatalf("%d statements took %d round trips, want at most %d", 2*n, trips, n)
	}
}

// TestBatchCompletes: completes that queue together are sent together, and
// each gets its own answer: ErrNotOwner for the one whose token does not own
// its claim.
func TestBatchCompletes(t *testing.T) {
	ctx := context.Background()
	s, _, _ := newStore(t)
	ids := []string{"a", "b", "c", "d"}
	for _, id := range ids {
		if _, err := s.Claim(ctx, id, "fp", "tok-"+id, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	h, fillers := holdFlights(t, s)
	errs := make([]error, len(ids))
	var wg sync.WaitGroup
	for i, id := range ids {
		tok := "tok-" + id
		if id == "c" {
			tok = "not-the-owner"
		}
		wg.Go(func() { errs[i] = s.Complete(ctx, id, tok, []byte("result-"+id), time.Minute) })
	}
	waitFor(t, func() bool { return pgstore.Queued(s) == len(ids) }, "the completes to queue")
	close(h.release)
	wg.Wait()
	fillers.Wait()
	if b := h.batched(); len(b) != 1 || len(b[0]) != len(ids) {
		t.Fatalf("batched flights %v; want one of the %d completes", b, len(ids))
	}
	for i, id := range ids {
		rec, err := s.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if id == "c" {
			if !errors.Is(errs[i], idempotency.ErrNotOwner) || rec.State != idempotency.StateInFlight {
				t.Errorf("complete by a token that does not own the claim: err %v, record %+v; want ErrNotOwner, still in flight", errs[i], rec)
			}
			continue
		}
		if errs[i] != nil || rec.State != idempotency.StateCompleted || string(rec.Result) != "result-"+id {
			t.Errorf("complete %s: err %v, record %+v; want its own result stored", id, errs[i], rec)
		}
	}
}

// TestBatchAbandonedFlight: a flight whose every caller gives up is cancelled,
// even when it waits on a lock that another transaction holds, and the store
// goes on serving.
func TestBatchAbandonedFlight(t *testing.T) {
	ctx := context.Background()
	s, pool, table := newStore(t)
	// An uncommitted insert of "locked": a claim of it waits for this
	// transaction to end.
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "INSERT INTO "+table+" (id, state, fingerprint, token, lease_until, expires_at) VALUES ('locked', 1, 'fp', 'x', now() + interval '1 minute', now() + interval '1 minute')"); err != nil {
		t.Fatal(err)
	}
	h, fillers := holdFlights(t, s)
	cctx, cancel := context.WithCancel(ctx)
	ids := []string{"locked", "other"}
	errs := make(chan error, len(ids))
	for _, id := range ids {
		go func() {
			_, err := s.Claim(cctx, id, "fp", "t", time.Minute)
			errs <- err
		}()
	}
	waitFor(t, func() bool { return pgstore.Queued(s) == len(ids) }, "the claims to queue")
	close(h.release)
	fillers.Wait()
	waitFor(t, func() bool {
		var n int
		pool.QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()").Scan(&n)
		return n > 0
	}, "the flight to wait on the lock")
	cancel()
	for range ids {
		select {
		case err := <-errs:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("abandoned claim: err = %v, want context.Canceled", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a caller of the abandoned flight did not return")
		}
	}
	tctx, tcancel := context.WithTimeout(ctx, 10*time.Second)
	defer tcancel()
	for i := range 2 * pgstore.MaxFlights {
		id := fmt.Sprint("after-", i)
		if cl, err := s.Claim(tctx, id, "fp", "t", time.Minute); err != nil || !cl.Acquired {
			t.Fatalf("claim after the abandoned flight = %+v, %v", cl, err)
		}
	}
}
