package model

import (
	"cmp"
	"strings"
)

// Route is an operation's path template, parsed once by the loader: the
// segments between the slashes after the leading "/". "/songs/{id}" has two,
// "/songs/" two (the last one empty), "/" one (empty). Server, client and
// gateway all read it; none parses Operation.Path again.
type Route struct {
	Segments []Segment
}

// Segment is one path segment: literal text and parameters in order, never
// two literals in a row ("{name}.{ext}" is a parameter, the literal ".", a
// parameter). An empty segment has no parts.
type Segment struct {
	Parts []PathPart
}

// PathPart is literal text or a template variable.
type PathPart struct {
	// Literal is the text of a literal part (Name is then "").
	Literal string
	// Name is the template variable's name ("id" for "{id}").
	Name string
	// Param is the operation's declared path parameter of that name; nil when
	// none is declared (the loader reports it as an error).
	Param *Param
}

// IsParam reports whether p is a template variable.
func (p PathPart) IsParam() bool { return p.Name != "" }

// Literal returns the segment's text when it holds no parameter.
func (s Segment) Literal() (string, bool) {
	switch {
	case len(s.Parts) == 0:
		return "", true
	case len(s.Parts) == 1 && !s.Parts[0].IsParam():
		return s.Parts[0].Literal, true
	}
	return "", false
}

// Whole returns the segment's parameter when the segment is exactly one
// parameter ("{id}").
func (s Segment) Whole() (PathPart, bool) {
	if len(s.Parts) == 1 && s.Parts[0].IsParam() {
		return s.Parts[0], true
	}
	return PathPart{}, false
}

// Trailing reports a template that ends with "/" ("/songs/", and "/").
func (r Route) Trailing() bool {
	if len(r.Segments) == 0 {
		return false
	}
	_, lit := r.Segments[len(r.Segments)-1].Literal()
	return lit && len(r.Segments[len(r.Segments)-1].Parts) == 0
}

// Params returns the template variables in path order.
func (r Route) Params() []PathPart {
	var out []PathPart
	for _, s := range r.Segments {
		for _, p := range s.Parts {
			if p.IsParam() {
				out = append(out, p)
			}
		}
	}
	return out
}

// Has reports whether the template has a variable named name.
func (r Route) Has(name string) bool {
	for _, s := range r.Segments {
		for _, p := range s.Parts {
			if p.Name == name {
				return true
			}
		}
	}
	return false
}

// String writes the template back: "/songs/{id}".
func (r Route) String() string {
	var b strings.Builder
	for _, s := range r.Segments {
		b.WriteByte('/')
		for _, p := range s.Parts {
			if p.IsParam() {
				b.WriteString("{" + p.Name + "}")
			} else {
				b.WriteString(p.Literal)
			}
		}
	}
	if b.Len() == 0 {
		return "/"
	}
	return b.String()
}

// ComparePrecedence orders two routes of one method by which one serves a
// request both match: segment by segment from the left, literal text before
// a parameter ("/files/upload_sessions/{id}" before "/files/{id}/comments");
// then, segment by segment, a segment mixing text and parameters before a
// whole-segment parameter ("/songs/{id}.json" before "/songs/{id}"). It
// returns 0 when neither precedes, and the spec's order decides. Routes of
// different lengths never match one request; they are ordered shorter first,
// which keeps the order total. The generated server and the gateway both
// follow it.
func ComparePrecedence(a, b Route) int {
	if c := cmp.Compare(len(a.Segments), len(b.Segments)); c != 0 {
		return c
	}
	n := len(a.Segments)
	for i := range n {
		if c := cmpBool(isParamSegment(a.Segments[i]), isParamSegment(b.Segments[i])); c != 0 {
			return c
		}
	}
	for i := range n {
		_, wa := a.Segments[i].Whole()
		_, wb := b.Segments[i].Whole()
		if c := cmpBool(wa, wb); c != 0 {
			return c
		}
	}
	return 0
}

func isParamSegment(s Segment) bool {
	_, lit := s.Literal()
	return !lit
}

// cmpBool orders false before true.
func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}
