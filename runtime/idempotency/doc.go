// Package idempotency is the runtime that makes unsafe HTTP operations (and
// non-HTTP work such as message consumers) idempotent: a request carrying an
// idempotency key runs its handler at most once per key; repeats get the
// stored response back, byte for byte, with Idempotent-Replayed: true.
//
// A Policy (the Go form of the x-idempotent OpenAPI extension) says where the
// key comes from, what scopes it, what must match on reuse, how long records
// live and which outcomes are stored. New validates and compiles it once;
// the returned Middleware wraps a net/http handler (Wrap), runs functions
// (Do), and answers status lookups (Status, StatusKey, StatusHandler).
//
// Records live in a Store (runtime/store/memstore, and Redis, PostgreSQL and
// SQLite stores); every Store passes the conformance suite in
// runtime/store/storetest. Each request goes through six steps:
//
//  1. Key: read and validate the key (400 problem+json when invalid, or
//     missing and required).
//  2. Record id: a SHA-256 of operation, scope values and key.
//  3. Fingerprint: a SHA-256 of method, path, query and the canonical JSON
//     body (or the raw body when it is not JSON), per Policy.Fingerprint.
//  4. Claim: create an in-flight record with a lease and a random fencing
//     token; or replay a completed record, answer 422 on a fingerprint
//     mismatch, 409 + Retry-After while in flight (or wait, with
//     ConcurrentWait), and take over claims whose lease expired.
//  5. Complete: store a cached outcome (status in Policy.Cache, body within
//     MaxBodyBytes) if the token still owns the claim, then send it; release
//     the claim otherwise (also on panic, which is re-raised).
//  6. Store unavailable: 503 + Retry-After (fail-closed) unless FailOpen.
//
// Every error the runtime produces itself is application/problem+json
// (RFC 9457). docs/runtime.md shows complete programs.
package idempotency
