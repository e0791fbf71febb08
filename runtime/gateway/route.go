package gateway

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/idemgen/idemgen/runtime/idempotency"
)

// Route is one spec operation as the gateway routes it: its method, its path
// template already split into segments, and its policy. The generator builds
// the table from the spec (generator/proxyplan); the gateway only reads it.
type Route struct {
	// Method is the operation's method, upper case ("POST").
	Method string
	// Path is the template as the spec writes it ("/files/{name}.{ext}"), for
	// the route table and logs.
	Path string
	// Segments are the template's "/"-separated segments after the leading
	// "/", each literal text and parameters in order (the last one is empty
	// for a template ending with "/").
	Segments [][]Part
	// Operation is the operationId.
	Operation string
	// Policy is the operation's idempotency policy; nil passes its requests
	// through untouched.
	Policy *idempotency.Policy
	// Source is where the operation is declared ("openapi.yaml:42:7"), for
	// error messages.
	Source string
}

// Part is literal text or a parameter of a path segment.
type Part struct {
	// Literal is the text of a literal part (Param is then "").
	Literal string
	// Param is the parameter's spec name; the gateway sets its value as the
	// request's path value of that name (r.PathValue), which policies read.
	Param string
}

// Idempotent reports whether the route's policy is enforced.
func (r Route) Idempotent() bool { return r.Policy != nil }

// Summary says what is applied: "pass-through", or the policy's key source
// and notable options.
func (r Route) Summary() string {
	if r.Policy == nil {
		return "pass-through"
	}
	p := r.Policy
	var parts []string
	switch k := p.Key; {
	case k.Query != "":
		parts = append(parts, "key query "+k.Query)
	case k.Field != "":
		parts = append(parts, "key field "+k.Field)
	case len(k.Derive) > 0:
		parts = append(parts, "key derived from "+strings.Join(k.Derive, ","))
	case k.Header != "":
		parts = append(parts, "key header "+k.Header)
	default:
		parts = append(parts, "key header "+idempotency.DefaultHeader)
	}
	if p.Key.Optional {
		parts = append(parts, "optional")
	}
	if p.Key.Inject {
		parts = append(parts, "injected when missing")
	}
	if p.Issued != nil {
		parts = append(parts, "server-issued")
	}
	if len(p.Scope) > 0 {
		parts = append(parts, "scope "+strings.Join(p.Scope, ","))
	}
	return "idempotent: " + strings.Join(parts, ", ")
}

// check rejects a route the gateway cannot match.
func (r Route) check() error {
	if r.Method == "" {
		return errors.New("no method")
	}
	if len(r.Segments) == 0 {
		return errors.New("no path segments")
	}
	for _, seg := range r.Segments {
		for i, p := range seg {
			switch {
			case p.Param == "" && p.Literal == "":
				return errors.New("an empty part")
			case p.Param == "" && strings.IndexByte(p.Literal, '/') >= 0:
				return fmt.Errorf("literal %q holds a /", p.Literal)
			case i > 0 && p.Param == "" && seg[i-1].Param == "":
				return errors.New("two literals in a row")
			}
		}
	}
	return nil
}

// route is a Route ready to serve.
type route struct {
	Route
	h      http.Handler // the operation's middleware around the upstream (or the proxy)
	status http.Handler // its status lookup (nil for a pass-through operation)
	inject string       // key header to fill when the request has none ("" = never)
}

// match reports whether the escaped request path matches the route and, if so,
// returns the parameter values (unescaped) in path order.
func (rt *route) match(escaped string, vals []string) ([]string, bool) {
	if escaped == "" || escaped[0] != '/' {
		return vals, false
	}
	rest := escaped[1:]
	for i, seg := range rt.Segments {
		var part string
		if i == len(rt.Segments)-1 {
			if strings.IndexByte(rest, '/') >= 0 {
				return vals, false
			}
			part = rest
		} else {
			j := strings.IndexByte(rest, '/')
			if j < 0 {
				return vals, false
			}
			part, rest = rest[:j], rest[j+1:]
		}
		v := part
		if strings.IndexByte(part, '%') >= 0 {
			u, err := url.PathUnescape(part)
			if err != nil {
				return vals, false
			}
			v = u
		}
		var ok bool
		if vals, ok = matchSegment(seg, v, vals); !ok {
			return vals, false
		}
	}
	return vals, true
}

// matchSegment matches one unescaped segment against its parts. A parameter
// takes at least one character, and as few as the rest allows: the first
// parameter of "{name}.{ext}" gets "a" of "a.b.c", as the generated server's
// expression (.+?) does.
func matchSegment(parts []Part, v string, vals []string) ([]string, bool) {
	if len(parts) == 0 {
		return vals, v == ""
	}
	p := parts[0]
	if p.Param == "" {
		if !strings.HasPrefix(v, p.Literal) {
			return vals, false
		}
		return matchSegment(parts[1:], v[len(p.Literal):], vals)
	}
	if len(parts) == 1 {
		return append(vals, v), v != ""
	}
	if len(parts) == 2 && parts[1].Param == "" {
		// The common "{id}.json": the parameter is all before the suffix.
		suffix := parts[1].Literal
		if len(v) <= len(suffix) || !strings.HasSuffix(v, suffix) {
			return vals, false
		}
		return append(vals, v[:len(v)-len(suffix)]), true
	}
	n := len(vals)
	for k := 0; k < len(v); {
		_, size := utf8.DecodeRuneInString(v[k:])
		k += size
		if out, ok := matchSegment(parts[1:], v[k:], append(vals[:n], v[:k])); ok {
			return out, true
		}
	}
	return vals[:n], false
}

// router holds the routes by method, in the order they are tried.
type router map[string][]*route

func (rt router) add(r *route) { rt[r.Method] = append(rt[r.Method], r) }

// find returns the first route of the request's method that matches its
// escaped path (after the base path was stripped) and its parameter values,
// or nil. A HEAD request no HEAD route matches gets the GET route, as in the
// generated server (a ServeMux GET pattern serves HEAD too).
func (rt router) find(method, escaped string, vals []string) (*route, []string) {
	for _, r := range rt[method] {
		if v, ok := r.match(escaped, vals[:0]); ok {
			return r, v
		}
	}
	if method == http.MethodHead {
		return rt.find(http.MethodGet, escaped, vals)
	}
	return nil, vals
}
