// Package sqlitestore keeps idempotency records in an SQLite file
// (modernc.org/sqlite: pure Go, no cgo). It is the embedded store that survives
// restarts, for single-node services and the examples.
//
// The database runs in WAL mode with a busy timeout, so several processes on one
// host may share the file. A Store has one writer connection (SQLite admits one
// writer at a time, so the process's writes queue in Go rather than on SQLite's
// busy handler) and a few read-only ones. Claim claims with one conditional
// upsert (insert, or take over an issued or expired row) that is atomic on its
// own, and reads a live row on a reader. Which comes first follows recent
// claims: the read, when most found a live record (so replays and conflicts
// never take the write lock); a plain insert, which claims an id that has no
// row, when most were new ids (a read would find nothing, at the cost of a
// descent through a reader's page cache that every commit invalidates). Writes from concurrent callers are committed
// together by one writer goroutine (group commit). Complete and Release are
// one guarded statement each. All statements are prepared once; the writer
// goroutine holds the writer connection and runs its statements (BEGIN and
// COMMIT included) on the driver's connection, outside database/sql's pool. On
// Linux the connections use a VFS over SQLite's unix VFS that writes the
// frames of a transaction to the WAL with one pwrite (the unix VFS makes two
// per frame) and reads WAL frames from a read-only mapping; what reaches the
// file, and when, is unchanged (see walVFS). Times are the process clock, in
// Unix microseconds.
//
// Durability: synchronous=NORMAL in WAL mode syncs the WAL at checkpoints, not
// at every commit. The store checkpoints when the WAL reaches 4000 pages and
// within a second of any write. A crash of the process loses nothing; a power
// loss or an OS crash can lose the commits since the last checkpoint (about
// the last second, at most 4000 pages of WAL): a lost claim or completed
// record means that a retry of that key runs the handler again, as it would
// after the record's TTL. Use pgstore where that matters.
//
// The table idempotency_records has the same columns as pgstore's (id, state,
// fingerprint, token, lease_until, expires_at, result), is a rowid table (so a
// ~1 KiB result sits in its leaf rather than an overflow page of the id's
// b-tree) and has an index on expires_at; its schema version lives in idempotency_schema. A background
// purger deletes expired rows in bounded batches and stops on Close.
package sqlitestore
