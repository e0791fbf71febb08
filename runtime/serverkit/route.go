package serverkit

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
)

// PathParam locates one path parameter of an operation: the ServeMux
// wildcard that holds it, and the group of a regular expression over the
// wildcard's value when the parameter shares its segment with text.
type PathParam struct {
	// Name is the parameter's name in the spec.
	Name string
	// Wildcard is the name of the ServeMux wildcard that holds it.
	Wildcard string
	// Regexp, when not nil, splits the wildcard's value; the parameter is
	// submatch Group of it. A value it does not match leaves the parameter unset.
	Regexp *regexp.Regexp
	Group  int
}

// NamePath makes every path parameter readable under its name in the spec
// (r.PathValue("billId")) before next runs: ServeMux wildcards are named by
// position, but the idempotency runtime (scope path:NAME, derive path:NAME)
// and the generated decoders read parameters by their spec names.
func NamePath(next http.Handler, params ...PathParam) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, p := range params {
			v := r.PathValue(p.Wildcard)
			if p.Regexp != nil {
				m := p.Regexp.FindStringSubmatch(v)
				if m == nil {
					continue
				}
				v = m[p.Group]
			}
			r.SetPathValue(p.Name, v)
		}
		next.ServeHTTP(w, r)
	})
}

// Route is one operation behind a ServeMux pattern shared with others: it
// serves a request when every (wildcard, expression) pair matches.
type Route struct {
	// Wildcards and Regexps are pairs: Regexps[i] must match the value of
	// the ServeMux wildcard Wildcards[i].
	Wildcards []string
	Regexps   []*regexp.Regexp
	// Handler serves the requests the route matches.
	Handler http.Handler
}

// Dispatch serves a request with the first route that matches, or 404.
func Dispatch(problemType string, routes ...Route) http.Handler {
	return dispatch(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		WriteRequestError(w, r, problemType, &RequestError{Field: "path", Status: http.StatusNotFound, Err: errors.New("no operation matches")})
	}), routes)
}

// Dispatch serves a request with the first route that matches, or with the
// server's not-found handler (WithNotFound).
func (s *Server) Dispatch(routes ...Route) http.Handler {
	return dispatch(s.notFound, routes)
}

func dispatch(notFound http.Handler, routes []Route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	next:
		for _, rt := range routes {
			for i, wc := range rt.Wildcards {
				if !rt.Regexps[i].MatchString(r.PathValue(wc)) {
					continue next
				}
			}
			rt.Handler.ServeHTTP(w, r)
			return
		}
		notFound.ServeHTTP(w, r)
	})
}

// OperationInfo describes one operation of a generated server to the
// middleware of WithOperationMiddleware.
type OperationInfo struct {
	// ID is the operationId ("getOrder").
	ID string
	// Method is the HTTP method ("GET").
	Method string
	// Route is the spec's path template, with the spec's parameter names
	// ("/orders/{orderId}"): the http.route of OpenTelemetry.
	Route string
}

// Operation returns the handler of operation op: h (already wrapped with
// the idempotency middleware when op is idempotent) inside the middleware of
// WithOperationMiddleware, with the path parameters set under their spec
// names (see NamePath) before any of it runs.
func (s *Server) Operation(op OperationInfo, h http.Handler, params ...PathParam) http.Handler {
	for i := len(s.operationMiddleware) - 1; i >= 0; i-- {
		h = s.operationMiddleware[i](op, h)
	}
	if len(params) > 0 {
		h = NamePath(h, params...)
	}
	return h
}

// unrouted answers a request that no registered pattern matched: 405 with
// Allow when the path matches a pattern of another method, else 404.
func (s *Server) unrouted(w http.ResponseWriter, r *http.Request) {
	var allow []string
	probe := r.Clone(r.Context())
	for _, m := range s.methods {
		probe.Method = m
		// Only operations' patterns have a method; the fallback "/" does not.
		if _, pattern := s.mux.Handler(probe); pattern != "" && pattern != "/" {
			allow = append(allow, m)
		}
	}
	if len(allow) == 0 {
		s.notFound.ServeHTTP(w, r)
		return
	}
	w.Header().Set("Allow", strings.Join(allow, ", "))
	s.methodNotAllowed.ServeHTTP(w, r)
}

func (s *Server) writeNotFound(w http.ResponseWriter, r *http.Request) {
	writeProblem(w, r, s.problemType, http.StatusNotFound, "no operation matches "+r.Method+" "+r.URL.Path)
}

func (s *Server) writeMethodNotAllowed(w http.ResponseWriter, r *http.Request) {
	writeProblem(w, r, s.problemType, http.StatusMethodNotAllowed,
		r.URL.Path+" does not accept "+r.Method+"; it accepts "+w.Header().Get("Allow"))
}

// Handle registers h for pattern, turning ServeMux's panic on conflicting
// patterns (possible with some specs) into an error.
func Handle(mux *http.ServeMux, pattern string, h http.Handler) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("route %q: %v", pattern, p)
		}
	}()
	mux.Handle(pattern, h)
	return nil
}
