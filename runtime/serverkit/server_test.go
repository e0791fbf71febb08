package serverkit

import (
	"bytes"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/idemgen/idemgen/runtime/idempotency"
)

func TestParamsDecode(t *testing.T) {
	r := httptest.NewRequest("GET", "/x?ids=1,2&tag=a&tag=b&sp=a%20b&limit=x", nil)
	r.Header.Set("Idempotency-Key", `"k-1"`)
	r.AddCookie(&http.Cookie{Name: "s", Value: "c"})
	r.SetPathValue("id", "7")
	p := ParamsOf(r)
	var (
		ids   []int
		tags  []string
		sp    []string
		key   string
		s     string
		id    int64
		limit *int
		none  *string
	)
	for _, c := range []struct {
		dst  any
		spec Parameter
	}{
		{&ids, Parameter{In: InQuery, Name: "ids"}},
		{&tags, Parameter{In: InQuery, Name: "tag", Explode: true}},
		{&sp, Parameter{In: InQuery, Name: "sp", Delimiter: " "}},
		{&key, Parameter{In: InHeader, Name: "Idempotency-Key", Required: true, IdempotencyKey: true}},
		{&s, Parameter{In: InCookie, Name: "s"}},
		{&id, Parameter{In: InPath, Name: "id", Required: true}},
		{&none, Parameter{In: InQuery, Name: "absent"}},
	} {
		if err := p.Decode(c.dst, c.spec); err != nil {
			t.Fatalf("%+v: %v", c.spec, err)
		}
	}
	if len(ids) != 2 || ids[1] != 2 || len(tags) != 2 || tags[1] != "b" || len(sp) != 2 || key != "k-1" || s != "c" || id != 7 || none != nil {
		t.Errorf("decoded ids=%v tags=%q sp=%q key=%q s=%q id=%d none=%v", ids, tags, sp, key, s, id, none)
	}
	err := p.Decode(&limit, Parameter{In: InQuery, Name: "limit"})
	var re *RequestError
	if !errors.As(err, &re) || re.Status != http.StatusBadRequest || re.Field != `query parameter "limit"` {
		t.Errorf("bad limit: %v", err)
	}
	err = p.Decode(&s, Parameter{In: InHeader, Name: "X-Need", Required: true})
	if err == nil || err.Error() != `header parameter "X-Need": is required` {
		t.Errorf("missing required header: %v", err)
	}
	r.Header.Set("Idempotency-Key", strings.Repeat("k", 20))
	if err := p.Decode(&key, Parameter{In: InHeader, Name: "Idempotency-Key", IdempotencyKey: true, KeyMaxLength: 10}); err == nil {
		t.Error("a key longer than KeyMaxLength decoded")
	}
}

// TestParamsDecodeString: DecodeString decodes as Decode does, a path
// parameter read directly and any other through Decode.
func TestParamsDecodeString(t *testing.T) {
	r := httptest.NewRequest("GET", "/x?q=v", nil)
	r.Header.Set("Idempotency-Key", `"k-1"`)
	r.SetPathValue("id", "o-7")
	p := ParamsOf(r)
	var id, q, key string
	for _, c := range []struct {
		dst  *string
		spec Parameter
	}{
		{&id, Parameter{In: InPath, Name: "id", Required: true}},
		{&q, Parameter{In: InQuery, Name: "q"}},
		{&key, Parameter{In: InHeader, Name: "Idempotency-Key", Required: true, IdempotencyKey: true}},
	} {
		if err := p.DecodeString(c.dst, c.spec); err != nil {
			t.Fatalf("%+v: %v", c.spec, err)
		}
	}
	if id != "o-7" || q != "v" || key != "k-1" {
		t.Errorf("decoded id=%q q=%q key=%q", id, q, key)
	}
	kept := "default"
	for _, spec := range []Parameter{{In: InPath, Name: "other"}, {In: InQuery, Name: "absent"}} {
		if err := p.DecodeString(&kept, spec); err != nil || kept != "default" {
			t.Errorf("absent optional %+v: %q, %v", spec, kept, err)
		}
	}
	err := p.DecodeString(&id, Parameter{In: InPath, Name: "other", Required: true})
	var re *RequestError
	if !errors.As(err, &re) || re.Status != http.StatusBadRequest || err.Error() != `path parameter "other": is required` {
		t.Errorf("missing required path parameter: %v", err)
	}
	err = p.DecodeString(&q, Parameter{In: InHeader, Name: "X-Need", Required: true})
	if err == nil || err.Error() != `header parameter "X-Need": is required` {
		t.Errorf("missing required header: %v", err)
	}
}

func TestServer(t *testing.T) {
	var logs bytes.Buffer
	var order []string
	mw := func(name string) func(http.Handler) http.Handler {
		return func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				order = append(order, name)
				next.ServeHTTP(w, r)
			})
		}
	}
	s := New("api", WithLogger(slog.New(slog.NewTextHandler(&logs, nil))), WithProblemType("https://example.com/p"),
		WithMiddleware(mw("outer"), mw("inner")), WithMaxBodyBytes(-1))
	if s.MaxBodyBytes() != DefaultMaxBodyBytes || s.ProblemType() != "https://example.com/p" {
		t.Errorf("defaults: %d %q", s.MaxBodyBytes(), s.ProblemType())
	}
	fail := func(err error) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.Fail(w, r, "op", err) })
	}
	if err := s.Handle("GET /todo", fail(ErrNotImplemented)); err != nil {
		t.Fatal(err)
	}
	if err := s.Handle("GET /boom", fail(errors.New("secret detail"))); err != nil {
		t.Fatal(err)
	}
	if err := s.Handle("GET /todo", fail(nil)); err == nil || !strings.HasPrefix(err.Error(), "api: NewServer: ") {
		t.Errorf("conflicting pattern: %v", err)
	}
	h := s.Handler()
	for path, want := range map[string]int{"/todo": 501, "/boom": 500} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		if w.Code != want || !strings.Contains(w.Body.String(), "https://example.com/p#") || strings.Contains(w.Body.String(), "secret") {
			t.Errorf("%s: %d %s", path, w.Code, w.Body)
		}
	}
	if len(order) != 4 || order[0] != "outer" || order[1] != "inner" {
		t.Errorf("middleware order %q", order)
	}
	if !strings.Contains(logs.String(), "secret detail") || strings.Contains(logs.String(), "not implemented") {
		t.Errorf("log: %s", logs.String())
	}

	var handled error
	custom := New("api", WithErrorHandler(func(w http.ResponseWriter, r *http.Request, err error) { handled = err; w.WriteHeader(418) }))
	w := httptest.NewRecorder()
	custom.Fail(w, httptest.NewRequest("GET", "/", nil), "op", ErrNotImplemented)
	if w.Code != 418 || handled != ErrNotImplemented {
		t.Errorf("error handler: %d %v", w.Code, handled)
	}
}

func TestServerIdempotent(t *testing.T) {
	s := New("api", WithLogger(slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil))))
	runs := 0
	h, err := s.Idempotent("create", idempotency.Policy{Operation: "create"}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		runs++
		w.WriteHeader(201)
	}))
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		r := httptest.NewRequest("POST", "/", strings.NewReader(`{}`))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Idempotency-Key", "k-1")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != 201 {
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
	if runs != 1 {
		t.Errorf("handler ran %d times with one key and the default memory store", runs)
	}
	if _, err := s.Idempotent("bad", idempotency.Policy{Operation: "bad", TTL: -1}, http.NotFoundHandler()); err == nil || !strings.Contains(err.Error(), `api: NewServer: operation "bad"`) {
		t.Errorf("bad policy: %v", err)
	}
}

func TestWriteJSON(t *testing.T) {
	w := httptest.NewRecorder()
	if err := WriteJSON(w, 201, "application/json", map[string]int{"a": 1}); err != nil {
		t.Fatal(err)
	}
	if w.Code != 201 || w.Header().Get("Content-Type") != "application/json" || w.Body.String() != `{"a":1}` {
		t.Errorf("wrote %d %q %s", w.Code, w.Header().Get("Content-Type"), w.Body)
	}
	w = httptest.NewRecorder()
	if err := WriteJSON(w, 201, "application/json", func() {}); err == nil {
		t.Error("a value that does not encode was written")
	}
	if w.Body.Len() != 0 || w.Header().Get("Content-Type") != "" {
		t.Errorf("something was written before the error: %q", w.Body)
	}
}

func TestUnrouted(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) })
	s := New("api", WithProblemType("https://example.com/p"))
	for _, p := range []string{"GET /orders/{_p1}", "DELETE /orders/{_p1}", "POST /orders", "PUT /things/{$}"} {
		if err := s.Handle(p, ok); err != nil {
			t.Fatal(err)
		}
	}
	h := s.Handler()
	for _, c := range []struct {
		method, path, accept string
		status               int
		allow, ctype, has    string
	}{
		{"GET", "/orders/7", "", 204, "", "", ""},
		{"HEAD", "/orders/7", "", 204, "", "", ""},
		{"GET", "/nope", "", 404, "", "application/problem+json", "https://example.com/p#route-not-found"},
		{"POST", "/orders/7", "", 405, "DELETE, GET, HEAD", "application/problem+json", "https://example.com/p#method-not-allowed"},
		{"GET", "/orders", "", 405, "POST", "application/problem+json", `"detail":"/orders does not accept GET; it accepts POST"`},
		{"GET", "/things/", "", 405, "PUT", "application/problem+json", ""},
		{"GET", "/nope", "text/html,application/xhtml+xml,*/*;q=0.8", 404, "", "text/html; charset=utf-8", "<html"},
		{"PATCH", "/orders", "text/html", 405, "POST", "text/html; charset=utf-8", "<html"},
	} {
		r := httptest.NewRequest(c.method, c.path, nil)
		if c.accept != "" {
			r.Header.Set("Accept", c.accept)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != c.status || w.Header().Get("Allow") != c.allow || w.Header().Get("Content-Type") != c.ctype || !strings.Contains(w.Body.String(), c.has) {
			t.Errorf("%s %s (Accept %q): %d Allow %q %s %s", c.method, c.path, c.accept, w.Code, w.Header().Get("Allow"), w.Header().Get("Content-Type"), w.Body)
		}
	}

	// Both answers can be replaced; the Allow header is set for the 405 handler.
	teapot := func(code int) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(code) })
	}
	custom := New("api", WithNotFound(teapot(410)), WithMethodNotAllowed(teapot(418)))
	if err := custom.Handle("POST /orders", ok); err != nil {
		t.Fatal(err)
	}
	if err := custom.Handle("GET /files/{_p1}", custom.Dispatch(Route{Wildcards: []string{"_p1"}, Regexps: []*regexp.Regexp{regexp.MustCompile(`\.txt$`)}, Handler: ok})); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		method, path string
		status       int
		allow        string
	}{
		{"GET", "/nope", 410, ""},
		{"GET", "/orders", 418, "POST"},
		{"GET", "/files/a.txt", 204, ""},
		{"GET", "/files/a.pdf", 410, ""}, // no operation behind the shared pattern matches
	} {
		w := httptest.NewRecorder()
		custom.Handler().ServeHTTP(w, httptest.NewRequest(c.method, c.path, nil))
		if w.Code != c.status || w.Header().Get("Allow") != c.allow {
			t.Errorf("custom %s %s: %d Allow %q", c.method, c.path, w.Code, w.Header().Get("Allow"))
		}
	}
}

func TestOperationMiddleware(t *testing.T) {
	type seen struct {
		op          OperationInfo
		layer, name string
	}
	var got []seen
	mw := func(layer string) func(OperationInfo, http.Handler) http.Handler {
		return func(op OperationInfo, next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got = append(got, seen{op, layer, r.PathValue("name")})
				next.ServeHTTP(w, r)
			})
		}
	}
	s := New("api", WithOperationMiddleware(mw("outer"), mw("inner")))
	info := OperationInfo{ID: "getFile", Method: "GET", Route: "/files/{name}.{ext}"}
	re := regexp.MustCompile(`^(.+?)\.(.+?)$`)
	h := s.Operation(info, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = append(got, seen{layer: "handler"}) }),
		PathParam{Name: "name", Wildcard: "_p1", Regexp: re, Group: 1})
	if err := s.Handle("GET /files/{_p1}", h); err != nil {
		t.Fatal(err)
	}
	s.Handler().ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/files/report.pdf", nil))
	want := []seen{{info, "outer", "report"}, {info, "inner", "report"}, {layer: "handler"}}
	if !slices.Equal(got, want) {
		t.Errorf("saw %+v, want %+v", got, want)
	}
}
