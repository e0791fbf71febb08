package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"runtime"
	"time"
)

// maxBatch bounds how many writes share one transaction.
const maxBatch = 64

var errClosed = errors.New("sqlitestore: store closed")

// writeOp is one write statement waiting for the writer goroutine.
type writeOp struct {
	ctx  context.Context
	stmt *sql.Stmt
	args []any
	n    int64 // rows affected
	err  error
	done chan struct{}
}

// write runs stmt with args on the writer connection and returns the rows it
// affected. Concurrent writes are committed together (group commit): one
// SQLite transaction costs a lock round and a WAL append whatever it holds,
// so under load that cost is shared by every write that queued behind it,
// and a lone write runs on its own, without waiting.
func (s *Store) write(ctx context.Context, stmt *sql.Stmt, args ...any) (int64, error) {
	op := &writeOp{ctx: ctx, stmt: stmt, args: args, done: make(chan struct{})}
	err := s.send(op)
	return op.n, err
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

// runWriter takes writes until stop closes, batching those that are waiting,
// and checkpoints within s.sync of a write (see syncInterval).
func (s *Store) runWriter(stop <-chan struct{}) {
	defer close(s.writerDone)
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
			s.checkpoint()
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
		s.runBatch(batch)
		for _, op := range batch {
			close(op.done)
		}
		clear(batch)
	}
}

// checkpoint copies the WAL's commits into the database file (PASSIVE: it
// waits for no reader and no other process's writer), syncing the WAL first.
// A failure leaves the commits in the WAL, to be synced by the next
// checkpoint; it is logged, and the writes go on.
func (s *Store) checkpoint() {
	var busy, frames, copied int
	err := s.db.QueryRowContext(context.Background(), "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &frames, &copied)
	if err != nil {
		s.log.Warn("sqlitestore: checkpoint failed", "err", err)
	}
}

// runBatch executes batch in one transaction; when a statement or the commit
// fails it rolls back and runs each write on its own, so that every write
// gets its own outcome.
func (s *Store) runBatch(batch []*writeOp) {
	if len(batch) == 1 {
		s.runOne(batch[0])
		return
	}
	ctx := context.Background()
	tx, err := s.db.BeginTx(ctx, nil)
	if err == nil {
		for _, op := range batch {
			if op.err = op.ctx.Err(); op.err != nil {
				continue // its caller gave up before the write ran
			}
			if err = op.run(ctx, tx.StmtContext(ctx, op.stmt)); err != nil {
				break
			}
		}
		if err == nil {
			err = tx.Commit()
		} else {
			_ = tx.Rollback()
		}
	}
	if err != nil {
		for _, op := range batch {
			s.runOne(op)
		}
	}
}

func (s *Store) runOne(op *writeOp) {
	if op.err = op.ctx.Err(); op.err != nil {
		return
	}
	op.err = op.run(context.WithoutCancel(op.ctx), op.stmt)
}

// run executes op's statement as stmt (the statement itself or its
// transaction's copy) and records the rows it affected.
func (op *writeOp) run(ctx context.Context, stmt *sql.Stmt) error {
	op.n = 0
	res, err := stmt.ExecContext(ctx, op.args...)
	if err == nil {
		op.n, err = res.RowsAffected()
	}
	return err
}
