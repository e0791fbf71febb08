package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// RequestEditorFn edits a request before it is sent, e.g. to add an
// Authorization header. It runs once per call, before the first attempt:
// every retry sends the same request.
type RequestEditorFn func(ctx context.Context, req *http.Request) error

// ClientOption configures a generated client (its NewClient takes them).
type ClientOption func(*baseConfig)

// baseConfig collects the ClientOptions of NewBase.
type baseConfig struct {
	doer      Doer
	editors   []RequestEditorFn
	userAgent *string
	policy    Policy
	observer  Observer
	retry     []Option
	// credentials by scheme name (WithBearerToken, WithBasicAuth...).
	credentials map[string]credential
}

// WithHTTPClient sends requests with doer (an *http.Client or any Doer), used
// as is: an *http.Client that follows redirects makes a declared 3xx come back
// as the answer to the redirected request. Without it, a client sends with
// NewHTTPClient(), which does not follow redirects.
func WithHTTPClient(doer Doer) ClientOption {
	return func(c *baseConfig) { c.doer = doer }
}

// WithRequestEditorFn adds an editor run on every request, before the call's own editors.
func WithRequestEditorFn(fn RequestEditorFn) ClientOption {
	return func(c *baseConfig) { c.editors = append(c.editors, fn) }
}

// WithUserAgent sets the User-Agent header (empty: none); the default is the
// generated package's DefaultUserAgent.
func WithUserAgent(ua string) ClientOption {
	return func(c *baseConfig) { c.userAgent = &ua }
}

// WithRetryPolicy sets the retry policy of every call (default: Policy{},
// whose zero fields are the documented defaults; MaxAttempts 1 disables retries).
func WithRetryPolicy(p Policy) ClientOption {
	return func(c *baseConfig) { c.policy = p }
}

// WithClientObserver sets an observer told about every attempt of every call.
func WithClientObserver(o Observer) ClientOption {
	return func(c *baseConfig) { c.observer = o }
}

// WithRetryOptions passes options to the Retrier (e.g. WithSleep in tests).
func WithRetryOptions(opts ...Option) ClientOption {
	return func(c *baseConfig) { c.retry = append(c.retry, opts...) }
}

// CallOption configures one call of a generated client's method.
type CallOption func(*Invocation)

// WithIdempotencyKey sets the idempotency key of one call of an idempotent
// operation, instead of a fresh key (or the key already in the request). Use
// one key per logical call, the same when the call is repeated later (for
// example after a restart), so the server replays its outcome. Operations
// whose key the server derives, and non-idempotent operations, ignore it.
func WithIdempotencyKey(key string) CallOption {
	return func(c *Invocation) { c.GivenKey = key }
}

// WithCallRetryPolicy sets the retry policy of one call.
func WithCallRetryPolicy(p Policy) CallOption {
	return func(c *Invocation) { c.policy = &p }
}

// WithCallRequestEditorFn adds an editor run on this call's request, after the client's.
func WithCallRequestEditorFn(fn RequestEditorFn) CallOption {
	return func(c *Invocation) { c.editors = append(c.editors, fn) }
}

// BaseConfig is what a generated NewClient tells NewBase about its package.
type BaseConfig struct {
	// Package is the generated package's name, which starts the errors of
	// its calls ("api: createSong: ...").
	Package string
	// UserAgent is the default User-Agent (WithUserAgent overrides it).
	UserAgent string
	// Schemes are the security schemes the operations require; the
	// credential options (WithBearerToken...) name them.
	Schemes []Scheme
}

// Base is the part of a generated client that does not depend on the spec:
// the base URL, the Retrier, the request editors and the User-Agent. A
// generated Client holds one and builds each operation's request with an
// Invocation (Begin).
type Base struct {
	pkg       string
	baseURL   string
	retrier   *Retrier
	editors   []RequestEditorFn
	userAgent string
	// schemes and credentials by scheme name.
	schemes     map[string]Scheme
	credentials map[string]credential
}

// NewBase returns the base of a client of the API at baseURL (an absolute http
// or https URL; operation paths are appended to it). It fails on a bad URL or
// retry policy.
//
// Unless WithHTTPClient gives one, requests are sent with NewHTTPClient(), an
// *http.Client whose CheckRedirect returns http.ErrUseLastResponse: a redirect
// is not followed, so a declared 3xx (the 303 of a post/redirect/get form) is
// returned as the operation's own typed response, Location included.
func NewBase(cfg BaseConfig, baseURL string, opts ...ClientOption) (*Base, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("want an absolute http(s) base URL, got %q", baseURL)
	}
	var c baseConfig
	for _, o := range opts {
		o(&c)
	}
	if c.doer == nil {
		c.doer = NewHTTPClient()
	}
	if err := checkCredentials(cfg.Schemes, c.credentials); err != nil {
		return nil, err
	}
	ropts := []Option{WithPolicy(c.policy)}
	if c.observer != nil {
		ropts = append(ropts, WithObserver(c.observer))
	}
	r, err := NewRetrier(c.doer, append(ropts, c.retry...)...)
	if err != nil {
		return nil, err
	}
	ua := cfg.UserAgent
	if c.userAgent != nil {
		ua = *c.userAgent
	}
	b := &Base{
		pkg:         cfg.Package,
		baseURL:     strings.TrimRight(baseURL, "/"),
		retrier:     r,
		editors:     c.editors,
		userAgent:   ua,
		credentials: c.credentials,
	}
	if len(cfg.Schemes) > 0 {
		b.schemes = make(map[string]Scheme, len(cfg.Schemes))
		for _, s := range cfg.Schemes {
			b.schemes[s.Name] = s
		}
	}
	return b, nil
}

// Operation describes the operation a call invokes.
type Operation struct {
	// ID is the operationId, in errors and in the Retrier's events.
	ID string
	// Method is the HTTP method.
	Method string
	// Idempotent marks an x-idempotent operation: its calls carry a key and
	// are retried on every retryable outcome.
	Idempotent bool
	// Security is the operation's security requirement: the credentials of
	// the first alternative the client has all of are sent (nil: none).
	Security []Requirement
}

// Invocation is one call of an operation while its generated method builds
// it: the call's options applied, and the key it sends.
type Invocation struct {
	// GivenKey is the key of WithIdempotencyKey ("" when none was given).
	GivenKey string
	// Key is the idempotency key the call sends ("" for none); the generated
	// method sets it.
	Key string

	base    *Base
	op      Operation
	policy  *Policy
	editors []RequestEditorFn
}

// Begin starts a call of op with the call's options.
func (b *Base) Begin(op Operation, opts []CallOption) *Invocation {
	c := &Invocation{base: b, op: op}
	for _, o := range opts {
		o(c)
	}
	return c
}

// ChooseKey returns the key an idempotent call sends: the key of
// WithIdempotencyKey, else fromRequest (the key parameter of the request,
// "" when none), else a fresh one from fresh (NewKey or NewULID).
func (c *Invocation) ChooseKey(fromRequest string, fresh func() string) string {
	switch {
	case c.GivenKey != "":
		return c.GivenKey
	case fromRequest != "":
		return fromRequest
	}
	return fresh()
}

// Error names the package and the operation in an error of the call.
func (c *Invocation) Error(err error) error {
	return fmt.Errorf("%s: %s: %w", c.base.pkg, c.op.ID, err)
}

// NewRequest builds the request of the call: path (its parameters already
// substituted) appended to the base URL, the query, and body (nil: none),
// which is replayed on every attempt.
func (c *Invocation) NewRequest(ctx context.Context, path string, query url.Values, body []byte, contentType string) (*http.Request, error) {
	u := c.base.baseURL + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, c.op.Method, u, rd)
	if err != nil {
		return nil, c.Error(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c.base.userAgent != "" {
		req.Header.Set("User-Agent", c.base.userAgent)
	}
	return req, nil
}

// Do adds the operation's credentials (see Operation.Security), runs the
// client's request editors, then the call's, and sends req with the Retrier.
// It returns the final answer; see Retrier.Do.
func (c *Invocation) Do(ctx context.Context, req *http.Request) (*Response, error) {
	if err := c.authorize(ctx, req); err != nil {
		return nil, c.Error(err)
	}
	for _, editors := range [][]RequestEditorFn{c.base.editors, c.editors} {
		for _, e := range editors {
			if err := e(ctx, req); err != nil {
				return nil, c.Error(fmt.Errorf("request editor: %w", err))
			}
		}
	}
	return c.base.retrier.Do(ctx, req, Call{
		Operation:  c.op.ID,
		Idempotent: c.op.Idempotent,
		Key:        c.Key,
		Policy:     c.policy,
	})
}

// DecodeJSON decodes the body of the answer into dst (a body that is empty
// leaves dst as it is); an error is a DecodeError.
func (r *Response) DecodeJSON(dst any) error {
	if len(r.Body) == 0 {
		return nil
	}
	if err := json.Unmarshal(r.Body, dst); err != nil {
		return r.DecodeError(err)
	}
	return nil
}
