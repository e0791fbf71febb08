package pgstore_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/idemgen/idemgen/runtime/store/pgstore"
	"github.com/idemgen/idemgen/runtime/store/storetest"
)

// TestConformance runs the shared Store suite against the machine's PostgreSQL,
// each subtest in a table of its own, with the AtomicStore capability hook: a
// handler's business write is a row in a table of the subtest's own, written
// through the transaction pgstore.TxFromContext returns.
func TestConformance(t *testing.T) { conformance(t, pgURL()) }

// TestConformanceUnprepared runs the suite on a pool that keeps no prepared
// statements (as behind a pooler in transaction mode): the store then parses
// its statements on each run.
func TestConformanceUnprepared(t *testing.T) {
	u, err := url.Parse(pgURL())
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("default_query_exec_mode", "exec")
	u.RawQuery = q.Encode()
	conformance(t, u.String())
}

func conformance(t *testing.T, url string) {
	storetest.RunSubjects(t, func(t *testing.T) storetest.Subject {
		s, pool, table := newStoreURL(t, url)
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
