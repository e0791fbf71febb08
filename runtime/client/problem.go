package client

import (
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"strings"
)

// Problem is an RFC 9457 problem details object (application/problem+json), the
// body of the idempotency runtime's own errors: 400 (bad or missing key), 409
// (the same key is in flight), 422 (the key was reused with another payload) and
// 503 (the idempotency store is unavailable). It is an error so that
// errors.As(err, &p) finds it behind an *Error.
type Problem struct {
	// Type is a URI that identifies the problem type ("about:blank" when absent).
	Type string `json:"type,omitempty"`
	// Title is a short summary of the problem type.
	Title string `json:"title,omitempty"`
	// Status is the HTTP status the server sent with the problem.
	Status int `json:"status,omitempty"`
	// Detail explains this occurrence.
	Detail string `json:"detail,omitempty"`
	// Instance identifies this occurrence.
	Instance string `json:"instance,omitempty"`
	// Extensions holds every other member of the object, undecoded.
	Extensions map[string]json.RawMessage `json:"-"`
}

// Error formats the problem as "title: detail" (or whichever of them is set).
func (p *Problem) Error() string {
	switch {
	case p.Title != "" && p.Detail != "":
		return p.Title + ": " + p.Detail
	case p.Detail != "":
		return p.Detail
	case p.Title != "":
		return p.Title
	case p.Type != "":
		return p.Type
	}
	return fmt.Sprintf("problem %d", p.Status)
}

// UnmarshalJSON decodes the standard members and keeps the others in Extensions.
func (p *Problem) UnmarshalJSON(b []byte) error {
	var all map[string]json.RawMessage
	if err := json.Unmarshal(b, &all); err != nil {
		return err
	}
	type plain Problem // no methods: avoids recursion
	var q plain
	if err := json.Unmarshal(b, &q); err != nil {
		return err
	}
	*p = Problem(q)
	for _, k := range []string{"type", "title", "status", "detail", "instance"} {
		delete(all, k)
	}
	if len(all) > 0 {
		p.Extensions = all
	}
	return nil
}

// Error is the error of a call answered with a 4xx or 5xx status that is not one
// of the operation's declared outcomes: a status the spec does not declare, or an
// application/problem+json answer (the idempotency runtime's 400/409/422/503, a
// generated server's own 400) where the spec declares no problem+json for that
// status. Problem is set when the body was application/problem+json;
// errors.As(err, &problem) reaches it. Result tells how many attempts were made
// and which key was sent.
type Error struct {
	// Operation is the operation id of the call (may be empty for hand-built calls).
	Operation string
	// Status is the HTTP status of the final response.
	Status int
	// Header is the final response's header.
	Header http.Header
	// Body is the final response's body.
	Body []byte
	// Problem is the decoded problem+json body, nil when the body was not one.
	Problem *Problem
	// Result describes the logical call (key, attempts, replayed).
	Result Result
}

// Error formats the error as "client: OPERATION: STATUS TEXT: title: detail",
// saying each thing once: the problem's title is left out when it is only the
// status text again (the idempotency runtime's titles are), its status always.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("client: ")
	if e.Operation != "" {
		b.WriteString(e.Operation)
		b.WriteString(": ")
	}
	text := http.StatusText(e.Status)
	fmt.Fprintf(&b, "%d %s", e.Status, text)
	if p := e.Problem; p != nil {
		q := *p
		if strings.EqualFold(q.Title, text) {
			q.Title = ""
		}
		if q.Title != "" || q.Detail != "" {
			b.WriteString(": ")
			b.WriteString(q.Error())
		}
	}
	if e.Result.Attempts > 1 {
		fmt.Fprintf(&b, " (after %d attempts)", e.Result.Attempts)
	}
	return b.String()
}

// Unwrap returns the Problem, so errors.As finds a *Problem behind an *Error.
func (e *Error) Unwrap() error {
	if e.Problem == nil {
		return nil
	}
	return e.Problem
}

// InFlight reports a 409 answer to a key whose first request is still running:
// retrying later gets its outcome.
func (e *Error) InFlight() bool { return inFlight(e.Status, e.Header) }

// KeyMismatch reports a 422 answer: the key was already used with another payload.
// This is a bug in the caller (a key reused for a different call) and is never retried.
func (e *Error) KeyMismatch() bool { return e.Status == http.StatusUnprocessableEntity }

// inFlight reports whether a response is the "request with this key is still in
// progress" conflict of the IETF draft: a 409 with Retry-After or a problem body.
// A 409 with neither is an ordinary conflict of the application.
func inFlight(status int, h http.Header) bool {
	return status == http.StatusConflict && (h.Get("Retry-After") != "" || isProblem(h))
}

// isProblem reports whether header declares an application/problem+json body.
func isProblem(h http.Header) bool {
	mt, _, err := mime.ParseMediaType(h.Get("Content-Type"))
	return err == nil && mt == "application/problem+json"
}

// decodeProblem decodes body as a problem when header says it is one.
func decodeProblem(h http.Header, body []byte) *Problem {
	if !isProblem(h) {
		return nil
	}
	var p Problem
	if json.Unmarshal(body, &p) != nil {
		return nil
	}
	return &p
}
