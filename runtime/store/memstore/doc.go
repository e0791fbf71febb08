// Package memstore is an in-process idempotency.Store: for tests, single
// process servers and development. It is safe for concurrent use (records are
// spread over independently locked shards), bounded (WithMaxRecords evicts
// completed records, never an in-flight claim) and expires records with a
// sweeper goroutine that Close stops.
package memstore
