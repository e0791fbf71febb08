package validate

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/idemgen/idemgen/runtime/idempotency"
)

// MaxViolations is the most violations one Errors keeps; the rest are counted.
const MaxViolations = 20

// Violation is one way a request breaks its schema.
type Violation struct {
	// In is where the value is: "query", "path", "header" or "cookie" for a
	// parameter, empty for the request body.
	In string `json:"in,omitempty"`
	// Pointer is the JSON Pointer of the offending value: in the request body
	// ("" for the whole body, "/items/2/name"), or for a parameter its name
	// ("/limit") and the path inside its value.
	Pointer string `json:"pointer"`
	// Detail says what the schema requires ("must be >= 1").
	Detail string `json:"detail"`
}

// token is one step of the current location: a member name, or an index
// when index >= 0.
type token struct {
	name  string
	index int
}

// Errors collects the violations found while generated code walks a request.
// Its zero value is ready to use, at the root of the request body. In,
// Enter and Leave track where the walk is; the location of a violation is
// spelled out only when one is added.
type Errors struct {
	in    string
	stack [16]token // the current location, then deep for anything deeper
	deep  []token
	depth int

	list    []Violation
	omitted int

	// Response is set to check a response: read-only members are then
	// allowed and write-only ones refused (ReadOnly, WriteOnly).
	Response bool
}

// In moves the walk to the parameters in in ("query", "path", "header",
// "cookie"), or back to the request body when in is "". Add then names a
// parameter.
func (e *Errors) In(in string) { e.in, e.depth = in, 0 }

// Enter moves the location into member name of the current value.
func (e *Errors) Enter(name string) { e.push(token{name: name, index: -1}) }

// EnterIndex moves the location into item i of the current array.
func (e *Errors) EnterIndex(i int) { e.push(token{index: i}) }

func (e *Errors) push(t token) {
	if e.depth < len(e.stack) {
		e.stack[e.depth] = t
	} else {
		e.deep = append(e.deep[:e.depth-len(e.stack)], t)
	}
	e.depth++
}

// Leave undoes the last Enter or EnterIndex.
func (e *Errors) Leave() { e.depth-- }

// Add records a violation of member name of the current value ("" for the
// current value itself).
func (e *Errors) Add(name, detail string) {
	if e.full() {
		return
	}
	p := e.pointer()
	if name != "" {
		p += "/" + escape(name)
	}
	e.list = append(e.list, Violation{In: e.in, Pointer: p, Detail: detail})
}

// AddIndex records a violation of item i of the current array.
// missing records that member name of the current object is absent.
func (e *Errors) missing(name string) {
	if e.full() {
		return
	}
	e.list = append(e.list, Violation{In: e.in, Pointer: e.pointer() + "/" + escape(name), Detail: "is required"})
}

// ReadOnly records that a request carries the read-only member name; in a
// response (Response set) it is allowed.
func (e *Errors) ReadOnly(name string) {
	if !e.Response {
		e.Add(name, "is read-only: a request must not send it")
	}
}

// WriteOnly records that a response carries the write-only member name; in a
// request it is allowed.
func (e *Errors) WriteOnly(name string) {
	if e.Response {
		e.Add(name, "is write-only: a response must not carry it")
	}
}

// Matched records a violation of a oneOf (exactly one variant must match)
// or an anyOf (at least one) whose value matched n variants.
func (e *Errors) Matched(n int, oneOf bool) {
	switch {
	case n == 0 && oneOf:
		e.Add("", "must match one of its schemas (oneOf): it matches none")
	case n == 0:
		e.Add("", "must match at least one of its schemas (anyOf): it matches none")
	case n > 1 && oneOf:
		e.Add("", "must match exactly one of its schemas (oneOf): it matches "+strconv.Itoa(n))
	}
}

func (e *Errors) AddIndex(i int, detail string) {
	if e.full() {
		return
	}
	e.list = append(e.list, Violation{In: e.in, Pointer: e.pointer() + "/" + strconv.Itoa(i), Detail: detail})
}

// Full reports that no more violations will be listed, so a caller may stop
// walking.
func (e *Errors) Full() bool { return len(e.list) >= MaxViolations }

func (e *Errors) full() bool {
	if e.Full() {
		e.omitted++
		return true
	}
	return false
}

// pointer spells out the current location.
func (e *Errors) pointer() string {
	var b strings.Builder
	for i := 0; i < e.depth; i++ {
		t := e.at(i)
		b.WriteByte('/')
		if t.index >= 0 {
			b.WriteString(strconv.Itoa(t.index))
		} else {
			b.WriteString(escape(t.name))
		}
	}
	return b.String()
}

func (e *Errors) at(i int) token {
	if i < len(e.stack) {
		return e.stack[i]
	}
	return e.deep[i-len(e.stack)]
}

// Err returns the violations as an *Error, or nil when there are none.
func (e *Errors) Err() error {
	if len(e.list) == 0 {
		return nil
	}
	return &Error{Violations: e.list, Omitted: e.omitted, Response: e.Response}
}

// Request joins what decoding a request found (decodeErr) with what check
// (its generated validate method) finds, so that a 400 lists every violation
// at once: required members that are absent and the other keywords. A
// decoding failure that is not a list of violations (malformed JSON, a
// wrong type) is returned alone: the decoded value cannot be checked. A
// member decoding reported (absent, or a form field that did not parse) is
// not reported again: what check sees there is the zero value decoded in its
// place.
func Request(decodeErr error, check func() error) error {
	var missing *Error
	if decodeErr != nil {
		var ok bool
		if missing, ok = decodeErr.(*Error); !ok {
			return decodeErr
		}
	}
	err := check()
	if missing == nil {
		return err
	}
	more, ok := err.(*Error)
	if !ok {
		return missing
	}
	out := &Error{Violations: missing.Violations, Omitted: missing.Omitted + more.Omitted}
	for _, x := range more.Violations {
		if covered(missing.Violations, x) {
			continue
		}
		if len(out.Violations) >= MaxViolations {
			out.Omitted++
			continue
		}
		out.Violations = append(out.Violations, x)
	}
	return out
}

// covered reports whether x is about a member that decoding already
// reported in list (or lies below one).
func covered(list []Violation, x Violation) bool {
	for _, m := range list {
		if m.In == x.In && (x.Pointer == m.Pointer || strings.HasPrefix(x.Pointer, m.Pointer+"/")) {
			return true
		}
	}
	return false
}

// escape escapes a JSON Pointer token (RFC 6901).
func escape(s string) string {
	if !strings.ContainsAny(s, "~/") {
		return s
	}
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// Error is a request that breaks its schemas: the violations found (at most
// MaxViolations) and how many more were not listed.
type Error struct {
	Violations []Violation
	Omitted    int
	// Response says the violations are a response's (see Errors.Response).
	Response bool
}

// Error lists the violations on one line: "the request does not match its
// schemas (2 violations): /sku: must match ^[A-Z]+$; query /limit: must be <= 100".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.summary())
	b.WriteString(": ")
	for i, v := range e.Violations {
		if i > 0 {
			b.WriteString("; ")
		}
		if v.In != "" {
			b.WriteString(v.In)
			b.WriteString(" ")
		}
		if v.Pointer != "" {
			b.WriteString(v.Pointer)
			b.WriteString(": ")
		}
		b.WriteString(v.Detail)
	}
	if e.Omitted > 0 {
		b.WriteString("; and " + strconv.Itoa(e.Omitted) + " more")
	}
	return b.String()
}

func (e *Error) summary() string {
	n := len(e.Violations) + e.Omitted
	s := "the request does not match its schemas"
	if e.Response {
		s = "the response does not match its schemas"
	}
	if n == 1 {
		return s
	}
	return s + " (" + strconv.Itoa(n) + " violations)"
}

// problem is the problem+json body of an *Error.
type problem struct {
	Type     string      `json:"type,omitempty"`
	Title    string      `json:"title"`
	Status   int         `json:"status"`
	Detail   string      `json:"detail"`
	Instance string      `json:"instance,omitempty"`
	Errors   []Violation `json:"errors"`
}

// WriteProblem answers e with 400 application/problem+json listing the
// violations in an "errors" member. problemType is the base URI of the
// server's problem types ("" for about:blank); the type is problemType
// followed by "#request-invalid", as for the server's other decoding errors.
//
// A browser (an Accept that prefers text/html) gets the small HTML page of
// idempotency.WriteProblemFor instead, the violations in its detail.
func (e *Error) WriteProblem(w http.ResponseWriter, r *http.Request, problemType string) {
	typ := ""
	if problemType != "" {
		typ = problemType + "#request-invalid"
	}
	if idempotency.PrefersHTML(r.Header.Values("Accept")) {
		idempotency.WriteProblemFor(w, r, idempotency.Problem{Type: typ, Status: http.StatusBadRequest,
			Title: http.StatusText(http.StatusBadRequest), Detail: e.Error(), Instance: r.URL.Path})
		return
	}
	p := problem{Title: http.StatusText(http.StatusBadRequest), Status: http.StatusBadRequest,
		Detail: e.summary(), Instance: r.URL.Path, Errors: e.Violations}
	if e.Omitted > 0 {
		p.Detail += "; the first " + strconv.Itoa(len(e.Violations)) + " are listed"
	}
	h := w.Header()
	if typ != "" {
		p.Type = typ
		if p.Type != "about:blank" {
			h.Add("Link", "<"+p.Type+`>; rel="describedby"`)
		}
	}
	body, err := json.Marshal(p)
	if err != nil { // strings and an int: cannot fail; keep the status anyway
		body = []byte(`{"status":400}`)
	}
	h["Content-Type"] = []string{"application/problem+json"}
	h["Cache-Control"] = []string{"no-store"}
	h["X-Content-Type-Options"] = []string{"nosniff"}
	h["Content-Length"] = []string{strconv.Itoa(len(body) + 1)}
	w.WriteHeader(http.StatusBadRequest)
	_, _ = w.Write(append(body, '\n'))
}
