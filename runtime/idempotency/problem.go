package idempotency

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// Problem is an RFC 9457 problem details object. The runtime answers every
// error it produces itself with one; generated servers use it for their own 400s.
type Problem struct {
	// Type is a URI identifying the problem type; empty means "about:blank".
	Type string `json:"type,omitempty"`
	// Title is a short, human-readable summary of the problem type.
	Title string `json:"title,omitempty"`
	// Status is the HTTP status code.
	Status int `json:"status,omitempty"`
	// Detail explains this occurrence. It never carries another caller's data.
	Detail string `json:"detail,omitempty"`
	// Instance is a URI reference identifying this occurrence.
	Instance string `json:"instance,omitempty"`
}

// WriteProblem writes p as application/problem+json with status p.Status
// (500 when zero). When p.Type is an absolute URI other than about:blank it
// also sends `Link: <type>; rel="describedby"` so clients can find the docs.
func WriteProblem(w http.ResponseWriter, p Problem) {
	h := w.Header()
	p = problemHeaders(h, p, "application/problem+json")
	body, err := json.Marshal(p)
	if err != nil { // cannot happen for strings and an int; keep the status anyway
		body = []byte(`{"status":` + strconv.Itoa(p.Status) + `}`)
	}
	h["Content-Length"] = []string{strconv.Itoa(len(body) + 1)}
	w.WriteHeader(p.Status)
	_, _ = w.Write(append(body, '\n'))
}

// problemHeaders fills p's defaults (status 500, the status text as title)
// and sets the headers of a problem answer in either form: contentType, never
// cached, no sniffing, and a Link to the type's documentation when it has one.
func problemHeaders(h http.Header, p Problem, contentType string) Problem {
	if p.Status == 0 {
		p.Status = http.StatusInternalServerError
	}
	if p.Title == "" {
		p.Title = http.StatusText(p.Status)
	}
	h["Content-Type"] = []string{contentType}
	h["Cache-Control"] = []string{"no-store"}
	h["X-Content-Type-Options"] = []string{"nosniff"}
	if p.Type != "" && p.Type != "about:blank" {
		h.Add("Link", "<"+p.Type+`>; rel="describedby"`)
	}
	return p
}

// Problem types the runtime produces. The "type" URI of each is the policy's
// ProblemType base followed by "#" and the name (about:blank without a base).
const (
	problemKeyMissing   = "idempotency-key-missing"
	problemKeyInvalid   = "idempotency-key-invalid"
	problemInFlight     = "idempotency-request-in-flight"
	problemMismatch     = "idempotency-key-reused"
	problemUnavailable  = "idempotency-store-unavailable"
	problemTooLarge     = "idempotency-request-too-large"
	problemUnauthorized = "idempotency-principal-unknown"
	problemNotFound     = "idempotency-record-not-found"
	problemMethod       = "idempotency-method-not-allowed"
	problemScopeRoute   = "idempotency-scope-unrouted"
)

// problem writes one of the runtime's own problems, as HTML when r comes from
// a browser page (see WriteProblemFor).
func (m *Middleware) problem(w http.ResponseWriter, r *http.Request, status int, name, detail string) {
	p := Problem{Status: status, Detail: detail}
	if m.problemType != "" {
		p.Type = m.problemType + "#" + name
	}
	WriteProblemFor(w, r, p)
}
