// Package sqlitestore keeps idempotency records in an SQLite file
// (modernc.org/sqlite: pure Go, no cgo). It is the embedded store that survives
// restarts, for single-node services and the examples.
//
// The database runs in WAL mode with a busy timeout, so several processes on one
// host may share the file. Each Store step runs in one IMMEDIATE transaction
// (the write lock is taken up front, so concurrent steps serialize instead of
// failing with SQLITE_BUSY). Times are the process clock, in Unix microseconds.
//
// The table idempotency_records has the same columns as pgstore's (id, state,
// fingerprint, token, lease_until, expires_at, result) with an index on
// expires_at; its schema version lives in idempotency_schema. A background
// purger deletes expired rows in bounded batches and stops on Close.
package sqlitestore
