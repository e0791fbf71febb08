package validate

import (
	"context"
	"net/http"
)

// admittedKey is the context key of a decoded, valid request.
type admittedKey struct{}

// Admit returns r carrying req, the decoded and validated request of r's
// operation. A generated server decodes and validates the request of an
// idempotent operation before the idempotency middleware (so that an invalid
// request never claims its key) and passes it on this way to the handler
// behind the middleware, which does not decode it again.
func Admit[T any](r *http.Request, req *T) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), admittedKey{}, req))
}

// Admitted returns the request that Admit stored in r, and false when there
// is none of type T.
func Admitted[T any](r *http.Request) (T, bool) {
	p, ok := r.Context().Value(admittedKey{}).(*T)
	if !ok || p == nil {
		var zero T
		return zero, false
	}
	return *p, true
}
