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
// # Group commit
//
// Concurrent Claim and Complete calls share transactions: a call that finds
// a connection's round trip free sends its statement at once, alone and
// autocommit (so a lone request still costs two round trips, a replay one);
// calls that arrive while two such round trips are in flight queue, and the
// next free one sends everything queued (up to 64 statements, one per call,
// in the order of their ids, at most one per id) as one transaction in one
// round trip: one commit and one WAL flush for all of them, where most of
// PostgreSQL's work for a statement of the hot path is its transaction. Each
// call is answered with its own statement's result, only after that
// transaction has committed, so a claim is durable when it is acknowledged,
// as before. When a statement fails, the transaction rolls back and each call
// runs its statement again alone; when the connection is lost, whether it
// committed is unknown and each call gets the error. A call whose context
// ends while queued is withdrawn; once sent, its statement may still commit
// (as a lone statement may when the cancellation comes late), and the round
// trip is cancelled only when every call in it has given up.
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
