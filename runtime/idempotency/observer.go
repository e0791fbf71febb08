package idempotency

import (
	"context"
	"time"
)

// Outcome is what the runtime did with one request or Do call.
type Outcome uint8

const (
	// OutcomeExecuted: the handler ran and its outcome was stored for replay.
	OutcomeExecuted Outcome = iota + 1
	// OutcomeReplayed: a stored outcome was replayed; the handler did not run.
	OutcomeReplayed
	// OutcomeConflict: the key is in flight elsewhere (409, or ErrInFlight from Do).
	OutcomeConflict
	// OutcomeMismatch: the key was reused with another payload (422, or ErrMismatch).
	OutcomeMismatch
	// OutcomeRejectedKey: the key was missing or invalid, or the request could not
	// be deduplicated (body over MaxRequestBytes, unknown principal): a 4xx.
	OutcomeRejectedKey
	// OutcomeStoreError: the store failed. Fail-closed answered 503; fail-open ran
	// the handler without deduplication. Err holds the store's error.
	OutcomeStoreError
	// OutcomeTakeover: the request took over an in-flight claim whose lease had
	// expired. It is reported in addition to the request's final outcome.
	OutcomeTakeover
	// OutcomeNotCached: the handler ran but its outcome was not stored (status not
	// in cache, body over MaxBodyBytes, streamed or hijacked response, panic,
	// error from Do's fn, or the claim was lost to a takeover). A retry runs again.
	OutcomeNotCached
	// OutcomeNoKey: no key and the key is optional; the handler ran without a record.
	OutcomeNoKey
)

var outcomeNames = [...]string{
	OutcomeExecuted:    "executed",
	OutcomeReplayed:    "replayed",
	OutcomeConflict:    "conflict",
	OutcomeMismatch:    "mismatch",
	OutcomeRejectedKey: "rejected_key",
	OutcomeStoreError:  "store_error",
	OutcomeTakeover:    "takeover",
	OutcomeNotCached:   "not_cached",
	OutcomeNoKey:       "no_key",
}

// String returns the outcome's snake_case name, e.g. "replayed".
func (o Outcome) String() string {
	if int(o) < len(outcomeNames) && outcomeNames[o] != "" {
		return outcomeNames[o]
	}
	return "unknown"
}

// Event describes one outcome.
type Event struct {
	// Operation is the policy's operation id.
	Operation string
	// Outcome is what happened.
	Outcome Outcome
	// Status is the HTTP status sent (0 for Do calls).
	Status int
	// Latency is the time from the request's arrival to the outcome.
	Latency time.Duration
	// StoreLatency is the part of Latency spent in the store's calls: the
	// claim (and, under concurrent: wait, the polling reads while another
	// request holds the key, not the sleeps between them), the atomic
	// transaction's Begin, and the completion. Zero for outcomes decided
	// before the store was asked (rejected_key, no_key).
	StoreLatency time.Duration
	// HandlerLatency is the part of Latency the handler (or Do's fn) ran;
	// zero when it did not run (replayed, conflict, mismatch...) or panicked.
	HandlerLatency time.Duration
	// Key is the idempotency key the request carried, once it was read and
	// found valid (empty before, and without a key). It is the caller's raw
	// key: an Observer that records it should record KeyHash(Key), never
	// Key, as a key may be a guessable business value or a bearer of rights.
	Key string
	// Err is the error behind the outcome, if any (store error, panic value, fn error).
	Err error
}

// Observer receives one Event per request or Do call (plus an OutcomeTakeover
// event when a claim is taken over). Observe is called synchronously on the
// request's goroutine, so it must be fast and safe for concurrent use.
type Observer interface {
	Observe(ctx context.Context, e Event)
}

// ObserverFunc adapts a function to Observer.
type ObserverFunc func(ctx context.Context, e Event)

// Observe calls f(ctx, e).
func (f ObserverFunc) Observe(ctx context.Context, e Event) { f(ctx, e) }

// arrival is one request's (or Do call's) start and what its Event reports
// besides the outcome. It lives on the caller's stack; with no Observer the
// times stay zero and are not taken.
type arrival struct {
	at             time.Time // zero when nothing observes
	key            string
	store, handler time.Duration
}

// now returns the current time when the request is timed, else zero.
func (a *arrival) now() time.Time {
	if a.at.IsZero() {
		return time.Time{}
	}
	return time.Now()
}

// since returns the time since t, a value of now: zero when t is.
func (a *arrival) since(t time.Time) time.Duration {
	if t.IsZero() {
		return 0
	}
	return time.Since(t)
}

// monoBase is the origin of monotonic.
var monoBase = time.Now()

// monotonic reads only the monotonic clock (time.Since of a time that
// carries a monotonic reading): the handler's duration, which every
// execution measures, needs nothing else, and time.Now also reads the wall
// clock (about twice the cost).
func monotonic() time.Duration { return time.Since(monoBase) }
