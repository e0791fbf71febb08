package pgstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// migrations are the schema versions, in order; migrations[i] brings the schema
// to version i+1. {{table}} stands for the quoted table, {{prefix}} for its bare
// name (without schema), for the names of its indexes.
// Append only: a released step never changes.
var migrations = []string{
	`CREATE TABLE IF NOT EXISTS {{table}} (
  id          text PRIMARY KEY,
  state       smallint NOT NULL,
  fingerprint text NOT NULL,
  token       text NOT NULL,
  lease_until timestamptz NOT NULL,
  expires_at  timestamptz NOT NULL,
  result      bytea
);
CREATE INDEX IF NOT EXISTS {{prefix}}_expires_at_idx ON {{table}} (expires_at);`,
}

// SchemaVersion is the schema version New brings a table to.
var SchemaVersion = len(migrations)

// migrate brings table to SchemaVersion in one transaction. A transaction-scoped
// advisory lock keyed by the table name serializes replicas that start together:
// the first applies the missing steps, the others then find nothing to do.
func migrate(ctx context.Context, pool *pgxpool.Pool, table string) error {
	parts := strings.Split(table, ".")
	name := parts[len(parts)-1]
	versions := append(parts[:len(parts)-1:len(parts)-1], name+"_schema")
	vt := pgx.Identifier(versions).Sanitize()

	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('idemgen/pgstore:' || $1))`, table); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+vt+` (
  version    integer PRIMARY KEY,
  applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
			return err
		}
		var have int
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM `+vt).Scan(&have); err != nil {
			return err
		}
		if have > len(migrations) {
			return fmt.Errorf("schema version %d is newer than this program's %d", have, len(migrations))
		}
		for v := have + 1; v <= len(migrations); v++ {
			step := strings.NewReplacer("{{table}}", ident(table), "{{prefix}}", name).Replace(migrations[v-1])
			if _, err := tx.Exec(ctx, step); err != nil {
				return fmt.Errorf("step %d: %w", v, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO `+vt+` (version) VALUES ($1)`, v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("pgstore: migrate %q: %w", table, err)
	}
	return nil
}
