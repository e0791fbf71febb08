package otelidem_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/idemgen/idemgen/runtime/client"
	"github.com/idemgen/idemgen/runtime/idempotency"
	"github.com/idemgen/idemgen/runtime/otelidem"
	"github.com/idemgen/idemgen/runtime/store/memstore"
)

// downStore is a store whose every call fails, as an unreachable Redis does.
type downStore struct{ idempotency.Store }

var errDown = errors.New("dial tcp 127.0.0.1:6379: connection refused")

func (downStore) Claim(context.Context, string, string, string, time.Duration) (idempotency.Claim, error) {
	return idempotency.Claim{}, errDown
}

// TestServerOtherOutcomes covers the outcomes TestServer does not:
// rejected_key, no_key, store_error, not_cached and takeover (with the
// executed request that took over), through real middlewares over HTTP, and
// checks the spans, the outcome counter and the handler and store latency
// histograms of each.
func TestServerOtherOutcomes(t *testing.T) {
	h := newHarness(t)
	obs := idempotency.WithObserver(h.tel.IdempotencyObserver())
	mem := memstore.New()
	t.Cleanup(func() { mem.Close() })
	newMW := func(store idempotency.Store, p idempotency.Policy) *idempotency.Middleware {
		t.Helper()
		mw, err := idempotency.New(store, p, obs, idempotency.WithLogger(slog.New(slog.DiscardHandler)))
		if err != nil {
			t.Fatal(err)
		}
		return mw
	}
	const lease = 100 * time.Millisecond
	held, release := make(chan struct{}), make(chan struct{})
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		switch {
		case strings.Contains(string(body), "hold"):
			held <- struct{}{}
			<-release
		case strings.Contains(string(body), "fail"):
			w.WriteHeader(http.StatusInternalServerError) // 5xx: not cached
			return
		}
		w.WriteHeader(http.StatusCreated)
	})
	mux := http.NewServeMux()
	mount := func(op string, mw *idempotency.Middleware) {
		mux.Handle("POST /"+op, h.tel.Middleware(op, "/"+op)(mw.Wrap(handler)))
	}
	mount("pay", newMW(mem, idempotency.Policy{Operation: "pay", Lease: lease}))
	mount("note", newMW(mem, idempotency.Policy{Operation: "note", Key: idempotency.Key{Optional: true}}))
	mount("down", newMW(downStore{mem}, idempotency.Policy{Operation: "down"}))
	mount("query", newMW(mem, idempotency.Policy{Operation: "query", Key: idempotency.Key{Query: "idem"}}))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	send := func(op, key, body string) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/"+op, strings.NewReader(body))
		if key != "" {
			req.Header.Set("Idempotency-Key", client.KeyHeaderValue(key))
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	want := func(got, status int, what string) {
		t.Helper()
		if got != status {
			t.Fatalf("%s: status %d, want %d", what, got, status)
		}
	}
	want(send("pay", "", `{}`), http.StatusBadRequest, "no key")                 // rejected_key
	want(send("note", "", `{}`), http.StatusCreated, "optional key, none sent")  // no_key
	want(send("down", keyA, `{}`), http.StatusServiceUnavailable, "store down")  // store_error
	want(send("pay", keyA, `{"fail":1}`), http.StatusInternalServerError, "5xx") // not_cached
	const keyC = "01J9ZQ3V5W6X7Y8Z9A0B1C2D3E"
	want(send("query?idem="+keyC, "", `{}`), http.StatusCreated, "key in the query") // executed

	// A claim whose holder outlives its lease is taken over: the second
	// request executes (takeover + executed); the first, once it ends, can no
	// longer store its outcome (not_cached).
	first := make(chan int)
	go func() { first <- send("pay", keyB, `{"hold":1}`) }()
	<-held
	time.Sleep(lease + 50*time.Millisecond)
	second := make(chan int)
	go func() { second <- send("pay", keyB, `{"hold":1}`) }()
	<-held                // the second request runs the handler: it took the claim over
	release <- struct{}{} // lets one of the two finish...
	release <- struct{}{} // ...then the other
	want(<-first, http.StatusCreated, "the held request")
	want(<-second, http.StatusCreated, "the taking-over request")
	srv.Close() // every span has ended

	spans := h.spans.GetSpans()
	type seen struct {
		status, keyHash string
		takeover        bool
	}
	byOutcome := map[string][]seen{}
	for _, s := range spans {
		a := attrs(s.Attributes)
		byOutcome[a[otelidem.AttrOutcome]] = append(byOutcome[a[otelidem.AttrOutcome]],
			seen{a["http.response.status_code"], a[otelidem.AttrKeyHash], a[otelidem.AttrTakeover] == "true"})
	}
	for outcome, w := range map[string]seen{
		"rejected_key": {status: "400"},
		"no_key":       {status: "201"},
		"store_error":  {status: "503", keyHash: otelidem.KeyHash(keyA)},
	} {
		if got := byOutcome[outcome]; len(got) != 1 || got[0] != w {
			t.Errorf("spans with outcome %s: %+v, want one %+v", outcome, got, w)
		}
	}
	// executed: the request that took over, and the query key's, hashed as
	// the middleware read it (not only header keys are).
	if got, w := byOutcome["executed"], []seen{
		{status: "201", keyHash: otelidem.KeyHash(keyC)},
		{status: "201", keyHash: otelidem.KeyHash(keyB), takeover: true},
	}; len(got) != 2 || !(got[0] == w[0] && got[1] == w[1] || got[0] == w[1] && got[1] == w[0]) {
		t.Errorf("spans with outcome executed: %+v, want %+v", got, w)
	}
	// not_cached: the 500, and the held request whose claim was taken over.
	if got := byOutcome["not_cached"]; len(got) != 2 {
		t.Errorf("spans with outcome not_cached: %+v, want 2", got)
	}
	assertNoRawKey(t, spans, keyA)
	assertNoRawKey(t, spans, keyB)
	assertNoRawKey(t, spans, keyC)

	m := h.metrics(t)
	wantCounts := map[string]int64{"rejected_key": 1, "no_key": 1, "store_error": 1, "not_cached": 2, "takeover": 1, "executed": 2}
	got := map[string]int64{}
	for _, op := range []string{"pay", "note", "down", "query"} {
		for k, v := range counts(t, m[otelidem.MetricOutcomes], otelidem.AttrOutcome, otelidem.AttrOperation.String(op)) {
			got[k] += v
		}
	}
	if len(got) != len(wantCounts) {
		t.Errorf("%s: %v, want %v", otelidem.MetricOutcomes, got, wantCounts)
	}
	for k, v := range wantCounts {
		if got[k] != v {
			t.Errorf("%s{outcome=%s} = %d, want %d", otelidem.MetricOutcomes, k, got[k], v)
		}
	}
	// The handler ran for no_key, not_cached (twice) and executed; the store
	// was asked by every request that had a valid key.
	if got := histCounts(t, m[otelidem.MetricHandlerDuration]); !equalCounts(got, map[string]uint64{"no_key": 1, "not_cached": 2, "executed": 2}) {
		t.Errorf("%s counts by outcome: %v", otelidem.MetricHandlerDuration, got)
	}
	if got := histCounts(t, m[otelidem.MetricStoreDuration]); !equalCounts(got, map[string]uint64{"store_error": 1, "not_cached": 2, "executed": 2}) {
		t.Errorf("%s counts by outcome: %v", otelidem.MetricStoreDuration, got)
	}
	// The takeover is counted, not timed: one duration per request.
	if n := histCount(t, m[otelidem.MetricDuration]); n != 7 {
		t.Errorf("%s count %d, want 7", otelidem.MetricDuration, n)
	}
}

// histCounts returns a histogram's counts by idempotency.outcome.
func histCounts(t *testing.T, m metricdata.Metrics) map[string]uint64 {
	t.Helper()
	hist, ok := m.Data.(metricdata.Histogram[float64])
	if !ok {
		t.Fatalf("%s: %T, want Histogram[float64]", m.Name, m.Data)
	}
	out := map[string]uint64{}
	for _, dp := range hist.DataPoints {
		v, _ := dp.Attributes.Value(otelidem.AttrOutcome)
		out[v.Emit()] += dp.Count
	}
	return out
}

func equalCounts(a, b map[string]uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
