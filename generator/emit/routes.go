package emit

import (
	"cmp"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"
	"unicode"

	"github.com/idemgen/idemgen/generator/model"
	"github.com/idemgen/idemgen/runtime/serverkit"
)

// routeTable is how operations map to ServeMux patterns.
type routeTable struct {
	groups     []*routeGroup
	byOp       map[*model.Operation]*opRoute
	regexps    []routeRegexp
	handlerVar map[*model.Operation]string
}

// routeGroup is one ServeMux pattern and the operations behind it: more than
// one when paths differ only inside segments ("/{id}.json", "/{id}.xml") or
// when their patterns would conflict in the ServeMux ("/a/{x}/b" and
// "/a/b/{y}": neither is more specific, and ServeMux panics). The generated
// dispatcher then tries them in order of specificity.
type routeGroup struct {
	pattern  string
	method   string
	segs     []pathSeg
	trailing bool // the path ends with "/": the pattern ends with "{$}"
	ops      []*model.Operation
	// names are the ServeMux wildcard names of the pattern's segments
	// ("" for a literal segment); see wildcardNames.
	names []string
}

// pathSeg is one segment of a pattern: a literal, or a wildcard (p<index>).
type pathSeg struct {
	lit  string
	wild bool
}

type routeRegexp struct{ name, expr string }

// opRoute is how one operation's path parameters are read.
type opRoute struct {
	params map[string]paramLoc
	segs   []pathSeg
	// partial are the constraints of segments that mix text and parameters.
	partial []constraint
	// constraints must all match for the operation to serve a request: the
	// partial ones and the literals its group's pattern generalised away.
	constraints []constraint
}

// pathParams returns the names of the operation's path parameters, sorted.
func (rt *opRoute) pathParams() []string {
	names := make([]string, 0, len(rt.params))
	for n := range rt.params {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// renamedParams returns the names of the path parameters that
// serverkit.NamePath must set under their spec names, sorted: those whose
// ServeMux wildcard has another name or holds more than the parameter.
func (rt *opRoute) renamedParams() []string {
	var names []string
	for _, n := range rt.pathParams() {
		if loc := rt.params[n]; loc.re != "" || loc.wildcard != n {
			names = append(names, n)
		}
	}
	return names
}

type paramLoc struct {
	seg      int // the index of the path segment that holds it
	wildcard string
	re       string // name of the regexp variable; "" for a whole segment
	group    int
}

type constraint struct{ wildcard, re string }

// routes turns every operation's route (model.Route) into a ServeMux pattern.
// Wildcards are named after the parameter they hold where the group's
// operations agree on it, else by position (see wildcardNames), and a
// segment that mixes text and parameters becomes one wildcard whose value a
// regular expression splits.
func (g *generator) routes() *routeTable {
	t := &routeTable{byOp: make(map[*model.Operation]*opRoute), handlerVar: make(map[*model.Operation]string)}
	for _, op := range g.api.Operations {
		rt := &opRoute{params: make(map[string]paramLoc)}
		segs := op.Route.Segments
		trailing := op.Route.Trailing()
		if trailing {
			segs = segs[:len(segs)-1]
		}
		for i, seg := range segs {
			wildcard := wildcardName(i)
			if p, ok := seg.Whole(); ok {
				rt.segs = append(rt.segs, pathSeg{wild: true})
				rt.params[p.Name] = paramLoc{seg: i, wildcard: wildcard}
				continue
			}
			if lit, ok := seg.Literal(); ok && !strings.ContainsAny(lit, "{}") {
				rt.segs = append(rt.segs, pathSeg{lit: lit})
				continue
			}
			// Text and parameters, or text a pattern cannot hold (a
			// malformed template the loader reported): a wildcard and an
			// expression its value must match.
			rt.segs = append(rt.segs, pathSeg{wild: true})
			name := fmt.Sprintf("serverPath%s%d", g.ops[op].Method, i)
			var expr strings.Builder
			expr.WriteString("^")
			group := 0
			for _, p := range seg.Parts {
				if !p.IsParam() {
					expr.WriteString(regexp.QuoteMeta(p.Literal))
					continue
				}
				group++
				expr.WriteString("(.+?)")
				rt.params[p.Name] = paramLoc{seg: i, wildcard: wildcard, re: name, group: group}
			}
			expr.WriteString("$")
			t.regexps = append(t.regexps, routeRegexp{name: name, expr: expr.String()})
			rt.partial = append(rt.partial, constraint{wildcard: wildcard, re: name})
		}
		t.byOp[op] = rt
		t.groups = append(t.groups, &routeGroup{method: op.Method, segs: rt.segs, trailing: trailing, ops: []*model.Operation{op}})
	}
	index := make(map[*model.Operation]int, len(g.api.Operations))
	for i, op := range g.api.Operations {
		index[op] = i
	}
	// precedes is the order in which operations are tried, the gateway's too.
	precedes := func(a, b *model.Operation) int {
		return cmp.Or(model.ComparePrecedence(a.Route, b.Route), cmp.Compare(index[a], index[b]))
	}
	// A group whose pattern is more specific than another's takes every
	// request both match (ServeMux's rule). That is the route precedence
	// only when each of its operations precedes each of the other's, and one
	// of them serves its whole pattern (else a request it leaves unserved
	// would be a 404, not the other group's).
	apart := func(inner, outer *routeGroup) bool {
		whole := false
		for _, a := range inner.ops {
			rt := t.byOp[a]
			whole = whole || (len(rt.partial) == 0 && slices.Equal(rt.segs, inner.segs))
			for _, b := range outer.ops {
				if precedes(a, b) > 0 {
					return false
				}
			}
		}
		return whole
	}
	t.groups = mergeConflicts(t.groups, apart)
	for _, grp := range t.groups {
		grp.names = wildcardNames(grp, t.byOp)
		grp.pattern = grp.method + " " + patternPath(grp.segs, grp.names, grp.trailing)
		for _, op := range grp.ops {
			rt := t.byOp[op]
			for n, loc := range rt.params {
				if loc.re == "" {
					loc.wildcard = grp.names[loc.seg]
					rt.params[n] = loc
				}
			}
			rt.constraints = append([]constraint(nil), rt.partial...)
			for i, s := range rt.segs {
				if grp.segs[i].wild && !s.wild {
					name := fmt.Sprintf("serverPath%s%d", g.ops[op].Method, i)
					t.regexps = append(t.regexps, routeRegexp{name: name, expr: "^" + regexp.QuoteMeta(s.lit) + "$"})
					rt.constraints = append(rt.constraints, constraint{wildcard: grp.names[i], re: name})
				}
			}
		}
		// The operation that takes precedence is tried first, as in the
		// gateway; the spec's order decides ties.
		slices.SortStableFunc(grp.ops, func(a, b *model.Operation) int {
			return precedes(a, b)
		})
	}
	return t
}

// RouteServer registers on mux the routing of the NewServer that Generate
// emits for api: the same ServeMux patterns, the same dispatch among the
// operations that share one, and path parameters named by their spec names,
// with handler(op) serving each operation. It tells, without compiling
// generated code, which operation a request reaches (the gateway's tests
// compare their routing with it).
func RouteServer(api *model.API, mux *http.ServeMux, handler func(*model.Operation) http.Handler) error {
	g := newGenerator(api, Options{Package: "routes"})
	t := g.routes()
	res := make(map[string]*regexp.Regexp, len(t.regexps))
	for _, re := range t.regexps {
		res[re.name] = regexp.MustCompile(re.expr)
	}
	hs := make(map[*model.Operation]http.Handler, len(api.Operations))
	for _, op := range api.Operations {
		rt := t.byOp[op]
		var params []serverkit.PathParam
		for _, n := range rt.renamedParams() {
			loc := rt.params[n]
			p := serverkit.PathParam{Name: n, Wildcard: loc.wildcard, Group: loc.group}
			if loc.re != "" {
				p.Regexp = res[loc.re]
			}
			params = append(params, p)
		}
		hs[op] = handler(op)
		if len(params) > 0 {
			hs[op] = serverkit.NamePath(hs[op], params...)
		}
	}
	for _, grp := range t.groups {
		h := hs[grp.ops[0]]
		if len(grp.ops) > 1 || len(t.byOp[grp.ops[0]].constraints) > 0 {
			var routes []serverkit.Route
			for _, op := range grp.ops {
				r := serverkit.Route{Handler: hs[op]}
				for _, k := range t.byOp[op].constraints {
					r.Wildcards = append(r.Wildcards, k.wildcard)
					r.Regexps = append(r.Regexps, res[k.re])
				}
				routes = append(routes, r)
			}
			h = serverkit.Dispatch("", routes...)
		}
		if err := serverkit.Handle(mux, grp.pattern, h); err != nil {
			return err
		}
	}
	return nil
}

// wildcardName names the ServeMux wildcard of segment i when it cannot be
// named after a parameter (see wildcardNames). The leading underscore keeps
// it apart from spec names, which serverkit.NamePath sets as path values too.
func wildcardName(i int) string { return fmt.Sprintf("_p%d", i) }

// wildcardNames names the wildcards of a group's pattern. A segment that
// every operation of the group fills with one whole parameter of the same
// name, a valid ServeMux wildcard name, is named after it: the ServeMux then
// sets the path value under the spec's name itself, and serverkit.NamePath
// has nothing to do for it on each request. Any other wildcard (names that
// differ, a literal the pattern generalised, text around a parameter, a name
// ServeMux refuses or one the pattern already uses) is named by position.
func wildcardNames(grp *routeGroup, byOp map[*model.Operation]*opRoute) []string {
	names := make([]string, len(grp.segs))
	count := make(map[string]int)
	for i, s := range grp.segs {
		if !s.wild {
			continue
		}
		names[i] = wildcardName(i)
		if n, ok := segmentParam(grp.ops, byOp, i); ok && validWildcard(n) {
			names[i] = n
		}
		count[names[i]]++
	}
	for i, n := range names {
		if n != "" && count[n] > 1 {
			names[i] = wildcardName(i)
		}
	}
	return names
}

// segmentParam returns the name of the parameter that fills segment i
// whole in every operation of ops, if they agree on one.
func segmentParam(ops []*model.Operation, byOp map[*model.Operation]*opRoute, i int) (string, bool) {
	name := ""
	for _, op := range ops {
		rt := byOp[op]
		if !rt.segs[i].wild {
			return "", false
		}
		found := ""
		for n, loc := range rt.params {
			if loc.re == "" && loc.seg == i {
				found = n
			}
		}
		if found == "" || (name != "" && found != name) {
			return "", false
		}
		name = found
	}
	return name, name != ""
}

// validWildcard reports whether ServeMux accepts name as a wildcard's name:
// a Go identifier (net/http's isValidWildcardName).
func validWildcard(name string) bool {
	if name == "" {
		return false
	}
	for i, c := range name {
		if !unicode.IsLetter(c) && c != '_' && (i == 0 || !unicode.IsDigit(c)) {
			return false
		}
	}
	return true
}

func patternPath(segs []pathSeg, names []string, trailing bool) string {
	var b strings.Builder
	for i, s := range segs {
		b.WriteString("/")
		if s.wild {
			b.WriteString("{" + names[i] + "}")
		} else {
			b.WriteString(s.lit)
		}
	}
	if trailing || len(segs) == 0 {
		b.WriteString("/{$}")
	}
	return b.String()
}

// mergeConflicts merges route groups that cannot stay apart: identical
// patterns and overlapping patterns of which neither is more specific (which
// ServeMux refuses to register side by side), and nested patterns when
// ServeMux's choice of the more specific one would not be the route that
// takes precedence (apart says when it would). A merged group's pattern has a
// wildcard wherever its members differ. Only groups of one method and segment
// count can overlap, so the pairwise check runs within those buckets only.
func mergeConflicts(groups []*routeGroup, apart func(inner, outer *routeGroup) bool) []*routeGroup {
	type bucketKey struct {
		method   string
		n        int
		trailing bool
	}
	buckets := make(map[bucketKey][]*routeGroup)
	var order []bucketKey
	for _, grp := range groups {
		k := bucketKey{grp.method, len(grp.segs), grp.trailing}
		if _, ok := buckets[k]; !ok {
			order = append(order, k)
		}
		buckets[k] = append(buckets[k], grp)
	}
	mustMerge := func(x, y *routeGroup) bool {
		switch {
		case disjoint(x.segs, y.segs):
			return false
		case moreSpecific(x.segs, y.segs):
			return !apart(x, y)
		case moreSpecific(y.segs, x.segs):
			return !apart(y, x)
		}
		return true // identical, or crossing ("/a/{x}/b" and "/a/b/{y}")
	}
	var out []*routeGroup
	for _, k := range order {
		b := buckets[k]
		for merged := true; merged; {
			merged = false
		scan:
			for i := 0; i < len(b); i++ {
				for j := i + 1; j < len(b); j++ {
					if mustMerge(b[i], b[j]) {
						b[i].segs = generalize(b[i].segs, b[j].segs)
						b[i].ops = append(b[i].ops, b[j].ops...)
						b = append(b[:j], b[j+1:]...)
						merged = true
						break scan
					}
				}
			}
		}
		out = append(out, b...)
	}
	return out
}

// disjoint reports whether no path matches both patterns of equal length.
func disjoint(a, b []pathSeg) bool {
	for i := range a {
		if !a[i].wild && !b[i].wild && a[i].lit != b[i].lit {
			return true
		}
	}
	return false
}

// moreSpecific reports whether a matches a strict subset of what b matches
// (given that they overlap).
func moreSpecific(a, b []pathSeg) bool {
	strict := false
	for i := range a {
		switch {
		case a[i].wild && !b[i].wild:
			return false
		case !a[i].wild && b[i].wild:
			strict = true
		}
	}
	return strict
}

// generalize returns the pattern with a wildcard wherever a and b differ.
func generalize(a, b []pathSeg) []pathSeg {
	out := make([]pathSeg, len(a))
	for i := range a {
		if a[i].wild || b[i].wild || a[i].lit != b[i].lit {
			out[i] = pathSeg{wild: true}
		} else {
			out[i] = a[i]
		}
	}
	return out
}
