// Package memstore is an in-process idempotency.Store: for tests, single
// process servers and development. It is safe for concurrent use (records are
// spread over independently locked shards), bounded (WithMaxRecords evicts
// completed records, never an in-flight claim) and expires records with a
// sweeper goroutine that Close stops. It is an idempotency.Peeker: the
// middleware answers a byte-identical replay from a lookup, without
// fingerprinting the request (docs/runtime.md, "Replay fast path").
package memstore
