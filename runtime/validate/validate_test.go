package validate

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

func TestPointers(t *testing.T) {
	var v Errors
	v.Add("", "root")
	v.Enter("items")
	for i := range 20 {
		v.EnterIndex(i) // deeper than the inline stack
	}
	v.Enter("a/b~c")
	v.AddIndex(3, "deep")
	v.Leave()
	for range 20 {
		v.Leave()
	}
	v.Add("name", "member")
	v.Leave()
	v.In("query")
	v.Add("limit", "param")
	var e *Error
	if !errors.As(v.Err(), &e) {
		t.Fatal("no *Error")
	}
	deep := "/items"
	for i := range 20 {
		deep += "/" + strconv.Itoa(i)
	}
	want := []Violation{
		{Pointer: "", Detail: "root"},
		{Pointer: deep + "/a~1b~0c/3", Detail: "deep"},
		{Pointer: "/items/name", Detail: "member"},
		{In: "query", Pointer: "/limit", Detail: "param"},
	}
	if len(e.Violations) != len(want) {
		t.Fatalf("%+v", e.Violations)
	}
	for i := range want {
		if e.Violations[i] != want[i] {
			t.Errorf("violation %d = %+v, want %+v", i, e.Violations[i], want[i])
		}
	}
	if got := e.Error(); !strings.HasPrefix(got, "the request does not match its schemas (4 violations): root; ") || !strings.HasSuffix(got, "; query /limit: param") {
		t.Errorf("Error() = %q", got)
	}
}

func TestNoViolations(t *testing.T) {
	var v Errors
	v.Enter("a")
	v.Leave()
	if err := v.Err(); err != nil {
		t.Fatal(err)
	}
}

func TestCap(t *testing.T) {
	var v Errors
	for range MaxViolations + 5 {
		v.Add("x", "bad")
	}
	if !v.Full() {
		t.Error("not full")
	}
	e := v.Err().(*Error)
	if len(e.Violations) != MaxViolations || e.Omitted != 5 || !strings.HasSuffix(e.Error(), "; and 5 more") {
		t.Fatalf("%d listed, %d omitted: %s", len(e.Violations), e.Omitted, e)
	}
}

func TestWriteProblem(t *testing.T) {
	var v Errors
	v.Add("sku", "must match the pattern ^[A-Z]+$")
	w := httptest.NewRecorder()
	v.Err().(*Error).WriteProblem(w, httptest.NewRequest("POST", "/orders", nil), "https://example.com/problems")
	if w.Code != http.StatusBadRequest || w.Header().Get("Content-Type") != "application/problem+json" ||
		w.Header().Get("Link") != `<https://example.com/problems#request-invalid>; rel="describedby"` {
		t.Fatalf("%d %v", w.Code, w.Header())
	}
	var p map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
		t.Fatal(err)
	}
	want := `{"detail":"the request does not match its schemas","errors":[{"detail":"must match the pattern ^[A-Z]+$","pointer":"/sku"}],"instance":"/orders","status":400,"title":"Bad Request","type":"https://example.com/problems#request-invalid"}`
	if got, _ := json.Marshal(p); string(got) != want {
		t.Fatalf("body\n%s\nwant\n%s", got, want)
	}
}

func TestWriteProblemBrowser(t *testing.T) {
	var v Errors
	v.Add("sku", "must match the pattern ^[A-Z]+$")
	w := httptest.NewRecorder()
	r := httptest.NewRequest("POST", "/orders", nil)
	r.Header.Set("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
	v.Err().(*Error).WriteProblem(w, r, "")
	if w.Code != http.StatusBadRequest || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") ||
		!strings.Contains(w.Body.String(), "/sku: must match the pattern ^[A-Z]+$") {
		t.Fatalf("%d %v %s", w.Code, w.Header(), w.Body)
	}
}

func TestLengthsCountCharacters(t *testing.T) {
	for _, c := range []struct {
		s        string
		n        int
		min, max bool
	}{
		{"abc", 3, true, true},
		{"ééé", 3, true, true}, // 6 bytes, 3 characters
		{"éééé", 3, true, false},
		{"é", 2, false, true},
		{"", 0, true, true},
		{"😀😀", 2, true, true},
	} {
		if MinLength(c.s, c.n) != c.min || MaxLength(c.s, c.n) != c.max {
			t.Errorf("%q, %d: MinLength %v MaxLength %v, want %v %v", c.s, c.n, MinLength(c.s, c.n), MaxLength(c.s, c.n), c.min, c.max)
		}
	}
}

func TestMultipleOf(t *testing.T) {
	for _, c := range []struct {
		x, m float64
		ok   bool
	}{
		{0.3, 0.1, true}, {10, 2.5, true}, {1.005, 0.01, false}, {7, 2, false}, {-4, 2, true}, {1e308, 1e-308, false},
	} {
		if MultipleOf(c.x, c.m) != c.ok {
			t.Errorf("MultipleOf(%v, %v) = %v", c.x, c.m, !c.ok)
		}
	}
}

func TestUnique(t *testing.T) {
	if i := Unique([]string{"a", "b", "a"}); i != 2 {
		t.Errorf("short: %d", i)
	}
	long := make([]int, 40)
	for i := range long {
		long[i] = i
	}
	if i := Unique(long); i != -1 {
		t.Errorf("distinct: %d", i)
	}
	long[39] = 7
	if i := Unique(long); i != 39 {
		t.Errorf("long: %d", i)
	}
	type wh struct{ W, H *int }
	one, also := 1, 1
	if i := UniqueJSON([]wh{{W: &one}, {W: &also}}); i != 1 {
		t.Errorf("by value, not pointer: %d", i)
	}
	if i := UniqueJSON([]map[string]int{{"a": 1, "b": 2}, {"b": 2, "a": 1}}); i != 1 {
		t.Errorf("maps: %d", i)
	}
}

func TestFormats(t *testing.T) {
	for _, c := range []struct {
		format, s string
		ok        bool
	}{
		{"date", "2026-12-07", true}, {"date", "2026-02-30", false}, {"date", "2026-12-07T00:00:00Z", false},
		{"time", "13:20:00Z", true}, {"time", "13:20:00.5+01:00", true}, {"time", "13:20", false},
		{"date-time", "2026-12-07T13:20:00Z", true}, {"date-time", "2026-12-07 13:20:00", false},
		{"uuid", "123e4567-e89b-12d3-a456-426614174000", true}, {"uuid", "123e4567e89b12d3a456426614174000", false},
		{"email", "a@example.com", true}, {"email", "A <a@example.com>", false}, {"email", "nobody", false},
		{"hostname", "api.example.com", true}, {"hostname", "-x.example", false}, {"hostname", strings.Repeat("a", 64), false},
		{"uri", "https://example.com/x", true}, {"uri", "/relative", false}, {"uri", "http://a b", false},
		{"ipv4", "10.0.0.1", true}, {"ipv4", "::1", false}, {"ipv4", "10.0.0.256", false},
		{"ipv6", "::1", true}, {"ipv6", "fe80::1%eth0", false}, {"ipv6", "10.0.0.1", false},
	} {
		check := map[string]func(string) bool{"date": Date, "time": Time, "date-time": DateTime, "uuid": UUID,
			"email": Email, "hostname": Hostname, "uri": URI, "ipv4": IPv4, "ipv6": IPv6}[c.format]
		if got := check(c.s); got != c.ok {
			t.Errorf("%s %q: %v", c.format, c.s, got)
		}
	}
}

func TestAdmit(t *testing.T) {
	type req struct{ N int }
	r := httptest.NewRequest("POST", "/", nil)
	if _, ok := Admitted[req](r); ok {
		t.Fatal("admitted before Admit")
	}
	r = Admit(r, &req{N: 7})
	if got, ok := Admitted[req](r); !ok || got.N != 7 {
		t.Fatalf("%v %v", got, ok)
	}
	if _, ok := Admitted[struct{ M int }](r); ok {
		t.Fatal("admitted as another type")
	}
}

// BenchmarkValidPath: recording nothing costs no allocation.
func BenchmarkValidPath(b *testing.B) {
	b.ReportAllocs()
	for range b.N {
		v := new(Errors)
		v.Enter("items")
		for i := range 5 {
			v.EnterIndex(i)
			if !MaxLength("pencil", 10) {
				v.Add("name", "too long")
			}
			v.Leave()
		}
		v.Leave()
		if v.Err() != nil {
			b.Fatal("violation")
		}
	}
}
