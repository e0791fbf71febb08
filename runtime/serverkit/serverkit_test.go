package serverkit

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/idemgen/idemgen/runtime/idempotency"
)

type color string

func (c color) Valid() bool { return c == "red" || c == "blue" }

func TestBind(t *testing.T) {
	var (
		s    string
		n    int32
		opt  *int64
		f    float64
		b    bool
		at   time.Time
		ids  []int
		cols []color
		obj  struct{ A int }
		raw  json.RawMessage
	)
	for _, tc := range []struct {
		dst  any
		raws []string
		sep  string
		want any
	}{
		{&s, []string{"x y"}, "", "x y"},
		{&n, []string{"-12"}, "", int32(-12)},
		{&opt, []string{"7"}, "", func() *int64 { v := int64(7); return &v }()},
		{&f, []string{"2.5"}, "", 2.5},
		{&b, []string{"true"}, "", true},
		{&at, []string{"2026-11-22T10:00:00Z"}, "", time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)},
		{&ids, []string{"1,2", "3"}, ",", []int{1, 2, 3}},
		{&ids, []string{"4", "5"}, "", []int{4, 5}},
		{&ids, []string{"6|7"}, "|", []int{6, 7}},
		{&cols, []string{"red", "blue"}, "", []color{"red", "blue"}},
		{&obj, []string{`{"A": 3}`}, "", struct{ A int }{3}},
		{&raw, []string{`{"x":1}`}, "", json.RawMessage(`{"x":1}`)},
	} {
		if err := bind(tc.dst, tc.raws, tc.sep); err != nil {
			t.Errorf("%T %q: %v", tc.dst, tc.raws, err)
			continue
		}
		if got := reflect.ValueOf(tc.dst).Elem().Interface(); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%T %q: got %#v, want %#v", tc.dst, tc.raws, got, tc.want)
		}
	}
}

func TestBindErrors(t *testing.T) {
	var (
		n   int8
		b   bool
		col color
		at  time.Time
		s   string
	)
	for _, tc := range []struct {
		dst  any
		raw  string
		want string
	}{
		{&n, "300", "want an integer (8 bits)"},
		{&n, "x", `got "x"`},
		{&b, "yes-please", "want a boolean"},
		{&col, "green", "not one of the allowed values"},
		{&at, "yesterday", `invalid value "yesterday"`},
	} {
		err := bind(tc.dst, []string{tc.raw}, "")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%T %q: error %v, want one containing %q", tc.dst, tc.raw, err, tc.want)
		}
	}
	if err := bind(&s, nil, ""); err == nil {
		t.Error("no value: no error")
	}
}

func TestParamRequired(t *testing.T) {
	var v *string
	if err := Param(`query parameter "q"`, &v, nil, false, false, ""); err != nil || v != nil {
		t.Errorf("absent optional: %v, %v", err, v)
	}
	err := Param(`query parameter "q"`, &v, nil, false, true, "")
	var re *RequestError
	if !errors.As(err, &re) || re.Status != http.StatusBadRequest || err.Error() != `query parameter "q": is required` {
		t.Errorf("absent required: %v", err)
	}
}

func TestMediaType(t *testing.T) {
	declared := []string{"application/json", "application/x-www-form-urlencoded", "image/*"}
	for ct, want := range map[string]int{
		"":                                  0,
		"application/json; charset=utf-8":   0,
		"APPLICATION/JSON":                  0,
		"application/x-www-form-urlencoded": 1,
		"image/png":                         2,
		"text/csv":                          -1,
		"not a media type;;":                -1,
	} {
		r := httptest.NewRequest("POST", "/", nil)
		if ct != "" {
			r.Header.Set("Content-Type", ct)
		}
		if got := MediaType(r, declared); got != want {
			t.Errorf("%q: %d, want %d", ct, got, want)
		}
	}
	r := httptest.NewRequest("POST", "/", nil)
	r.Header.Set("Content-Type", "text/plain")
	if got := MediaType(r, []string{"*/*"}); got != 0 {
		t.Errorf("*/*: %d", got)
	}
}

func TestJSONErrorsNameTheField(t *testing.T) {
	var v struct {
		Amount int `json:"amount"`
	}
	err := DecodeJSON([]byte(`{"amount": "ten"}`), &v)
	if err == nil || !strings.Contains(err.Error(), `field "amount"`) {
		t.Errorf("type error: %v", err)
	}
	err = DecodeJSON([]byte(`{"amount": `), &v)
	if err == nil || !strings.Contains(err.Error(), "invalid JSON") {
		t.Errorf("syntax error: %v", err)
	}
}

func TestFormAndFormat(t *testing.T) {
	form, err := ParseForm([]byte("amount=42&tag=a&tag=b"))
	if err != nil {
		t.Fatal(err)
	}
	var amount int
	var tags []string
	var missing *string
	if err := FormField(form, "amount", &amount, true); err != nil || amount != 42 {
		t.Errorf("amount: %v %d", err, amount)
	}
	if err := FormField(form, "tag", &tags, false); err != nil || !reflect.DeepEqual(tags, []string{"a", "b"}) {
		t.Errorf("tags: %v %v", err, tags)
	}
	if err := FormField(form, "note", &missing, true); err == nil || !strings.Contains(err.Error(), `form field "note"`) {
		t.Errorf("missing required field: %v", err)
	}
	when := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		v    any
		want string
		ok   bool
	}{
		{"x", "x", true}, {(*string)(nil), "", false}, {[]int{1, 2}, "1,2", true}, {[]int(nil), "", false},
		{when, "2026-01-02T03:04:05Z", true}, {&when, "2026-01-02T03:04:05Z", true}, {3.5, "3.5", true},
		{url.Values{"a": {"b"}}, `{"a":["b"]}`, true},
	} {
		got, ok := format(tc.v)
		if got != tc.want || ok != tc.ok {
			t.Errorf("format(%#v) = %q, %v; want %q, %v", tc.v, got, ok, tc.want, tc.ok)
		}
	}
}

func TestDispatchAndHandle(t *testing.T) {
	mux := http.NewServeMux()
	hit := ""
	h := func(name string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hit = name })
	}
	json := regexp.MustCompile(`^(.+?)\.json$`)
	if err := Handle(mux, "GET /files/{p1}", Dispatch("", Route{Wildcards: []string{"p1"}, Regexps: []*regexp.Regexp{json}, Handler: h("json")}, Route{Handler: h("any")})); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{"/files/a.json": "json", "/files/a.xml": "any"} {
		hit = ""
		mux.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", path, nil))
		if hit != want {
			t.Errorf("%s: served by %q, want %q", path, hit, want)
		}
	}
	// No route matches: 404 problem+json.
	strict := http.NewServeMux()
	if err := Handle(strict, "GET /x/{p1}", Dispatch("https://example.com/p", Route{Wildcards: []string{"p1"}, Regexps: []*regexp.Regexp{json}, Handler: h("json")})); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	strict.ServeHTTP(rec, httptest.NewRequest("GET", "/x/a.xml", nil))
	if rec.Code != http.StatusNotFound || rec.Header().Get("Content-Type") != "application/problem+json" || !strings.Contains(rec.Body.String(), "https://example.com/p#route-not-found") {
		t.Errorf("unmatched: %d %s %s", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
	}
	// A conflicting pattern is an error, not a panic.
	if err := Handle(mux, "GET /files/{other}", h("dup")); err == nil {
		t.Error("conflicting pattern registered without an error")
	}
}

func TestNamePath(t *testing.T) {
	mux := http.NewServeMux()
	var name, ext, id string
	re := regexp.MustCompile(`^(.+?)\.(.+?)$`)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := Path(r, "name")
		e, _ := Path(r, "ext")
		i, ok := Path(r, "file-id")
		if !ok {
			t.Error("file-id is not set")
		}
		name, ext, id = n[0], e[0], i[0]
	})
	mux.Handle("GET /f/{_p1}/{_p2}", NamePath(h,
		PathParam{Name: "file-id", Wildcard: "_p1"},
		PathParam{Name: "name", Wildcard: "_p2", Regexp: re, Group: 1},
		PathParam{Name: "ext", Wildcard: "_p2", Regexp: re, Group: 2}))
	mux.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/f/7/report.v2.json", nil))
	if id != "7" || name != "report" || ext != "v2.json" {
		t.Errorf("id %q name %q ext %q", id, name, ext)
	}
	r := httptest.NewRequest("GET", "/", nil)
	if _, ok := Path(r, "missing"); ok {
		t.Error("a parameter that was never set is present")
	}
}

func TestReadBodyLimit(t *testing.T) {
	r := httptest.NewRequest("POST", "/", strings.NewReader("12345"))
	if b, ok, err := ReadBody(r, true, 5); err != nil || !ok || string(b) != "12345" {
		t.Errorf("at the limit: %q %v %v", b, ok, err)
	}
	r = httptest.NewRequest("POST", "/", strings.NewReader("123456"))
	_, _, err := ReadBody(r, true, 5)
	var re *RequestError
	if !errors.As(err, &re) || re.Status != http.StatusRequestEntityTooLarge {
		t.Errorf("over the limit: %v", err)
	}
	r = httptest.NewRequest("POST", "/", strings.NewReader(""))
	if _, _, err := ReadBody(r, true, 5); err == nil || !strings.Contains(err.Error(), "is required") {
		t.Errorf("missing required body: %v", err)
	}
	if _, ok, err := ReadBody(r, false, 5); err != nil || ok {
		t.Errorf("missing optional body: %v %v", ok, err)
	}
}

func TestKeyHeader(t *testing.T) {
	for _, tc := range []struct {
		raws    []string
		maxLen  int
		want    string
		present bool
		err     string
	}{
		{raws: nil},
		{raws: []string{"evt_1"}, want: "evt_1", present: true},
		{raws: []string{`"evt_1"`}, want: "evt_1", present: true},
		{raws: []string{` "a\"b\\c" `}, want: `a"b\c`, present: true},
		{raws: []string{`"sp ace"`}, want: "sp ace", present: true},
		{raws: []string{`""`}, present: true, err: "empty key"},
		{raws: []string{`"unclosed`}, present: true, err: "unterminated"},
		{raws: []string{`evt"`}, present: true, err: "want visible ASCII"},
		{raws: []string{"a", "b"}, present: true, err: "2 header fields, want one"},
		{raws: []string{"abcdef"}, maxLen: 5, present: true, err: "6 bytes long, want at most 5"},
		{raws: []string{strings.Repeat("k", 255)}, want: strings.Repeat("k", 255), present: true},
		{raws: []string{strings.Repeat("k", 256)}, present: true, err: "want at most 255"},
	} {
		r := httptest.NewRequest("POST", "/", nil)
		for _, v := range tc.raws {
			r.Header.Add("webhook-id", v)
		}
		vals, present, err := KeyHeader(r, "Webhook-Id", tc.maxLen)
		if present != tc.present {
			t.Errorf("%q: present %v, want %v", tc.raws, present, tc.present)
		}
		if tc.err != "" {
			var re *RequestError
			if !errors.As(err, &re) || re.Status != http.StatusBadRequest || !strings.HasPrefix(err.Error(), `header parameter "Webhook-Id": `) ||
				!strings.Contains(err.Error(), tc.err) || !errors.Is(err, idempotency.ErrInvalidKey) {
				t.Errorf("%q: error %v, want a 400 about the header containing %q", tc.raws, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.raws, err)
			continue
		}
		if tc.present && (len(vals) != 1 || vals[0] != tc.want) {
			t.Errorf("%q: %q, want [%q]", tc.raws, vals, tc.want)
		}
		if !tc.present && vals != nil {
			t.Errorf("%q: %q, want none", tc.raws, vals)
		}
	}
}

// TestWriteTextCharset: text bodies are Go strings, sent as UTF-8 with the
// charset said; other types and an explicit charset are left alone.
func TestWriteTextCharset(t *testing.T) {
	for in, want := range map[string]string{
		"text/html":                  "text/html; charset=utf-8",
		"text/plain":                 "text/plain; charset=utf-8",
		"TEXT/csv":                   "TEXT/csv; charset=utf-8",
		"text/plain; charset=latin1": "text/plain; charset=latin1",
		"text/html;Charset=UTF-8":    "text/html;Charset=UTF-8",
		"application/json":           "application/json",
		"application/problem+json":   "application/problem+json",
	} {
		w := httptest.NewRecorder()
		Write(w, 200, in, []byte("Zoë"))
		if got := w.Header().Get("Content-Type"); got != want {
			t.Errorf("Write(%q): Content-Type %q, want %q", in, got, want)
		}
	}
}

// TestWriteRequestErrorNegotiated: a decoding error is problem+json for an
// API client and a small HTML page for a browser submitting a form.
func TestWriteRequestErrorNegotiated(t *testing.T) {
	for accept, want := range map[string]string{
		"":                 "application/problem+json",
		"application/json": "application/problem+json",
		"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8": "text/html; charset=utf-8",
	} {
		r := httptest.NewRequest("POST", "/rooms/a/form", nil)
		if accept != "" {
			r.Header.Set("Accept", accept)
		}
		w := httptest.NewRecorder()
		WriteRequestError(w, r, "", BadRequest(`form field "text"`, errors.New("missing value")))
		if w.Code != 400 || w.Header().Get("Content-Type") != want || !strings.Contains(w.Body.String(), `form field \"text\": missing value`) && !strings.Contains(w.Body.String(), "form field &#34;text&#34;: missing value") {
			t.Errorf("Accept %q: %d %q\n%s", accept, w.Code, w.Header().Get("Content-Type"), w.Body)
		}
	}
}

// TestReadBodySized: bodies shorter, equal to and longer than their declared
// length or the 512-byte default read whole (net/http enforces the
// Content-Length itself; the size is only a hint).
func TestReadBodySized(t *testing.T) {
	for _, n := range []int{1, 511, 512, 513, 5000, 70 << 10} {
		want := strings.Repeat("x", n)
		for _, declared := range []int64{-1, int64(n), int64(n) + 10} {
			r := httptest.NewRequest("POST", "/", strings.NewReader(want))
			r.ContentLength = declared
			b, ok, err := ReadBody(r, true, 1<<20)
			if err != nil || !ok || string(b) != want {
				t.Errorf("%d bytes, declared %d: %d bytes read, %v %v", n, declared, len(b), ok, err)
			}
		}
	}
}
