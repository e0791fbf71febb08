package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"runtime"
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
	select {
	case s.ops <- op:
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-s.writerDone:
		return 0, errClosed
	}
	// Once taken the write is done (or fails) within the busy timeout.
	<-op.done
	return op.n, op.err
}

// runWriter takes writes until stop closes, batching those that are waiting.
func (s *Store) runWriter(stop <-chan struct{}) {
	defer close(s.writerDone)
	batch := make([]*writeOp, 0, maxBatch)
	for {
		select {
		case op := <-s.ops:
			batch = append(batch[:0], op)
		case <-stop:
			return
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
			var res sql.Result
			res, err = tx.StmtContext(ctx, op.stmt).ExecContext(ctx, op.args...)
			if err == nil {
				op.n, err = res.RowsAffected()
			}
			if err != nil {
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
	op.n = 0
	if op.err = op.ctx.Err(); op.err != nil {
		return
	}
	res, err := op.stmt.ExecContext(context.WithoutCancel(op.ctx), op.args...)
	if err == nil {
		op.n, err = res.RowsAffected()
	}
	op.err = err
}
