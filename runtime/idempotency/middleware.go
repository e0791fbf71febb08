package idempotency

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"net/http"
	"net/textproto"
	"strconv"
	"sync/atomic"
	"time"
)

// Errors of Do (the HTTP middleware answers them with problem+json instead).
var (
	// ErrInFlight: another attempt holds the key's claim (HTTP: 409).
	ErrInFlight = errors.New("idempotency: request with this key is in flight")
	// ErrMismatch: the key was used before with another payload (HTTP: 422).
	ErrMismatch = errors.New("idempotency: key reused with a different payload")
	// ErrStoreUnavailable wraps a store failure under fail-closed (HTTP: 503).
	ErrStoreUnavailable = errors.New("idempotency: store unavailable")
)

// replayedHeader marks a replayed response.
const replayedHeader = "Idempotent-Replayed"

// replayedTrue is replayedHeader's value, shared by every replay (as net/http
// shares its own constant header values): a full slice, so an Add appends to
// a copy.
var replayedTrue = []string{"true"}[:1:1]

// Option configures New.
type Option func(*options)

type options struct {
	observer    Observer
	logger      *slog.Logger
	principal   func(*http.Request) (string, error)
	problemType *string
	atomic      bool
	keyVerifier KeyVerifier
	private     []string
}

// WithObserver sets the Observer told about every outcome.
func WithObserver(o Observer) Option { return func(op *options) { op.observer = o } }

// WithLogger sets the logger for noteworthy events (takeovers, store errors,
// responses that could not be stored). The default is slog.Default().
func WithLogger(l *slog.Logger) Option { return func(op *options) { op.logger = l } }

// WithPrincipal supplies the "principal" scope value of a request (e.g. the
// account its auth middleware authenticated). An error or an empty principal
// answers 401: a request without a known principal cannot be scoped safely.
func WithPrincipal(f func(*http.Request) (string, error)) Option {
	return func(op *options) { op.principal = f }
}

// WithProblemType sets the base URI of the runtime's problem+json "type"
// (overriding Policy.ProblemType).
func WithProblemType(uri string) Option { return func(op *options) { op.problemType = &uri } }

// WithAtomic commits the handler's own writes and the completed record in one
// transaction when the store implements AtomicStore: after a successful claim
// the middleware calls Begin and hands the returned context to the handler
// (r.WithContext; Do passes it to fn). A cached outcome is committed with
// AtomicTx.Complete; any other outcome rolls back and releases the claim.
// With a store that does not implement AtomicStore the option has no effect
// (New logs a warning).
func WithAtomic() Option { return func(op *options) { op.atomic = true } }

// WithPrivateHeaders names more response headers that are never stored or
// replayed, whatever the policy's ReplayHeaders says: headers that belong to
// the first caller, as Set-Cookie does (e.g. "X-Session-Token"). Set-Cookie,
// Set-Cookie2, WWW-Authenticate, Authentication-Info, Proxy-Authenticate and
// Proxy-Authentication-Info are never replayed without it.
func WithPrivateHeaders(names ...string) Option {
	return func(op *options) { op.private = append(op.private, names...) }
}

// Middleware applies one Policy. It is safe for concurrent use; build one per
// operation with New and keep it.
type Middleware struct {
	store       Store
	atomic      AtomicStore // non-nil with WithAtomic and an AtomicStore
	c           *compiled
	observer    Observer
	log         *slog.Logger
	principal   func(*http.Request) (string, error)
	problemType string
	verify      KeyVerifier     // non-nil when the policy accepts only issued keys
	private     map[string]bool // WithPrivateHeaders, canonical names
	recent      atomic.Int64    // recent handler duration in ns (noteDuration), 0: none yet
	peek        Peeker          // the store, when it is a Peeker: the replay fast path
	peekAppend  PeekAppender    // the store, when it copies into the request's buffer
	rawSeed     maphash.Seed    // rawPrint's secret seed (with peek)
	localFP     bool            // the store is InProcess: fingerprints are seeded maphashes
	fpSeed      maphash.Seed    // its FingerprintSeed (with localFP)
}

// New validates p (returning its ValidationError), resolves its defaults once
// and returns the Middleware that applies it with store.
func New(store Store, p Policy, opts ...Option) (*Middleware, error) {
	if store == nil {
		return nil, errors.New("idempotency: New needs a store, got nil")
	}
	c, err := compile(p)
	if err != nil {
		return nil, err
	}
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	m := &Middleware{
		store:       store,
		c:           c,
		observer:    o.observer,
		log:         o.logger,
		principal:   o.principal,
		problemType: c.problemType,
	}
	if m.log == nil {
		m.log = slog.Default()
	}
	if pk, ok := store.(Peeker); ok {
		m.peek, m.rawSeed = pk, maphash.MakeSeed()
		m.peekAppend, _ = store.(PeekAppender)
	}
	if ip, ok := store.(InProcess); ok {
		m.localFP, m.fpSeed = true, ip.FingerprintSeed()
	}
	for _, name := range o.private {
		if m.private == nil {
			m.private = make(map[string]bool, len(o.private))
		}
		m.private[textproto.CanonicalMIMEHeaderKey(name)] = true
	}
	if o.problemType != nil {
		m.problemType = *o.problemType
	}
	if c.usePrincipal && m.principal == nil {
		return nil, fmt.Errorf("idempotency: policy %q scopes by principal: pass WithPrincipal", p.Operation)
	}
	if c.issued != nil {
		if o.keyVerifier == nil {
			return nil, fmt.Errorf("idempotency: policy %q accepts only server-issued keys: pass WithKeyVerifier (runtime/issuedkey)", p.Operation)
		}
		if c.issued.BindPrincipal && m.principal == nil {
			return nil, fmt.Errorf("idempotency: policy %q binds issued keys to the principal: pass WithPrincipal", p.Operation)
		}
		m.verify = o.keyVerifier
	}
	if o.atomic {
		if as, ok := store.(AtomicStore); ok {
			m.atomic = as
		} else {
			m.log.Warn("idempotency: WithAtomic ignored: the store does not implement AtomicStore",
				"operation", p.Operation, "store", fmt.Sprintf("%T", store))
		}
	}
	return m, nil
}

// Operation returns the policy's operation id.
func (m *Middleware) Operation() string { return m.c.op }

// Wrap returns next wrapped in the policy (the func(http.Handler) http.Handler
// shape). See docs/runtime.md for the request lifecycle.
func (m *Middleware) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { m.serve(w, r, next) })
}

func (m *Middleware) observe(ctx context.Context, start *arrival, o Outcome, status int, err error) {
	if m.observer == nil {
		return
	}
	m.observer.Observe(ctx, Event{Operation: m.c.op, Outcome: o, Status: status, Latency: time.Since(start.at),
		StoreLatency: start.store, HandlerLatency: start.handler, Key: start.key, Err: err})
}

// serve is kept small: its frame, and execute's, are on the stack while the
// handler runs, below whatever the handler needs. Everything before the
// claim is in admit, whose frame (over 1 KiB: the error answers, the
// fingerprint) is gone by then. With the larger frames a handler that decodes
// JSON grew its connection goroutine's stack past 8 KiB; the collector
// shrinks idle stacks again, so that copy recurred after every GC cycle
// (about 2% of the server's CPU in bench-compare's fresh-key run).
func (m *Middleware) serve(w http.ResponseWriter, r *http.Request, next http.Handler) {
	var arr arrival // only the Observer needs it
	if m.observer != nil {
		arr.at = time.Now()
	}
	st := getState()
	defer putState(st)
	switch id, token, a := m.admit(w, r, next, st, &arr); a {
	case runClaimed:
		m.execute(w, r, next, st, &arr, id, token)
	case runUnkeyed:
		t := arr.now()
		next.ServeHTTP(w, r)
		arr.handler = arr.since(t)
		m.observe(r.Context(), &arr, OutcomeNoKey, 0, nil)
	}
}

// admission is what admit leaves to serve.
type admission uint8

const (
	answered   admission = iota // admit answered the request
	runClaimed                  // run the handler under the claim admit returned
	runUnkeyed                  // run the handler without a record (no key, Key.Optional)
)

// admit does everything before the handler runs: it reads the body, checks
// the key, fingerprints the request and claims its record. It answers the
// request itself (a problem, a replay, a conflict) or says how serve runs
// the handler: under the claim (id, token), or without a record.
func (m *Middleware) admit(w http.ResponseWriter, r *http.Request, next http.Handler, st *reqState, start *arrival) (id, token string, a admission) {
	ctx := r.Context()
	c := m.c

	var body []byte
	if c.needBody && r.Body != nil && r.Body != http.NoBody {
		if r.ContentLength > c.maxReq {
			m.tooLarge(w, r, start)
			return "", "", answered
		}
		var err error
		body, err = st.readBody(r.Body, c.maxReq)
		if err != nil {
			var mbe *http.MaxBytesError // an outer http.MaxBytesHandler's limit
			if errors.Is(err, errBodyTooLarge) || errors.As(err, &mbe) {
				m.tooLarge(w, r, start)
				return "", "", answered
			}
			m.problem(w, r, http.StatusBadRequest, problemKeyInvalid, "the request body could not be read")
			m.observe(ctx, start, OutcomeRejectedKey, http.StatusBadRequest, err)
			return "", "", answered
		}
		_ = r.Body.Close()
		st.body.Reset(body)
		r.Body = &st.body
	}

	key, present, err := m.requestKey(r, body, st, false)
	if err != nil {
		m.problem(w, r, http.StatusBadRequest, problemKeyInvalid, keyDetail(err))
		m.observe(ctx, start, OutcomeRejectedKey, http.StatusBadRequest, err)
		return "", "", answered
	}
	if !present {
		if c.required {
			m.problem(w, r, http.StatusBadRequest, problemKeyMissing, "this operation needs an idempotency key ("+c.keySourceName()+")")
			m.observe(ctx, start, OutcomeRejectedKey, http.StatusBadRequest, nil)
			return "", "", answered
		}
		return "", "", runUnkeyed
	}
	start.key = key
	if _, err := m.verifyIssued(r, key); err != nil {
		if errors.Is(err, errNoPrincipal) {
			m.problem(w, r, http.StatusUnauthorized, problemUnauthorized, "the request's principal is unknown, so its issued key cannot be verified")
			m.observe(ctx, start, OutcomeRejectedKey, http.StatusUnauthorized, err)
			return "", "", answered
		}
		m.problem(w, r, http.StatusBadRequest, problemKeyInvalid, keyDetail(err))
		m.observe(ctx, start, OutcomeRejectedKey, http.StatusBadRequest, err)
		return "", "", answered
	}
	idSum, err := m.requestIDSum(r, key, st)
	if errors.Is(err, errNoPathValue) {
		m.log.ErrorContext(ctx, "idempotency: mount the middleware on a ServeMux pattern that names the scope's path parameter", "operation", c.op, "err", err)
		m.problem(w, r, http.StatusInternalServerError, problemScopeRoute, "the server cannot scope this request's idempotency key")
		m.observe(ctx, start, OutcomeRejectedKey, http.StatusInternalServerError, err)
		return "", "", answered
	}
	if err != nil {
		m.problem(w, r, http.StatusUnauthorized, problemUnauthorized, "the request's principal is unknown, so its key cannot be scoped")
		m.observe(ctx, start, OutcomeRejectedKey, http.StatusUnauthorized, err)
		return "", "", answered
	}
	ab := &st.attempt
	encodeHex(ab[:64], idSum[:])
	var raw uint64
	var fpSum fpSum
	if m.peek != nil {
		// Replay fast path: a completed record whose raw hash is this
		// request's is answered without fingerprinting the request.
		m.fingerprintItems(r, &st.pre)
		raw = m.rawPrint(r, body, &st.pre)
		t0 := start.now()
		res, ok := m.peekReplay(st, ab[:64], raw)
		start.store += start.since(t0)
		if ok {
			if err := m.replay(w, r, start, res); err != nil {
				m.unreadable(w, r, start, string(ab[:64]), err)
			}
			return "", "", answered
		}
		fpSum = m.fingerprintSum(r, body, st)
	} else {
		fpSum = m.requestFingerprintSum(r, body, st)
	}
	id, fp, token := attemptStrings(ab, &fpSum, m.peek != nil, raw)

	cl, err := m.acquire(ctx, start, id, fp, token)
	if err != nil {
		m.storeFailed(w, r, next, start, err)
		return "", "", answered
	}
	if !cl.Acquired {
		m.answerExisting(w, r, start, fp, cl.Existing)
		return "", "", answered
	}
	if cl.TookOver {
		m.observe(ctx, start, OutcomeTakeover, 0, nil)
		if m.log.Enabled(ctx, slog.LevelInfo) {
			m.log.InfoContext(ctx, "idempotency: took over an expired claim", "operation", c.op, "record", id)
		}
	}
	return id, token, runClaimed
}

// peekReplay returns the result of id's live completed record when its raw
// hash is raw. A PeekAppender copies into st.replay, reused by the next
// request once this one is answered: no allocation per replay.
func (m *Middleware) peekReplay(st *reqState, id []byte, raw uint64) ([]byte, bool) {
	if m.peekAppend != nil {
		buf, n, ok := m.peekAppend.AppendCompleted(st.replay[:0], id)
		st.replay = buf[:0]
		return buf[n:], ok && rawMatches(buf[:n], raw)
	}
	fp, res, ok := m.peek.PeekCompleted(id)
	return res, ok && rawMatches(fp, raw)
}

// answerExisting answers a request whose claim found a record.
func (m *Middleware) answerExisting(w http.ResponseWriter, r *http.Request, start *arrival, fp string, ex Record) {
	ctx := r.Context()
	switch {
	case !SameFingerprint(ex.Fingerprint, fp):
		m.problem(w, r, http.StatusUnprocessableEntity, problemMismatch,
			"this idempotency key was already used with a different request payload")
		m.observe(ctx, start, OutcomeMismatch, http.StatusUnprocessableEntity, nil)
	case ex.State == StateCompleted:
		if err := m.replay(w, r, start, ex.Result); err != nil {
			m.unreadable(w, r, start, ex.ID, err)
		}
	default:
		w.Header()["Retry-After"] = []string{m.inFlightRetryAfter(ex.LeaseUntil)}
		m.problem(w, r, http.StatusConflict, problemInFlight,
			"a request with this idempotency key is still being processed; retry later")
		m.observe(ctx, start, OutcomeConflict, http.StatusConflict, nil)
	}
}

// replay sends the stored response result; it sends nothing when result
// does not decode.
func (m *Middleware) replay(w http.ResponseWriter, r *http.Request, start *arrival, result []byte) error {
	d, err := decodeResponse(result)
	if err != nil {
		return err
	}
	h := w.Header()
	d.setHeaders(h)
	h[replayedHeader] = replayedTrue
	w.WriteHeader(d.status)
	if len(d.body) > 0 {
		_, _ = w.Write(d.body)
	}
	m.observe(r.Context(), start, OutcomeReplayed, d.status, nil)
	return nil
}

// unreadable answers a request whose stored response (of record id) does not decode.
func (m *Middleware) unreadable(w http.ResponseWriter, r *http.Request, start *arrival, id string, err error) {
	ctx := r.Context()
	m.log.ErrorContext(ctx, "idempotency: stored response is unreadable", "operation", m.c.op, "record", id, "err", err)
	m.problem(w, r, http.StatusInternalServerError, problemUnavailable, "the stored response for this key is unreadable")
	m.observe(ctx, start, OutcomeRejectedKey, http.StatusInternalServerError, err)
}

// inFlightRetryAfter is the Retry-After of a 409 for a claim whose lease ends
// at leaseUntil: when the holder should be done, from the operation's recent
// handler duration less the time the claim has already run (the lease
// started at leaseUntil - lease), in whole seconds rounded up, at least 1 and
// at most the remaining lease. Before any handler has been timed, 1.
// The whole remaining lease would be a poor answer: a handler that takes
// 1.5 s under a 30 s lease would make its retrying client wait ~30 s.
func (m *Middleware) inFlightRetryAfter(leaseUntil time.Time) string {
	remaining := time.Until(leaseUntil)
	est := time.Second
	if d := time.Duration(m.recent.Load()); d > 0 {
		est = d - (m.c.lease - remaining)
	}
	return wholeSeconds(min(est, remaining))
}

// wholeSeconds is d in whole seconds rounded up, at least 1.
func wholeSeconds(d time.Duration) string {
	s := int64((d + time.Second - 1) / time.Second)
	if s < 1 {
		s = 1
	}
	return strconv.FormatInt(s, 10)
}

// noteDuration folds one handler run into the operation's recent duration:
// an exponentially weighted average (weight 1/4 for the newest run), so a
// changed handler speed shows within a few requests. Concurrent updates may
// lose one another's sample, which an estimate can afford.
func (m *Middleware) noteDuration(d time.Duration) {
	old := m.recent.Load()
	if old == 0 {
		m.recent.Store(max(int64(d), 1))
		return
	}
	m.recent.Store(max(old+(int64(d)-old)/4, 1))
}

func (m *Middleware) tooLarge(w http.ResponseWriter, r *http.Request, start *arrival) {
	m.problem(w, r, http.StatusRequestEntityTooLarge, problemTooLarge,
		"the request body is larger than "+strconv.FormatInt(m.c.maxReq, 10)+" bytes")
	m.observe(r.Context(), start, OutcomeRejectedKey, http.StatusRequestEntityTooLarge, errBodyTooLarge)
}

// storeFailed answers a store failure: 503 (fail-closed) or the handler
// without deduplication (fail-open).
func (m *Middleware) storeFailed(w http.ResponseWriter, r *http.Request, next http.Handler, start *arrival, err error) {
	ctx := r.Context()
	if ctx.Err() != nil {
		// The client went away while the store was asked: nobody to answer,
		// and no outage to report.
		m.observe(ctx, start, OutcomeStoreError, 0, err)
		return
	}
	if m.c.failOpen {
		m.log.WarnContext(ctx, "idempotency: store unavailable, running without deduplication (fail-open)", "operation", m.c.op, "err", err)
		t := start.now()
		next.ServeHTTP(w, r)
		start.handler = start.since(t)
		m.observe(ctx, start, OutcomeStoreError, 0, err)
		return
	}
	m.log.ErrorContext(ctx, "idempotency: store unavailable (fail-closed)", "operation", m.c.op, "err", err)
	w.Header()["Retry-After"] = []string{"1"}
	m.problem(w, r, http.StatusServiceUnavailable, problemUnavailable,
		"the idempotency store is unavailable; the request was not processed, retry later")
	m.observe(ctx, start, OutcomeStoreError, http.StatusServiceUnavailable, err)
}

// execute runs the handler under the claim (id, token) and stores or releases
// its outcome.
// Its frame is on the stack while the handler runs (see serve): what it
// needs only before or after the handler is in begin and finish.
func (m *Middleware) execute(w http.ResponseWriter, r *http.Request, next http.Handler, st *reqState, start *arrival, id, token string) {
	ctx := r.Context()
	// Storing must not fail because the client went away after the handler ran.
	bg := context.WithoutCancel(ctx)
	var tx AtomicTx
	if m.atomic != nil {
		var ok bool
		if r, tx, ok = m.begin(w, r, next, bg, start, id, token); !ok {
			return
		}
	}
	cw := &st.cw
	cw.reset(w, m.c.maxBody)
	done := false
	defer m.releaseOnPanic(ctx, bg, tx, id, token, start, cw, &done)
	t0 := monotonic()
	next.ServeHTTP(cw, r)
	start.handler = monotonic() - t0
	m.noteDuration(start.handler)
	done = true
	m.finish(ctx, bg, r, cw, tx, start, id, token)
}

// begin starts the atomic transaction of the claim (id, token) and returns
// the request to give the handler. On a store failure it releases the claim,
// answers and returns !ok.
func (m *Middleware) begin(w http.ResponseWriter, r *http.Request, next http.Handler, bg context.Context, start *arrival, id, token string) (*http.Request, AtomicTx, bool) {
	t0 := start.now()
	txCtx, tx, err := m.atomic.Begin(r.Context(), id, token)
	start.store += start.since(t0)
	if err != nil {
		m.release(bg, id, token)
		m.storeFailed(w, r, next, start, err)
		return r, nil, false
	}
	return r.WithContext(txCtx), tx, true
}

// abort rolls back and releases after an uncached outcome.
func (m *Middleware) abort(bg context.Context, tx AtomicTx, id, token string) {
	if tx != nil {
		if err := tx.Rollback(bg); err != nil {
			m.log.WarnContext(bg, "idempotency: rollback failed", "operation", m.c.op, "record", id, "err", err)
		}
	}
	m.release(bg, id, token)
}

func (m *Middleware) release(ctx context.Context, id, token string) {
	err := m.store.Release(ctx, id, token)
	if err != nil && !errors.Is(err, ErrNotOwner) {
		// The claim stays until its lease expires; then a retry takes it over.
		m.log.WarnContext(ctx, "idempotency: release failed", "operation", m.c.op, "record", id, "err", err)
	}
}

// finish stores (or releases) the captured outcome and sends it.
func (m *Middleware) finish(ctx, bg context.Context, r *http.Request, cw *capture, tx AtomicTx, start *arrival, id, token string) {
	c := m.c
	status := cw.statusOrOK()
	if cw.pass || !c.cached(status) {
		m.abort(bg, tx, id, token)
		cw.flushBuffered()
		if cw.pass && cw.reason == reasonTooLarge && m.log.Enabled(ctx, slog.LevelWarn) {
			m.log.WarnContext(ctx, "idempotency: response not stored: body over maxBodyBytes", "operation", c.op, "maxBodyBytes", c.maxBody)
		}
		m.observe(ctx, start, OutcomeNotCached, status, nil)
		return
	}
	h := cw.rw.Header()
	if _, ok := h["Content-Type"]; !ok && len(cw.buf) > 0 && h["Transfer-Encoding"] == nil {
		// What net/http would send; storing it keeps the replay identical.
		h["Content-Type"] = []string{http.DetectContentType(cw.buf)}
	}
	// The encoding lives in the pooled request state: stores do not keep the
	// slice past Complete (see Store.Complete).
	res := c.encodeResponse(cw.enc, status, h, cw.buf, m.private)
	cw.enc = res
	var err error
	t0 := start.now()
	if tx != nil {
		err = tx.Complete(bg, res, c.ttl)
	} else {
		err = m.store.Complete(bg, id, token, res, c.ttl)
	}
	start.store += start.since(t0)
	if err != nil && tx != nil {
		// The transaction, the handler's own writes included, did not commit:
		// the buffered response would be a lie, so answer with a problem.
		_ = tx.Rollback(bg)
		m.release(bg, id, token)
		cw.discard()
		m.log.ErrorContext(ctx, "idempotency: atomic commit failed; the handler's writes were rolled back", "operation", c.op, "record", id, "err", err)
		if errors.Is(err, ErrNotOwner) {
			w := cw.rw
			w.Header()["Retry-After"] = []string{"1"}
			m.problem(w, r, http.StatusConflict, problemInFlight, "the claim on this idempotency key was taken over; the request was rolled back, retry later")
			m.observe(ctx, start, OutcomeConflict, http.StatusConflict, err)
			return
		}
		cw.rw.Header()["Retry-After"] = []string{"1"}
		m.problem(cw.rw, r, http.StatusServiceUnavailable, problemUnavailable, "the request could not be committed; it was rolled back, retry later")
		m.observe(ctx, start, OutcomeStoreError, http.StatusServiceUnavailable, err)
		return
	}
	cw.flushBuffered()
	switch {
	case err == nil:
		m.observe(ctx, start, OutcomeExecuted, status, nil)
	case errors.Is(err, ErrNotOwner):
		m.log.WarnContext(ctx, "idempotency: response not stored: the claim was taken over (lease expired)", "operation", c.op, "record", id)
		m.observe(ctx, start, OutcomeNotCached, status, err)
	default:
		m.release(bg, id, token)
		m.log.ErrorContext(ctx, "idempotency: response not stored: store failed", "operation", c.op, "record", id, "err", err)
		m.observe(ctx, start, OutcomeStoreError, status, err)
	}
}

// acquire claims id, waiting for an in-flight holder under concurrent: wait.
// It returns the claim, or an unacquired Claim whose Existing decides the answer.
func (m *Middleware) acquire(ctx context.Context, start *arrival, id, fp, token string) (Claim, error) {
	c := m.c
	var deadline time.Time
	backoff := 5 * time.Millisecond
	for {
		t0 := start.now()
		cl, err := m.store.Claim(ctx, id, fp, token, c.lease)
		start.store += start.since(t0)
		if err != nil || cl.Acquired || !c.wait {
			return cl, err
		}
		ex := cl.Existing
		if !SameFingerprint(ex.Fingerprint, fp) || ex.State == StateCompleted {
			return cl, nil
		}
		if deadline.IsZero() {
			deadline = time.Now().Add(c.lease)
		}
		// Poll with bounded exponential backoff until the holder finishes, gives
		// the claim up (then claim it ourselves) or the wait runs out (409).
		for {
			wait := min(backoff, time.Until(deadline))
			if wait <= 0 {
				return cl, nil
			}
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return cl, nil
			case <-t.C:
			}
			backoff = min(backoff*2, 100*time.Millisecond)
			t0 := start.now()
			rec, err := m.store.Get(ctx, id)
			start.store += start.since(t0)
			if errors.Is(err, ErrNotFound) || (err == nil && rec.State == StateIssued) {
				break
			}
			if err != nil {
				return Claim{}, err
			}
			if rec.State == StateCompleted || !SameFingerprint(rec.Fingerprint, fp) {
				return Claim{Existing: rec}, nil
			}
			cl.Existing = rec
		}
	}
}

func keyDetail(err error) string {
	// The error names only the caller's own key, never stored data.
	return err.Error()
}

func (c *compiled) keySourceName() string {
	switch c.keySrc {
	case keyHeader:
		return "header " + c.keyName
	case keyQuery:
		return "query parameter " + c.keyName
	case keyField:
		return "body field " + c.keyField.raw
	default:
		return "derived from the request"
	}
}
