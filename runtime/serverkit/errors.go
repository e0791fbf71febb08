package serverkit

import (
	"errors"
	"net/http"

	"github.com/idemgen/idemgen/runtime/idempotency"
)

// RequestError is a request that could not be decoded: a parameter or the
// body did not match the spec. Field names what was wrong ("query parameter
// \"limit\"", "request body"). The server answers it with 400 problem+json.
type RequestError struct {
	Field  string
	Status int
	Err    error
}

// Error returns the field and the error: `query parameter "limit": want an integer (64 bits), got "x"`.
func (e *RequestError) Error() string { return e.Field + ": " + e.Err.Error() }

// Unwrap returns Err.
func (e *RequestError) Unwrap() error { return e.Err }

// BadRequest returns a 400 RequestError about field.
func BadRequest(field string, err error) error {
	return &RequestError{Field: field, Status: http.StatusBadRequest, Err: err}
}

// problemNames name the problems a generated server writes itself; the
// problem "type" is the configured base URI, "#" and the name (as the
// idempotency runtime does for its own problems).
var problemNames = map[int]string{
	http.StatusBadRequest:            "request-invalid",
	http.StatusNotFound:              "route-not-found",
	http.StatusMethodNotAllowed:      "method-not-allowed",
	http.StatusUnsupportedMediaType:  "unsupported-media-type",
	http.StatusRequestEntityTooLarge: "request-too-large",
	http.StatusInternalServerError:   "internal-error",
	http.StatusNotImplemented:        "not-implemented",
}

// writeProblem writes a problem of status with detail: problem+json, or a
// small HTML page for a browser (idempotency.WriteProblemFor).
func writeProblem(w http.ResponseWriter, r *http.Request, problemType string, status int, detail string) {
	p := idempotency.Problem{Status: status, Title: http.StatusText(status), Detail: detail, Instance: r.URL.Path}
	if problemType != "" {
		p.Type = problemType + "#" + problemNames[status]
	}
	idempotency.WriteProblemFor(w, r, p)
}

// WriteRequestError writes err (a *RequestError) as problem+json. An error
// that writes its own problem (a *validate.Error, which lists violations)
// does so.
func WriteRequestError(w http.ResponseWriter, r *http.Request, problemType string, err error) {
	var own interface {
		WriteProblem(w http.ResponseWriter, r *http.Request, problemType string)
	}
	if errors.As(err, &own) {
		own.WriteProblem(w, r, problemType)
		return
	}
	var re *RequestError
	status := http.StatusBadRequest
	if errors.As(err, &re) && re.Status != 0 {
		status = re.Status
	}
	writeProblem(w, r, problemType, status, err.Error())
}

// WriteServerError is the default error handler: 500 problem+json. The error
// text is not sent (it may hold internal details).
func WriteServerError(w http.ResponseWriter, r *http.Request, problemType string) {
	writeProblem(w, r, problemType, http.StatusInternalServerError, "")
}
