package idempotency

import (
	"context"
	"errors"
	"hash/maphash"
	"strings"
	"time"
)

// State is the lifecycle state of an idempotency record.
type State uint8

const (
	// StateInFlight means a worker holds the claim (until LeaseUntil) and runs the handler.
	StateInFlight State = 1
	// StateCompleted means the outcome is stored in Record.Result and is replayed until ExpiresAt.
	StateCompleted State = 2
	// StateIssued means the server issued the key (runtime/issuedkey) but no request used it yet.
	StateIssued State = 3
)

// String returns "in_flight", "completed" or "issued".
func (s State) String() string {
	switch s {
	case StateInFlight:
		return "in_flight"
	case StateCompleted:
		return "completed"
	case StateIssued:
		return "issued"
	}
	return "unknown"
}

// Record is one idempotency record as a Store keeps it.
type Record struct {
	// ID is the hashed record id (operation + scope + key); it never holds raw user bytes.
	ID string
	// State is StateInFlight or StateCompleted (or StateIssued).
	State State
	// Fingerprint identifies the request payload (hex SHA-256; with an
	// InProcess store, 128 hex-encoded bits of a seeded hash). A reuse of the key
	// with another fingerprint is a mismatch. With a Peeker store the middleware
	// appends "." and a raw-bytes hash; compare fingerprints with SameFingerprint.
	Fingerprint string
	// Token is the fencing token of the worker that holds (or last held) the claim.
	Token string
	// LeaseUntil is when an in-flight claim may be taken over by another worker.
	LeaseUntil time.Time
	// ExpiresAt is when the record stops existing (completed: ttl; in flight: the lease).
	ExpiresAt time.Time
	// Result is the stored outcome of a completed record, opaque to the store.
	Result []byte
}

// Claim is the answer of Store.Claim.
type Claim struct {
	// Acquired reports that the caller now owns the in-flight claim with the token it passed.
	Acquired bool
	// TookOver reports that the claim was acquired from an in-flight record whose lease had expired.
	TookOver bool
	// Existing is the record that prevented the claim (when Acquired is false). A store
	// fills Fingerprint, State, LeaseUntil, ExpiresAt and, for completed records, Result.
	Existing Record
}

// Store keeps idempotency records. Every method is atomic on its own: backends put
// the whole step in one operation (a Lua script, one SQL statement, one locked section),
// so that concurrent callers on many processes observe a single order.
//
// Times are the store's own clock (the server's for Redis and PostgreSQL). Expired
// records (ExpiresAt in the past) are treated by every method as absent.
type Store interface {
	// Claim atomically:
	//   - with no live record for id (a StateIssued record counts as none, and so
	//     does an in-flight record whose lease has expired: its ExpiresAt is the
	//     lease end): creates an in-flight record with fingerprint, token and a
	//     lease of lease from now, and returns Acquired=true. TookOver reports that
	//     an expired in-flight record was replaced, when the store can tell (Redis
	//     expires the key by itself and cannot);
	//   - otherwise: changes nothing and returns Acquired=false with Existing set.
	// token is chosen by the caller and unique per attempt.
	Claim(ctx context.Context, id, fingerprint, token string, lease time.Duration) (Claim, error)

	// Complete stores result for id and marks it completed for ttl, only if token
	// still owns the in-flight claim. Otherwise it returns ErrNotOwner and changes nothing.
	// A worker whose lease ran out still owns the claim until another claim
	// replaces it; a store that has already dropped the expired claim answers
	// ErrNotOwner. Either way no other worker's outcome is ever overwritten.
	// result belongs to the caller (it reuses the buffer): a store that keeps the
	// bytes past the call must copy them.
	Complete(ctx context.Context, id, token string, result []byte, ttl time.Duration) error

	// Release deletes the in-flight record for id, only if token still owns it.
	// Otherwise it returns ErrNotOwner and changes nothing.
	Release(ctx context.Context, id, token string) error

	// Get returns the live record for id, or ErrNotFound.
	Get(ctx context.Context, id string) (Record, error)

	// Purge deletes expired records, in bounded batches, and returns how many it
	// deleted. Stores whose backend expires keys by itself (Redis) return 0, nil.
	Purge(ctx context.Context) (int, error)
}

// AtomicStore is implemented by stores that can commit the handler's own business
// writes and the completed record in one transaction (PostgreSQL's atomic mode).
type AtomicStore interface {
	Store
	// Begin starts a transaction for the claim (id, token) and returns a context
	// that carries it (for the handler to write through) and the transaction.
	Begin(ctx context.Context, id, token string) (context.Context, AtomicTx, error)
}

// AtomicTx is a transaction opened by AtomicStore.Begin.
type AtomicTx interface {
	// Complete writes the completed record (guarded by the fencing token) in the
	// transaction and commits it with the handler's writes. ErrNotOwner rolls back.
	// As with Store.Complete, result belongs to the caller.
	Complete(ctx context.Context, result []byte, ttl time.Duration) error
	// Rollback abandons the transaction; the claim itself is released separately.
	Rollback(ctx context.Context) error
}

// Peeker is implemented by a Store whose records live in the middleware's own
// process (memstore), so that a lookup costs no I/O. With one, the middleware
// looks a request's record up before fingerprinting the request, and answers
// a byte-for-byte repeat of a completed request without canonicalising and
// hashing its body: to recognise the repeat it appends to the fingerprint it
// stores a hash of the raw request (see docs/runtime.md, "Replay fast path").
type Peeker interface {
	// PeekCompleted returns the fingerprint and result of the live completed
	// record whose id is the bytes id, or ok=false (no record, expired, in
	// flight or issued). It must not wait on I/O. result is read-only.
	PeekCompleted(id []byte) (fingerprint string, result []byte, ok bool)
}

// PeekAppender is a Peeker that copies what it finds into a buffer of the
// caller's. A store whose record memory is reused once a record is deleted
// (memstore keeps its records outside the Go heap) must copy whatever it
// hands out; into a buffer the middleware reuses, a replay costs no
// allocation.
type PeekAppender interface {
	Peeker
	// AppendCompleted is PeekCompleted that appends the fingerprint, then the
	// result, to dst and returns the extended slice and the fingerprint's
	// length: buf[len(dst):len(dst)+fpLen] is the fingerprint and the rest of
	// buf the result. Nothing returned aliases the store's memory.
	AppendCompleted(dst, id []byte) (buf []byte, fpLen int, ok bool)
}

// InProcess is implemented by a Store whose records never leave this process
// and end with it (memstore): no other process ever reads a fingerprint it
// keeps. The middleware then hashes fingerprint pre-images with hash/maphash
// under the store's secret seed, 128 bits, instead of SHA-256, which costs
// about 0.6 µs less per request with a 1 KiB body (see docs/runtime.md,
// "In-process fingerprints"). Every Middleware on the store uses the same
// seed, so they agree on fingerprints; a store shared between processes, or
// one that persists records, must not implement it.
type InProcess interface {
	// FingerprintSeed returns the store's secret seed: random, made once per
	// store, the same for all its life and never disclosed.
	FingerprintSeed() maphash.Seed
}

// SameFingerprint reports whether two record fingerprints identify the same
// payload: whether they are equal up to their first '.', where the middleware
// appends the raw-bytes hash of a request it stores in a Peeker store. A
// Peeker store compares fingerprints with it (a takeover needs the same
// payload, not the same bytes).
func SameFingerprint(a, b string) bool {
	return canonicalPart(a) == canonicalPart(b)
}

func canonicalPart(fp string) string {
	if i := strings.IndexByte(fp, '.'); i >= 0 {
		return fp[:i]
	}
	return fp
}

var (
	// ErrNotFound is returned by Store.Get when there is no live record.
	ErrNotFound = errors.New("idempotency: record not found")
	// ErrNotOwner is returned when a fencing token no longer owns the claim.
	ErrNotOwner = errors.New("idempotency: fencing token does not own the claim")
)
