package validate

import (
	"strings"
	"testing"
)

// node is a recursive shape: {"id" required, "children": [node...]}, plus a
// map "tags" whose values require "v".
func node() *Shape {
	n := new(Shape)
	*n = Shape{
		Required: []string{"id"},
		Props: map[string]*Member{
			"children": {Name: "children", Shape: &Shape{Items: n}},
			"tags":     {Name: "tags", Shape: &Shape{Values: &Shape{Required: []string{"v"}}}},
		},
	}
	return n
}

func missing(body string, shape *Shape) string {
	var v Errors
	Required([]byte(body), shape, &v)
	var out []string
	for _, x := range v.list {
		out = append(out, x.Pointer)
	}
	return strings.Join(out, " ")
}

func TestRequired(t *testing.T) {
	n := node()
	for _, c := range []struct{ body, want string }{
		{`{"id":1}`, ""},
		{`{}`, "/id"},
		{` { "id" : "x" , "children" : [ {"id":2}, {"children":[{}]} ] } `, "/children/1/children/0/id /children/1/id"},
		{`{"id":1,"tags":{"a":{"v":1},"b/c":{}}}`, "/tags/b~1c/v"},
		{`{"\u0069d":1}`, ""},                                 // an escaped name is the same member
		{`{"id":"a\"}b","children":[{"id":"]"}]}`, ""},        // brackets and quotes inside strings
		{`{"id":"a\\","children":[{}]}`, "/children/0/id"},    // an escaped backslash ends before the quote
		{`{"id":"x\\\"y","children":[{}]}`, "/children/0/id"}, // backslash, then an escaped quote
		{`{"id":1,"children":null}`, ""},                      // another type: the decoder's business
		{`[1,2]`, ""},
		{`{"id":1,"x":{"children":[{}]}}`, ""}, // an undeclared member is not checked
	} {
		if got := missing(c.body, n); got != c.want {
			t.Errorf("%s: missing %q, want %q", c.body, got, c.want)
		}
	}
}

func TestRequiredOpenObject(t *testing.T) {
	// Declared members are not Values, even without requirements of their own.
	open := &Shape{Props: map[string]*Member{"plain": nil}, Values: &Shape{Required: []string{"v"}}}
	if got := missing(`{"plain":{},"extra":{}}`, open); got != "/extra/v" {
		t.Errorf("missing %q", got)
	}
}

func TestRequiredMany(t *testing.T) {
	var names []string
	var members []string
	for i := range 70 {
		names = append(names, "m"+string(rune('A'+i/26))+string(rune('a'+i%26)))
	}
	for _, n := range names[:69] {
		members = append(members, `"`+n+`":0`)
	}
	got := missing("{"+strings.Join(members, ",")+"}", &Shape{Required: names})
	if got != "/"+names[69] {
		t.Errorf("missing %q, want /%s", got, names[69])
	}
}

// TestRequiredGarbage: any input, valid JSON or not, ends without a panic.
func TestRequiredGarbage(t *testing.T) {
	n := node()
	for _, b := range []string{``, `{`, `{"id`, `{"id":`, `[{`, `"\`, `{"children":[{"id":1},`, `}}}]]]`, `{"a":tru`, `{,,,:}`} {
		var v Errors
		Required([]byte(b), n, &v)
	}
}

func FuzzRequired(f *testing.F) {
	f.Add(`{"id":1,"children":[{}]}`)
	f.Fuzz(func(t *testing.T, b string) {
		var v Errors
		Required([]byte(b), node(), &v)
	})
}

func BenchmarkRequired(b *testing.B) {
	n := node()
	body := []byte(`{"id":1,"name":"a fairly long string value","children":[{"id":2},{"id":3,"children":[{"id":4}]}],"tags":{"a":{"v":1}}}`)
	b.ReportAllocs()
	for b.Loop() {
		var v Errors
		Required(body, n, &v)
		if len(v.list) != 0 {
			b.Fatal(v.list)
		}
	}
}

// TestRequiredTagged: the discriminator member picks the variant's shape,
// wherever it stands in the object; an unknown tag checks nothing.
func TestRequiredTagged(t *testing.T) {
	u := &Shape{Tag: "kind", Variants: map[string]*Shape{
		"carton": {Required: []string{"size"}},
		"bag":    {Closed: true, Props: map[string]*Member{"kind": nil, "paper": nil}},
	}}
	holder := &Shape{Props: map[string]*Member{"p": {Name: "p", Shape: u}}}
	for _, c := range []struct{ body, want string }{
		{`{"p":{"kind":"carton","size":1}}`, ""},
		{`{"p":{"kind":"carton"}}`, "/p/size"},
		{`{"p":{"x":[1,{"kind":"bag"}],"kind":"carton"}}`, "/p/size"}, // the tag after another member
		{`{"p":{"kind":"bag","paper":true,"size":1}}`, "/p/size"},     // closed: size refused
		{`{"p":{"kind":"crate"}}`, ""},
		{`{"p":{"kind":1}}`, ""},
		{`{"p":{"kind":"carton"`, "/p/size"},
	} {
		if got := missing(c.body, holder); got != c.want {
			t.Errorf("%s: %q, want %q", c.body, got, c.want)
		}
	}
}
