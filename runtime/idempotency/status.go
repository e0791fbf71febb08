package idempotency

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"
)

// RecordStatus is what a status lookup reports about one record.
type RecordStatus struct {
	// State is StateInFlight or StateCompleted, or StateIssued for a valid
	// server-issued key that no request used yet (policies with Issued).
	State State
	// StatusCode is the stored HTTP status of a completed HTTP record (0 otherwise).
	StatusCode int
	// LeaseUntil is when an in-flight claim may be taken over.
	LeaseUntil time.Time
	// ExpiresAt is when the record stops existing.
	ExpiresAt time.Time
}

// Status looks up the record the request r refers to: its key and scope are
// read exactly as Wrap reads them (so a lookup is scoped like the original
// request, and a caller can only see its own scope's records). It returns
// ErrNotFound when there is none, an error wrapping ErrInvalidKey when r has
// no usable key. A body it reads to find the key is given back in r.Body.
func (m *Middleware) Status(ctx context.Context, r *http.Request) (RecordStatus, error) {
	st := getState()
	defer putState(st)
	var body []byte
	if m.c.needBody && r.Body != nil && r.Body != http.NoBody {
		b, err := st.readBody(r.Body, m.c.maxReq)
		if err != nil {
			return RecordStatus{}, err
		}
		body = b
		r.Body = io.NopCloser(bytes.NewReader(bytes.Clone(b))) // still readable by the caller
	}
	return m.status(ctx, r, body, st, false)
}

func (m *Middleware) status(ctx context.Context, r *http.Request, body []byte, st *reqState, lookup bool) (RecordStatus, error) {
	key, present, err := m.requestKey(r, body, st, lookup)
	if err != nil {
		return RecordStatus{}, err
	}
	if !present {
		return RecordStatus{}, errMissingKey
	}
	exp, err := m.verifyIssued(r, key)
	if err != nil {
		return RecordStatus{}, err
	}
	id, err := m.requestID(r, key, st)
	if err != nil {
		return RecordStatus{}, err
	}
	s, err := m.statusOf(ctx, id)
	if errors.Is(err, ErrNotFound) && m.verify != nil {
		// A validly signed key that no request used yet: issued, not submitted.
		return RecordStatus{State: StateIssued, ExpiresAt: exp}, nil
	}
	return s, err
}

// errMissingKey is a lookup without a key; it wraps ErrInvalidKey.
var errMissingKey error = &invalidKeyError{"missing"}

type invalidKeyError struct{ msg string }

func (e *invalidKeyError) Error() string { return ErrInvalidKey.Error() + ": " + e.msg }
func (e *invalidKeyError) Unwrap() error { return ErrInvalidKey }

// StatusKey looks up the record of a Do call with scope and key (or of an HTTP
// request with that key and a single scope value, or none when scope is empty).
func (m *Middleware) StatusKey(ctx context.Context, scope, key string) (RecordStatus, error) {
	st := getState()
	var id string
	st.pre.out, id = doID(st.pre.out, m.c.op, scope, key)
	putState(st)
	return m.statusOf(ctx, id)
}

func (m *Middleware) statusOf(ctx context.Context, id string) (RecordStatus, error) {
	rec, err := m.store.Get(ctx, id)
	if err != nil {
		return RecordStatus{}, err
	}
	if rec.State != StateInFlight && rec.State != StateCompleted {
		return RecordStatus{}, ErrNotFound
	}
	s := RecordStatus{State: rec.State, LeaseUntil: rec.LeaseUntil, ExpiresAt: rec.ExpiresAt}
	if rec.State == StateCompleted {
		if d, err := decodeResponse(rec.Result); err == nil {
			s.StatusCode = d.status
		}
	}
	return s, nil
}

// statusBody is the JSON the status handler answers.
type statusBody struct {
	State      string     `json:"state"`
	Status     int        `json:"status,omitempty"`
	LeaseUntil *time.Time `json:"leaseUntil,omitempty"`
	ExpiresAt  time.Time  `json:"expiresAt"`
}

// StatusHandler answers GET (and HEAD) with the state of the record the
// request's key refers to, scoped like the original request (same scope
// headers, query parameters, path values or principal):
//
//	200 {"state":"completed","status":201,"expiresAt":"..."}
//	200 {"state":"in_flight","leaseUntil":"...","expiresAt":"..."}
//	200 {"state":"issued","expiresAt":"..."} (a server-issued key not used yet)
//	404 problem+json when there is no record, 400 without a usable key.
//
// The key is read from the policy's key header or query parameter; policies
// whose key is a body field take it from the Idempotency-Key header. Keys
// derived from body values cannot be looked up this way (use StatusKey).
// It never returns the stored body: the original response is the caller's to
// get by retrying the request.
func (m *Middleware) StatusHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			m.problem(w, r, http.StatusMethodNotAllowed, problemMethod, "status lookups use GET")
			return
		}
		st := getState()
		defer putState(st)
		s, err := m.status(r.Context(), r, nil, st, true)
		switch {
		case errors.Is(err, ErrNotFound):
			m.problem(w, r, http.StatusNotFound, problemNotFound, "no record for this idempotency key")
			return
		case errors.Is(err, ErrInvalidKey):
			m.problem(w, r, http.StatusBadRequest, problemKeyInvalid, err.Error())
			return
		case errors.Is(err, errNoPrincipal):
			m.problem(w, r, http.StatusUnauthorized, problemUnauthorized, "the request's principal is unknown")
			return
		case errors.Is(err, errNoPathValue):
			m.problem(w, r, http.StatusInternalServerError, problemScopeRoute, "the server cannot scope this idempotency key")
			return
		case err != nil:
			m.log.ErrorContext(r.Context(), "idempotency: status lookup failed", "operation", m.c.op, "err", err)
			w.Header()["Retry-After"] = []string{"1"}
			m.problem(w, r, http.StatusServiceUnavailable, problemUnavailable, "the idempotency store is unavailable")
			return
		}
		b := statusBody{State: s.State.String(), Status: s.StatusCode, ExpiresAt: s.ExpiresAt.UTC()}
		if s.State == StateInFlight {
			lu := s.LeaseUntil.UTC()
			b.LeaseUntil = &lu
		}
		w.Header()["Content-Type"] = []string{"application/json"}
		w.Header()["Cache-Control"] = []string{"no-store"}
		_ = json.NewEncoder(w).Encode(b)
	})
}
