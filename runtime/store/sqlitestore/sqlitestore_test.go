package sqlitestore_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idemgen/idemgen/runtime/idempotency"
	"github.com/idemgen/idemgen/runtime/store/sqlitestore"
)

func open(t *testing.T, path string, opts ...sqlitestore.Option) *sqlitestore.Store {
	t.Helper()
	s, err := sqlitestore.Open(context.Background(), path, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestSharedFileOneWinner opens the file twice (as two processes would) and
// races many claims for the same ids through both: each id is acquired once.
func TestSharedFileOneWinner(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "idem.db")
	stores := []*sqlitestore.Store{open(t, path), open(t, path)}
	for round := range 5 {
		id := fmt.Sprint("hot", round)
		var won atomic.Int32
		var wg sync.WaitGroup
		for i := range 32 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, err := stores[i%2].Claim(ctx, id, "fp", fmt.Sprint(i), time.Minute)
				if err != nil {
					t.Error(err)
					return
				}
				if c.Acquired {
					won.Add(1)
				} else if c.Existing.State != idempotency.StateInFlight {
					t.Errorf("loser saw %+v", c.Existing)
				}
			}()
		}
		wg.Wait()
		if n := won.Load(); n != 1 {
			t.Fatalf("round %d: %d claims acquired, want 1", round, n)
		}
	}
}

func TestSurvivesReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "idem.db")
	s, err := sqlitestore.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Claim(ctx, "r", "fp", "t", time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := s.Complete(ctx, "r", "t", []byte("kept"), time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, path)
	c, err := s.Claim(ctx, "r", "fp", "t2", time.Minute)
	if err != nil || c.Acquired || string(c.Existing.Result) != "kept" {
		t.Fatalf("claim after reopen = %+v, %v; want the stored result", c, err)
	}
}

// TestLateOwnerCompletes: an owner whose lease ran out may still complete when
// nobody took over (storing its result beats running the handler again).
func TestLateOwnerCompletes(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "idem.db"))
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

// TestBackgroundPurgerBoundsTable runs a steady load of short-ttl records and
// checks that the background purger, in small batches, empties the table.
func TestBackgroundPurgerBoundsTable(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "idem.db")
	s := open(t, path, sqlitestore.WithPurgeInterval(20*time.Millisecond), sqlitestore.WithPurgeBatch(25))
	for i := range 300 {
		id := fmt.Sprint("r", i)
		if _, err := s.Claim(ctx, id, "fp", "t", time.Minute); err != nil {
			t.Fatal(err)
		}
		if err := s.Complete(ctx, id, "t", []byte("v"), 5*time.Millisecond); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for n := rows(t, path); n > 0; n = rows(t, path) {
		if time.Now().After(deadline) {
			t.Fatalf("%d expired rows still there after 5s of background purging", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// rawDB opens the file without the store.
func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// rows counts the records in the file through a connection of its own.
func rows(t *testing.T, path string) (n int) {
	t.Helper()
	db := rawDB(t, path)
	defer db.Close()
	if err := db.QueryRow("SELECT count(*) FROM idempotency_records").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestPurgeKeepsLive(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "idem.db"), sqlitestore.WithPurgeInterval(0), sqlitestore.WithPurgeBatch(4))
	for i := range 10 {
		id := fmt.Sprint("r", i)
		s.Claim(ctx, id, "fp", "t", time.Minute)
		s.Complete(ctx, id, "t", nil, time.Microsecond)
	}
	s.Claim(ctx, "live", "fp", "t", time.Minute)
	time.Sleep(time.Millisecond)
	if n, err := s.Purge(ctx); n != 10 || err != nil {
		t.Fatalf("Purge = %d, %v; want 10", n, err)
	}
	if _, err := s.Get(ctx, "live"); err != nil {
		t.Fatalf("live record purged: %v", err)
	}
}

func TestOpenErrors(t *testing.T) {
	if _, err := sqlitestore.Open(context.Background(), ""); err == nil {
		t.Fatal("Open(\"\") succeeded")
	}
	_, err := sqlitestore.Open(context.Background(), filepath.Join(t.TempDir(), "missing-dir", "idem.db"))
	if err == nil {
		t.Fatal("Open in a missing directory succeeded")
	}
}

// TestMigrateFromWithoutRowid opens a file that version 1 of the schema (a
// WITHOUT ROWID table) holds records in: Open moves them to the rowid table
// of version 2, and they are still replayed and still refuse a second claim.
func TestMigrateFromWithoutRowid(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "v1.db")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	far := time.Now().Add(time.Hour).UnixMicro()
	for _, q := range []string{
		`CREATE TABLE idempotency_schema (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`,
		`INSERT INTO idempotency_schema VALUES (1, 0)`,
		`CREATE TABLE idempotency_records (
  id TEXT PRIMARY KEY, state INTEGER NOT NULL, fingerprint TEXT NOT NULL, token TEXT NOT NULL,
  lease_until INTEGER NOT NULL, expires_at INTEGER NOT NULL, result BLOB) WITHOUT ROWID`,
		`CREATE INDEX idempotency_records_expires_at_idx ON idempotency_records (expires_at)`,
		fmt.Sprintf(`INSERT INTO idempotency_records VALUES ('done', 2, 'fp', 't', 0, %d, x'6f6b')`, far),
		fmt.Sprintf(`INSERT INTO idempotency_records VALUES ('busy', 1, 'fp', 't', %d, %d, NULL)`, far, far),
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(q, err)
		}
	}
	db.Close()

	s := open(t, path)
	rec, err := s.Get(ctx, "done")
	if err != nil || rec.State != idempotency.StateCompleted || string(rec.Result) != "ok" {
		t.Fatalf("completed record after the migration: %+v, %v", rec, err)
	}
	cl, err := s.Claim(ctx, "busy", "fp", "t2", time.Minute)
	if err != nil || cl.Acquired || cl.Existing.State != idempotency.StateInFlight {
		t.Fatalf("claim of an in-flight record after the migration: %+v, %v", cl, err)
	}
	db, err = sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var ddl string
	var version int
	if err := db.QueryRowContext(ctx, `SELECT sql FROM sqlite_master WHERE name = 'idempotency_records'`).Scan(&ddl); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRowContext(ctx, `SELECT max(version) FROM idempotency_schema`).Scan(&version); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(strings.ToUpper(ddl), "WITHOUT ROWID") || version != 2 {
		t.Fatalf("schema version %d, table %s; want version 2, a rowid table", version, ddl)
	}
}

// TestCheckpointAfterWrite: with synchronous=NORMAL a commit is synced by
// the next checkpoint, so the store checkpoints within its sync interval of
// a write however little it wrote. A copy of the database file alone (what
// a power loss that drops the unsynced WAL would leave) soon holds the
// completed record.
func TestCheckpointAfterWrite(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "idem.db")
	s := open(t, path, sqlitestore.WithPurgeInterval(0), sqlitestore.WithSyncInterval(20*time.Millisecond))
	if _, err := s.Claim(ctx, "k", "fp", "t", time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := s.Complete(ctx, "k", "t", []byte("kept"), time.Hour); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for i := 0; ; i++ {
		found, err := inFileAlone(t, path, filepath.Join(dir, fmt.Sprint("copy", i, ".db")), "k")
		if found {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the completed record is still only in the WAL 5s after the write (last look: %v)", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// inFileAlone copies the database file at path, without its WAL, to cp and
// reports whether the copy holds a completed record id. A copy taken while a
// checkpoint writes the file may be torn: its error is returned, not fatal.
func inFileAlone(t *testing.T, path, cp, id string) (bool, error) {
	t.Helper()
	copyFile(t, path, cp)
	db := rawDB(t, cp)
	defer db.Close()
	var n int
	err := db.QueryRow("SELECT count(*) FROM idempotency_records WHERE id = ? AND state = 2", id).Scan(&n)
	return err == nil && n == 1, err
}

// copyFile copies the file from to the file to, as a crash would leave it.
func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
