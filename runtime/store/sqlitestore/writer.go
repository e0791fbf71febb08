package sqlitestore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"
)

// maxBatch bounds how many writes share one transaction.
const maxBatch = 64

var errClosed = errors.New("sqlitestore: store closed")

// wstmt names a statement of the writer connection.
type wstmt int

const (
	stInsert wstmt = iota
	stClaim
	stComplete
	stRelease
	stPurge
	stBegin
	stCommit
	stRollback
	stCheckpoint
	nWriterStmts
)

// writerSQL are the writer connection's statements, prepared once on it.
// Parameters are plain "?" where each is used once: the driver looks up the
// name of every parameter on every execution, and a "?NNN" name costs an
// allocation.
var writerSQL = [nWriterStmts]string{
	// The claim of an id that has no row, without a read before it: it
	// inserts or changes nothing. (An upsert that also says whether it took
	// over an in-flight row needs RETURNING, and SQLite opens and closes a
	// temporary b-tree for the returned row on every execution: 6% of the
	// instructions of a first request.)
	stInsert: `INSERT INTO idempotency_records
(id, state, fingerprint, token, lease_until, expires_at, result) VALUES (?, 1, ?, ?, ?, ?, NULL)
ON CONFLICT (id) DO NOTHING`,
	// The claim's one write: insert, or take over a row that counts as absent
	// (issued, or expired: an in-flight row expires with its lease). A live row
	// is left alone and no row changes.
	stClaim: `INSERT INTO idempotency_records
(id, state, fingerprint, token, lease_until, expires_at, result) VALUES (?1, 1, ?2, ?3, ?4, ?4, NULL)
ON CONFLICT (id) DO UPDATE SET state = 1, fingerprint = ?2, token = ?3, lease_until = ?4, expires_at = ?4, result = NULL
WHERE idempotency_records.state = 3 OR idempotency_records.expires_at <= ?5`,
	stComplete: `UPDATE idempotency_records SET state = 2, result = ?, expires_at = ?
WHERE id = ? AND token = ? AND state = 1`,
	stRelease: `DELETE FROM idempotency_records WHERE id = ? AND token = ? AND state = 1`,
	stPurge: `DELETE FROM idempotency_records WHERE id IN (
  SELECT id FROM idempotency_records WHERE expires_at <= ? ORDER BY expires_at LIMIT ?)`,
	// IMMEDIATE: the batch takes the write lock before its first statement,
	// so it never fails half way for want of it.
	stBegin:    `BEGIN IMMEDIATE`,
	stCommit:   `COMMIT`,
	stRollback: `ROLLBACK`,
	// PASSIVE: it waits for no reader and no other process's writer.
	stCheckpoint: `PRAGMA wal_checkpoint(PASSIVE)`,
}

// writeOp is one write statement waiting for the writer goroutine.
type writeOp struct {
	ctx  context.Context
	stmt wstmt
	args []driver.NamedValue
	argv [5]driver.NamedValue // args' storage, one allocation with the op
	n    int64                // rows affected
	err  error
	done chan struct{} // the writer's signal that the write ran (buffered: one send per use)
}

// ops recycles writeOps: a first request makes two writes, and an op (with
// its channel) is two allocations.
var ops = sync.Pool{New: func() any { return &writeOp{done: make(chan struct{}, 1)} }}

// write runs stmt with args on the writer connection and returns the rows it
// affected. Concurrent writes are committed together (group commit): one
// SQLite transaction costs a lock round and a WAL append whatever it holds,
// so under load that cost is shared by every write that queued behind it,
// and a lone write runs on its own, without waiting.
func (s *Store) write(ctx context.Context, stmt wstmt, args ...any) (int64, error) {
	op := ops.Get().(*writeOp)
	op.ctx, op.stmt, op.n, op.err = ctx, stmt, 0, nil
	op.args = op.argv[:0]
	for i, a := range args {
		op.args = append(op.args, driver.NamedValue{Ordinal: i + 1, Value: a})
	}
	err := s.send(op)
	n := op.n
	// The writer no longer holds op (it signalled, or never took it).
	op.ctx, op.args = nil, nil
	clear(op.argv[:])
	ops.Put(op)
	return n, err
}

// send queues op for the writer goroutine and waits until it ran.
func (s *Store) send(op *writeOp) error {
	ctx := op.ctx
	select {
	case s.ops <- op:
	case <-ctx.Done():
		return ctx.Err()
	case <-s.writerDone:
		return errClosed
	}
	// Once taken the write is done (or fails) within the busy timeout.
	<-op.done
	return op.err
}

// writer is the writer connection as the driver sees it, with its prepared
// statements. Only the writer goroutine uses it, inside (*sql.Conn).Raw:
// database/sql's pool, locks and argument conversion are not on the path of
// a write, and BEGIN and COMMIT are prepared like the other statements
// instead of being parsed for every batch.
type writer struct {
	stmts [nWriterStmts]driver.StmtExecContext
}

// prepareWriter prepares writerSQL on dc, the driver's connection.
func prepareWriter(dc any) (*writer, error) {
	pc, ok := dc.(driver.ConnPrepareContext)
	if !ok {
		return nil, fmt.Errorf("driver connection %T cannot prepare statements with a context", dc)
	}
	w := &writer{}
	for i, q := range writerSQL {
		st, err := pc.PrepareContext(context.Background(), q)
		if err != nil {
			w.close()
			return nil, fmt.Errorf("prepare %q: %w", q, err)
		}
		sc, ok := st.(driver.StmtExecContext)
		if !ok {
			st.Close()
			w.close()
			return nil, fmt.Errorf("driver statement %T cannot execute with a context", st)
		}
		w.stmts[i] = sc
	}
	return w, nil
}

func (w *writer) close() {
	for _, st := range w.stmts {
		if st != nil {
			st.(driver.Stmt).Close()
		}
	}
}

// exec runs one statement and returns the rows it changed. Its context has
// no Done channel: the driver then watches nothing, and a write that has
// begun ends within the busy timeout.
func (w *writer) exec(st wstmt, args []driver.NamedValue) (int64, error) {
	res, err := w.stmts[st].ExecContext(context.Background(), args)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// runWriter owns the writer connection conn until stop closes: it prepares
// the statements (reporting the outcome on ready), then takes writes,
// batching those that are waiting, and checkpoints within s.sync of a write
// (see syncInterval).
func (s *Store) runWriter(conn *sql.Conn, stop <-chan struct{}, ready chan<- error) {
	defer close(s.writerDone)
	started := false
	err := conn.Raw(func(dc any) error {
		w, err := prepareWriter(dc)
		started = true
		ready <- err
		if err != nil {
			return err
		}
		defer w.close()
		s.takeWrites(w, stop)
		return nil
	})
	if !started {
		ready <- fmt.Errorf("writer connection: %w", err)
	}
	conn.Close()
}

func (s *Store) takeWrites(w *writer, stop <-chan struct{}) {
	batch := make([]*writeOp, 0, maxBatch)
	due := time.NewTimer(s.sync)
	due.Stop()
	armed := false
	for {
		select {
		case op := <-s.ops:
			batch = append(batch[:0], op)
		case <-due.C:
			armed = false
			s.checkpoint(w)
			continue
		case <-stop:
			due.Stop()
			return
		}
		if !armed {
			due.Reset(s.sync)
			armed = true
		}
		// Let the goroutines that are ready run up to their own write first:
		// with few Ps (GOMAXPROCS=1 on a one-core server) the writer would
		// otherwise take each write the moment it is sent, and batch nothing.
		runtime.Gosched()
	drain:
		for len(batch) < maxBatch {
			select {
			case op := <-s.ops:
				batch = append(batch, op)
			default:
				break drain
			}
		}
		w.runBatch(batch)
		for _, op := range batch {
			op.done <- struct{}{} // the writer's last use of op
		}
		clear(batch)
	}
}

// checkpoint copies the WAL's commits into the database file, syncing the
// WAL first. A failure leaves the commits in the WAL, to be synced by the
// next checkpoint; it is logged, and the writes go on.
func (s *Store) checkpoint(w *writer) {
	if _, err := w.exec(stCheckpoint, nil); err != nil {
		s.log.Warn("sqlitestore: checkpoint failed", "err", err)
	}
}

// runBatch executes batch in one transaction; when a statement or the commit
// fails it rolls back and runs each write on its own, so that every write
// gets its own outcome.
func (w *writer) runBatch(batch []*writeOp) {
	if len(batch) == 1 {
		w.runOne(batch[0])
		return
	}
	_, err := w.exec(stBegin, nil)
	if err == nil {
		for _, op := range batch {
			if op.err = op.ctx.Err(); op.err != nil {
				continue // its caller gave up before the write ran
			}
			if op.n, err = w.exec(op.stmt, op.args); err != nil {
				break
			}
		}
		if err == nil {
			_, err = w.exec(stCommit, nil)
		}
		if err != nil {
			// A failed COMMIT may leave the transaction open; an error may
			// also have ended it already, and then ROLLBACK fails harmlessly.
			_, _ = w.exec(stRollback, nil)
		}
	}
	if err != nil {
		for _, op := range batch {
			w.runOne(op)
		}
	}
}

func (w *writer) runOne(op *writeOp) {
	if op.err = op.ctx.Err(); op.err != nil {
		return
	}
	op.n, op.err = w.exec(op.stmt, op.args)
}
