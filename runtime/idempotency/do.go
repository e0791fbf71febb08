package idempotency

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Do runs fn at most once per (scope, key) under the policy and returns its
// result; a repeat with the same payload returns the stored result with
// replayed=true without calling fn. It serves non-HTTP work such as message
// consumers with at-least-once delivery: use the message id (or a business
// key) as key and the tenant, if any, as scope.
//
// payload is fingerprinted like an HTTP body (canonical JSON, else raw bytes);
// a repeat with another payload returns ErrMismatch. While another attempt
// holds the claim Do returns ErrInFlight, or with ConcurrentWait waits up to
// the lease for it. An error (or panic) from fn is returned (re-panicked) and
// releases the claim, so a redelivery runs fn again; results over
// MaxBodyBytes are returned but not stored. A store failure returns an error
// wrapping ErrStoreUnavailable, or under FailOpen runs fn without
// deduplication. An empty key is an ErrInvalidKey unless the key is optional,
// in which case fn just runs.
//
// With WithAtomic and an AtomicStore, fn receives the transaction's context
// and its writes commit together with the stored result.
func (m *Middleware) Do(ctx context.Context, scope, key string, payload []byte, fn func(context.Context) ([]byte, error)) (result []byte, replayed bool, err error) {
	start := &arrival{at: time.Now()}
	c := m.c
	if key == "" && !c.required {
		t := start.now()
		res, err := fn(ctx)
		start.handler = start.since(t)
		m.observe(ctx, start, OutcomeNoKey, 0, err)
		return res, false, err
	}
	if err := checkKey(key, c.maxKeyLen); err != nil {
		m.observe(ctx, start, OutcomeRejectedKey, 0, err)
		return nil, false, err
	}
	if err := c.checkFormat(key); err != nil {
		m.observe(ctx, start, OutcomeRejectedKey, 0, err)
		return nil, false, err
	}
	if m.verify != nil {
		// Do has no request: its scope is the principal an issued key is bound to.
		if _, err := m.verifyKey(ctx, key, scope); err != nil {
			m.observe(ctx, start, OutcomeRejectedKey, 0, err)
			return nil, false, err
		}
	}
	start.key = key
	st := getState()
	var id string
	st.pre.out, id = doID(st.pre.out, c.op, scope, key)
	var raw uint64
	if m.peek != nil {
		// The replay fast path, as in serve.
		raw = m.payloadRawPrint(payload)
		copy(st.attempt[:64], id)
		t0 := start.now()
		fp, res, ok := m.peek.PeekCompleted(st.attempt[:64])
		start.store += start.since(t0)
		if ok && rawMatches(fp, raw) {
			putState(st)
			return m.doReplay(ctx, start, res)
		}
	}
	fp := m.payloadFingerprint(&st.pre, payload, m.peek != nil, raw)
	putState(st)
	token := newToken()

	cl, err := m.acquire(ctx, start, id, fp, token)
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			m.observe(ctx, start, OutcomeStoreError, 0, err)
			return nil, false, cerr // canceled, not an outage
		}
		if c.failOpen {
			m.log.WarnContext(ctx, "idempotency: store unavailable, running without deduplication (fail-open)", "operation", c.op, "err", err)
			t := start.now()
			res, ferr := fn(ctx)
			start.handler = start.since(t)
			m.observe(ctx, start, OutcomeStoreError, 0, err)
			return res, false, ferr
		}
		m.observe(ctx, start, OutcomeStoreError, 0, err)
		return nil, false, fmt.Errorf("%w: %w", ErrStoreUnavailable, err)
	}
	if !cl.Acquired {
		ex := cl.Existing
		switch {
		case !SameFingerprint(ex.Fingerprint, fp):
			m.observe(ctx, start, OutcomeMismatch, 0, ErrMismatch)
			return nil, false, ErrMismatch
		case ex.State == StateCompleted:
			return m.doReplay(ctx, start, ex.Result)
		default:
			m.observe(ctx, start, OutcomeConflict, 0, ErrInFlight)
			return nil, false, ErrInFlight
		}
	}
	if cl.TookOver {
		m.observe(ctx, start, OutcomeTakeover, 0, nil)
		if m.log.Enabled(ctx, slog.LevelInfo) {
			m.log.InfoContext(ctx, "idempotency: took over an expired claim", "operation", c.op, "record", id)
		}
	}
	return m.runDo(ctx, start, id, token, fn)
}

// doReplay returns the stored result of a completed Do record.
func (m *Middleware) doReplay(ctx context.Context, start *arrival, stored []byte) ([]byte, bool, error) {
	res, err := decodeDo(stored)
	if err != nil {
		m.observe(ctx, start, OutcomeStoreError, 0, err)
		return nil, false, fmt.Errorf("%w: %w", ErrStoreUnavailable, err)
	}
	m.observe(ctx, start, OutcomeReplayed, 0, nil)
	// An in-process store hands out the stored bytes themselves: the caller
	// owns what Do returns, and changing it must not change the record.
	return bytes.Clone(res), true, nil
}

func (m *Middleware) runDo(ctx context.Context, start *arrival, id, token string, fn func(context.Context) ([]byte, error)) (result []byte, replayed bool, err error) {
	c := m.c
	bg := context.WithoutCancel(ctx)
	fnCtx := ctx
	var tx AtomicTx
	if m.atomic != nil {
		t0 := start.now()
		txCtx, t, err := m.atomic.Begin(ctx, id, token)
		start.store += start.since(t0)
		if err != nil {
			m.release(bg, id, token)
			m.observe(ctx, start, OutcomeStoreError, 0, err)
			return nil, false, fmt.Errorf("%w: %w", ErrStoreUnavailable, err)
		}
		tx, fnCtx = t, txCtx
	}
	done := false
	defer m.releaseOnPanic(ctx, bg, tx, id, token, start, nil, &done)
	t0 := start.now()
	res, ferr := fn(fnCtx)
	start.handler = start.since(t0)
	done = true
	if ferr != nil || int64(len(res)) > c.maxBody {
		m.abort(bg, tx, id, token)
		m.observe(ctx, start, OutcomeNotCached, 0, ferr)
		return res, false, ferr
	}
	enc := encodeDo(res)
	t0 = start.now()
	if tx != nil {
		err = tx.Complete(bg, enc, c.ttl)
	} else {
		err = m.store.Complete(bg, id, token, enc, c.ttl)
	}
	start.store += start.since(t0)
	switch {
	case err == nil:
		m.observe(ctx, start, OutcomeExecuted, 0, nil)
	case tx != nil:
		// The transaction (fn's own writes included) did not commit.
		_ = tx.Rollback(bg)
		m.release(bg, id, token)
		m.observe(ctx, start, OutcomeStoreError, 0, err)
		if errors.Is(err, ErrNotOwner) {
			return nil, false, fmt.Errorf("%w: the claim was taken over; fn's writes were rolled back: %w", ErrInFlight, err)
		}
		return nil, false, fmt.Errorf("%w: commit failed; fn's writes were rolled back: %w", ErrStoreUnavailable, err)
	case errors.Is(err, ErrNotOwner):
		m.log.WarnContext(ctx, "idempotency: result not stored: the claim was taken over (lease expired)", "operation", c.op, "record", id)
		m.observe(ctx, start, OutcomeNotCached, 0, err)
	default:
		m.release(bg, id, token)
		m.log.ErrorContext(ctx, "idempotency: result not stored: store failed", "operation", c.op, "record", id, "err", err)
		m.observe(ctx, start, OutcomeStoreError, 0, err)
	}
	// fn ran; its result stands even when it could not be stored.
	return res, false, nil
}

// releaseOnPanic, deferred, rolls back and releases the claim when the
// handler or fn it guards panics (done still false), then re-raises the
// panic. A panicking handler's buffered response (cw) is dropped, as net/http
// drops the unflushed response of a panicking handler.
func (m *Middleware) releaseOnPanic(ctx, bg context.Context, tx AtomicTx, id, token string, start *arrival, cw *capture, done *bool) {
	if *done {
		return
	}
	v := recover()
	m.abort(bg, tx, id, token)
	status := 0
	if cw != nil {
		status = cw.status
	}
	m.observe(ctx, start, OutcomeNotCached, status, panicError(v))
	panic(v)
}

// panicError is the Event.Err of a panic with value v.
func panicError(v any) error {
	if err, ok := v.(error); ok {
		return err
	}
	return fmt.Errorf("idempotency: panic: %v", v)
}
