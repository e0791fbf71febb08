package loader

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/idemgen/idemgen/generator/model"
)

// parseTemplate splits an OpenAPI path template into segments of literal text
// and variables ("{name}.{ext}" is two variables around a literal). It returns
// the problems it found; a malformed piece is kept as literal text so that
// emitters still get a route, but the spec has an error and nothing is
// generated or proxied from it. A template without its leading "/" is read as
// if it had one, as the generated server serves it.
func parseTemplate(path string) (model.Route, []string) {
	var problems []string
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	seen := map[string]bool{}
	var r model.Route
	for _, seg := range strings.Split(path[1:], "/") {
		var s model.Segment
		var lit strings.Builder
		flush := func() {
			if lit.Len() > 0 {
				s.Parts = append(s.Parts, model.PathPart{Literal: lit.String()})
				lit.Reset()
			}
		}
		for rest := seg; rest != ""; {
			open := strings.IndexAny(rest, "{}")
			if open < 0 {
				lit.WriteString(rest)
				break
			}
			if rest[open] == '}' {
				problems = append(problems, fmt.Sprintf("path %q: unbalanced } in segment %q", path, seg))
				lit.WriteString(rest[:open+1])
				rest = rest[open+1:]
				continue
			}
			end := strings.IndexAny(rest[open+1:], "{}")
			if end < 0 || rest[open+1+end] == '{' {
				problems = append(problems, fmt.Sprintf("path %q: unbalanced { in segment %q", path, seg))
				lit.WriteString(rest[:open+1])
				rest = rest[open+1:]
				continue
			}
			end += open + 1
			name := rest[open+1 : end]
			lit.WriteString(rest[:open])
			if name == "" {
				problems = append(problems, fmt.Sprintf("path %q: empty variable name {} in segment %q", path, seg))
				lit.WriteString("{}")
				rest = rest[end+1:]
				continue
			}
			if seen[name] {
				problems = append(problems, fmt.Sprintf("path %q: the variable {%s} appears twice", path, name))
			}
			seen[name] = true
			flush()
			s.Parts = append(s.Parts, model.PathPart{Name: name})
			rest = rest[end+1:]
		}
		flush()
		r.Segments = append(r.Segments, s)
	}
	return r, problems
}

// Route parses path and links its variables to the path parameters among
// params, for a model built by hand: Load does this for every operation and
// reports the same problems as located diagnostics. The route is usable even
// with an error (a malformed piece is literal text, an undeclared variable has
// no Param).
func Route(path string, params []*model.Param) (model.Route, error) {
	tmpl, problems := parseTemplate(path)
	r, undeclared := link(tmpl, params)
	for _, name := range undeclared {
		problems = append(problems, fmt.Sprintf("path %q: the path variable {%s} is not declared as a path parameter", path, name))
	}
	if len(problems) > 0 {
		return r, errors.New(strings.Join(problems, "; "))
	}
	return r, nil
}

// link returns a copy of tmpl with each variable linked to the path parameter
// of its name among params, and the names of the variables without one.
func link(tmpl model.Route, params []*model.Param) (model.Route, []string) {
	declared := map[string]*model.Param{}
	for _, p := range params {
		if p.In == model.InPath {
			declared[p.Name] = p
		}
	}
	var undeclared []string
	r := model.Route{Segments: make([]model.Segment, len(tmpl.Segments))}
	for i, s := range tmpl.Segments {
		parts := make([]model.PathPart, len(s.Parts))
		for j, p := range s.Parts {
			if p.IsParam() {
				p.Param = declared[p.Name]
				if p.Param == nil && !slices.Contains(undeclared, p.Name) {
					undeclared = append(undeclared, p.Name)
				}
			}
			parts[j] = p
		}
		r.Segments[i].Parts = parts
	}
	return r, undeclared
}

// route gives an operation its parsed template, linked to its parameters, and
// reports variables without a declared path parameter and declared path
// parameters that are not in the template: both make a route that cannot be
// served.
func (b *builder) route(m *model.Operation, tmpl model.Route, ol loc) {
	for _, p := range m.Params {
		// A webhook or callback has no path template of its own: the
		// generator warns that such a parameter is never received.
		if p.In == model.InPath && !tmpl.Has(p.Name) && m.Kind == model.OpPath {
			b.diags = append(b.diags, model.Diagnostic{Pos: p.Pos, Severity: model.Error, Rule: RuleOpenAPIInvalid, Pointer: ol.ptr,
				Message: fmt.Sprintf("path parameter %q is not in the path %q", p.Name, m.Path), Operation: m})
		}
	}
	var undeclared []string
	m.Route, undeclared = link(tmpl, m.Params)
	for _, name := range undeclared {
		b.report(model.Error, RuleOpenAPIInvalid, ol, m, "%s %s: the path variable {%s} is not declared as a path parameter", m.Method, m.Path, name)
	}
}
