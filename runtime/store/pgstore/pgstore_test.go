package pgstore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/idemgen/idemgen/runtime/idempotency"
	"github.com/idemgen/idemgen/runtime/store/pgstore"
	"github.com/idemgen/idemgen/runtime/store/storetest"
)

// pgURL is the database the tests use (storetest.PostgresURL).
func pgURL() string { return storetest.PostgresURL() }

// openPool connects to the test database. Without a server the test is skipped,
// except under CI=true where the backend must be tested and its absence fails.
func openPool(tb testing.TB) *pgxpool.Pool { tb.Helper(); return openPoolURL(tb, pgURL()) }

func openPoolURL(tb testing.TB, url string) *pgxpool.Pool {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	pool, err := pgxpool.New(ctx, url)
	if err == nil {
		err = pool.Ping(ctx)
	}
	if err != nil {
		if pool != nil {
			pool.Close()
		}
		storetest.NeedService(tb, "postgres at "+pgURL(), err)
	}
	tb.Cleanup(pool.Close)
	return pool
}

// uniqueTable returns a table name of the test's own, dropped (with its schema
// bookkeeping) when the test ends.
func uniqueTable(tb testing.TB, pool *pgxpool.Pool) string {
	tb.Helper()
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		tb.Fatal(err)
	}
	name := "idemtest_" + hex.EncodeToString(b[:])
	tb.Cleanup(func() {
		pool.Exec(context.Background(), "DROP TABLE IF EXISTS "+name+", "+name+"_schema")
	})
	return name
}

func newStore(tb testing.TB, opts ...pgstore.Option) (*pgstore.Store, *pgxpool.Pool, string) {
	tb.Helper()
	return newStoreURL(tb, pgURL(), opts...)
}

func newStoreURL(tb testing.TB, url string, opts ...pgstore.Option) (*pgstore.Store, *pgxpool.Pool, string) {
	tb.Helper()
	pool := openPoolURL(tb, url)
	table := uniqueTable(tb, pool)
	s, err := pgstore.New(context.Background(), pool, append([]pgstore.Option{pgstore.WithTable(table)}, opts...)...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s, pool, table
}

func TestBadTable(t *testing.T) {
	pool := openPool(t)
	_, err := pgstore.New(context.Background(), pool, pgstore.WithTable("x; DROP TABLE y"))
	if err == nil || err.Error() != `pgstore: table "x; DROP TABLE y": want an identifier or schema.identifier` {
		t.Fatalf("err = %v", err)
	}
}

// TestConcurrentMigrations starts many stores on one fresh table at once: every
// start succeeds and the schema is at its version once.
func TestConcurrentMigrations(t *testing.T) {
	pool := openPool(t)
	table := uniqueTable(t, pool)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := pgstore.New(context.Background(), pool, pgstore.WithTable(table), pgstore.WithPurgeInterval(0))
			if err != nil {
				t.Error(err)
				return
			}
			s.Close()
		}()
	}
	wg.Wait()
	var n, v int
	if err := pool.QueryRow(context.Background(), "SELECT count(*), max(version) FROM "+table+"_schema").Scan(&n, &v); err != nil {
		t.Fatal(err)
	}
	if n != pgstore.SchemaVersion || v != pgstore.SchemaVersion {
		t.Fatalf("schema rows = %d, version = %d; want %d applied once", n, v, pgstore.SchemaVersion)
	}
}

func TestTakeoverAndLateOwner(t *testing.T) {
	ctx := context.Background()
	s, _, _ := newStore(t)
	if c, err := s.Claim(ctx, "r", "fp", "t1", 20*time.Millisecond); err != nil || !c.Acquired {
		t.Fatalf("first claim = %+v, %v", c, err)
	}
	time.Sleep(30 * time.Millisecond)
	c, err := s.Claim(ctx, "r", "fp", "t2", time.Minute)
	if err != nil || !c.Acquired || !c.TookOver {
		t.Fatalf("claim after the lease = %+v, %v; want acquired by takeover", c, err)
	}
	if err := s.Complete(ctx, "r", "t1", []byte("late"), time.Minute); !errors.Is(err, idempotency.ErrNotOwner) {
		t.Fatalf("Complete by the overtaken worker: err = %v, want ErrNotOwner", err)
	}
	if err := s.Complete(ctx, "r", "t2", []byte("ok"), time.Minute); err != nil {
		t.Fatal(err)
	}
	rec, err := s.Get(ctx, "r")
	if err != nil || rec.State != idempotency.StateCompleted || string(rec.Result) != "ok" || rec.Token != "t2" {
		t.Fatalf("Get = %+v, %v", rec, err)
	}
}

// TestLateOwnerCompletes: an owner whose lease ran out may still complete when
// nobody took over (storing its result beats running the handler again).
func TestLateOwnerCompletes(t *testing.T) {
	ctx := context.Background()
	s, _, _ := newStore(t)
	if _, err := s.Claim(ctx, "late", "fp", "t1", 10*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	time.Sleep(30 * time.Millisecond)
	if err := s.Complete(ctx, "late", "t1", []byte("ok"), time.Minute); err != nil {
		t.Fatalf("late Complete: %v", err)
	}
	if rec, err := s.Get(ctx, "late"); err != nil || rec.State != idempotency.StateCompleted {
		t.Fatalf("Get = %+v, %v", rec, err)
	}
}

// TestPurgeBatches fills the table with expired records and checks that Purge
// removes them all, batch by batch, and leaves live ones.
func TestPurgeBatches(t *testing.T) {
	ctx := context.Background()
	s, pool, table := newStore(t, pgstore.WithPurgeInterval(0), pgstore.WithPurgeBatch(7))
	for i := range 30 {
		id := fmt.Sprint("r", i)
		if _, err := s.Claim(ctx, id, "fp", "t", time.Minute); err != nil {
			t.Fatal(err)
		}
		if err := s.Complete(ctx, id, "t", []byte("v"), time.Millisecond); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Claim(ctx, "live", "fp", "t", time.Minute); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	n, err := s.Purge(ctx)
	if err != nil || n != 30 {
		t.Fatalf("Purge = %d, %v; want 30", n, err)
	}
	var left int
	pool.QueryRow(ctx, "SELECT count(*) FROM "+table).Scan(&left)
	if left != 1 {
		t.Fatalf("%d rows left, want the live one", left)
	}
}

// TestBackgroundPurgerBoundsTable runs a steady load of short-ttl records and
// checks that the background purger keeps the table small.
func TestBackgroundPurgerBoundsTable(t *testing.T) {
	ctx := context.Background()
	s, pool, table := newStore(t, pgstore.WithPurgeInterval(20*time.Millisecond), pgstore.WithPurgeBatch(50))
	for i := range 400 {
		id := fmt.Sprint("r", i)
		if _, err := s.Claim(ctx, id, "fp", "t", time.Minute); err != nil {
			t.Fatal(err)
		}
		if err := s.Complete(ctx, id, "t", []byte("v"), 10*time.Millisecond); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		var left int
		pool.QueryRow(ctx, "SELECT count(*) FROM "+table).Scan(&left)
		if left == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d expired rows still there after 5s of background purging", left)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestAtomicCommitsTogether: the handler's write and the record commit in one
// transaction; an overtaken worker's writes are rolled back.
func TestAtomicCommitsTogether(t *testing.T) {
	ctx := context.Background()
	s, pool, table := newStore(t)
	effects := table + "_effects"
	if _, err := pool.Exec(ctx, "CREATE TABLE "+effects+" (id text)"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pool.Exec(context.Background(), "DROP TABLE IF EXISTS "+effects) })
	write := func(ctx context.Context, v string) {
		tx, ok := pgstore.TxFromContext(ctx)
		if !ok {
			t.Fatal("no transaction in the context")
		}
		if _, err := tx.Exec(ctx, "INSERT INTO "+effects+" VALUES ($1)", v); err != nil {
			t.Fatal(err)
		}
	}
	count := func() (n int) {
		pool.QueryRow(ctx, "SELECT count(*) FROM "+effects).Scan(&n)
		return n
	}

	// Owner commits: effect and record appear together.
	if _, err := s.Claim(ctx, "a", "fp", "t1", time.Minute); err != nil {
		t.Fatal(err)
	}
	tctx, tx, err := s.Begin(ctx, "a", "t1")
	if err != nil {
		t.Fatal(err)
	}
	write(tctx, "a")
	if count() != 0 {
		t.Fatal("the effect is visible before the commit")
	}
	if err := tx.Complete(ctx, []byte("done"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if rec, err := s.Get(ctx, "a"); err != nil || rec.State != idempotency.StateCompleted || count() != 1 {
		t.Fatalf("after Complete: record %+v, %v; effects %d", rec, err, count())
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatalf("Rollback after Complete: %v", err)
	}

	// Overtaken worker: its write is rolled back with ErrNotOwner.
	if _, err := s.Claim(ctx, "b", "fp", "t1", 10*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	tctx, tx, err = s.Begin(ctx, "b", "t1")
	if err != nil {
		t.Fatal(err)
	}
	write(tctx, "b-slow")
	time.Sleep(20 * time.Millisecond)
	if c, err := s.Claim(ctx, "b", "fp", "t2", time.Minute); err != nil || !c.TookOver {
		t.Fatalf("takeover = %+v, %v", c, err)
	}
	if err := tx.Complete(ctx, []byte("slow"), time.Minute); !errors.Is(err, idempotency.ErrNotOwner) {
		t.Fatalf("overtaken Complete: err = %v, want ErrNotOwner", err)
	}
	if count() != 1 {
		t.Fatalf("effects = %d, want the overtaken write rolled back", count())
	}

	// Rollback discards the writes.
	tctx, tx, err = s.Begin(ctx, "b", "t2")
	if err != nil {
		t.Fatal(err)
	}
	write(tctx, "b-rolled-back")
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if count() != 1 {
		t.Fatalf("effects = %d after Rollback, want 1", count())
	}
	if _, ok := pgstore.TxFromContext(ctx); ok {
		t.Fatal("TxFromContext found a transaction in a plain context")
	}
}

// TestFirstRequestSQL runs the two statements FirstRequestSQL returns with the
// parameters it documents, outside the Store, and checks that the Store then
// replays what they stored: they are the statements a first request runs.
func TestFirstRequestSQL(t *testing.T) {
	ctx := context.Background()
	s, pool, table := newStore(t)
	claim, complete, err := pgstore.FirstRequestSQL(table)
	if err != nil {
		t.Fatal(err)
	}
	var acquired bool
	var rest [6]any
	if err := pool.QueryRow(ctx, claim, "k1", "fp", "tok", int64(time.Minute/time.Microsecond)).
		Scan(&acquired, &rest[0], &rest[1], &rest[2], &rest[3], &rest[4], &rest[5]); err != nil || !acquired {
		t.Fatalf("claim: acquired %v, err %v", acquired, err)
	}
	tag, err := pool.Exec(ctx, complete, "k1", "tok", []byte("answer"), int64(time.Hour/time.Microsecond))
	if err != nil || tag.RowsAffected() != 1 {
		t.Fatalf("complete: %v rows, err %v", tag.RowsAffected(), err)
	}
	c, err := s.Claim(ctx, "k1", "fp", "other", time.Minute)
	if err != nil || c.Acquired || c.Existing.State != idempotency.StateCompleted || string(c.Existing.Result) != "answer" {
		t.Fatalf("Store.Claim after the statements = %+v, %v; want the completed record", c, err)
	}
	if _, _, err := pgstore.FirstRequestSQL("a b"); err == nil {
		t.Fatal("FirstRequestSQL accepted a table name that is not an identifier")
	}
}

// sqlTracer records the SQL of every query a pool's connections trace.
type sqlTracer struct {
	mu   sync.Mutex
	sqls []string
}

func (t *sqlTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sqls = append(t.sqls, d.SQL)
	return ctx
}

func (t *sqlTracer) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// TestQueryTracerSeesHotPath: Claim and Complete bypass pgx's Query and Exec,
// yet a QueryTracer on the pool (otelpgx, tracelog) still sees both.
func TestQueryTracerSeesHotPath(t *testing.T) {
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(pgURL())
	if err != nil {
		t.Fatal(err)
	}
	tr := &sqlTracer{}
	cfg.ConnConfig.Tracer = tr
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err == nil {
		err = pool.Ping(ctx)
	}
	if err != nil {
		storetest.NeedService(t, "postgres at "+pgURL(), err)
	}
	defer pool.Close()
	table := uniqueTable(t, pool)
	s, err := pgstore.New(ctx, pool, pgstore.WithTable(table))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if c, err := s.Claim(ctx, "k", "fp", "tok", time.Minute); err != nil || !c.Acquired {
		t.Fatalf("Claim = %+v, %v", c, err)
	}
	if err := s.Complete(ctx, "k", "tok", []byte("r"), time.Hour); err != nil {
		t.Fatal(err)
	}
	claim, complete, err := pgstore.FirstRequestSQL(table)
	if err != nil {
		t.Fatal(err)
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for _, want := range []string{claim, complete} {
		found := false
		for _, q := range tr.sqls {
			found = found || q == want
		}
		if !found {
			t.Errorf("the tracer did not see %.40q…; it saw %d queries", want, len(tr.sqls))
		}
	}
}
