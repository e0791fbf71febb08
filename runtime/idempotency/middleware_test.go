package idempotency_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idemgen/idemgen/runtime/idempotency"
	"github.com/idemgen/idemgen/runtime/store/memstore"
)

var quiet = slog.New(slog.DiscardHandler)

// events records observer events.
type events struct {
	mu sync.Mutex
	es []idempotency.Event
}

func (e *events) Observe(_ context.Context, ev idempotency.Event) {
	e.mu.Lock()
	e.es = append(e.es, ev)
	e.mu.Unlock()
}

func (e *events) outcomes() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for _, ev := range e.es {
		out = append(out, ev.Outcome.String())
	}
	return out
}

func (e *events) last() idempotency.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.es) == 0 {
		return idempotency.Event{}
	}
	return e.es[len(e.es)-1]
}

type harness struct {
	t     *testing.T
	store idempotency.Store
	m     *idempotency.Middleware
	h     http.Handler
	ev    *events
	runs  atomic.Int32
}

func newHarness(t *testing.T, p idempotency.Policy, handler http.HandlerFunc, opts ...idempotency.Option) *harness {
	t.Helper()
	s := memstore.New(memstore.WithSweepInterval(-1))
	t.Cleanup(func() { s.Close() })
	return newHarnessStore(t, s, p, handler, opts...)
}

func newHarnessStore(t *testing.T, s idempotency.Store, p idempotency.Policy, handler http.HandlerFunc, opts ...idempotency.Option) *harness {
	t.Helper()
	hs := &harness{t: t, store: s, ev: &events{}}
	if p.Operation == "" {
		p.Operation = "createThing"
	}
	if handler == nil {
		handler = func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusCreated)
			fmt.Fprintf(w, `{"run":%d,"echo":%q}`, hs.runs.Load(), b)
		}
	}
	counted := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hs.runs.Add(1)
		handler(w, r)
	})
	opts = append([]idempotency.Option{idempotency.WithLogger(quiet), idempotency.WithObserver(hs.ev)}, opts...)
	m, err := idempotency.New(s, p, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	hs.m = m
	hs.h = m.Wrap(counted)
	return hs
}

func (hs *harness) do(method, target, body string, hdr ...string) *httptest.ResponseRecorder {
	hs.t.Helper()
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Add(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	hs.h.ServeHTTP(w, r)
	return w
}

func (hs *harness) post(key, body string, hdr ...string) *httptest.ResponseRecorder {
	hs.t.Helper()
	if key != "" {
		hdr = append(hdr, "Idempotency-Key", key)
	}
	return hs.do(http.MethodPost, "/things", body, append(hdr, "Content-Type", "application/json")...)
}

func wantProblem(t *testing.T, w *httptest.ResponseRecorder, status int) map[string]any {
	t.Helper()
	if w.Code != status {
		t.Fatalf("status %d (%s), want %d", w.Code, w.Body, status)
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type %q, want application/problem+json", ct)
	}
	var p map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
		t.Fatalf("problem body %q: %v", w.Body, err)
	}
	if p["status"] != float64(status) {
		t.Errorf("problem status %v, want %d", p["status"], status)
	}
	return p
}

func TestKeyRejections(t *testing.T) {
	hs := newHarness(t, idempotency.Policy{}, nil)
	long := strings.Repeat("k", 256)
	cases := []struct {
		name string
		hdr  []string
	}{
		{"empty bare", []string{"Idempotency-Key", ""}},
		{"empty sf-string", []string{"Idempotency-Key", `""`}},
		{"too long", []string{"Idempotency-Key", long}},
		{"non-printable", []string{"Idempotency-Key", "ab\x01c"}},
		{"non-ASCII", []string{"Idempotency-Key", "clé"}},
		{"two headers", []string{"Idempotency-Key", "a", "Idempotency-Key", "b"}},
		{"sf list", []string{"Idempotency-Key", `"a", "b"`}},
		{"unterminated", []string{"Idempotency-Key", `"abc`}},
		{"bad escape", []string{"Idempotency-Key", `"a\nb"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := hs.do(http.MethodPost, "/things", "{}", tc.hdr...)
			wantProblem(t, w, http.StatusBadRequest)
		})
	}
	w := hs.do(http.MethodPost, "/things", "{}")
	p := wantProblem(t, w, http.StatusBadRequest)
	if !strings.Contains(fmt.Sprint(p["detail"]), "Idempotency-Key") {
		t.Errorf("missing-key detail %q does not name the header", p["detail"])
	}
	if hs.runs.Load() != 0 {
		t.Errorf("handler ran %d times on rejected keys", hs.runs.Load())
	}
	if got := hs.ev.last().Outcome; got != idempotency.OutcomeRejectedKey {
		t.Errorf("outcome %s, want rejected_key", got)
	}
}

func TestKeyForms(t *testing.T) {
	hs := newHarness(t, idempotency.Policy{}, nil)
	// The sf-string and the bare form of the same key name the same record.
	first := hs.post(`"k-1"`, `{}`)
	second := hs.post(`k-1`, `{}`)
	if first.Code != 201 || second.Header().Get("Idempotent-Replayed") != "true" {
		t.Fatalf("sf-string then bare: %d, replayed %q", first.Code, second.Header().Get("Idempotent-Replayed"))
	}
	// Escapes are decoded.
	hs.post(`"a\"b\\c"`, `{}`)
	if w := hs.post(`a"b\c`, `{}`); w.Code != 400 {
		t.Errorf("bare key with a quote: %d, want 400", w.Code)
	}
	if w := hs.post(`"a\"b\\c"`, `{}`); w.Header().Get("Idempotent-Replayed") != "true" {
		t.Errorf("escaped sf-string key not replayed")
	}
	if w := hs.post(`  "spaced key"  `, `{}`); w.Code != 201 {
		t.Errorf("sf-string with inner space and OWS: %d", w.Code)
	}
}

func TestParseKeyHeader(t *testing.T) {
	for in, want := range map[string]string{
		`abc`: "abc", ` abc `: "abc", `"abc"`: "abc", `"a b"`: "a b", `"a\"b"`: `a"b`, `"\\"`: `\`,
	} {
		got, err := idempotency.ParseKeyHeader(in, 255)
		if err != nil || got != want {
			t.Errorf("ParseKeyHeader(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{``, `""`, `"abc`, `abc"`, `"a"b"`, `a b`, `"a\b"`, "\"a\x7f\"", `"a";x=1`} {
		if got, err := idempotency.ParseKeyHeader(in, 255); !errors.Is(err, idempotency.ErrInvalidKey) {
			t.Errorf("ParseKeyHeader(%q) = %q, %v; want ErrInvalidKey", in, got, err)
		}
	}
	if _, err := idempotency.ParseKeyHeader("abcd", 3); !errors.Is(err, idempotency.ErrInvalidKey) {
		t.Errorf("over maxLength accepted")
	}
}

func TestKeyFormats(t *testing.T) {
	cases := []struct {
		key    idempotency.Key
		ok, no string
	}{
		{idempotency.Key{Format: idempotency.FormatUUID}, "123e4567-e89b-12d3-a456-426614174000", "123e4567e89b12d3a456426614174000"},
		{idempotency.Key{Format: idempotency.FormatULID}, "01ARZ3NDEKTSV4RRFFQ69G5FAV", "01ARZ3NDEKTSV4RRFFQ69G5FAU"},
		{idempotency.Key{Format: idempotency.FormatPattern, Pattern: `ord-[0-9]+`}, "ord-42", "xord-42"},
		{idempotency.Key{MaxLength: 4}, "abcd", "abcde"},
	}
	for _, tc := range cases {
		hs := newHarness(t, idempotency.Policy{Key: tc.key}, nil)
		if w := hs.post(tc.ok, `{}`); w.Code != 201 {
			t.Errorf("%+v: key %q got %d, want 201", tc.key, tc.ok, w.Code)
		}
		if w := hs.post(tc.no, `{}`); w.Code != 400 {
			t.Errorf("%+v: key %q got %d, want 400", tc.key, tc.no, w.Code)
		}
	}
}

func TestOptionalKey(t *testing.T) {
	hs := newHarness(t, idempotency.Policy{Key: idempotency.Key{Optional: true}}, nil)
	hs.post("", `{}`)
	hs.post("", `{}`)
	if hs.runs.Load() != 2 {
		t.Fatalf("keyless requests ran %d times, want 2 (no deduplication)", hs.runs.Load())
	}
	if hs.ev.last().Outcome != idempotency.OutcomeNoKey {
		t.Errorf("outcome %s, want no_key", hs.ev.last().Outcome)
	}
	if w := hs.post(`""`, `{}`); w.Code != 400 {
		t.Errorf("an empty key is invalid even when optional: %d", w.Code)
	}
}

func TestQueryKey(t *testing.T) {
	hs := newHarness(t, idempotency.Policy{Key: idempotency.Key{Query: "idem"}}, nil)
	if w := hs.do("POST", "/things?idem=q%201", `{}`); w.Code != 201 {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	if w := hs.do("POST", "/things?idem=q%201", `{}`); w.Header().Get("Idempotent-Replayed") != "true" {
		t.Errorf("query key not replayed")
	}
	wantProblem(t, hs.do("POST", "/things?idem=a&idem=b", `{}`), 400)
	wantProblem(t, hs.do("POST", "/things", `{}`), 400)
}

func TestBodyFieldKeyJSONAndForm(t *testing.T) {
	hs := newHarness(t, idempotency.Policy{Key: idempotency.Key{Field: "/idempotency_key"}}, nil)
	w1 := hs.do("POST", "/things", `{"idempotency_key":"f-1","amount":5}`, "Content-Type", "application/json")
	w2 := hs.do("POST", "/things", `{"amount":5, "idempotency_key":"f-1"}`, "Content-Type", "application/json")
	if w1.Code != 201 || w2.Header().Get("Idempotent-Replayed") != "true" {
		t.Fatalf("JSON body key: %d then replayed=%q", w1.Code, w2.Header().Get("Idempotent-Replayed"))
	}
	if !strings.Contains(w1.Body.String(), `amount`) {
		t.Errorf("handler could not read the body after fingerprinting: %s", w1.Body)
	}
	form := url.Values{"idempotency_key": {"form-1"}, "amount": {"5"}}.Encode()
	f1 := hs.do("POST", "/things", form, "Content-Type", "application/x-www-form-urlencoded")
	f2 := hs.do("POST", "/things", form, "Content-Type", "application/x-www-form-urlencoded")
	if f1.Code != 201 || f2.Header().Get("Idempotent-Replayed") != "true" {
		t.Fatalf("form key (the hidden form field): %d then replayed=%q", f1.Code, f2.Header().Get("Idempotent-Replayed"))
	}
	wantProblem(t, hs.do("POST", "/things", `{"amount":5}`, "Content-Type", "application/json"), 400)
	wantProblem(t, hs.do("POST", "/things", `{"idempotency_key":{"x":1}}`, "Content-Type", "application/json"), 400)
}

func TestDerivedKey(t *testing.T) {
	hs := newHarness(t, idempotency.Policy{
		Key:         idempotency.Key{Derive: []string{"/user_id", "/bill_date"}},
		Fingerprint: []string{"method", "path"},
	}, nil)
	a := hs.do("POST", "/bills", `{"user_id":7,"bill_date":"2026-11-01","note":"x"}`)
	b := hs.do("POST", "/bills", `{"bill_date":"2026-11-01","user_id":7,"note":"y"}`)
	c := hs.do("POST", "/bills", `{"user_id":8,"bill_date":"2026-11-01"}`)
	if a.Code != 201 || b.Header().Get("Idempotent-Replayed") != "true" || c.Header().Get("Idempotent-Replayed") != "" {
		t.Fatalf("derived key: %d, replayed %q, other user replayed %q", a.Code, b.Header().Get("Idempotent-Replayed"), c.Header().Get("Idempotent-Replayed"))
	}
	wantProblem(t, hs.do("POST", "/bills", `{"user_id":7}`), 400) // a derive value is missing
	if hs.runs.Load() != 2 {
		t.Errorf("runs %d, want 2", hs.runs.Load())
	}
}

func TestScopeByPathAndPrincipal(t *testing.T) {
	s := memstore.New(memstore.WithSweepInterval(-1))
	defer s.Close()
	var runs atomic.Int32
	m, err := idempotency.New(s, idempotency.Policy{Operation: "op", Scope: []string{"path:account", "principal"}},
		idempotency.WithLogger(quiet),
		idempotency.WithPrincipal(func(r *http.Request) (string, error) {
			if u := r.Header.Get("X-User"); u != "" {
				return u, nil
			}
			return "", errors.New("not signed in")
		}))
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("POST /accounts/{account}/payments", m.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		runs.Add(1)
		fmt.Fprintf(w, "%s/%s", r.PathValue("account"), r.Header.Get("X-User"))
	})))
	mux.Handle("GET /accounts/{account}/payments/status", m.StatusHandler())
	send := func(method, path, user string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, path, strings.NewReader("{}"))
		r.Header.Set("Idempotency-Key", "same")
		if user != "" {
			r.Header.Set("X-User", user)
		}
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		return w
	}
	send("POST", "/accounts/1/payments", "ann")
	send("POST", "/accounts/2/payments", "ann")
	send("POST", "/accounts/1/payments", "bob")
	if w := send("POST", "/accounts/1/payments", "ann"); w.Body.String() != "1/ann" || w.Header().Get("Idempotent-Replayed") != "true" {
		t.Errorf("replay for ann on account 1: %q", w.Body)
	}
	if runs.Load() != 3 {
		t.Errorf("runs %d, want 3 (one per account x principal)", runs.Load())
	}
	wantProblem(t, send("POST", "/accounts/1/payments", ""), http.StatusUnauthorized)
	if w := send("GET", "/accounts/1/payments/status", "ann"); w.Code != 200 || !strings.Contains(w.Body.String(), `"completed"`) {
		t.Errorf("status as ann: %d %s", w.Code, w.Body)
	}
	wantProblem(t, send("GET", "/accounts/3/payments/status", "ann"), http.StatusNotFound)
	wantProblem(t, send("GET", "/accounts/1/payments/status", "eve"), http.StatusNotFound)
}

func TestPrincipalScopeNeedsOption(t *testing.T) {
	s := memstore.New()
	defer s.Close()
	if _, err := idempotency.New(s, idempotency.Policy{Operation: "op", Scope: []string{"principal"}}); err == nil {
		t.Fatal("New accepted a principal scope without WithPrincipal")
	}
}

func TestMismatchAndCanonicalBody(t *testing.T) {
	hs := newHarness(t, idempotency.Policy{}, nil)
	hs.post("k", `{"a":1,"b":[1,2,{"y":2,"x":1}]}`)
	if w := hs.post("k", "{\n  \"b\": [1, 2, {\"x\":1, \"y\":2}],\n  \"a\": 1\n}"); w.Header().Get("Idempotent-Replayed") != "true" {
		t.Errorf("reordered/re-spaced JSON: %d, not replayed", w.Code)
	}
	p := wantProblem(t, hs.post("k", `{"a":2,"b":[1,2,{"y":2,"x":1}]}`), 422)
	if hs.ev.last().Outcome != idempotency.OutcomeMismatch {
		t.Errorf("outcome %s", hs.ev.last().Outcome)
	}
	_ = p
	// Numbers compare as written, not by value (docs/runtime.md: not RFC 8785,
	// which would round 2^53+1 into 2^53).
	hs.post("num", `{"amount":2}`)
	wantProblem(t, hs.post("num", `{"amount":2.0}`), 422)
	hs.post("big", `{"id":9007199254740993}`)
	wantProblem(t, hs.post("big", `{"id":9007199254740992}`), 422)
	// Non-JSON bodies compare as raw bytes.
	hs.post("raw", "a=1&b=2")
	wantProblem(t, hs.post("raw", "b=2&a=1"), 422)
	// Method, path and query are fingerprinted too.
	wantProblem(t, hs.do("PUT", "/things", `{"a":1,"b":[1,2,{"y":2,"x":1}]}`, "Idempotency-Key", "k"), 422)
	wantProblem(t, hs.do("POST", "/things?x=1", `{"a":1,"b":[1,2,{"y":2,"x":1}]}`, "Idempotency-Key", "k"), 422)
}

func TestFingerprintPointersAndHeaders(t *testing.T) {
	hs := newHarness(t, idempotency.Policy{Fingerprint: []string{"/amount", "header:X-Currency"}}, nil)
	hs.post("k", `{"amount":10,"note":"a"}`, "X-Currency", "EUR")
	if w := hs.post("k", `{"note":"b","amount":10}`, "X-Currency", "EUR"); w.Header().Get("Idempotent-Replayed") != "true" {
		t.Errorf("only /amount and X-Currency are compared; got %d", w.Code)
	}
	wantProblem(t, hs.post("k", `{"amount":11,"note":"a"}`, "X-Currency", "EUR"), 422)
	wantProblem(t, hs.post("k", `{"amount":10,"note":"a"}`, "X-Currency", "USD"), 422)
}

func TestRequestBodyLimit(t *testing.T) {
	hs := newHarness(t, idempotency.Policy{MaxRequestBytes: 16}, nil)
	wantProblem(t, hs.post("k", strings.Repeat("x", 17)), http.StatusRequestEntityTooLarge)
	// Unknown length (chunked) is limited while reading.
	r := httptest.NewRequest("POST", "/things", io.MultiReader(strings.NewReader(strings.Repeat("x", 10)), strings.NewReader(strings.Repeat("y", 10))))
	r.ContentLength = -1
	r.Header.Set("Idempotency-Key", "k2")
	w := httptest.NewRecorder()
	hs.h.ServeHTTP(w, r)
	wantProblem(t, w, http.StatusRequestEntityTooLarge)
	if w := hs.post("k3", strings.Repeat("x", 16)); w.Code != 201 {
		t.Errorf("body at the limit: %d", w.Code)
	}
	if hs.runs.Load() != 1 {
		t.Errorf("runs %d, want 1", hs.runs.Load())
	}
}

func TestConflictWhileInFlight(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	hs := newHarness(t, idempotency.Policy{Lease: 10 * time.Second}, func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
		w.WriteHeader(201)
	})
	done := make(chan struct{})
	go func() { hs.post("k", `{}`); close(done) }()
	<-started
	w := hs.post("k", `{}`)
	wantProblem(t, w, http.StatusConflict)
	// Not the remaining 10 s lease: nothing says the holder needs that long.
	if ra := w.Header().Get("Retry-After"); ra != "1" {
		t.Errorf("Retry-After %q, want 1 (no handler timed yet)", ra)
	}
	// A different payload while in flight is a mismatch, not a conflict.
	wantProblem(t, hs.post("k", `{"other":1}`), 422)
	close(release)
	<-done
}

func TestUncachedOutcomesReleaseTheClaim(t *testing.T) {
	status := 500
	hs := newHarness(t, idempotency.Policy{}, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(status) })
	for _, code := range []int{500, 503, 429} {
		status = code
		if w := hs.post("k", `{}`); w.Code != code {
			t.Fatalf("handler status %d passed through as %d", code, w.Code)
		}
		if hs.ev.last().Outcome != idempotency.OutcomeNotCached {
			t.Errorf("%d: outcome %s, want not_cached", code, hs.ev.last().Outcome)
		}
	}
	status = 404 // 4xx is cached by default
	hs.post("k", `{}`)
	status = 201
	if w := hs.post("k", `{}`); w.Code != 404 || w.Header().Get("Idempotent-Replayed") != "true" {
		t.Errorf("cached 404 not replayed: %d", w.Code)
	}
	if hs.runs.Load() != 4 {
		t.Errorf("runs %d, want 4", hs.runs.Load())
	}
}

func TestCacheCodes(t *testing.T) {
	status := 409
	hs := newHarness(t, idempotency.Policy{Cache: []string{"2xx", "409"}}, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(status) })
	hs.post("a", `{}`)
	if w := hs.post("a", `{}`); w.Header().Get("Idempotent-Replayed") != "true" {
		t.Errorf("409 listed in cache but not replayed")
	}
	status = 404
	hs.post("b", `{}`)
	hs.post("b", `{}`)
	if hs.runs.Load() != 3 {
		t.Errorf("runs %d, want 3 (404 not cached)", hs.runs.Load())
	}
}

func TestPanicReleasesAndRepanics(t *testing.T) {
	boom := true
	hs := newHarness(t, idempotency.Policy{}, func(w http.ResponseWriter, r *http.Request) {
		if boom {
			panic("boom")
		}
		w.WriteHeader(201)
	})
	func() {
		defer func() {
			if v := recover(); v != "boom" {
				t.Fatalf("recovered %v, want the handler's panic value", v)
			}
		}()
		hs.post("k", `{}`)
	}()
	if ev := hs.ev.last(); ev.Outcome != idempotency.OutcomeNotCached || ev.Err == nil {
		t.Errorf("panic event %+v", ev)
	}
	boom = false
	if w := hs.post("k", `{}`); w.Code != 201 || w.Header().Get("Idempotent-Replayed") != "" {
		t.Errorf("retry after a panic: %d (the claim was not released?)", w.Code)
	}
	// http.ErrAbortHandler keeps its meaning.
	hs2 := newHarness(t, idempotency.Policy{}, func(w http.ResponseWriter, r *http.Request) { panic(http.ErrAbortHandler) })
	func() {
		defer func() {
			if v := recover(); v != http.ErrAbortHandler {
				t.Fatalf("recovered %v, want http.ErrAbortHandler", v)
			}
		}()
		hs2.post("k", `{}`)
	}()
}

func TestMaxBodyBytes(t *testing.T) {
	hs := newHarness(t, idempotency.Policy{MaxBodyBytes: 10}, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(201)
		io.WriteString(w, "0123456789")
		io.WriteString(w, "abc")
	})
	if w := hs.post("k", `{}`); w.Code != 201 || w.Body.String() != "0123456789abc" {
		t.Fatalf("large response: %d %q, want it sent whole", w.Code, w.Body)
	}
	if hs.ev.last().Outcome != idempotency.OutcomeNotCached {
		t.Errorf("outcome %s", hs.ev.last().Outcome)
	}
	hs.post("k", `{}`)
	if hs.runs.Load() != 2 {
		t.Errorf("runs %d: a response over maxBodyBytes must not be stored", hs.runs.Load())
	}
}

func TestStreamingPassesThrough(t *testing.T) {
	chunks := make(chan string)
	hs := newHarness(t, idempotency.Policy{}, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for c := range chunks {
			io.WriteString(w, c)
			w.(http.Flusher).Flush()
		}
	})
	srv := httptest.NewServer(hs.h)
	defer srv.Close()
	req, _ := http.NewRequest("POST", srv.URL, strings.NewReader("{}"))
	req.Header.Set("Idempotency-Key", "stream")
	respc := make(chan *http.Response)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
		}
		respc <- resp
	}()
	chunks <- "data: 1\n\n"
	resp := <-respc // headers arrive after the first flush: nothing was held back
	br := bufio.NewReader(resp.Body)
	line, _ := br.ReadString('\n')
	if line != "data: 1\n" {
		t.Errorf("first streamed line %q", line)
	}
	chunks <- "data: 2\n\n"
	close(chunks)
	rest, _ := io.ReadAll(br)
	resp.Body.Close()
	if string(rest) != "\ndata: 2\n\n" {
		t.Errorf("rest %q", rest)
	}
	if hs.ev.last().Outcome != idempotency.OutcomeNotCached {
		t.Errorf("outcome %s, want not_cached", hs.ev.last().Outcome)
	}
	// The claim was released: a retry runs again rather than getting 409.
	chunks = make(chan string)
	close(chunks)
	if w := hs.post("stream", "{}"); w.Code != 200 || hs.runs.Load() != 2 {
		t.Errorf("retry of a streamed request: %d, runs %d", w.Code, hs.runs.Load())
	}
}

func TestHijackIsNotStored(t *testing.T) {
	hs := newHarness(t, idempotency.Policy{}, func(w http.ResponseWriter, r *http.Request) {
		conn, bw, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		bw.WriteString("HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
		bw.Flush()
		conn.Close()
	})
	srv := httptest.NewServer(hs.h)
	defer srv.Close()
	for range 2 {
		conn, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "POST / HTTP/1.1\r\nHost: x\r\nIdempotency-Key: h\r\nContent-Length: 2\r\n\r\n{}")
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil || resp.StatusCode != 204 {
			t.Fatalf("hijacked response: %v %v", resp, err)
		}
		conn.Close()
		// The claim is released once the handler returns, just after the
		// client saw the hijacked response.
		for i := 0; i < 5000; i++ {
			if _, err := hs.m.StatusKey(context.Background(), "", "h"); errors.Is(err, idempotency.ErrNotFound) {
				break
			}
			time.Sleep(time.Millisecond)
		}
	}
	if hs.runs.Load() != 2 {
		t.Errorf("runs %d, want 2 (hijacked outcomes are not stored)", hs.runs.Load())
	}
}

func TestReplayHeaders(t *testing.T) {
	hs := newHarness(t, idempotency.Policy{ReplayHeaders: []string{"Location"}}, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", "/things/1")
		w.Header().Set("X-Request-Id", "abc")
		w.WriteHeader(201)
	})
	hs.post("k", `{}`)
	w := hs.post("k", `{}`)
	if w.Header().Get("Location") != "/things/1" || w.Header().Get("X-Request-Id") != "" {
		t.Errorf("allowlisted replay headers: %v", w.Header())
	}
}

func TestSniffedContentTypeIsReplayed(t *testing.T) {
	hs := newHarness(t, idempotency.Policy{}, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "<html><body>hi</body></html>")
	})
	a := hs.post("k", `{}`)
	b := hs.post("k", `{}`)
	if a.Header().Get("Content-Type") == "" || a.Header().Get("Content-Type") != b.Header().Get("Content-Type") {
		t.Errorf("Content-Type %q then %q", a.Header().Get("Content-Type"), b.Header().Get("Content-Type"))
	}
}

// failingStore fails every call, as an unreachable backend does.
type failingStore struct{ err error }

func (f failingStore) Claim(context.Context, string, string, string, time.Duration) (idempotency.Claim, error) {
	return idempotency.Claim{}, f.err
}
func (f failingStore) Complete(context.Context, string, string, []byte, time.Duration) error {
	return f.err
}
func (f failingStore) Release(context.Context, string, string) error { return f.err }
func (f failingStore) Get(context.Context, string) (idempotency.Record, error) {
	return idempotency.Record{}, f.err
}
func (f failingStore) Purge(context.Context) (int, error) { return 0, f.err }

func TestStoreUnavailable(t *testing.T) {
	down := failingStore{errors.New("dial tcp 127.0.0.1:6379: connection refused")}
	closed := newHarnessStore(t, down, idempotency.Policy{}, nil)
	w := closed.post("k", `{}`)
	wantProblem(t, w, http.StatusServiceUnavailable)
	if w.Header().Get("Retry-After") == "" || closed.runs.Load() != 0 {
		t.Errorf("fail-closed: Retry-After %q, runs %d", w.Header().Get("Retry-After"), closed.runs.Load())
	}
	if strings.Contains(w.Body.String(), "6379") {
		t.Errorf("503 leaks the store's error: %s", w.Body)
	}
	if ev := closed.ev.last(); ev.Outcome != idempotency.OutcomeStoreError || ev.Err == nil {
		t.Errorf("event %+v", ev)
	}
	open := newHarnessStore(t, down, idempotency.Policy{FailOpen: true}, nil)
	if w := open.post("k", `{}`); w.Code != 201 || open.runs.Load() != 1 {
		t.Errorf("fail-open: %d, runs %d", w.Code, open.runs.Load())
	}
}

func TestProblemTypeAndLink(t *testing.T) {
	hs := newHarness(t, idempotency.Policy{ProblemType: "https://api.example.com/errors"}, nil)
	w := hs.post("", `{}`)
	p := wantProblem(t, w, 400)
	if p["type"] != "https://api.example.com/errors#idempotency-key-missing" {
		t.Errorf("type %v", p["type"])
	}
	if l := w.Header().Get("Link"); l != `<https://api.example.com/errors#idempotency-key-missing>; rel="describedby"` {
		t.Errorf("Link %q", l)
	}
	hs2 := newHarness(t, idempotency.Policy{ProblemType: "https://a/x"}, nil, idempotency.WithProblemType("https://b/docs"))
	if p := wantProblem(t, hs2.post("", `{}`), 400); !strings.HasPrefix(fmt.Sprint(p["type"]), "https://b/docs#") {
		t.Errorf("WithProblemType did not override: %v", p["type"])
	}
	hs3 := newHarness(t, idempotency.Policy{}, nil)
	w3 := hs3.post("", `{}`)
	if p := wantProblem(t, w3, 400); p["type"] != nil || w3.Header().Get("Link") != "" {
		t.Errorf("without a type URI: type %v, Link %q (want about:blank, no Link)", p["type"], w3.Header().Get("Link"))
	}
}

func TestWriteProblem(t *testing.T) {
	w := httptest.NewRecorder()
	idempotency.WriteProblem(w, idempotency.Problem{Type: "https://x/bad", Status: 400, Detail: "amount: want a number"})
	p := wantProblem(t, w, 400)
	if p["title"] != "Bad Request" || p["detail"] != "amount: want a number" {
		t.Errorf("problem %v", p)
	}
}

func TestObserverOutcomes(t *testing.T) {
	hs := newHarness(t, idempotency.Policy{}, nil)
	hs.post("k", `{}`)
	hs.post("k", `{}`)
	hs.post("k", `{"x":1}`)
	hs.post("", `{}`)
	want := []string{"executed", "replayed", "mismatch", "rejected_key"}
	if got := hs.ev.outcomes(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("outcomes %v, want %v", got, want)
	}
	for _, e := range hs.ev.es {
		if e.Operation != "createThing" || e.Latency <= 0 {
			t.Errorf("event %+v lacks operation or latency", e)
		}
	}
}

func TestConcurrentDuplicatesInProcess(t *testing.T) {
	hs := newHarness(t, idempotency.Policy{}, func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(time.Millisecond)
		w.WriteHeader(201)
	})
	var wg sync.WaitGroup
	var codes [600]atomic.Int32
	for k := 0; k < 8; k++ {
		for range 64 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				codes[hs.post(fmt.Sprint("key-", k), `{}`).Code].Add(1)
			}()
		}
	}
	wg.Wait()
	if hs.runs.Load() != 8 {
		t.Errorf("runs %d, want 8 (one per key)", hs.runs.Load())
	}
	if codes[201].Load()+codes[409].Load() != 8*64 {
		t.Errorf("codes: 201=%d 409=%d", codes[201].Load(), codes[409].Load())
	}
}

func TestValidate(t *testing.T) {
	p := idempotency.Policy{
		Key:          idempotency.Key{Header: "X-Key", Query: "k", Format: "guid", Pattern: "(", MaxLength: -1},
		Scope:        []string{"cookie:x"},
		Fingerprint:  []string{"bodyy"},
		TTL:          time.Second,
		Lease:        time.Minute,
		Concurrent:   "queue",
		Cache:        []string{"2xx", "6xx"},
		MaxBodyBytes: -1,
	}
	err := p.Validate()
	var ve idempotency.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("Validate = %v, want a ValidationError", err)
	}
	fields := map[string]bool{}
	for _, f := range ve {
		fields[f.Field] = true
	}
	for _, f := range []string{"operation", "key", "key.maxLength", "key.format", "key.pattern", "scope[0]", "fingerprint[0]", "ttl", "concurrent", "cache[1]", "maxBodyBytes"} {
		if !fields[f] {
			t.Errorf("no error for %s in %v", f, err)
		}
	}
	if err := (idempotency.Policy{Operation: "ok"}).Validate(); err != nil {
		t.Errorf("default policy: %v", err)
	}
	if err := (idempotency.Policy{Operation: "x", Key: idempotency.Key{Pattern: "a+"}}).Validate(); err == nil {
		t.Errorf("pattern without format: pattern accepted")
	}
	s := memstore.New()
	defer s.Close()
	if _, err := idempotency.New(s, p); !errors.As(err, &ve) {
		t.Errorf("New with an invalid policy: %v", err)
	}
}

func TestNoBodyStatusesAndInvalidCodes(t *testing.T) {
	hs := newHarness(t, idempotency.Policy{}, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
		if _, err := w.Write([]byte("x")); err != http.ErrBodyNotAllowed {
			t.Errorf("Write after 204: %v, want http.ErrBodyNotAllowed", err)
		}
	})
	hs.post("k", "{}")
	if w := hs.post("k", "{}"); w.Code != 204 || w.Body.Len() != 0 || w.Header().Get("Idempotent-Replayed") != "true" {
		t.Errorf("204 replay: %d %q", w.Code, w.Body)
	}
	bad := newHarness(t, idempotency.Policy{}, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(42) })
	func() {
		defer func() {
			if recover() == nil {
				t.Error("an invalid status code did not panic")
			}
		}()
		bad.post("k", "{}")
	}()
	if _, err := bad.m.StatusKey(context.Background(), "", "k"); !errors.Is(err, idempotency.ErrNotFound) {
		t.Errorf("an invalid status was stored or the claim kept: %v", err)
	}
}

func TestOuterMaxBytesHandlerIs413(t *testing.T) {
	hs := newHarness(t, idempotency.Policy{}, nil)
	h := http.MaxBytesHandler(hs.h, 8)
	r := httptest.NewRequest("POST", "/things", strings.NewReader(`{"a":"0123456789"}`))
	r.ContentLength = -1
	r.Header.Set("Idempotency-Key", "k")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	wantProblem(t, w, http.StatusRequestEntityTooLarge)
}

func TestPanicSendsNoPartialResponse(t *testing.T) {
	hs := newHarness(t, idempotency.Policy{}, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(201)
		io.WriteString(w, "half")
		panic("boom")
	})
	w := httptest.NewRecorder()
	func() {
		defer func() { recover() }()
		r := httptest.NewRequest("POST", "/things", strings.NewReader("{}"))
		r.Header.Set("Idempotency-Key", "k")
		hs.h.ServeHTTP(w, r)
	}()
	if w.Body.Len() != 0 || w.Code == 201 {
		t.Errorf("a panicking handler's buffered response was sent: %d %q", w.Code, w.Body)
	}
}

// switchableStore fails every call while down is set, as a store whose
// server went away and came back.
type switchableStore struct {
	idempotency.Store
	down atomic.Bool
}

var errDown = errors.New("connection refused")

func (s *switchableStore) Claim(ctx context.Context, id, fp, tok string, d time.Duration) (idempotency.Claim, error) {
	if s.down.Load() {
		return idempotency.Claim{}, errDown
	}
	return s.Store.Claim(ctx, id, fp, tok, d)
}

func TestStoreOutageAndRecovery(t *testing.T) {
	mem := memstore.New(memstore.WithSweepInterval(-1))
	defer mem.Close()
	s := &switchableStore{Store: mem}
	hs := newHarnessStore(t, s, idempotency.Policy{}, nil)
	s.down.Store(true)
	for range 3 {
		wantProblem(t, hs.post("k", `{}`), http.StatusServiceUnavailable)
	}
	if hs.runs.Load() != 0 {
		t.Fatalf("handler ran %d times during the outage", hs.runs.Load())
	}
	s.down.Store(false)
	first := hs.post("k", `{}`)
	again := hs.post("k", `{}`)
	if first.Code != 201 || again.Header().Get("Idempotent-Replayed") != "true" || hs.runs.Load() != 1 {
		t.Errorf("after recovery: %d, replayed %q, runs %d; want one execution then a replay",
			first.Code, again.Header().Get("Idempotent-Replayed"), hs.runs.Load())
	}
}

// A path scope on a route that does not name the parameter must not put every
// request into one shared partition (tenants would read each other's replays):
// the request is refused with 500 and the handler does not run.
func TestScopeByPathUnrouted(t *testing.T) {
	s := memstore.New(memstore.WithSweepInterval(-1))
	defer s.Close()
	var runs atomic.Int32
	m, err := idempotency.New(s, idempotency.Policy{Operation: "op", Scope: []string{"path:account"}}, idempotency.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("POST /accounts/{id}/payments", m.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		runs.Add(1)
	})))
	mux.Handle("GET /accounts/{id}/payments/status", m.StatusHandler())
	for _, acct := range []string{"1", "2"} {
		r := httptest.NewRequest("POST", "/accounts/"+acct+"/payments", strings.NewReader("{}"))
		r.Header.Set("Idempotency-Key", "same")
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		wantProblem(t, w, http.StatusInternalServerError)
	}
	r := httptest.NewRequest("GET", "/accounts/1/payments/status", nil)
	r.Header.Set("Idempotency-Key", "same")
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, r)
	wantProblem(t, w, http.StatusInternalServerError)
	if runs.Load() != 0 {
		t.Errorf("handler ran %d times, want 0", runs.Load())
	}
}

// Per-user headers belong to the first caller: never stored, even when the
// policy's ReplayHeaders lists them, and WithPrivateHeaders adds more.
func TestPerUserHeadersAreNeverReplayed(t *testing.T) {
	private := []string{"Set-Cookie", "Set-Cookie2", "WWW-Authenticate", "Authentication-Info",
		"Proxy-Authenticate", "Proxy-Authentication-Info", "X-Session-Token"}
	for _, p := range []idempotency.Policy{{}, {ReplayHeaders: append([]string{"Location"}, private...)}} {
		hs := newHarness(t, p, func(w http.ResponseWriter, r *http.Request) {
			for _, name := range private {
				w.Header().Set(name, "first caller's "+name)
			}
			w.Header()["WWW-Authenticate"] = []string{`Basic realm="set directly"`} // not canonical
			w.Header().Set("Location", "/things/1")
			w.WriteHeader(201)
		}, idempotency.WithPrivateHeaders("x-session-token"))
		if w := hs.post("k", `{}`); w.Header().Get("Set-Cookie") == "" {
			t.Fatalf("the first answer lost its own Set-Cookie: %v", w.Header())
		}
		w := hs.post("k", `{}`)
		if w.Header().Get("Idempotent-Replayed") != "true" || w.Header().Get("Location") != "/things/1" {
			t.Fatalf("not a replay with Location: %d %v", w.Code, w.Header())
		}
		for name := range w.Header() {
			for _, p := range append(private, "WWW-Authenticate") {
				if strings.EqualFold(name, p) {
					t.Errorf("policy %v: replay carries the per-user header %s", p, name)
				}
			}
		}
	}
}

// A form's post/redirect/get answer (303) is stored by the default cache, so
// a resubmit replays the redirect instead of running the handler again.
func TestDefaultCacheReplaysRedirect(t *testing.T) {
	hs := newHarness(t, idempotency.Policy{Key: idempotency.Key{Field: "key"}}, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/rooms/1", http.StatusSeeOther)
	})
	submit := func() *httptest.ResponseRecorder {
		return hs.do(http.MethodPost, "/rooms/1/form", "key=k1&text=hi", "Content-Type", "application/x-www-form-urlencoded")
	}
	submit()
	w := submit()
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/rooms/1" || w.Header().Get("Idempotent-Replayed") != "true" {
		t.Errorf("resubmit: %d Location %q replayed %q, want the 303 replayed", w.Code, w.Header().Get("Location"), w.Header().Get("Idempotent-Replayed"))
	}
	if n := hs.runs.Load(); n != 1 {
		t.Errorf("handler ran %d times, want 1", n)
	}
}

// TestValidateRuleIDs checks that every field error carries its rule id, the
// one the generator reports it under.
func TestValidateRuleIDs(t *testing.T) {
	for _, tc := range []struct {
		p           idempotency.Policy
		field, rule string
	}{
		{idempotency.Policy{Key: idempotency.Key{Header: "A", Query: "q"}}, "key", idempotency.RuleKeyMultipleSources},
		{idempotency.Policy{TTL: time.Second, Lease: time.Minute}, "ttl", idempotency.RuleTTLShorterThanLease},
		{idempotency.Policy{Key: idempotency.Key{Pattern: "a+"}}, "key.pattern", idempotency.RulePatternWithoutFormat},
		{idempotency.Policy{Key: idempotency.Key{Format: idempotency.FormatPattern}}, "key.format", idempotency.RuleFormatWithoutPattern},
		{idempotency.Policy{Key: idempotency.Key{Format: idempotency.FormatPattern, Pattern: "("}}, "key.pattern", idempotency.RulePatternInvalid},
		{idempotency.Policy{Lease: -time.Second}, "lease", idempotency.RuleNotPositive},
		{idempotency.Policy{Cache: []string{"6xx"}}, "cache[0]", idempotency.RuleValue},
		{idempotency.Policy{Key: idempotency.Key{Query: "q", Inject: true}}, "key.inject", idempotency.RulePolicyInvalid},
	} {
		tc.p.Operation = "op"
		var ve idempotency.ValidationError
		if err := tc.p.Validate(); !errors.As(err, &ve) || len(ve) != 1 || ve[0].Field != tc.field || ve[0].Rule != tc.rule {
			t.Errorf("%+v: Validate = %#v, want one %s error on %s", tc.p, err, tc.rule, tc.field)
		}
	}
	if err := (idempotency.Policy{Key: idempotency.Key{Header: "A", Field: "/f"}, Operation: "op"}).Validate(); err == nil || !strings.Contains(err.Error(), "got header and field") {
		t.Errorf("multiple sources: %v, want the sources named", err)
	}
}
