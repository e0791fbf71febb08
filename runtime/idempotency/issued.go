package idempotency

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// KeyCheck is what a KeyVerifier is asked about the key of a request (or Do
// call) under a policy that accepts only server-issued keys (Policy.Issued).
type KeyCheck struct {
	// Operation is the policy's operation id.
	Operation string
	// Key is the key as the request sent it (after the Structured-Field string
	// form is unwrapped).
	Key string
	// Principal is the request's principal when the middleware has a principal
	// function (WithPrincipal), and Do's scope; "" otherwise.
	Principal string
	// MaxAge is the policy's issued.maxAge, with its 24h default resolved.
	MaxAge time.Duration
	// BindPrincipal is the policy's issued.bindPrincipal.
	BindPrincipal bool
}

// KeyVerifier checks that a key was issued by the server (signature, age,
// principal) and returns when it expires. Any error answers the request with
// 400 problem+json before the key is claimed, so it must not depend on the
// store; runtime/issuedkey's Issuer.VerifyKey is the implementation.
type KeyVerifier func(ctx context.Context, c KeyCheck) (expires time.Time, err error)

// WithKeyVerifier sets the verifier of server-issued keys. New requires it for
// a policy with Issued set and ignores it otherwise.
func WithKeyVerifier(v KeyVerifier) Option { return func(op *options) { op.keyVerifier = v } }

// defaultIssuedMaxAge is the x-idempotent issued.maxAge default.
const defaultIssuedMaxAge = 24 * time.Hour

// verifyIssued checks a request's key when the policy accepts only issued
// keys. It returns nil when the policy does not. errNoPrincipal means the
// policy binds principals and the request has none.
func (m *Middleware) verifyIssued(r *http.Request, key string) (time.Time, error) {
	if m.verify == nil {
		return time.Time{}, nil
	}
	var principal string
	if m.principal != nil {
		p, err := m.principal(r)
		if err != nil || p == "" {
			if m.c.issued.BindPrincipal {
				return time.Time{}, errNoPrincipal
			}
		} else {
			principal = p
		}
	}
	return m.verifyKey(r.Context(), key, principal)
}

func (m *Middleware) verifyKey(ctx context.Context, key, principal string) (time.Time, error) {
	is := m.c.issued
	maxAge := is.MaxAge
	if maxAge == 0 {
		maxAge = defaultIssuedMaxAge
	}
	exp, err := m.verify(ctx, KeyCheck{Operation: m.c.op, Key: key, Principal: principal, MaxAge: maxAge, BindPrincipal: is.BindPrincipal})
	if err != nil {
		if errors.Is(err, ErrInvalidKey) {
			return time.Time{}, err
		}
		return time.Time{}, &invalidKeyError{fmt.Sprintf("server-issued key rejected: %v", err)}
	}
	return exp, nil
}
