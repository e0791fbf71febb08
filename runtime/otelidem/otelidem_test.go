package otelidem_test

import (
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/idemgen/idemgen/runtime/client"
	"github.com/idemgen/idemgen/runtime/idempotency"
	"github.com/idemgen/idemgen/runtime/otelidem"
	"github.com/idemgen/idemgen/runtime/store/memstore"
)

// harness is one Telemetry recording into an in-memory span exporter and a
// manual metric reader.
type harness struct {
	tel    *otelidem.Telemetry
	spans  *tracetest.InMemoryExporter
	reader *sdkmetric.ManualReader
	tp     *sdktrace.TracerProvider
}

func newHarness(t *testing.T, opts ...otelidem.Option) *harness {
	t.Helper()
	h := &harness{spans: tracetest.NewInMemoryExporter(), reader: sdkmetric.NewManualReader()}
	h.tp = sdktrace.NewTracerProvider(sdktrace.WithSyncer(h.spans))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(h.reader))
	t.Cleanup(func() {
		_ = h.tp.Shutdown(context.Background())
		_ = mp.Shutdown(context.Background())
	})
	opts = append([]otelidem.Option{
		otelidem.WithTracerProvider(h.tp),
		otelidem.WithMeterProvider(mp),
		otelidem.WithPropagator(propagation.TraceContext{}),
	}, opts...)
	tel, err := otelidem.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	h.tel = tel
	return h
}

func (h *harness) metrics(t *testing.T) map[string]metricdata.Metrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := h.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]metricdata.Metrics{}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != otelidem.ScopeName {
			t.Errorf("scope %q, want %q", sm.Scope.Name, otelidem.ScopeName)
		}
		for _, m := range sm.Metrics {
			out[m.Name] = m
		}
	}
	return out
}

// counts returns the Int64 sum of m by the value of key, over the points
// whose other attributes contain match.
func counts(t *testing.T, m metricdata.Metrics, key attribute.Key, match ...attribute.KeyValue) map[string]int64 {
	t.Helper()
	sum, ok := m.Data.(metricdata.Sum[int64])
	if !ok {
		t.Fatalf("%s: %T, want Sum[int64]", m.Name, m.Data)
	}
	out := map[string]int64{}
	for _, dp := range sum.DataPoints {
		if !hasAll(dp.Attributes, match) {
			continue
		}
		v, _ := dp.Attributes.Value(key)
		out[v.Emit()] += dp.Value
	}
	return out
}

func histCount(t *testing.T, m metricdata.Metrics) uint64 {
	t.Helper()
	h, ok := m.Data.(metricdata.Histogram[float64])
	if !ok {
		t.Fatalf("%s: %T, want Histogram[float64]", m.Name, m.Data)
	}
	var n uint64
	for _, dp := range h.DataPoints {
		n += dp.Count
	}
	return n
}

func hasAll(set attribute.Set, kvs []attribute.KeyValue) bool {
	for _, kv := range kvs {
		if v, ok := set.Value(kv.Key); !ok || v != kv.Value {
			return false
		}
	}
	return true
}

func attrs(kvs []attribute.KeyValue) map[attribute.Key]string {
	out := map[attribute.Key]string{}
	for _, kv := range kvs {
		out[kv.Key] = kv.Value.Emit()
	}
	return out
}

// assertNoRawKey fails when any attribute of any span or event holds key.
func assertNoRawKey(t *testing.T, spans tracetest.SpanStubs, key string) {
	t.Helper()
	for _, s := range spans {
		all := append([]attribute.KeyValue(nil), s.Attributes...)
		for _, e := range s.Events {
			all = append(all, e.Attributes...)
		}
		for _, kv := range all {
			if strings.Contains(kv.Value.Emit(), key) {
				t.Errorf("span %q: attribute %s holds the raw key", s.Name, kv.Key)
			}
		}
	}
}

// idempotencyMiddleware is a real idempotency middleware for op over a fresh
// memory store, observed by h's IdempotencyObserver.
func (h *harness) idempotencyMiddleware(t *testing.T, op string) *idempotency.Middleware {
	t.Helper()
	store := memstore.New()
	t.Cleanup(func() { store.Close() })
	mw, err := idempotency.New(store, idempotency.Policy{Operation: op},
		idempotency.WithObserver(h.tel.IdempotencyObserver()))
	if err != nil {
		t.Fatal(err)
	}
	return mw
}

const (
	keyA = "8e03978e-40d5-43e8-bc93-6894a57f9324"
	keyB = "1f6c1a4e-9a3e-4a43-8f7d-3c1b2d7e5a90"
)

// TestServer drives a real idempotency middleware over the memory store
// through executed, replayed, mismatch and conflict outcomes and checks the
// spans and the metrics.
func TestServer(t *testing.T) {
	h := newHarness(t)
	mw := h.idempotencyMiddleware(t, "createPayment")
	var runs atomic.Int32
	entered, release := make(chan struct{}), make(chan struct{})
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		runs.Add(1)
		body, _ := io.ReadAll(r.Body)
		if strings.Contains(string(body), "slow") {
			close(entered)
			<-release
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte(`{"id":"pay_1"}`))
	})
	mux := http.NewServeMux()
	mux.Handle("POST /payments", h.tel.Middleware("createPayment", "/payments")(mw.Wrap(handler)))
	srv := httptest.NewServer(mux)

	send := func(key, body string) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/payments", strings.NewReader(body))
		req.Header.Set("Idempotency-Key", client.KeyHeaderValue(key))
		req.Header.Set("Content-Type", "application/json")
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	wantStatus := func(got, want int) {
		t.Helper()
		if got != want {
			t.Fatalf("status %d, want %d", got, want)
		}
	}
	wantStatus(send(keyA, `{"amount":100}`), http.StatusCreated)             // executed
	wantStatus(send(keyA, `{"amount":100}`), http.StatusCreated)             // replayed
	wantStatus(send(keyA, `{"amount":999}`), http.StatusUnprocessableEntity) // mismatch

	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if got := send(keyB, `{"amount":1,"note":"slow"}`); got != http.StatusCreated {
			t.Errorf("slow request: status %d, want 201", got)
		}
	}()
	<-entered
	if active := counts(t, h.metrics(t)["http.server.active_requests"], "http.route"); active["/payments"] != 1 {
		t.Errorf("http.server.active_requests while one request runs: %v, want /payments: 1", active)
	}
	wantStatus(send(keyB, `{"amount":1,"note":"slow"}`), http.StatusConflict) // in flight
	close(release)
	wg.Wait()
	srv.Close() // waits for every handler, so every span has ended

	if n := runs.Load(); n != 2 {
		t.Errorf("handler ran %d times, want 2", n)
	}

	spans := h.spans.GetSpans()
	if len(spans) != 5 {
		t.Fatalf("%d spans, want 5", len(spans))
	}
	outcomes, keyHashes := map[string]int{}, map[string]int{}
	for _, s := range spans {
		if s.Name != "POST /payments" {
			t.Errorf("span name %q, want %q", s.Name, "POST /payments")
		}
		a := attrs(s.Attributes)
		for k, want := range map[attribute.Key]string{
			"http.request.method": "POST",
			"http.route":          "/payments",
			"url.path":            "/payments",
			"url.scheme":          "http",
			"oas.operation":       "createPayment",
		} {
			if a[k] != want {
				t.Errorf("span attribute %s = %q, want %q", k, a[k], want)
			}
		}
		outcome := a[otelidem.AttrOutcome]
		outcomes[outcome]++
		wantCode := map[string]string{"executed": "201", "replayed": "201", "mismatch": "422", "conflict": "409"}[outcome]
		if a["http.response.status_code"] != wantCode {
			t.Errorf("%s: http.response.status_code %q, want %q", outcome, a["http.response.status_code"], wantCode)
		}
		keyHashes[a[otelidem.AttrKeyHash]]++
		if outcome == "conflict" && a[otelidem.AttrKeyHash] != otelidem.KeyHash(keyB) {
			t.Errorf("conflict: idempotency.key.hash %q, want %q", a[otelidem.AttrKeyHash], otelidem.KeyHash(keyB))
		}
		if len(s.Events) != 1 || s.Events[0].Name != otelidem.EventOutcome {
			t.Errorf("%s: events %v, want one %s", outcome, s.Events, otelidem.EventOutcome)
		} else if ea := attrs(s.Events[0].Attributes); ea[otelidem.AttrOutcome] != outcome || ea["http.response.status_code"] != wantCode {
			t.Errorf("%s: event attributes %v", outcome, ea)
		}
		if s.SpanKind.String() != "server" {
			t.Errorf("%s: span kind %v, want server", outcome, s.SpanKind)
		}
	}
	if keyHashes[otelidem.KeyHash(keyA)] != 3 || keyHashes[otelidem.KeyHash(keyB)] != 2 {
		t.Errorf("idempotency.key.hash values %v, want 3 of %s and 2 of %s", keyHashes, otelidem.KeyHash(keyA), otelidem.KeyHash(keyB))
	}
	want := map[string]int{"executed": 2, "replayed": 1, "mismatch": 1, "conflict": 1}
	for k, v := range want {
		if outcomes[k] != v {
			t.Errorf("spans with outcome %s: %d, want %d (all: %v)", k, outcomes[k], v, outcomes)
		}
	}
	assertNoRawKey(t, spans, keyA)
	assertNoRawKey(t, spans, keyB)

	m := h.metrics(t)
	got := counts(t, m[otelidem.MetricOutcomes], otelidem.AttrOutcome, otelidem.AttrOperation.String("createPayment"))
	for k, v := range want {
		if got[k] != int64(v) {
			t.Errorf("%s{outcome=%s} = %d, want %d", otelidem.MetricOutcomes, k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%s: %v, want only %v", otelidem.MetricOutcomes, got, want)
	}
	if n := histCount(t, m[otelidem.MetricDuration]); n != 5 {
		t.Errorf("%s count %d, want 5", otelidem.MetricDuration, n)
	}
	// Only the executed requests ran the handler; every request asked the
	// store (a replay, a mismatch and a conflict are the claim's answer).
	if got := histCounts(t, m[otelidem.MetricHandlerDuration]); !equalCounts(got, map[string]uint64{"executed": 2}) {
		t.Errorf("%s counts by outcome: %v", otelidem.MetricHandlerDuration, got)
	}
	if got := histCounts(t, m[otelidem.MetricStoreDuration]); !equalCounts(got, map[string]uint64{"executed": 2, "replayed": 1, "mismatch": 1, "conflict": 1}) {
		t.Errorf("%s counts by outcome: %v", otelidem.MetricStoreDuration, got)
	}
	if n := histCount(t, m["http.server.request.duration"]); n != 5 {
		t.Errorf("http.server.request.duration count %d, want 5", n)
	}
	byStatus := map[string]uint64{}
	for _, dp := range m["http.server.request.duration"].Data.(metricdata.Histogram[float64]).DataPoints {
		v, _ := dp.Attributes.Value("http.response.status_code")
		byStatus[v.Emit()] += dp.Count
		if r, _ := dp.Attributes.Value("http.route"); r.AsString() != "/payments" {
			t.Errorf("http.server.request.duration: http.route %q", r.Emit())
		}
	}
	if byStatus["201"] != 3 || byStatus["422"] != 1 || byStatus["409"] != 1 {
		t.Errorf("http.server.request.duration by status: %v", byStatus)
	}
	active := counts(t, m["http.server.active_requests"], "http.route")
	if active["/payments"] != 0 || len(active) != 1 {
		t.Errorf("http.server.active_requests after the requests: %v, want /payments: 0", active)
	}
}

// TestServerPanic: a panicking handler still ends its span as a 500 error and
// leaves the in-flight gauge at zero; the panic goes on to net/http.
func TestServerPanic(t *testing.T) {
	h := newHarness(t)
	srv := httptest.NewUnstartedServer(h.tel.Middleware("boom", "/boom")(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic("handler bug")
	})))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // net/http logs the recovered panic
	srv.Start()
	if resp, err := srv.Client().Get(srv.URL + "/boom"); err == nil {
		resp.Body.Close()
		t.Fatalf("got a %d response, want the connection dropped by net/http's recover", resp.StatusCode)
	}
	srv.Close()

	spans := h.spans.GetSpans()
	if len(spans) != 1 {
		t.Fatalf("%d spans, want 1", len(spans))
	}
	a := attrs(spans[0].Attributes)
	if spans[0].Status.Code != codes.Error || a["http.response.status_code"] != "500" || a["error.type"] != "500" {
		t.Errorf("span status %v, attributes %v: want Error, 500", spans[0].Status, a)
	}
	if active := counts(t, h.metrics(t)["http.server.active_requests"], "http.route"); active["/boom"] != 0 {
		t.Errorf("http.server.active_requests after the panic: %v, want /boom: 0", active)
	}
}
