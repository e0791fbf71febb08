package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/idemgen/idemgen/runtime/idempotency"
)

type txKey struct{}

// TxFromContext returns the transaction that Begin put in ctx (atomic mode). A
// handler writes its business rows through it; they commit together with the
// completed idempotency record, or not at all.
func TxFromContext(ctx context.Context) (pgx.Tx, bool) {
	tx, ok := ctx.Value(txKey{}).(pgx.Tx)
	return tx, ok
}

// Begin implements idempotency.AtomicStore.Begin: it opens a transaction for the
// claim (id, token) and returns a context carrying it (see TxFromContext). It
// does not lock the record, so duplicates still get their answer at once while
// the handler runs; the fencing token is checked by AtomicTx.Complete.
func (s *Store) Begin(ctx context.Context, id, token string) (context.Context, idempotency.AtomicTx, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return ctx, nil, fmt.Errorf("pgstore: begin %q: %w", id, err)
	}
	return context.WithValue(ctx, txKey{}, tx), &atomicTx{tx: tx, sql: s.sql.complete, id: id, token: token}, nil
}

type atomicTx struct {
	tx        pgx.Tx
	sql       string
	id, token string
}

// Complete writes the completed record in the transaction, guarded by the
// fencing token, and commits it together with the handler's writes. When the
// token no longer owns the claim (another worker took it over) it rolls back and
// returns idempotency.ErrNotOwner: the handler's writes are discarded.
func (a *atomicTx) Complete(ctx context.Context, result []byte, ttl time.Duration) error {
	if err := completeInTx(ctx, a.tx, a.sql, a.id, a.token, result, ttl); err != nil {
		_ = a.tx.Rollback(ctx)
		return err
	}
	if err := a.tx.Commit(ctx); err != nil {
		return fmt.Errorf("pgstore: commit %q: %w", a.id, err)
	}
	return nil
}

// Rollback abandons the transaction. After Complete it does nothing.
func (a *atomicTx) Rollback(ctx context.Context) error {
	if err := a.tx.Rollback(ctx); err != nil && !errors.Is(err, pgx.ErrTxClosed) {
		return fmt.Errorf("pgstore: rollback %q: %w", a.id, err)
	}
	return nil
}
