// Package memstore is an in-process idempotency.Store: for tests, single
// process servers and development. It is safe for concurrent use (records are
// spread over independently locked shards), bounded (WithMaxRecords evicts
// completed records, never an in-flight claim) and expires records with a
// sweeper goroutine that Close stops. It is an idempotency.Peeker: the
// middleware answers a byte-identical replay from a lookup, without
// fingerprinting the request (docs/runtime.md, "Replay fast path").
//
// # Memory
//
// Records (id, fingerprint, token, times and the stored answer, back to back)
// live in slabs of anonymous memory mapped outside the Go heap (plain,
// pointer-free heap chunks on systems without mmap), indexed per shard by a
// map from a seeded hash of the id to a 32-bit slot handle, with the stored
// id compared on every lookup. Nothing per record holds a pointer, so the
// garbage collector neither scans the records nor lets the heap grow to
// twice their size before collecting (GOGC): a stored key costs its record,
// rounded to a size class, plus its index entry. A deleted, expired or
// evicted record's slot goes on its size class's free list for the next
// record of that size; the memory stays mapped until Close, which releases
// it (every method then returns ErrClosed).
//
// Because slots are reused, nothing the store hands out aliases them: Get,
// Claim's Existing and PeekCompleted copy the record out in one allocation,
// and AppendCompleted (idempotency.PeekAppender) copies it into a buffer of
// the caller's, so a replay through the middleware allocates nothing here.
package memstore
