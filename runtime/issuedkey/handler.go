package issuedkey

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/idemgen/idemgen/runtime/idempotency"
)

// response is the JSON body of the issuing handler.
type response struct {
	Key       string    `json:"key"`
	IssuedAt  time.Time `json:"issuedAt"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// Handler returns the issuing endpoint (mount it at e.g. POST /idempotency-keys).
// A POST answers 201 with
//
//	{"key":"...","issuedAt":"...","expiresAt":"..."}
//
// and Cache-Control: no-store (a cached key would be shared by two
// transactions). principal, when not nil, binds each key to the caller's
// principal (the same function given to idempotency.WithPrincipal); an error
// or an empty principal answers 401. Other methods get 405. Errors are
// problem+json like the middleware's.
func (is *Issuer) Handler(principal func(*http.Request) (string, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			idempotency.WriteProblemFor(w, r, idempotency.Problem{Status: http.StatusMethodNotAllowed, Detail: "keys are issued with POST"})
			return
		}
		var p string
		if principal != nil {
			var err error
			p, err = principal(r)
			if err != nil || p == "" {
				idempotency.WriteProblemFor(w, r, idempotency.Problem{Status: http.StatusUnauthorized, Detail: "the request's principal is unknown, so no key can be issued to it"})
				return
			}
		}
		k, err := is.Issue(r.Context(), p)
		if err != nil {
			idempotency.WriteProblemFor(w, r, idempotency.Problem{Status: http.StatusServiceUnavailable, Detail: "no key could be issued; retry later"})
			return
		}
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(response{Key: k.Key, IssuedAt: k.IssuedAt.UTC(), ExpiresAt: k.ExpiresAt.UTC()})
	})
}
