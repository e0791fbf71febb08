package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
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
}

// Store is an idempotency.Store in an SQLite file. It is safe for concurrent use
// by many goroutines, and by several processes on one host sharing the file.
type Store struct {
	db       *sql.DB
	interval time.Duration
	batch    int
	busy     time.Duration
	log      *slog.Logger
	now      func() time.Time

	purger *purger.Loop
	once   sync.Once
}

var _ idempotency.Store = (*Store)(nil)

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

// WithLogger sets where the background purger reports failures (slog.Default
// when not given).
func WithLogger(l *slog.Logger) Option { return func(s *Store) { s.log = l } }

// Open opens (creating when missing) the database file at path, migrates it and
// starts the background purger. Close stops the purger and closes the file.
func Open(ctx context.Context, path string, opts ...Option) (*Store, error) {
	s := &Store{interval: DefaultPurgeInterval, batch: DefaultPurgeBatch, busy: DefaultBusyTimeout, now: time.Now}
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
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", s.busy.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: open %q: %w", path, err)
	}
	// One connection: the process's steps queue in Go instead of spinning on
	// SQLite's busy handler; other processes wait on the busy timeout.
	db.SetMaxOpenConns(1)
	s.db = db
	if err := s.migrate(ctx); err != nil {
		db.Close()
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
		err = s.db.Close()
	})
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

// Claim implements idempotency.Store.Claim in one transaction.
func (s *Store) Claim(ctx context.Context, id, fingerprint, token string, lease time.Duration) (idempotency.Claim, error) {
	var c idempotency.Claim
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		now := s.now().UnixMicro()
		var (
			state  int
			fp     string
			lu, ex int64
			result []byte
		)
		err := tx.QueryRowContext(ctx, `SELECT state, fingerprint, lease_until, expires_at, result
FROM idempotency_records WHERE id = ?`, id).Scan(&state, &fp, &lu, &ex, &result)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return err
		case idempotency.State(state) != idempotency.StateIssued && now < ex:
			c.Existing = idempotency.Record{
				ID: id, State: idempotency.State(state), Fingerprint: fp,
				LeaseUntil: time.UnixMicro(lu), ExpiresAt: time.UnixMicro(ex), Result: result,
			}
			return nil
		default:
			// Absent for the contract: issued, or expired (an in-flight record expires
			// with its lease, so this is where a crashed worker's claim is taken over).
			c.TookOver = idempotency.State(state) == idempotency.StateInFlight
		}
		until := now + micros(lease)
		_, err = tx.ExecContext(ctx, `INSERT OR REPLACE INTO idempotency_records
(id, state, fingerprint, token, lease_until, expires_at, result) VALUES (?, 1, ?, ?, ?, ?, NULL)`,
			id, fingerprint, token, until, until)
		c.Acquired = err == nil
		return err
	})
	if err != nil {
		return idempotency.Claim{}, fmt.Errorf("sqlitestore: claim %q: %w", id, err)
	}
	return c, nil
}

// Complete implements idempotency.Store.Complete with one guarded statement. A
// late owner (lease over, nobody took over) may still complete: its token still
// owns the row, and storing its result avoids a second execution.
func (s *Store) Complete(ctx context.Context, id, token string, result []byte, ttl time.Duration) error {
	if result == nil {
		result = []byte{}
	}
	res, err := s.db.ExecContext(ctx, `UPDATE idempotency_records SET state = 2, result = ?, expires_at = ?
WHERE id = ? AND token = ? AND state = 1`, result, s.now().UnixMicro()+micros(ttl), id, token)
	return guarded(res, err, "complete", id)
}

// Release implements idempotency.Store.Release with one guarded statement.
func (s *Store) Release(ctx context.Context, id, token string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM idempotency_records WHERE id = ? AND token = ? AND state = 1`, id, token)
	return guarded(res, err, "release", id)
}

func guarded(res sql.Result, err error, step, id string) error {
	if err != nil {
		return fmt.Errorf("sqlitestore: %s %q: %w", step, id, err)
	}
	n, err := res.RowsAffected()
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
	err := s.db.QueryRowContext(ctx, `SELECT state, fingerprint, token, lease_until, expires_at, result
FROM idempotency_records WHERE id = ? AND expires_at > ?`, id, s.now().UnixMicro()).
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
		res, err := s.db.ExecContext(ctx, `DELETE FROM idempotency_records WHERE id IN (
  SELECT id FROM idempotency_records WHERE expires_at <= ? ORDER BY expires_at LIMIT ?)`, s.now().UnixMicro(), limit)
		if err != nil {
			return 0, err
		}
		n, err := res.RowsAffected()
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
