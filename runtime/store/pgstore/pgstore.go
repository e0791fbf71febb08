package pgstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/idemgen/idemgen/runtime/idempotency"
	"github.com/idemgen/idemgen/runtime/store/internal/purger"
)

// Defaults of the options.
const (
	DefaultTable         = "idempotency_records"
	DefaultPurgeInterval = time.Minute
	DefaultPurgeBatch    = 1000
)

// claimRetries bounds how often Claim re-runs its statement when a concurrent
// writer changed the record between the statement's snapshot and its row lock.
const claimRetries = 16

// tableName accepts table or schema.table of plain identifiers.
var tableName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,40}(\.[A-Za-z_][A-Za-z0-9_]{0,40})?$`)

func checkTable(name string) error {
	if !tableName.MatchString(name) {
		return fmt.Errorf("pgstore: table %q: want an identifier or schema.identifier", name)
	}
	return nil
}

// Store is an idempotency.AtomicStore on PostgreSQL. It is safe for concurrent
// use by many goroutines and many processes sharing the database. It does not
// own the pool; Close stops the background purger only.
type Store struct {
	pool     *pgxpool.Pool
	table    string
	interval time.Duration
	batch    int
	log      *slog.Logger

	sql statements
	// claim and complete are the hot path's statements (see run), prepared on
	// each connection when the pool's connections cache statements (pgx's
	// default query exec mode).
	claim, complete stmt
	prepare         bool
	batcher         batcher

	purger *purger.Loop
}

var _ idempotency.AtomicStore = (*Store)(nil)

type statements struct {
	claim, complete, release, get, purge string
}

// Option configures a Store.
type Option func(*Store)

// WithTable sets the table that holds the records ("name" or "schema.name",
// DefaultTable when not given). Its migration bookkeeping lives in NAME_schema.
func WithTable(name string) Option { return func(s *Store) { s.table = name } }

// WithPurgeInterval sets how often the background purger runs
// (DefaultPurgeInterval when not given). Zero or less disables it; Purge can
// then be called by the application.
func WithPurgeInterval(d time.Duration) Option { return func(s *Store) { s.interval = d } }

// WithPurgeBatch sets how many rows one purge statement deletes at most
// (DefaultPurgeBatch when not given).
func WithPurgeBatch(n int) Option { return func(s *Store) { s.batch = n } }

// WithLogger sets where the background purger reports failures (slog.Default
// when not given).
func WithLogger(l *slog.Logger) Option { return func(s *Store) { s.log = l } }

// New migrates the store's table in pool (creating it when missing; safe when
// many processes start at once) and starts the background purger. Call Close to
// stop the purger.
func New(ctx context.Context, pool *pgxpool.Pool, opts ...Option) (*Store, error) {
	s := &Store{pool: pool, table: DefaultTable, interval: DefaultPurgeInterval, batch: DefaultPurgeBatch}
	for _, o := range opts {
		o(s)
	}
	if err := checkTable(s.table); err != nil {
		return nil, err
	}
	if s.batch <= 0 {
		return nil, fmt.Errorf("pgstore: purge batch %d: want at least 1", s.batch)
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if err := migrate(ctx, pool, s.table); err != nil {
		return nil, err
	}
	s.sql = buildStatements(ident(s.table))
	s.claim = newStmt(s.sql.claim, oidText, oidText, oidText, oidInt8)
	s.complete = newStmt(s.sql.complete, oidText, oidText, oidBytea, oidInt8)
	s.prepare = pool.Config().ConnConfig.DefaultQueryExecMode == pgx.QueryExecModeCacheStatement
	s.batcher.s = s
	s.purger = purger.Start(s.interval, s.Purge, func(err error) {
		s.log.Warn("pgstore: background purge failed", "table", s.table, "err", err)
	})
	return s, nil
}

// Close stops the background purger and waits for it. It does not close the
// pool. Calling Close more than once is harmless.
func (s *Store) Close() error {
	s.purger.Close()
	return nil
}

// ident quotes table or schema.table for SQL.
func ident(name string) string {
	return pgx.Identifier(strings.Split(name, ".")).Sanitize()
}

// FirstRequestSQL returns the two statements a first request runs on a Store
// using table: Claim (binding $1 id, $2 fingerprint, $3 token, $4 lease in
// microseconds) and Complete ($1 id, $2 token, $3 result, $4 time to live in
// microseconds), each its own autocommit transaction when it runs alone (a
// Store sends concurrent calls' statements together in one transaction: see
// the package documentation, Group commit). It is for tools that
// inspect or measure them on their own, such as EXPLAIN or the pgbench ceiling
// that bench/cmd/benchcompare measures; a Store does not need it.
func FirstRequestSQL(table string) (claim, complete string, err error) {
	if err := checkTable(table); err != nil {
		return "", "", err
	}
	s := buildStatements(ident(table))
	return s.claim, s.complete, nil
}

func buildStatements(t string) statements {
	return statements{
		// old is the row as of the statement's snapshot. When it is live, that is the
		// answer and ins writes nothing: a replay or a 409 is a pure read (no row
		// lock, no commit flush). Otherwise ins takes the record when it is absent,
		// issued or expired, re-checked on the latest row version under its lock; an
		// in-flight record expires with its lease, so an expired lease is taken over
		// here too. When ins takes nothing although old said it could, a concurrent
		// writer committed after the snapshot: Claim runs the statement again.
		claim: `WITH c AS (SELECT clock_timestamp() AS now),
old AS (
  SELECT r.state, r.fingerprint, r.lease_until, r.expires_at, r.result,
         (r.state = 3 OR r.expires_at <= c.now) AS dead
  FROM ` + t + ` r, c WHERE r.id = $1
), ins AS (
  INSERT INTO ` + t + ` AS r (id, state, fingerprint, token, lease_until, expires_at)
  SELECT $1, 1, $2, $3, c.now + $4::bigint * interval '1 microsecond', c.now + $4::bigint * interval '1 microsecond'
  FROM c WHERE NOT EXISTS (SELECT 1 FROM old WHERE NOT old.dead)
  ON CONFLICT (id) DO UPDATE SET state = 1, fingerprint = EXCLUDED.fingerprint, token = EXCLUDED.token,
    lease_until = EXCLUDED.lease_until, expires_at = EXCLUDED.expires_at, result = NULL
  WHERE r.state = 3 OR r.expires_at <= clock_timestamp()
  RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM ins), old.state, old.fingerprint, old.lease_until, old.expires_at, old.result, old.dead
FROM (SELECT 1) AS one LEFT JOIN old ON true`,
		// A late owner (lease over, nobody took over) may still complete: its token
		// still owns the row, and storing its result avoids a second execution.
		complete: `UPDATE ` + t + ` SET state = 2, result = $3,
  expires_at = clock_timestamp() + $4::bigint * interval '1 microsecond'
WHERE id = $1 AND token = $2 AND state = 1`,
		release: `DELETE FROM ` + t + ` WHERE id = $1 AND token = $2 AND state = 1`,
		get: `SELECT state, fingerprint, token, lease_until, expires_at, result FROM ` + t + `
WHERE id = $1 AND expires_at > clock_timestamp()`,
		// SKIP LOCKED leaves rows that a claim is taking over right now; FOR UPDATE
		// re-checks expires_at on the latest row version, so a row that was just
		// renewed is not deleted.
		purge: `DELETE FROM ` + t + ` WHERE id IN (
  SELECT id FROM ` + t + ` WHERE expires_at <= clock_timestamp()
  ORDER BY expires_at LIMIT $1 FOR UPDATE SKIP LOCKED)`,
	}
}

func micros(d time.Duration) int64 {
	us := int64((d + time.Microsecond - 1) / time.Microsecond)
	if us < 1 {
		us = 1
	}
	return us
}

// Claim implements idempotency.Store.Claim with one statement (batched with
// concurrent calls: see batcher).
func (s *Store) Claim(ctx context.Context, id, fingerprint, token string, lease time.Duration) (idempotency.Claim, error) {
	params := binaryParams(micros(lease), id, fingerprint, token)
	for range claimRetries {
		ans := s.batcher.do(ctx, &s.claim, id, params)
		if ans.err != nil {
			return idempotency.Claim{}, fmt.Errorf("pgstore: claim %q: %w", id, ans.err)
		}
		if !ans.again {
			return ans.cl, nil
		}
	}
	return idempotency.Claim{}, fmt.Errorf("pgstore: claim %q: record kept changing under %d attempts", id, claimRetries)
}

// decodeClaim reads the claim statement's row (binary format): acquired,
// then the record as of the statement's snapshot (all NULL when there was
// none) and whether it was dead. again reports that the snapshot predates a
// concurrent writer: the statement must run again.
func decodeClaim(id string, v [][]byte) (cl idempotency.Claim, again bool, err error) {
	if len(v) != 7 {
		return cl, false, fmt.Errorf("%d columns, want 7", len(v))
	}
	acquired, err := decodeBool("acquired", v[0])
	if err != nil {
		return cl, false, err
	}
	if v[1] == nil { // no record in the snapshot
		return idempotency.Claim{Acquired: acquired}, !acquired, nil
	}
	state, err := decodeInt2("state", v[1])
	if err != nil {
		return cl, false, err
	}
	if acquired {
		return idempotency.Claim{Acquired: true, TookOver: state == int16(idempotency.StateInFlight)}, false, nil
	}
	dead, err := decodeBool("dead", v[6])
	if err != nil || dead {
		return cl, dead, err
	}
	rec := idempotency.Record{ID: id, State: idempotency.State(state), Fingerprint: string(v[2])}
	if rec.LeaseUntil, err = decodeTime("lease_until", v[3]); err != nil {
		return cl, false, err
	}
	if rec.ExpiresAt, err = decodeTime("expires_at", v[4]); err != nil {
		return cl, false, err
	}
	if v[5] != nil {
		rec.Result = append([]byte{}, v[5]...)
	}
	return idempotency.Claim{Existing: rec}, false, nil
}

// Complete implements idempotency.Store.Complete with one statement (batched
// with concurrent calls: see batcher).
func (s *Store) Complete(ctx context.Context, id, token string, result []byte, ttl time.Duration) error {
	if result == nil {
		result = []byte{} // nil would be NULL
	}
	params := binaryParams(micros(ttl), id, token, "")
	params[2] = result
	ans := s.batcher.do(ctx, &s.complete, id, params)
	return guarded("complete", id, ans.tag, ans.err)
}

// completeInTx is Complete inside an atomic-mode transaction, through pgx:
// the handler's writes share the transaction, so the pgconn path of run,
// which takes a connection of its own from the pool, cannot be used.
func completeInTx(ctx context.Context, tx pgx.Tx, sql, id, token string, result []byte, ttl time.Duration) error {
	if result == nil {
		result = []byte{} // nil would be NULL
	}
	tag, err := tx.Exec(ctx, sql, id, token, result, micros(ttl))
	return guarded("complete", id, tag, err)
}

// guarded turns the outcome of a statement guarded by the fencing token (it
// changes the record only for the token that owns the claim) into the Store's
// answer: idempotency.ErrNotOwner when it changed no row.
func guarded(step, id string, tag pgconn.CommandTag, err error) error {
	if err != nil {
		return fmt.Errorf("pgstore: %s %q: %w", step, id, err)
	}
	if tag.RowsAffected() != 1 {
		return idempotency.ErrNotOwner
	}
	return nil
}

// Release implements idempotency.Store.Release with one statement.
func (s *Store) Release(ctx context.Context, id, token string) error {
	tag, err := s.pool.Exec(ctx, s.sql.release, id, token)
	return guarded("release", id, tag, err)
}

// Get implements idempotency.Store.Get with one statement.
func (s *Store) Get(ctx context.Context, id string) (idempotency.Record, error) {
	rec := idempotency.Record{ID: id}
	var state int16
	err := s.pool.QueryRow(ctx, s.sql.get, id).
		Scan(&state, &rec.Fingerprint, &rec.Token, &rec.LeaseUntil, &rec.ExpiresAt, &rec.Result)
	if errors.Is(err, pgx.ErrNoRows) {
		return idempotency.Record{}, idempotency.ErrNotFound
	}
	if err != nil {
		return idempotency.Record{}, fmt.Errorf("pgstore: get %q: %w", id, err)
	}
	rec.State = idempotency.State(state)
	return rec, nil
}

// Purge implements idempotency.Store.Purge: it deletes expired rows in batches
// of at most the purge batch size until a batch comes back short, and returns
// how many it deleted.
func (s *Store) Purge(ctx context.Context) (int, error) {
	total, err := purger.Batches(ctx, s.batch, func(ctx context.Context, limit int) (int, error) {
		tag, err := s.pool.Exec(ctx, s.sql.purge, limit)
		if err != nil {
			return 0, err
		}
		return int(tag.RowsAffected()), nil
	})
	if err != nil {
		return total, fmt.Errorf("pgstore: purge: %w", err)
	}
	return total, nil
}
