package serverkit

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
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
		WriteRequestError(w, r, problemType, &RequestError{Field: "path", Status: http.StatusNotFound, Err: errors.New("no operation matches")})
	})
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
