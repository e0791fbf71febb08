package client

import (
	"fmt"
	"time"
)

// Defaults of a retry Policy; a zero field of Policy means the default.
const (
	// DefaultMaxAttempts is the number of attempts of one logical call, the first included.
	DefaultMaxAttempts = 5
	// DefaultBaseDelay is the backoff before the first retry (before jitter).
	DefaultBaseDelay = 100 * time.Millisecond
	// DefaultMaxDelay caps one backoff (before jitter).
	DefaultMaxDelay = 5 * time.Second
	// DefaultMaxElapsed bounds the whole logical call, backoffs included.
	DefaultMaxElapsed = 30 * time.Second
	// DefaultMaxRetryAfter caps the wait a server may ask for with Retry-After.
	DefaultMaxRetryAfter = 10 * time.Second
)

// Policy says how one logical call is retried. The zero value of every field
// means its default (the Default* constants), so Policy{} is the default policy.
//
// The wait before retry n (n = 1 for the first retry) is a uniformly random
// duration in [0, min(MaxDelay, BaseDelay*2^(n-1))) ("full jitter"), unless the
// response carried Retry-After, in which case it is that wait capped by
// MaxRetryAfter. A retry whose wait would end after MaxElapsed is not made.
type Policy struct {
	// MaxAttempts is the number of attempts, the first included; 1 disables
	// retries. Zero means DefaultMaxAttempts.
	MaxAttempts int
	// BaseDelay is the backoff before the first retry. Zero means DefaultBaseDelay.
	BaseDelay time.Duration
	// MaxDelay caps one backoff. Zero means DefaultMaxDelay.
	MaxDelay time.Duration
	// MaxElapsed bounds the time from the first attempt to the start of the last
	// one. Zero means DefaultMaxElapsed; negative means no bound.
	MaxElapsed time.Duration
	// AttemptTimeout bounds each attempt, from sending the request until the
	// response headers arrive and its body is read; an attempt that times out is
	// retried like a connection error. Zero means no per-attempt timeout (the
	// context's deadline still applies).
	AttemptTimeout time.Duration
	// MaxRetryAfter caps the wait asked for by a Retry-After header (seconds or an
	// HTTP-date). Zero means DefaultMaxRetryAfter.
	MaxRetryAfter time.Duration
	// RetryStatuses adds response statuses that are retried like 503 (for example
	// 408 or 425). 400, 401, 403, 404, 422 and every other 4xx except 429 and an
	// in-flight 409 are never retried unless listed here.
	RetryStatuses []int
}

// withDefaults returns p with every zero field set to its default.
func (p Policy) withDefaults() Policy {
	if p.MaxAttempts == 0 {
		p.MaxAttempts = DefaultMaxAttempts
	}
	if p.BaseDelay == 0 {
		p.BaseDelay = DefaultBaseDelay
	}
	if p.MaxDelay == 0 {
		p.MaxDelay = DefaultMaxDelay
	}
	if p.MaxElapsed == 0 {
		p.MaxElapsed = DefaultMaxElapsed
	}
	if p.MaxRetryAfter == 0 {
		p.MaxRetryAfter = DefaultMaxRetryAfter
	}
	return p
}

// Validate reports the first invalid field of p: a negative attempt count, delay,
// timeout or Retry-After cap, a MaxDelay below BaseDelay, or a retry status outside
// 100..599.
func (p Policy) Validate() error {
	switch {
	case p.MaxAttempts < 0:
		return fmt.Errorf("client: retry policy: MaxAttempts: want >= 0, got %d", p.MaxAttempts)
	case p.BaseDelay < 0:
		return fmt.Errorf("client: retry policy: BaseDelay: want >= 0, got %s", p.BaseDelay)
	case p.MaxDelay < 0:
		return fmt.Errorf("client: retry policy: MaxDelay: want >= 0, got %s", p.MaxDelay)
	case p.AttemptTimeout < 0:
		return fmt.Errorf("client: retry policy: AttemptTimeout: want >= 0, got %s", p.AttemptTimeout)
	case p.MaxRetryAfter < 0:
		return fmt.Errorf("client: retry policy: MaxRetryAfter: want >= 0, got %s", p.MaxRetryAfter)
	}
	d := p.withDefaults()
	if d.MaxDelay < d.BaseDelay {
		return fmt.Errorf("client: retry policy: MaxDelay %s is shorter than BaseDelay %s", d.MaxDelay, d.BaseDelay)
	}
	for _, s := range p.RetryStatuses {
		if s < 100 || s > 599 {
			return fmt.Errorf("client: retry policy: RetryStatuses: want HTTP statuses, got %d", s)
		}
	}
	return nil
}

// backoff returns the un-jittered backoff ceiling before retry n (n >= 1):
// min(MaxDelay, BaseDelay*2^(n-1)), without overflow. p has its defaults.
func (p Policy) backoff(n int) time.Duration {
	d := p.BaseDelay
	for i := 1; i < n; i++ {
		if d >= p.MaxDelay/2 {
			return p.MaxDelay
		}
		d *= 2
	}
	return min(d, p.MaxDelay)
}
