package validation

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/idemgen/idemgen/runtime/nullable"
)

// shop counts the orders and notes its handler really received.
type shop struct {
	UnimplementedHandler
	orders, notes, raws, signups atomic.Int64

	mu     sync.Mutex
	note   *string // the patched order's note (nil: none)
	amount int
}

func (s *shop) CreateRaw(ctx context.Context, req CreateRawRequestObject) (CreateRawResponseObject, error) {
	s.raws.Add(1)
	return CreateRaw201Response{}, nil
}

func (s *shop) SignUp(ctx context.Context, req SignUpRequestObject) (SignUpResponseObject, error) {
	s.signups.Add(1)
	return SignUp201Response{}, nil
}

// PatchOrder applies a JSON merge patch: null removes the note, an absent
// member leaves it alone.
func (s *shop) PatchOrder(ctx context.Context, req PatchOrderRequestObject) (PatchOrderResponseObject, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if req.Body.Note.IsNull() {
		s.note = nil
	} else if v, ok := req.Body.Note.Get(); ok {
		s.note = &v
	}
	if v, ok := req.Body.Quantity.Get(); ok {
		s.amount = v
	}
	out := OrderPatch{Quantity: nullable.Value(s.amount)}
	if s.note != nil {
		out.Note = nullable.Value(*s.note)
	}
	return PatchOrder200JSONResponse{Body: out}, nil
}

func (s *shop) CreateOrder(ctx context.Context, req CreateOrderRequestObject) (CreateOrderResponseObject, error) {
	s.orders.Add(1)
	return CreateOrder201JSONResponse{Body: req.Body}, nil
}

func (s *shop) PutNote(ctx context.Context, req PutNoteRequestObject) (PutNoteResponseObject, error) {
	s.notes.Add(1)
	return PutNote204Response{}, nil
}

// problem is the 400 body of an invalid request.
type problem struct {
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Errors []struct {
		In      string `json:"in"`
		Pointer string `json:"pointer"`
		Detail  string `json:"detail"`
	} `json:"errors"`
}

func newServer(t *testing.T) (*shop, *httptest.Server) {
	t.Helper()
	h := &shop{}
	srv, err := NewServer(h)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return h, ts
}

func send(t *testing.T, ts *httptest.Server, method, path, key, body string, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, ts.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	if _, err := io.Copy(&b, resp.Body); err != nil {
		t.Fatal(err)
	}
	return resp, []byte(b.String())
}

const valid = `{"sku":"AB","quantity":1,"items":[{"name":"pen"}]}`

// TestKeywords: for each keyword, an invalid request is answered 400
// problem+json with the pointer of the offending value, the handler does not
// run, and the same idempotency key with a valid body then runs it (the
// invalid request claimed nothing).
func TestKeywords(t *testing.T) {
	cases := []struct {
		name, path, body string
		header           []string
		in, pointer      string
		detail           string
	}{
		{"pattern", "", `{"sku":"lower","quantity":1,"items":[{"name":"pen"}]}`, nil, "", "/sku", "must match the pattern ^[A-Z]+$"},
		{"minLength", "", `{"sku":"A","quantity":1,"items":[{"name":"pen"}]}`, nil, "", "/sku", "must be at least 2 characters long"},
		{"minimum", "", `{"sku":"AB","quantity":0,"items":[{"name":"pen"}]}`, nil, "", "/quantity", "must be >= 1"},
		{"exclusiveMinimum", "", `{"sku":"AB","quantity":1,"price":0,"items":[{"name":"pen"}]}`, nil, "", "/price", "must be > 0"},
		{"maximum", "", `{"sku":"AB","quantity":1,"price":1000.5,"items":[{"name":"pen"}]}`, nil, "", "/price", "must be <= 1000"},
		{"multipleOf", "", `{"sku":"AB","quantity":1,"price":1.005,"items":[{"name":"pen"}]}`, nil, "", "/price", "must be a multiple of 0.01"},
		{"maxLength counts characters", "", `{"sku":"AB","quantity":1,"note":"ééééé","items":[{"name":"pen"}]}`, nil, "", "/note", "must be at most 3 characters long"},
		{"enum", "", `{"sku":"AB","quantity":1,"status":"lost","items":[{"name":"pen"}]}`, nil, "", "/status", `must be one of "new", "paid"`},
		{"format date", "", `{"sku":"AB","quantity":1,"shipOn":"2026-13-01","items":[{"name":"pen"}]}`, nil, "", "/shipOn", "must be a valid date"},
		{"format time", "", `{"sku":"AB","quantity":1,"at":"25:00:00Z","items":[{"name":"pen"}]}`, nil, "", "/at", "must be a valid time"},
		{"format uuid", "", `{"sku":"AB","quantity":1,"ref":"not-a-uuid","items":[{"name":"pen"}]}`, nil, "", "/ref", "must be a valid uuid"},
		{"format email", "", `{"sku":"AB","quantity":1,"email":"nobody","items":[{"name":"pen"}]}`, nil, "", "/email", "must be a valid email"},
		{"format hostname", "", `{"sku":"AB","quantity":1,"host":"-bad-.example","items":[{"name":"pen"}]}`, nil, "", "/host", "must be a valid hostname"},
		{"format uri", "", `{"sku":"AB","quantity":1,"site":"/relative","items":[{"name":"pen"}]}`, nil, "", "/site", "must be a valid uri"},
		{"format ipv4", "", `{"sku":"AB","quantity":1,"ip4":"::1","items":[{"name":"pen"}]}`, nil, "", "/ip4", "must be a valid ipv4"},
		{"format ipv6", "", `{"sku":"AB","quantity":1,"ip6":"10.0.0.1","items":[{"name":"pen"}]}`, nil, "", "/ip6", "must be a valid ipv6"},
		{"maxItems", "", `{"sku":"AB","quantity":1,"tags":["a","b","c","d"],"items":[{"name":"pen"}]}`, nil, "", "/tags", "must have at most 3 items"},
		{"uniqueItems", "", `{"sku":"AB","quantity":1,"tags":["a","b","a"],"items":[{"name":"pen"}]}`, nil, "", "/tags/2", "repeats an earlier item (uniqueItems)"},
		{"maxProperties", "", `{"sku":"AB","quantity":1,"labels":{"a":"1","b":"2","c":"3"},"items":[{"name":"pen"}]}`, nil, "", "/labels", "must have at most 2 properties"},
		{"map value", "", `{"sku":"AB","quantity":1,"labels":{"a/b":"12345"},"items":[{"name":"pen"}]}`, nil, "", "/labels/a~1b", "must be at most 4 characters long"},
		{"minItems", "", `{"sku":"AB","quantity":1,"items":[]}`, nil, "", "/items", "must have at least 1 item"},
		{"nested maxLength", "", `{"sku":"AB","quantity":1,"items":[{"name":"pen"},{"name":"pencil"}]}`, nil, "", "/items/1/name", "must be at most 5 characters long"},
		{"nested enum", "", `{"sku":"AB","quantity":1,"items":[{"name":"pen","kind":"cup"}]}`, nil, "", "/items/0/kind", `must be one of "book", "pen"`},
		{"deep maximum", "", `{"sku":"AB","quantity":1,"items":[{"name":"pen","parts":[{"code":1},{"code":10}]}]}`, nil, "", "/items/0/parts/1/code", "must be <= 9"},
		{"readOnly", "", `{"id":"o1","sku":"AB","quantity":1,"items":[{"name":"pen"}]}`, nil, "", "/id", "is read-only: a request must not send it"},
		{"required", "", `{"sku":"AB","items":[{"name":"pen"}]}`, nil, "", "/quantity", "is required"},
		{"nested required", "", `{"sku":"AB","quantity":1,"items":[{"name":"pen"},{"kind":"pen"}]}`, nil, "", "/items/1/name", "is required"},
		{"additionalProperties false", "", `{"sku":"AB","quantity":1,"address":{"city":"Oslo","street":"x"},"items":[{"name":"pen"}]}`, nil, "", "/address/street", "is not allowed: the schema declares no such property"},
		{"minProperties of a struct", "", `{"sku":"AB","quantity":1,"address":{},"items":[{"name":"pen"}]}`, nil, "", "/address", "must have at least 1 property"},
		{"maxProperties of a struct", "", `{"sku":"AB","quantity":1,"meta":{"a":"1","b":"2"},"items":[{"name":"pen"}]}`, nil, "", "/meta", "must have at most 1 property"},
		{"oneOf none", "", `{"sku":"AB","quantity":1,"gift":{"message":"hi","amount":10},"items":[{"name":"pen"}]}`, nil, "", "/gift", "must match one of its schemas (oneOf): it matches none"},
		{"oneOf variant keyword", "", `{"sku":"AB","quantity":1,"gift":{"amount":1},"items":[{"name":"pen"}]}`, nil, "", "/gift", "must match one of its schemas (oneOf): it matches none"},
		{"anyOf none", "", `{"sku":"AB","quantity":1,"wrap":50,"items":[{"name":"pen"}]}`, nil, "", "/wrap", "must match at least one of its schemas (anyOf): it matches none"},
		{"anyOf wrong type", "", `{"sku":"AB","quantity":1,"wrap":true,"items":[{"name":"pen"}]}`, nil, "", "/wrap", "must match at least one of its schemas (anyOf): it matches none"},
		{"discriminated variant", "", `{"sku":"AB","quantity":1,"packaging":{"kind":"carton","size":9},"items":[{"name":"pen"}]}`, nil, "", "/packaging/size", "must be <= 3"},
		{"discriminated variant required", "", `{"sku":"AB","quantity":1,"packaging":{"kind":"carton"},"items":[{"name":"pen"}]}`, nil, "", "/packaging/size", "is required"},
		{"query parameter", "?limit=101", valid, nil, "query", "/limit", "must be <= 100"},
		{"header parameter", "", valid, []string{"X-Trace", "XYZ"}, "header", "/X-Trace", "must match the pattern ^[a-f0-9]{8}$"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h, ts := newServer(t)
			key := "k-" + strings.ReplaceAll(c.name, " ", "-")
			resp, body := send(t, ts, "POST", "/orders"+c.path, key, c.body, c.header...)
			if resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("status %d, want 400: %s", resp.StatusCode, body)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("Content-Type %q", ct)
			}
			var p problem
			if err := json.Unmarshal(body, &p); err != nil {
				t.Fatalf("%v: %s", err, body)
			}
			if len(p.Errors) != 1 || p.Errors[0].In != c.in || p.Errors[0].Pointer != c.pointer || p.Errors[0].Detail != c.detail {
				t.Fatalf("errors %+v, want one {in %q, pointer %q, detail %q}", p.Errors, c.in, c.pointer, c.detail)
			}
			if n := h.orders.Load(); n != 0 {
				t.Fatalf("the handler ran %d times for an invalid request", n)
			}
			resp, body = send(t, ts, "POST", "/orders", key, valid)
			if resp.StatusCode != http.StatusCreated || h.orders.Load() != 1 {
				t.Fatalf("valid request with the same key: status %d, handler ran %d times: %s", resp.StatusCode, h.orders.Load(), body)
			}
			// The valid outcome is the one stored: a retry replays it.
			resp, _ = send(t, ts, "POST", "/orders", key, valid)
			if resp.StatusCode != http.StatusCreated || h.orders.Load() != 1 || resp.Header.Get("Idempotent-Replayed") != "true" {
				t.Fatalf("retry: status %d, handler ran %d times, Idempotent-Replayed %q", resp.StatusCode, h.orders.Load(), resp.Header.Get("Idempotent-Replayed"))
			}
		})
	}
}

// TestUnionsAccept: a value matching exactly one oneOf variant, or some anyOf
// variants, is accepted; a required readOnly member (id) is not demanded.
func TestUnionsAccept(t *testing.T) {
	h, ts := newServer(t)
	for i, body := range []string{
		`{"sku":"AB","quantity":1,"gift":{"message":"hi"},"wrap":"red","items":[{"name":"pen"}]}`,
		`{"sku":"AB","quantity":1,"gift":{"amount":10},"wrap":120,"items":[{"name":"pen"}]}`,
	} {
		resp, b := send(t, ts, "POST", "/orders", "k-union-"+strconv.Itoa(i), body)
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("%s: status %d: %s", body, resp.StatusCode, b)
		}
	}
	if h.orders.Load() != 2 {
		t.Fatalf("handler ran %d times", h.orders.Load())
	}
}

// TestDiscriminatorMapping: a discriminator value the mapping does not name
// is refused with 400 before the key is claimed; a mapped one is served.
func TestDiscriminatorMapping(t *testing.T) {
	h, ts := newServer(t)
	resp, body := send(t, ts, "POST", "/orders", "k-disc", `{"sku":"AB","quantity":1,"packaging":{"kind":"crate"},"items":[{"name":"pen"}]}`)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), `unknown kind \"crate\"`) || h.orders.Load() != 0 {
		t.Fatalf("status %d, handler ran %d times: %s", resp.StatusCode, h.orders.Load(), body)
	}
	resp, body = send(t, ts, "POST", "/orders", "k-disc", `{"sku":"AB","quantity":1,"packaging":{"kind":"bag","paper":true},"items":[{"name":"pen"}]}`)
	if resp.StatusCode != http.StatusCreated || h.orders.Load() != 1 {
		t.Fatalf("mapped kind, same key: status %d, handler ran %d times: %s", resp.StatusCode, h.orders.Load(), body)
	}
}

// TestRequiredWithOthers: absent required members are listed with the other
// violations in one 400, and the zero value decoded in their place is not
// reported again.
func TestRequiredWithOthers(t *testing.T) {
	_, ts := newServer(t)
	resp, body := send(t, ts, "POST", "/orders", "k-req-others", `{"sku":"lower","address":{"zip":"1","x":2},"items":[{"name":"pencil"}]}`)
	var p problem
	if err := json.Unmarshal(body, &p); err != nil || resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("status %d, %v: %s", resp.StatusCode, err, body)
	}
	var got []string
	for _, e := range p.Errors {
		got = append(got, e.Pointer+" "+e.Detail)
	}
	want := []string{
		"/address/x is not allowed: the schema declares no such property",
		"/quantity is required",
		"/sku must match the pattern ^[A-Z]+$",
		"/items/0/name must be at most 5 characters long",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestOptOut: x-idemgen-validate: false serves a request its schema refuses
// (decoding into the Go types still applies).
func TestOptOut(t *testing.T) {
	h, ts := newServer(t)
	resp, body := send(t, ts, "POST", "/raw", "k-raw", `{"sku":"lower","quantity":0,"extra":1}`)
	if resp.StatusCode != http.StatusCreated || h.raws.Load() != 1 {
		t.Fatalf("status %d, handler ran %d times: %s", resp.StatusCode, h.raws.Load(), body)
	}
	resp, body = send(t, ts, "POST", "/raw", "k-raw-2", `{"sku":1}`)
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("a body of the wrong JSON type: status %d: %s", resp.StatusCode, body)
	}
}

// TestForm: an urlencoded body is checked like a JSON one, with pointers to
// its fields, before the key is claimed.
func TestForm(t *testing.T) {
	h, ts := newServer(t)
	post := func(form string) (*http.Response, []byte) {
		return send(t, ts, "POST", "/signups", "k-form", form, "Content-Type", "application/x-www-form-urlencoded")
	}
	resp, body := post("user=ABC&age=10")
	var p problem
	if err := json.Unmarshal(body, &p); err != nil || resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("status %d, %v: %s", resp.StatusCode, err, body)
	}
	if len(p.Errors) != 2 || p.Errors[0].Pointer != "/user" || p.Errors[1].Pointer != "/age" || p.Errors[1].Detail != "must be >= 18" {
		t.Fatalf("errors %+v", p.Errors)
	}
	if h.signups.Load() != 0 {
		t.Fatal("the handler ran")
	}
	if resp, body = post("user=abc&age=30"); resp.StatusCode != http.StatusCreated || h.signups.Load() != 1 {
		t.Fatalf("valid form, same key: status %d, handler ran %d times: %s", resp.StatusCode, h.signups.Load(), body)
	}
}

// TestEveryViolation: the 400 lists every violation of the request, the
// parameters' and the body's, in one problem.
func TestEveryViolation(t *testing.T) {
	h, ts := newServer(t)
	resp, body := send(t, ts, "POST", "/orders?limit=0", "k-all", `{"sku":"lower","quantity":0,"items":[{"name":"pencil"}]}`)
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	var p problem
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range p.Errors {
		got = append(got, e.In+e.Pointer)
	}
	want := []string{"query/limit", "/sku", "/quantity", "/items/0/name"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("pointers %q, want %q (%s)", got, want, body)
	}
	if p.Detail != "the request does not match its schemas (4 violations)" {
		t.Errorf("detail %q", p.Detail)
	}
	if h.orders.Load() != 0 {
		t.Fatal("the handler ran")
	}
}

// TestCapped: a request with more violations than validate.MaxViolations
// lists the first ones and says how many there were.
func TestCapped(t *testing.T) {
	_, ts := newServer(t)
	var items []string
	for range 30 {
		items = append(items, `{"name":"toolong"}`)
	}
	resp, body := send(t, ts, "POST", "/orders", "k-many", `{"sku":"AB","quantity":1,"items":[`+strings.Join(items, ",")+`]}`)
	var p problem
	if err := json.Unmarshal(body, &p); err != nil || resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("status %d, %v: %s", resp.StatusCode, err, body)
	}
	if len(p.Errors) != 20 || p.Detail != "the request does not match its schemas (30 violations); the first 20 are listed" {
		t.Fatalf("%d errors, detail %q", len(p.Errors), p.Detail)
	}
}

// TestArrayBody: a body that is an array of strings, on an operation that is
// not idempotent, is validated item by item.
func TestArrayBody(t *testing.T) {
	h, ts := newServer(t)
	resp, body := send(t, ts, "PUT", "/notes", "", `["ok","x"]`)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), `"pointer":"/1"`) {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	resp, body = send(t, ts, "PUT", "/notes", "", `[]`)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), `"pointer":"","detail":"must have at least 1 item"`) {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	if h.notes.Load() != 0 {
		t.Fatal("the handler ran")
	}
	if resp, body := send(t, ts, "PUT", "/notes", "", `["ok"]`); resp.StatusCode != http.StatusNoContent || h.notes.Load() != 1 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
}
