package gateway

import (
	"slices"
	"strings"
	"testing"
)

func lit(s string) Part   { return Part{Literal: s} }
func param(s string) Part { return Part{Param: s} }

// testRoutes are templates as generator/proxyplan splits and orders them.
var testRoutes = []Route{
	{Path: "/songs/latest", Segments: [][]Part{{lit("songs")}, {lit("latest")}}},
	{Path: "/songs/{id}.json", Segments: [][]Part{{lit("songs")}, {param("id"), lit(".json")}}},
	{Path: "/songs/{id}", Segments: [][]Part{{lit("songs")}, {param("id")}}},
	{Path: "/songs/{id}/plays", Segments: [][]Part{{lit("songs")}, {param("id")}, {lit("plays")}}},
	{Path: "/", Segments: [][]Part{{}}},
	{Path: "/songs/", Segments: [][]Part{{lit("songs")}, {}}},
	{Path: "/files/{name}.{ext}", Segments: [][]Part{{lit("files")}, {param("name"), lit("."), param("ext")}}},
	{Path: "/pairs/{a}{b}", Segments: [][]Part{{lit("pairs")}, {param("a"), param("b")}}},
}

func TestMatch(t *testing.T) {
	rt := router{}
	for _, r := range testRoutes {
		r.Method, r.Operation = "POST", r.Path
		if err := r.check(); err != nil {
			t.Fatalf("%s: %v", r.Path, err)
		}
		rt.add(&route{Route: r})
	}
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
		{"/files/a.b.c", "/files/{name}.{ext}", []string{"a", "b.c"}},
		{"/files/%C3%A9t%C3%A9.txt", "/files/{name}.{ext}", []string{"été", "txt"}},
		{"/files/a.", "", nil},
		{"/files/.b", "", nil},
		{"/pairs/%C3%A9xy", "/pairs/{a}{b}", []string{"é", "xy"}},
		{"/pairs/x", "", nil},
		{"/songs", "", nil},
		{"/songs/42/plays/x", "", nil},
		{"/songs//plays", "", nil},
		{"/songs/%zz", "", nil},
		{"songs/42", "", nil},
	} {
		r, vals := rt.find("POST", c.path, nil)
		got := ""
		if r != nil {
			got = r.Path
		}
		if got != c.want || (r != nil && !slices.Equal(vals, c.vals)) {
			t.Errorf("%s: matched %q %q, want %q %q", c.path, got, vals, c.want, c.vals)
		}
	}
	if r, _ := rt.find("PUT", "/songs/42", nil); r != nil {
		t.Error("PUT matched a POST route")
	}
	rt.add(&route{Route: Route{Method: "GET", Path: "/songs/{id}", Segments: [][]Part{{lit("songs")}, {param("id")}}}})
	rt.add(&route{Route: Route{Method: "HEAD", Path: "/songs/latest", Segments: [][]Part{{lit("songs")}, {lit("latest")}}}})
	for path, want := range map[string]string{"/songs/42": "GET /songs/{id}", "/songs/latest": "HEAD /songs/latest"} {
		if r, _ := rt.find("HEAD", path, nil); r == nil || r.Method+" "+r.Path != want {
			t.Errorf("HEAD %s: matched %v, want %s", path, r, want)
		}
	}
}

func TestRouteCheck(t *testing.T) {
	for name, r := range map[string]Route{
		"no method":     {Segments: [][]Part{{lit("a")}}},
		"no segments":   {Method: "GET"},
		"empty part":    {Method: "GET", Segments: [][]Part{{{}}}},
		"slash":         {Method: "GET", Segments: [][]Part{{lit("a/b")}}},
		"two literals":  {Method: "GET", Segments: [][]Part{{lit("a"), lit("b")}}},
		"empty literal": {Method: "GET", Segments: [][]Part{{param("x"), lit("")}}},
	} {
		if err := r.check(); err == nil {
			t.Errorf("%s: check() = nil", name)
		}
	}
}

// FuzzRoute matches arbitrary paths against segments of a literal, a
// parameter and a second literal in a fuzzed arrangement: no panic, and a
// match yields one non-empty value per parameter.
func FuzzRoute(f *testing.F) {
	f.Add("songs", ".json", uint8(0), "/songs/42.json")
	f.Add("a", "", uint8(3), "/a/%2F")
	f.Add("", ".", uint8(6), "/x.y.z")
	f.Fuzz(func(t *testing.T, a, b string, shape uint8, path string) {
		if strings.Contains(a+b, "/") {
			return
		}
		var segs [][]Part
		add := func(parts ...Part) {
			var seg []Part
			for _, p := range parts {
				if p.Param != "" || p.Literal != "" {
					seg = append(seg, p)
				}
			}
			segs = append(segs, seg)
		}
		switch shape % 4 {
		case 0:
			add(lit(a))
			add(param("x"), lit(b))
		case 1:
			add(param("x"), lit(a), param("y"), lit(b))
		case 2:
			add(lit(a), param("x"), param("y"))
			add(lit(b))
		default:
			add(param("x"))
			add(lit(a), param("y"))
		}
		rt := &route{Route: Route{Method: "POST", Segments: segs}}
		if rt.check() != nil {
			return
		}
		vals, ok := rt.match(path, nil)
		if !ok {
			return
		}
		n := 0
		for _, seg := range segs {
			for _, p := range seg {
				if p.Param != "" {
					n++
				}
			}
		}
		if len(vals) != n {
			t.Fatalf("%q on %v: %d values for %d parameters", path, segs, len(vals), n)
		}
		for _, v := range vals {
			if v == "" {
				t.Fatalf("%q on %v: an empty value in %q", path, segs, vals)
			}
		}
	})
}
