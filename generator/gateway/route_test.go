package gateway

import (
	"slices"
	"testing"

	"github.com/idemgen/idemgen/generator/model"
)

func TestParseTemplateErrors(t *testing.T) {
	for _, p := range []string{"songs", "/a/{x", "/a/x}", "/a/{}", "/a/{x}-{y}"} {
		if _, err := parseTemplate(p); err == nil {
			t.Errorf("parseTemplate(%q) = nil error", p)
		}
	}
}

func TestMatch(t *testing.T) {
	rt := router{}
	for _, p := range []string{"/songs/{id}", "/songs/latest", "/songs/{id}.json", "/songs/{id}/plays", "/", "/songs/"} {
		segs, err := parseTemplate(p)
		if err != nil {
			t.Fatal(err)
		}
		rt.add(&route{op: &model.Operation{Method: "POST", Path: p, ID: p}, segs: segs})
	}
	rt.sort()
	for _, c := range []struct {
		path, want string
		vals       []string
	}{
		{"/songs/latest", "/songs/latest", nil},
		{"/songs/42", "/songs/{id}", []string{"42"}},
		{"/songs/a%2Fb", "/songs/{id}", []string{"a/b"}},
		{"/songs/42.json", "/songs/{id}.json", []string{"42"}},
		{"/songs/.json", "/songs/{id}", []string{".json"}},
		{"/songs/42/plays", "/songs/{id}/plays", []string{"42"}},
		{"/songs/", "/songs/", nil},
		{"/", "/", nil},
		{"/songs", "", nil},
		{"/songs/42/plays/x", "", nil},
		{"/songs//plays", "", nil},
		{"/songs/%zz", "", nil},
		{"songs/42", "", nil},
	} {
		r, vals := rt.find("POST", c.path, nil)
		got := ""
		if r != nil {
			got = r.op.Path
		}
		if got != c.want || (r != nil && !slices.Equal(vals, c.vals)) {
			t.Errorf("%s: matched %q %q, want %q %q", c.path, got, vals, c.want, c.vals)
		}
	}
	if r, _ := rt.find("PUT", "/songs/42", nil); r != nil {
		t.Error("PUT matched a POST route")
	}
}

// FuzzRoute parses arbitrary templates and matches arbitrary paths: no panic,
// and a match yields one value per parameter.
func FuzzRoute(f *testing.F) {
	f.Add("/songs/{id}.json", "/songs/42.json")
	f.Add("/a/{x}/b/{y}", "/a/%2F/b/")
	f.Add("/{a}", "//")
	f.Add("/x/", "/x/")
	f.Fuzz(func(t *testing.T, tmpl, path string) {
		segs, err := parseTemplate(tmpl)
		if err != nil {
			return
		}
		rt := &route{op: &model.Operation{Method: "POST", Path: tmpl}, segs: segs}
		vals, ok := rt.match(path, nil)
		if !ok {
			return
		}
		n := 0
		for _, s := range segs {
			if s.name != "" {
				n++
			}
		}
		if len(vals) != n {
			t.Fatalf("%q on %q: %d values for %d parameters", path, tmpl, len(vals), n)
		}
	})
}
