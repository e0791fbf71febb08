package gateway

import (
	"cmp"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/idemgen/idemgen/generator/model"
)

// segment is one "/"-separated piece of a path template: a literal, or one
// parameter with an optional literal prefix and suffix ("{id}", "{id}.json").
type segment struct {
	lit            string // the literal, when name is ""
	name           string // the parameter's spec name
	prefix, suffix string
}

// rank orders segments for matching precedence: literals first, then
// parameters inside literal text, then whole-segment parameters.
func (s segment) rank() int {
	switch {
	case s.name == "":
		return 0
	case s.prefix != "" || s.suffix != "":
		return 1
	}
	return 2
}

// route is one spec operation the gateway matches.
type route struct {
	op     *model.Operation
	segs   []segment
	h      http.Handler // the operation's middleware around the upstream (or the proxy)
	status http.Handler // its status lookup (nil for a pass-through operation)
	inject string       // key header to fill when the request has none ("" = never)
}

// parseTemplate splits an OpenAPI path template into segments. It rejects
// templates the gateway cannot match unambiguously.
func parseTemplate(path string) ([]segment, error) {
	if !strings.HasPrefix(path, "/") {
		return nil, fmt.Errorf("path %q: want a leading /", path)
	}
	parts := strings.Split(path[1:], "/")
	segs := make([]segment, len(parts))
	for i, p := range parts {
		open := strings.IndexByte(p, '{')
		if open < 0 {
			if strings.IndexByte(p, '}') >= 0 {
				return nil, fmt.Errorf("path %q: unbalanced } in segment %q", path, p)
			}
			segs[i] = segment{lit: p}
			continue
		}
		end := strings.IndexByte(p[open:], '}')
		if end < 0 {
			return nil, fmt.Errorf("path %q: unbalanced { in segment %q", path, p)
		}
		end += open
		rest := p[end+1:]
		if strings.ContainsAny(rest, "{}") {
			return nil, fmt.Errorf("path %q: segment %q has more than one parameter, which the gateway cannot split", path, p)
		}
		name := p[open+1 : end]
		if name == "" {
			return nil, fmt.Errorf("path %q: empty parameter name", path)
		}
		segs[i] = segment{name: name, prefix: p[:open], suffix: rest}
	}
	return segs, nil
}

// match reports whether the escaped request path matches the route and, if so,
// returns the parameter values (unescaped) in segment order.
func (rt *route) match(escaped string, vals []string) ([]string, bool) {
	if escaped == "" || escaped[0] != '/' {
		return vals, false
	}
	rest := escaped[1:]
	for i, s := range rt.segs {
		var part string
		if i == len(rt.segs)-1 {
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
		if s.name == "" {
			if v != s.lit {
				return vals, false
			}
			continue
		}
		if len(v) <= len(s.prefix)+len(s.suffix) || !strings.HasPrefix(v, s.prefix) || !strings.HasSuffix(v, s.suffix) {
			return vals, false
		}
		vals = append(vals, v[len(s.prefix):len(v)-len(s.suffix)])
	}
	return vals, true
}

// compareRoutes orders routes of one method by precedence: segment by
// segment, a literal beats a partial parameter beats a whole parameter, so
// "/songs/latest" is tried before "/songs/{id}". Ties keep spec order.
func compareRoutes(a, b *route) int {
	for i := range min(len(a.segs), len(b.segs)) {
		if c := cmp.Compare(a.segs[i].rank(), b.segs[i].rank()); c != 0 {
			return c
		}
	}
	return cmp.Compare(len(a.segs), len(b.segs))
}

// router holds the routes by method.
type router map[string][]*route

func (rt router) add(r *route) { rt[r.op.Method] = append(rt[r.op.Method], r) }

func (rt router) sort() {
	for _, rs := range rt {
		slices.SortStableFunc(rs, compareRoutes)
	}
}

// find returns the route of the request's method and escaped path (after the
// base path was stripped) and its parameter values, or nil.
func (rt router) find(method, escaped string, vals []string) (*route, []string) {
	for _, r := range rt[method] {
		if v, ok := r.match(escaped, vals[:0]); ok {
			return r, v
		}
	}
	return nil, vals
}
