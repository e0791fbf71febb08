package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/idemgen/idemgen/runtime/idempotency"
	"github.com/idemgen/idemgen/runtime/store/internal/purger"
)

// Defaults of the options.
const (
	DefaultBusyTimeout   = 5 * time.Second
	DefaultPurgeInterval = time.Minute
	DefaultPurgeBatch    = 1000
)

// migrations are the schema versions, in order; migrations[i] brings the schema
// to version i+1. Append only: a released step never changes.
var migrations = []string{
	`CREATE TABLE IF NOT EXISTS idempotency_records (
  id          TEXT PRIMARY KEY,
  state       INTEGER NOT NULL,
  fingerprint TEXT NOT NULL,
  token       TEXT NOT NULL,
  lease_until INTEGER NOT NULL,
  expires_at  INTEGER NOT NULL,
  result      BLOB
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS idempotency_records_expires_at_idx ON idempotency_records (expires_at);`,
	// Version 2: a rowid table (the id keeps its own index). WITHOUT ROWID kept
	// each ~1 KiB result in the id's b-tree, whose 4 KiB leaves hold about
	// 1 KiB per row locally: every completed row also wrote an overflow page,
	// and every write touched a random leaf. A rowid table's leaves hold the
	// row whole, and new rows go to its last pages, so a group commit writes
	// fewer WAL frames (store CPU per first request with 32 callers: 42 -> 25 µs).
	`CREATE TABLE idempotency_records_v2 (
  id          TEXT PRIMARY KEY,
  state       INTEGER NOT NULL,
  fingerprint TEXT NOT NULL,
  token       TEXT NOT NULL,
  lease_until INTEGER NOT NULL,
  expires_at  INTEGER NOT NULL,
  result      BLOB
);
INSERT INTO idempotency_records_v2 (id, state, fingerprint, token, lease_until, expires_at, result)
  SELECT id, state, fingerprint, token, lease_until, expires_at, result FROM idempotency_records;
DROP TABLE idempotency_records;
ALTER TABLE idempotency_records_v2 RENAME TO idempotency_records;
CREATE INDEX idempotency_records_expires_at_idx ON idempotency_records (expires_at);`,
}

// Store is an idempotency.Store in an SQLite file. It is safe for concurrent use
// by many goroutines, and by several processes on one host sharing the file.
type Store struct {
	db    *sql.DB    // the one writer connection, held by the writer goroutine
	rdb   *sql.DB    // read-only connections: a replay never waits for the writer
	stmts statements // the readers'

	ops        chan *writeOp // to the writer goroutine (write)
	stopWriter chan struct{}
	writerDone chan struct{}
	interval   time.Duration
	sync       time.Duration // syncInterval (tests shorten it)
	batch      int
	busy       time.Duration
	log        *slog.Logger
	now        func() time.Time

	purger *purger.Loop
	once   sync.Once

	// fresh leans towards claims of new ids (> 0) or of ids with a live
	// record (<= 0), from recent claims: see Claim. order, when not 0, fixes
	// the order instead (tests: 1 write first, -1 read first).
	fresh atomic.Int32
	order int
}

var _ idempotency.Store = (*Store)(nil)

// statements are the readers' statements, prepared once per Store (the
// writer's are writerSQL): a step then costs one statement execution, with
// no SQL parsing.
type statements struct {
	read, get *sql.Stmt
}

// readers is how many read-only connections replays and lookups share.
const readers = 4

// walPages is the WAL size, in pages, at which a commit checkpoints.
const walPages = 4000

// syncInterval bounds how long a commit stays in the WAL unsynced: with
// synchronous=NORMAL only a checkpoint syncs, so the writer checkpoints
// within syncInterval of a write even when the WAL is far below walPages.
const syncInterval = time.Second

// Option configures a Store.
type Option func(*Store)

// WithBusyTimeout sets how long a step waits for another connection's write
// lock before failing (DefaultBusyTimeout when not given).
func WithBusyTimeout(d time.Duration) Option { return func(s *Store) { s.busy = d } }

// WithPurgeInterval sets how often the background purger runs
// (DefaultPurgeInterval when not given). Zero or less disables it.
func WithPurgeInterval(d time.Duration) Option { return func(s *Store) { s.interval = d } }

// WithPurgeBatch sets how many rows one purge statement deletes at most
// (DefaultPurgeBatch when not given).
func WithPurgeBatch(n int) Option { return func(s *Store) { s.batch = n } }

// WithClock replaces time.Now, the clock leases and ttls are measured by
// (for tests that move time by hand).
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// WithLogger sets where the background purger reports failures (slog.Default
// when not given).
func WithLogger(l *slog.Logger) Option { return func(s *Store) { s.log = l } }

// Open opens (creating when missing) the database file at path, migrates it and
// starts the background purger. Close stops the purger and closes the file.
func Open(ctx context.Context, path string, opts ...Option) (*Store, error) {
	s := &Store{interval: DefaultPurgeInterval, sync: syncInterval, batch: DefaultPurgeBatch, busy: DefaultBusyTimeout, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	if path == "" {
		return nil, errors.New("sqlitestore: empty database path")
	}
	if s.batch <= 0 {
		return nil, fmt.Errorf("sqlitestore: purge batch %d: want at least 1", s.batch)
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	// A commit's WAL frames are written with one system call, and the
	// checkpoint reads them from a mapping (walVFS).
	vfs, err := registerVFS()
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: open %q: %w", path, err)
	}
	dsn := func(pragmas ...string) string {
		q := url.Values{}
		q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", s.busy.Milliseconds()))
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "synchronous(NORMAL)")
		// Pages are read through a memory map rather than a pread each.
		q.Add("_pragma", "mmap_size(268435456)")
		for _, p := range pragmas {
			q.Add("_pragma", p)
		}
		q.Set("_txlock", "immediate")
		if vfs != "" {
			q.Set("vfs", vfs)
		}
		return "file:" + path + "?" + q.Encode()
	}
	// The writer's page cache is 4 MiB, about the pages a checkpoint
	// interval writes: clean pages come from the memory map, and SQLite
	// walks the whole cache at the end of every transaction in which a
	// b-tree balance renumbered pages (it parks a page at a page number past
	// the end of the file), which a 16 MiB cache made a tenth of the
	// writer's CPU. It checkpoints every walPages pages of WAL (SQLite's
	// default is 1000): fewer checkpoints copy a page written many times
	// once, and sync less often; runWriter also checkpoints within
	// syncInterval of a write, which bounds what a power loss can take.
	db, err := sql.Open("sqlite", dsn("cache_size(-4096)", fmt.Sprintf("wal_autocheckpoint(%d)", walPages)))
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: open %q: %w", path, err)
	}
	// One writer connection: SQLite has one writer at a time anyway, so the
	// process's writes queue in Go instead of spinning on SQLite's busy
	// handler; other processes wait on the busy timeout.
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	s.db = db
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlitestore: open %q: %w", path, err)
	}
	// Readers see the last committed state (WAL), in parallel with the
	// writer; a larger page cache keeps the b-trees' inner pages at hand.
	s.rdb, err = sql.Open("sqlite", dsn("cache_size(-16384)", "query_only(1)"))
	if err == nil {
		s.rdb.SetMaxOpenConns(readers)
		s.rdb.SetMaxIdleConns(readers)
		err = s.prepare(ctx)
	}
	var wc *sql.Conn
	if err == nil {
		wc, err = db.Conn(ctx)
	}
	if err != nil {
		s.closeDBs()
		return nil, fmt.Errorf("sqlitestore: open %q: %w", path, err)
	}
	s.ops, s.stopWriter, s.writerDone = make(chan *writeOp), make(chan struct{}), make(chan struct{})
	ready := make(chan error, 1)
	go s.runWriter(wc, s.stopWriter, ready)
	if err := <-ready; err != nil {
		close(s.stopWriter)
		<-s.writerDone
		s.closeDBs()
		return nil, fmt.Errorf("sqlitestore: open %q: %w", path, err)
	}
	s.purger = purger.Start(s.interval, s.Purge, func(err error) {
		s.log.Warn("sqlitestore: background purge failed", "err", err)
	})
	return s, nil
}

// Close stops the background purger and closes the database. Calling it more
// than once is harmless.
func (s *Store) Close() error {
	var err error
	s.once.Do(func() {
		s.purger.Close()
		close(s.stopWriter)
		<-s.writerDone
		err = s.closeDBs()
	})
	return err
}

func (s *Store) closeDBs() error {
	var errs []error
	for _, st := range []*sql.Stmt{s.stmts.read, s.stmts.get} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	if s.rdb != nil {
		errs = append(errs, s.rdb.Close())
	}
	errs = append(errs, s.db.Close())
	return errors.Join(errs...)
}

func (s *Store) prepare(ctx context.Context) error {
	var err error
	prep := func(db *sql.DB, query string) *sql.Stmt {
		if err != nil {
			return nil
		}
		var st *sql.Stmt
		st, err = db.PrepareContext(ctx, query)
		return st
	}
	s.stmts.read = prep(s.rdb, `SELECT state, fingerprint, lease_until, expires_at, result
FROM idempotency_records WHERE id = ?`)
	s.stmts.get = prep(s.rdb, `SELECT state, fingerprint, token, lease_until, expires_at, result
FROM idempotency_records WHERE id = ? AND expires_at > ?`)
	return err
}

func (s *Store) migrate(ctx context.Context) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS idempotency_schema (
  version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
			return err
		}
		var have int
		if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM idempotency_schema`).Scan(&have); err != nil {
			return err
		}
		if have > len(migrations) {
			return fmt.Errorf("schema version %d is newer than this program's %d", have, len(migrations))
		}
		for v := have + 1; v <= len(migrations); v++ {
			if _, err := tx.ExecContext(ctx, migrations[v-1]); err != nil {
				return fmt.Errorf("migration step %d: %w", v, err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO idempotency_schema VALUES (?, ?)`, v, s.now().UnixMicro()); err != nil {
				return err
			}
		}
		return nil
	})
}

// inTx runs fn in one IMMEDIATE transaction and commits it when fn succeeds.
func (s *Store) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

func micros(d time.Duration) int64 {
	us := int64((d + time.Microsecond - 1) / time.Microsecond)
	if us < 1 {
		us = 1
	}
	return us
}

// Claim implements idempotency.Store.Claim with one conditional upsert, which
// claims the id atomically (it changes no row when a live record holds the
// id, and the row is then read on a reader connection). What comes first
// depends on recent claims: when most found a live record (replays,
// conflicts), the read, so that they never take the write lock; when most
// were new ids, an insert that claims an id without a row (and changes
// nothing otherwise, the read and the upsert then decide), because a read
// before it would find nothing at the cost of a b-tree descent on a reader
// whose page cache every commit invalidates (a third of the CPU of a first
// request, measured). Either order gives the same answers.
func (s *Store) Claim(ctx context.Context, id, fingerprint, token string, lease time.Duration) (idempotency.Claim, error) {
	writeFirst := s.fresh.Load() > 0
	if s.order != 0 {
		writeFirst = s.order > 0
	}
	if writeFirst {
		lu := s.now().UnixMicro() + micros(lease)
		n, err := s.write(ctx, stInsert, id, fingerprint, token, lu, lu)
		if err != nil {
			return idempotency.Claim{}, fmt.Errorf("sqlitestore: claim %q: %w", id, err)
		}
		if n == 1 {
			s.noteClaim(true)
			return idempotency.Claim{Acquired: true}, nil
		}
		// A row holds the id: whether it counts as absent is read below.
	}
	for range 8 {
		now := s.now().UnixMicro()
		var c idempotency.Claim
		var (
			state  int
			fp     string
			lu, ex int64
			result []byte
		)
		err := s.stmts.read.QueryRowContext(ctx, id).Scan(&state, &fp, &lu, &ex, &result)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return idempotency.Claim{}, fmt.Errorf("sqlitestore: claim %q: %w", id, err)
		case idempotency.State(state) != idempotency.StateIssued && now < ex:
			c.Existing = idempotency.Record{
				ID: id, State: idempotency.State(state), Fingerprint: fp,
				LeaseUntil: time.UnixMicro(lu), ExpiresAt: time.UnixMicro(ex), Result: result,
			}
			s.noteClaim(false)
			return c, nil
		default:
			// Absent for the contract: issued, or expired (an in-flight record expires
			// with its lease, so this is where a crashed worker's claim is taken over).
			c.TookOver = idempotency.State(state) == idempotency.StateInFlight
		}
		n, err := s.write(ctx, stClaim, id, fingerprint, token, now+micros(lease), now)
		if err != nil {
			return idempotency.Claim{}, fmt.Errorf("sqlitestore: claim %q: %w", id, err)
		}
		if n == 1 {
			c.Acquired = true
			s.noteClaim(true)
			return c, nil
		}
		// Another claim won between the read and the write: read its row.
	}
	return idempotency.Claim{}, fmt.Errorf("sqlitestore: claim %q: the row kept changing under the claim", id)
}

// freshBound bounds s.fresh, so the order follows a change of workload
// within a few claims.
const freshBound = 8

// noteClaim moves s.fresh towards write-first (acquired) or read-first.
// Concurrent updates may lose one another's step, which a hint can afford.
func (s *Store) noteClaim(acquired bool) {
	v := s.fresh.Load()
	if acquired && v < freshBound {
		s.fresh.Store(v + 1)
	} else if !acquired && v > -freshBound {
		s.fresh.Store(v - 1)
	}
}

// Complete implements idempotency.Store.Complete with one guarded statement. A
// late owner (lease over, nobody took over) may still complete: its token still
// owns the row, and storing its result avoids a second execution.
func (s *Store) Complete(ctx context.Context, id, token string, result []byte, ttl time.Duration) error {
	if result == nil {
		result = []byte{}
	}
	n, err := s.write(ctx, stComplete, result, s.now().UnixMicro()+micros(ttl), id, token)
	return guarded(n, err, "complete", id)
}

// Release implements idempotency.Store.Release with one guarded statement.
func (s *Store) Release(ctx context.Context, id, token string) error {
	n, err := s.write(ctx, stRelease, id, token)
	return guarded(n, err, "release", id)
}

func guarded(n int64, err error, step, id string) error {
	if err != nil {
		return fmt.Errorf("sqlitestore: %s %q: %w", step, id, err)
	}
	if n != 1 {
		return idempotency.ErrNotOwner
	}
	return nil
}

// Get implements idempotency.Store.Get.
func (s *Store) Get(ctx context.Context, id string) (idempotency.Record, error) {
	rec := idempotency.Record{ID: id}
	var state int
	var lu, ex int64
	err := s.stmts.get.QueryRowContext(ctx, id, s.now().UnixMicro()).
		Scan(&state, &rec.Fingerprint, &rec.Token, &lu, &ex, &rec.Result)
	if errors.Is(err, sql.ErrNoRows) {
		return idempotency.Record{}, idempotency.ErrNotFound
	}
	if err != nil {
		return idempotency.Record{}, fmt.Errorf("sqlitestore: get %q: %w", id, err)
	}
	rec.State = idempotency.State(state)
	rec.LeaseUntil, rec.ExpiresAt = time.UnixMicro(lu), time.UnixMicro(ex)
	return rec, nil
}

// Purge implements idempotency.Store.Purge: it deletes expired rows in batches
// of at most the purge batch size until a batch comes back short, and returns
// how many it deleted.
func (s *Store) Purge(ctx context.Context) (int, error) {
	total, err := purger.Batches(ctx, s.batch, func(ctx context.Context, limit int) (int, error) {
		n, err := s.write(ctx, stPurge, s.now().UnixMicro(), int64(limit))
		if err != nil {
			return 0, err
		}
		return int(n), nil
	})
	if err != nil {
		return total, fmt.Errorf("sqlitestore: purge: %w", err)
	}
	return total, nil
}
