// Package pgstore keeps idempotency records in PostgreSQL (pgx/v5 pool).
//
// New migrates its table on start: an embedded, versioned migration that runs
// under a transaction-scoped advisory lock, so many replicas starting at once
// apply it exactly once. The table (default idempotency_records) is
//
//	id          text PRIMARY KEY   hashed record id
//	state       smallint           1 in flight, 2 completed, 3 issued
//	fingerprint text               request fingerprint
//	token       text               fencing token of the owning attempt
//	lease_until timestamptz        end of the in-flight lease
//	expires_at  timestamptz        logical expiry (indexed, for the purger)
//	result      bytea              stored outcome of a completed record
//
// Every Store step is one SQL statement: Claim is a single INSERT … ON CONFLICT
// … DO UPDATE … WHERE (record expired or lease expired) that also reports the
// record that prevented the claim; Complete and Release are single statements
// guarded by the fencing token. Times are the database server's
// (clock_timestamp()), never the caller's.
//
// Claim and Complete, the steps of every first request, run on pgconn rather
// than pgx's Query and Exec, to spend less of the machine's CPU per statement:
// prepared once per connection under idemgen_<hash> names in pgx's default
// exec mode (cache_statement), unprepared in the others. A pool's QueryTracer
// still sees them, without their arguments.
//
// A background purger deletes expired rows in bounded batches (see
// WithPurgeInterval, WithPurgeBatch) and stops on Close.
//
// # Atomic mode
//
// Store is an idempotency.AtomicStore: Begin opens a transaction that the
// handler reaches with TxFromContext, and AtomicTx.Complete writes the completed
// record in that same transaction and commits it. The handler's business writes
// and its idempotency record then commit together or not at all, so a crash
// after the business commit can never lead to a second execution.
package pgstore
