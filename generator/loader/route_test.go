package loader

import (
	"strings"
	"testing"

	"github.com/idemgen/idemgen/generator/model"
)

// show writes a route's parts one per bracket: [songs][{id}] or
// [{name}|.|{ext}], a "?" after a variable without a declared parameter.
func show(r model.Route) string {
	var b strings.Builder
	for _, s := range r.Segments {
		b.WriteByte('[')
		for i, p := range s.Parts {
			if i > 0 {
				b.WriteByte('|')
			}
			switch {
			case !p.IsParam():
				b.WriteString(p.Literal)
			case p.Param == nil:
				b.WriteString("{" + p.Name + "}?")
			default:
				b.WriteString("{" + p.Param.Name + "}")
			}
		}
		b.WriteByte(']')
	}
	return b.String()
}

func TestRoute(t *testing.T) {
	params := []*model.Param{
		{Name: "id", In: model.InPath}, {Name: "name", In: model.InPath}, {Name: "ext", In: model.InPath},
		{Name: "q", In: model.InQuery},
	}
	for _, c := range []struct{ path, want, err string }{
		{"/", "[]", ""},
		{"/songs", "[songs]", ""},
		{"/songs/", "[songs][]", ""},
		{"/songs/{id}", "[songs][{id}]", ""},
		{"/files/{name}.{ext}", "[files][{name}|.|{ext}]", ""},
		{"/v1.{ext}/x{id}y", "[v1.|{ext}][x|{id}|y]", ""},
		{"/a//b", "[a][][b]", ""},
		{"songs/{id}", "[songs][{id}]", ""},
		{"/files/{name}{ext}", "[files][{name}|{ext}]", ""},
		{"/s/{q}", "[s][{q}?]", "{q} is not declared"},
		{"/s/{id", "[s][{id]", "unbalanced {"},
		{"/s/id}", "[s][id}]", "unbalanced }"},
		{"/s/{a{id}", "[s][{a|{id}]", "unbalanced {"},
		{"/s/{}", "[s][{}]", "empty variable name"},
		{"/s/{id}/{id}", "[s][{id}][{id}]", "appears twice"},
	} {
		r, err := Route(c.path, params)
		if got := show(r); got != c.want {
			t.Errorf("Route(%q) = %s, want %s", c.path, got, c.want)
		}
		switch {
		case c.err == "" && err != nil:
			t.Errorf("Route(%q): %v", c.path, err)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("Route(%q): error %v, want one about %q", c.path, err, c.err)
		}
		if err == nil && strings.HasPrefix(c.path, "/") && r.String() != c.path {
			t.Errorf("Route(%q).String() = %q", c.path, r.String())
		}
	}
	if r, _ := Route("/songs/", nil); !r.Trailing() {
		t.Error(`"/songs/" is not trailing`)
	}
	if r, _ := Route("/songs", nil); r.Trailing() {
		t.Error(`"/songs" is trailing`)
	}
}

// FuzzRoute parses arbitrary templates: no panic, and a template parsed
// without error writes back to itself.
func FuzzRoute(f *testing.F) {
	for _, s := range []string{"/songs/{id}.json", "/{a}{b}", "/x/", "/{", "/}{", "/a//b/{}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, path string) {
		tmpl, problems := parseTemplate(path)
		if len(problems) == 0 && strings.HasPrefix(path, "/") && tmpl.String() != path {
			t.Fatalf("%q parses without error but writes back as %q", path, tmpl.String())
		}
	})
}
