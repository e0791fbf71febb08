package storetest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/idemgen/idemgen/runtime/idempotency"
)

// committed reports whether the business write name is visible outside its
// transaction, or true when the subject has no capability hook (nothing to
// check beyond the records).
func committed(t *testing.T, sub Subject, name string) bool {
	t.Helper()
	if sub.Committed == nil {
		return true
	}
	ok, err := sub.Committed(context.Background(), name)
	if err != nil {
		t.Fatalf("Committed(%q): %v", name, err)
	}
	return ok
}

// write performs the business write name through the transaction in ctx.
func write(t *testing.T, sub Subject, ctx context.Context, name string) {
	t.Helper()
	if sub.Write == nil {
		return
	}
	if err := sub.Write(ctx, name); err != nil {
		t.Fatalf("Write(%q) in the transaction: %v", name, err)
	}
}

// begin claims id and opens its transaction.
func begin(t *testing.T, s idempotency.AtomicStore, id, tok string) (context.Context, idempotency.AtomicTx) {
	t.Helper()
	txCtx, tx, err := s.Begin(context.Background(), id, tok)
	if err != nil {
		t.Fatalf("Begin(%q): %v", id, err)
	}
	t.Cleanup(func() { tx.Rollback(context.Background()) })
	return txCtx, tx
}

// testAtomicCommit: the handler's write and the completed record commit
// together, and neither is visible before.
func testAtomicCommit(t *testing.T, sub Subject, _ Clock) {
	s := sub.Store.(idempotency.AtomicStore)
	ctx := context.Background()
	id, tok, name := uniq("atomic"), token(), uniq("write")
	mustAcquire(t, s, id, "fp", tok, longTTL)
	txCtx, tx := begin(t, s, id, tok)
	write(t, sub, txCtx, name)
	if sub.Committed != nil && committed(t, sub, name) {
		t.Fatal("the handler's write is visible before the transaction committed")
	}
	if rec, err := s.Get(ctx, id); err != nil || rec.State != idempotency.StateInFlight {
		t.Fatalf("Get before commit: %s, %v; want in_flight", rec.State, err)
	}
	if err := tx.Complete(ctx, []byte("done"), longTTL); err != nil {
		t.Fatalf("AtomicTx.Complete: %v", err)
	}
	rec, err := s.Get(ctx, id)
	if err != nil || rec.State != idempotency.StateCompleted || string(rec.Result) != "done" {
		t.Fatalf("Get after commit: %s %q, %v; want completed \"done\"", rec.State, rec.Result, err)
	}
	if !committed(t, sub, name) {
		t.Error("the completed record committed without the handler's write")
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Errorf("Rollback after Complete: %v, want nil (nothing to do)", err)
	}
}

// testAtomicFencing: a transaction whose claim was taken over (its lease ran
// out) commits nothing: ErrNotOwner, no write, the new owner's record intact.
func testAtomicFencing(t *testing.T, sub Subject, clk Clock) {
	s := sub.Store.(idempotency.AtomicStore)
	ctx := context.Background()
	id, stale, fresh, name := uniq("atomic-fence"), token(), token(), uniq("write")
	mustAcquire(t, s, id, "fp", stale, lease)
	txCtx, tx := begin(t, s, id, stale)
	write(t, sub, txCtx, name)
	clk.Advance(t, lease+margin)
	mustAcquire(t, s, id, "fp", fresh, longTTL)
	if err := tx.Complete(ctx, []byte("stale"), longTTL); !errors.Is(err, idempotency.ErrNotOwner) {
		t.Fatalf("AtomicTx.Complete after a takeover: %v, want ErrNotOwner", err)
	}
	if sub.Committed != nil && committed(t, sub, name) {
		t.Error("the stale transaction's write was committed")
	}
	rec, err := s.Get(ctx, id)
	if err != nil || rec.State != idempotency.StateInFlight || rec.Token != fresh {
		t.Errorf("Get after the refused commit: %s token %q, %v; want in_flight with the new token", rec.State, rec.Token, err)
	}
}

// testAtomicRollback: a rolled-back transaction leaves no write and the claim
// in flight until it is released.
func testAtomicRollback(t *testing.T, sub Subject, _ Clock) {
	s := sub.Store.(idempotency.AtomicStore)
	ctx := context.Background()
	id, tok, name := uniq("atomic-rollback"), token(), uniq("write")
	mustAcquire(t, s, id, "fp", tok, longTTL)
	txCtx, tx := begin(t, s, id, tok)
	write(t, sub, txCtx, name)
	if err := tx.Rollback(ctx); err != nil {
		t.Fatalf("Rollback: %v", err)
	}
	if sub.Committed != nil && committed(t, sub, name) {
		t.Error("a rolled-back write is visible")
	}
	if rec, err := s.Get(ctx, id); err != nil || rec.State != idempotency.StateInFlight {
		t.Fatalf("Get after Rollback: %s, %v; want the claim still in flight", rec.State, err)
	}
	if err := s.Release(ctx, id, tok); err != nil {
		t.Fatalf("Release after Rollback: %v", err)
	}
}

// testHTTPAtomic: through the middleware with WithAtomic, a cached outcome
// commits the handler's write with the record (and is replayed), an uncached
// one (5xx) rolls it back and lets the retry run.
func testHTTPAtomic(t *testing.T, sub Subject, _ Clock) {
	var ex executions
	key := uniq("key")
	names := map[int]string{1: uniq("write"), 2: uniq("write")}
	p := idempotency.Policy{Operation: uniq("op"), TTL: longTTL}
	srv, _ := server(t, sub.Store, p, func(w http.ResponseWriter, r *http.Request) {
		n := ex.add(key)
		if sub.Write != nil {
			if err := sub.Write(r.Context(), names[n]); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
		}
		if n == 1 {
			http.Error(w, "try again", http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, "execution %d", n)
	}, idempotency.WithAtomic())
	c := client(t)
	if r := mustPost(t, c, srv.URL, key, `{}`); r.status != http.StatusServiceUnavailable {
		t.Fatalf("first: %d %q, want 503 from the handler", r.status, r.body)
	}
	if sub.Committed != nil && committed(t, sub, names[1]) {
		t.Error("the write of an uncached (503) outcome was committed")
	}
	if r := mustPost(t, c, srv.URL, key, `{}`); r.status != http.StatusCreated || string(r.body) != "execution 2" {
		t.Fatalf("retry: %d %q, want 201 \"execution 2\"", r.status, r.body)
	}
	if !committed(t, sub, names[2]) {
		t.Error("the write of a cached (201) outcome was not committed")
	}
	if r := mustPost(t, c, srv.URL, key, `{}`); string(r.body) != "execution 2" || r.header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("third: %q, want the replay of \"execution 2\"", r.body)
	}
	if ex.get(key) != 2 {
		t.Errorf("handler ran %d times, want 2", ex.get(key))
	}
}
