package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// Doer sends one HTTP request. *http.Client implements it; a test or a wrapper
// (auth, tracing) may too.
type Doer interface {
	Do(*http.Request) (*http.Response, error)
}

// Call describes one logical call for Retrier.Do.
type Call struct {
	// Operation names the call (an operation id) in errors and events.
	Operation string
	// Idempotent marks a call that the server deduplicates (an x-idempotent
	// operation; the request carries its key, or the server derives one). It is
	// then retried on every retryable outcome whatever its method, and a 409 that
	// says the key is in flight is retried until the outcome can be replayed.
	Idempotent bool
	// Key is the idempotency key the request carries, reported back in Result.
	// Do does not place it in the request: the caller has, once, before Do.
	Key string
	// Policy overrides the Retrier's policy for this call when not nil.
	Policy *Policy
}

// Result describes how a logical call went.
type Result struct {
	// Key is the idempotency key that was sent on every attempt ("" when none).
	Key string
	// Attempts is the number of requests sent (1 when the first one was final):
	// the Retrier's attempts, plus the resends net/http's Transport makes by
	// itself (it resends a request that carries an Idempotency-Key when a
	// reused connection dies before any response byte), counted with
	// net/http/httptrace. An attempt that never reached the network (a refused
	// dial) counts as one.
	Attempts int
	// Status is the final response's status (0 when no response arrived).
	Status int
	// Replayed reports that the server answered with a stored outcome
	// (Idempotent-Replayed: true): the operation had already run, once.
	Replayed bool
	// Elapsed is the time from the first attempt to the final answer.
	Elapsed time.Duration
}

// Response is the answer to a logical call: the final HTTP response, its body read
// in full within the attempt (so that a connection lost mid-body is retried like
// any other connection error), and the Result.
type Response struct {
	// HTTP is the final response; its Body is a reader over Body, already
	// fully buffered. Nil when no response arrived.
	HTTP *http.Response
	// Body is the final response's body.
	Body []byte
	// Result describes the logical call.
	Result Result

	operation string
}

// Err returns nil for a final status below 400 and otherwise an *Error holding the
// response and its decoded problem+json body. A hand-written client calls it to
// treat every 4xx/5xx as an error; a generated client does not: a status the
// spec declares comes back as its typed response with a nil error.
func (r *Response) Err() error {
	if r.HTTP == nil || r.HTTP.StatusCode < 400 {
		return nil
	}
	return &Error{
		Operation: r.operation,
		Status:    r.HTTP.StatusCode,
		Header:    r.HTTP.Header,
		Body:      r.Body,
		Problem:   decodeProblem(r.HTTP.Header, r.Body),
		Result:    r.Result,
	}
}

// DecodeError reports that the body of the final response could not be
// decoded as its declared type: an error naming the operation and the status,
// wrapping err.
func (r *Response) DecodeError(err error) error {
	return fmt.Errorf("client: %s: decoding the %d response: %w", r.operation, r.Result.Status, err)
}

// Undeclared reports a final status the spec does not declare: Err() for a
// 4xx/5xx, otherwise an error naming the operation and the status.
func (r *Response) Undeclared() error {
	if e := r.Err(); e != nil {
		return e
	}
	return fmt.Errorf("client: %s: undeclared response status %d", r.operation, r.Result.Status)
}

// UndeclaredProblem returns Err() for a 4xx/5xx application/problem+json
// answer, nil for any other. A generated client calls it for the statuses
// whose declared responses have no problem+json body: such an answer is not
// the declared outcome but a problem of the runtime (a key in flight or
// reused, a store outage, a request the generated server could not decode) or
// of something in between, so it comes back as an error.
func (r *Response) UndeclaredProblem() error {
	if r.HTTP == nil || !isProblem(r.HTTP.Header) {
		return nil
	}
	return r.Err()
}

// Event describes one attempt of a logical call, for an Observer.
type Event struct {
	Operation string
	Method    string
	Key       string
	// Attempt is 1 for the first request of the call.
	Attempt int
	// Status is the response status, 0 when the attempt failed without one.
	Status int
	// Err is the attempt's connection error, if any.
	Err error
	// Latency is how long the attempt took (its body read included).
	Latency time.Duration
	// Retry reports that another attempt follows after Wait.
	Retry bool
	Wait  time.Duration
	// Replayed reports Idempotent-Replayed: true on the response.
	Replayed bool
}

// Observer is told about every attempt. Observe must not block for long; it is
// called on the calling goroutine.
type Observer interface {
	Observe(ctx context.Context, e Event)
}

// ObserverFunc adapts a function to an Observer.
type ObserverFunc func(ctx context.Context, e Event)

// Observe calls f(ctx, e).
func (f ObserverFunc) Observe(ctx context.Context, e Event) { f(ctx, e) }

// Option configures a Retrier.
type Option func(*Retrier)

// WithPolicy sets the retry policy of every call (default: Policy{}, the defaults).
func WithPolicy(p Policy) Option { return func(r *Retrier) { r.policy = p } }

// WithObserver sets an observer told about every attempt.
func WithObserver(o Observer) Option { return func(r *Retrier) { r.observer = o } }

// WithSleep replaces the backoff wait; sleep must return ctx.Err() as soon as ctx
// ends. Tests use it to run retries without waiting.
func WithSleep(sleep func(ctx context.Context, d time.Duration) error) Option {
	return func(r *Retrier) { r.sleep = sleep }
}

// WithClock replaces time.Now (used for MaxElapsed, Retry-After dates and latencies).
func WithClock(now func() time.Time) Option { return func(r *Retrier) { r.now = now } }

// WithJitter replaces the random source of the full jitter: jitter(n) must return
// a value in [0, n) for n > 0. The default is math/rand/v2's Int64N.
func WithJitter(jitter func(n int64) int64) Option { return func(r *Retrier) { r.jitter = jitter } }

// Retrier sends logical calls with retries. It holds only configuration and is
// safe for concurrent use.
type Retrier struct {
	doer     Doer
	policy   Policy
	observer Observer
	sleep    func(ctx context.Context, d time.Duration) error
	now      func() time.Time
	jitter   func(n int64) int64
}

// NewHTTPClient returns the *http.Client that NewRetrier uses when it is given no
// Doer: http.DefaultClient's transport and no timeout, but it does not follow
// redirects. A 3xx is an answer of the API (for example the 303 of a
// post/redirect/get form, stored and replayed by the server like any other
// outcome), so the caller gets it as it came, Location header included, instead
// of the answer to another request that the server never saw with the key.
func NewHTTPClient() *http.Client {
	return &http.Client{CheckRedirect: noRedirect}
}

// noRedirect is the CheckRedirect of NewHTTPClient: the 3xx is the last response.
func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// NewRetrier returns a Retrier that sends requests with doer, used as is (when nil:
// NewHTTPClient(), which returns redirects instead of following them). It fails
// when the policy is invalid.
func NewRetrier(doer Doer, opts ...Option) (*Retrier, error) {
	r := &Retrier{doer: doer, sleep: sleepCtx, now: time.Now, jitter: rand.Int64N}
	if r.doer == nil {
		r.doer = NewHTTPClient()
	}
	for _, o := range opts {
		o(r)
	}
	if err := r.policy.Validate(); err != nil {
		return nil, err
	}
	return r, nil
}

// Policy returns the Retrier's retry policy as configured (zero fields = defaults).
func (r *Retrier) Policy() Policy { return r.policy }

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Do sends req as one logical call, retrying as c and the policy allow, and
// returns the final response with its body fully read. The request body, if any,
// is sent byte for byte on every attempt (from req.GetBody; a body without
// GetBody is buffered once first). req's header must already carry the call's
// idempotency key.
//
// Do returns a nil error whenever a response arrived, whatever its status: use
// Response.Err to turn a 4xx/5xx into an *Error. It returns an error when no
// response arrived (the last connection error, wrapped), when the request cannot
// be sent at all, or when ctx ends (wrapping ctx.Err(), also during a backoff
// wait, which it cuts short). The returned *Response is never nil: its Result says
// how many attempts were made.
func (r *Retrier) Do(ctx context.Context, req *http.Request, c Call) (*Response, error) {
	out := &Response{operation: c.Operation, Result: Result{Key: c.Key}}
	p := r.policy
	if c.Policy != nil {
		if err := c.Policy.Validate(); err != nil {
			return out, err
		}
		p = *c.Policy
	}
	p = p.withDefaults()
	req, err := replayable(req)
	if err != nil {
		return out, r.wrap(c, req, err)
	}
	safe := c.Idempotent || idempotentMethod(req.Method)
	start := r.now()
	for attempt := 1; ; attempt++ {
		ev := Event{Operation: c.Operation, Method: req.Method, Key: c.Key, Attempt: attempt}
		t0 := r.now()
		resp, body, sent, aerr := r.attempt(ctx, req, p, attempt)
		ev.Latency = r.now().Sub(t0)
		out.Result.Attempts += max(sent, 1)
		out.Result.Elapsed = r.now().Sub(start)
		if ctx.Err() != nil && aerr != nil {
			// The caller gave up; whatever the attempt did is not retried.
			ev.Err = ctx.Err()
			r.observe(ctx, ev)
			return out, r.wrap(c, req, ctx.Err())
		}

		var retry bool
		var wait time.Duration
		var waitSet bool
		if aerr != nil {
			ev.Err = aerr
			retry = retryableError(aerr, safe)
		} else {
			ev.Status = resp.StatusCode
			ev.Replayed = replayed(resp.Header)
			retry = safe && retryableStatus(resp, c, p)
			if retry {
				wait, waitSet = retryAfter(resp.Header, r.now())
				wait = min(wait, p.MaxRetryAfter)
			}
		}
		if retry && attempt < p.MaxAttempts {
			if !waitSet {
				wait = r.fullJitter(p.backoff(attempt))
			}
			if p.MaxElapsed < 0 || r.now().Sub(start)+wait <= p.MaxElapsed {
				ev.Retry, ev.Wait = true, wait
				r.observe(ctx, ev)
				if err := r.sleep(ctx, wait); err != nil {
					return out, r.wrap(c, req, err)
				}
				continue
			}
		}
		r.observe(ctx, ev)
		if aerr != nil {
			return out, r.wrap(c, req, fmt.Errorf("attempt %d of %d: %w", attempt, p.MaxAttempts, aerr))
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
		out.HTTP, out.Body = resp, body
		out.Result.Status = resp.StatusCode
		out.Result.Replayed = ev.Replayed
		return out, nil
	}
}

// attempt sends one request and reads its whole body, under the attempt
// timeout. sent is how many times the request's headers were written to a
// connection: more than 1 when the Transport resent it on its own.
func (r *Retrier) attempt(ctx context.Context, req *http.Request, p Policy, n int) (resp *http.Response, body []byte, sent int, err error) {
	if p.AttemptTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, p.AttemptTimeout)
		defer cancel()
	}
	var writes atomic.Int32
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{WroteHeaders: func() { writes.Add(1) }})
	areq := req.Clone(ctx)
	if req.GetBody != nil {
		b, err := req.GetBody()
		if err != nil {
			return nil, nil, 0, fmt.Errorf("request body: %w", err)
		}
		areq.Body = b
	}
	resp, err = r.doer.Do(areq)
	if err != nil {
		return nil, nil, int(writes.Load()), err
	}
	body, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		// The answer was lost on the way: like a connection reset before the response.
		return nil, nil, int(writes.Load()), fmt.Errorf("reading response body: %w", err)
	}
	return resp, body, int(writes.Load()), nil
}

func (r *Retrier) fullJitter(ceil time.Duration) time.Duration {
	if ceil <= 0 {
		return 0
	}
	return time.Duration(r.jitter(int64(ceil)))
}

func (r *Retrier) observe(ctx context.Context, e Event) {
	if r.observer != nil {
		r.observer.Observe(ctx, e)
	}
}

func (r *Retrier) wrap(c Call, req *http.Request, err error) error {
	if c.Operation != "" {
		return fmt.Errorf("client: %s: %w", c.Operation, err)
	}
	return fmt.Errorf("client: %s %s: %w", req.Method, req.URL.Redacted(), err)
}

// replayable returns req with a GetBody that yields the same bytes on every call.
func replayable(req *http.Request) (*http.Request, error) {
	if req.Body == nil || req.Body == http.NoBody || req.GetBody != nil {
		return req, nil
	}
	b, err := io.ReadAll(req.Body)
	req.Body.Close()
	if err != nil {
		return req, fmt.Errorf("reading request body: %w", err)
	}
	req = req.Clone(req.Context())
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	req.Body, _ = req.GetBody()
	req.ContentLength = int64(len(b))
	return req, nil
}

// idempotentMethod reports the methods RFC 9110 defines as idempotent.
func idempotentMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace, http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}

// retryableStatus reports a status worth retrying for a call that is safe to repeat.
func retryableStatus(resp *http.Response, c Call, p Policy) bool {
	switch s := resp.StatusCode; s {
	case http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable,
		http.StatusGatewayTimeout, http.StatusTooManyRequests:
		return true
	case http.StatusConflict:
		if c.Idempotent && inFlight(s, resp.Header) {
			return true
		}
	}
	for _, s := range p.RetryStatuses {
		if s == resp.StatusCode {
			return true
		}
	}
	return false
}

// retryableError reports whether a failed attempt may be retried: a request that
// never left (no connection was made) always, any other connection failure or
// timeout only when the call is safe to repeat.
func retryableError(err error, safe bool) bool {
	if neverSent(err) {
		return true
	}
	return safe && connectionError(err)
}

// neverSent reports an error that proves the request never reached the server:
// the connection could not be made.
func neverSent(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && (op.Op == "dial" || op.Op == "proxyconnect") {
		return true
	}
	var dns *net.DNSError
	return errors.As(err, &dns) || errors.Is(err, syscall.ECONNREFUSED)
}

// connectionError reports a failure of the connection or a timeout, as opposed to
// a request that could never work (a bad URL, an unsupported scheme).
func connectionError(err error) bool {
	// *url.Error is itself a net.Error: look at what it wraps.
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	// net/http reports some lost connections only as text ("server closed idle
	// connection", "transport connection broken").
	return strings.Contains(err.Error(), "connection")
}

// replayed reports Idempotent-Replayed: true (or the Structured Field boolean ?1).
func replayed(h http.Header) bool {
	v := strings.TrimSpace(h.Get("Idempotent-Replayed"))
	return strings.EqualFold(v, "true") || v == "?1"
}

// retryAfter parses Retry-After: delay-seconds or an HTTP-date (relative to now).
// It reports false when the header is absent or malformed.
func retryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		if secs > int64(24*time.Hour/time.Second) {
			secs = int64(24 * time.Hour / time.Second) // avoid overflow; capped later anyway
		}
		return time.Duration(secs) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}
