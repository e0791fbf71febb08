package pgstore_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/idemgen/idemgen/runtime/store/pgstore"
	"github.com/idemgen/idemgen/runtime/store/storetest"
)

// TestConformance runs the shared Store suite against the machine's PostgreSQL,
// each subtest in a table of its own, with the AtomicStore capability hook: a
// handler's business write is a row in a table of the subtest's own, written
// through the transaction pgstore.TxFromContext returns.
func TestConformance(t *testing.T) {
	storetest.RunSubjects(t, func(t *testing.T) storetest.Subject {
		s, pool, table := newStore(t)
		writes := table + "_writes"
		ctx := context.Background()
		if _, err := pool.Exec(ctx, "CREATE TABLE "+writes+" (name text PRIMARY KEY)"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { pool.Exec(context.Background(), "DROP TABLE IF EXISTS "+writes) })
		return storetest.Subject{
			Store: s,
			Write: func(ctx context.Context, name string) error {
				tx, ok := pgstore.TxFromContext(ctx)
				if !ok {
					return errors.New("no transaction in the handler's context")
				}
				_, err := tx.Exec(ctx, "INSERT INTO "+writes+" (name) VALUES ($1)", name)
				return err
			},
			Committed: func(ctx context.Context, name string) (bool, error) {
				var n string
				err := pool.QueryRow(ctx, "SELECT name FROM "+writes+" WHERE name = $1", name).Scan(&n)
				if errors.Is(err, pgx.ErrNoRows) {
					return false, nil
				}
				if err != nil {
					return false, fmt.Errorf("reading %s: %w", writes, err)
				}
				return true, nil
			},
		}
	})
}
