package otelidem_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/idemgen/idemgen/runtime/client"
	"github.com/idemgen/idemgen/runtime/otelidem"
)

// TestClient sends two logical calls with one key through a Retrier: the
// first gets a 503 (not cached) and is retried, the second is replayed. The
// caller's span gets one event per attempt, each attempt is a client span,
// the server spans join the trace, and the attempts are counted.
func TestClient(t *testing.T) {
	h := newHarness(t)
	mw := h.idempotencyMiddleware(t, "createPayment")
	var runs atomic.Int32
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if runs.Add(1) == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusCreated)
	})
	srv := httptest.NewServer(h.tel.Middleware("createPayment", "/payments")(mw.Wrap(handler)))

	r, err := client.NewRetrier(h.tel.Doer(srv.Client()),
		client.WithObserver(h.tel.ClientObserver()),
		client.WithSleep(func(ctx context.Context, d time.Duration) error { return ctx.Err() }))
	if err != nil {
		t.Fatal(err)
	}
	ctx, caller := h.tp.Tracer("test").Start(context.Background(), "checkout")
	call := func() client.Result {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/payments?token=secret", strings.NewReader(`{"amount":1}`))
		req.Header.Set("Idempotency-Key", client.KeyHeaderValue(keyA))
		resp, err := r.Do(ctx, req, client.Call{Operation: "createPayment", Idempotent: true, Key: keyA})
		if err != nil {
			t.Fatal(err)
		}
		return resp.Result
	}
	if res := call(); res.Attempts != 2 || res.Status != 201 || res.Replayed {
		t.Fatalf("first call: %+v, want 2 attempts ending in an executed 201", res)
	}
	if res := call(); res.Attempts != 1 || res.Status != 201 || !res.Replayed {
		t.Fatalf("second call: %+v, want 1 replayed 201", res)
	}
	caller.End()
	srv.Close()

	spans := h.spans.GetSpans()
	var checkout *trace.SpanContext
	clientSpans := map[trace.SpanID]map[attribute.Key]string{}
	var server []map[attribute.Key]string
	var serverParents []trace.SpanID
	for _, s := range spans {
		switch s.SpanKind {
		case trace.SpanKindClient:
			clientSpans[s.SpanContext.SpanID()] = attrs(s.Attributes)
			if s.Parent.SpanID() != caller.SpanContext().SpanID() {
				t.Errorf("client span %q: parent %v, want the caller's span", s.Name, s.Parent.SpanID())
			}
			if s.Name != "POST" {
				t.Errorf("client span name %q, want POST", s.Name)
			}
		case trace.SpanKindServer:
			server = append(server, attrs(s.Attributes))
			serverParents = append(serverParents, s.Parent.SpanID())
			if s.SpanContext.TraceID() != caller.SpanContext().TraceID() {
				t.Errorf("server span in trace %v, want the caller's %v", s.SpanContext.TraceID(), caller.SpanContext().TraceID())
			}
		default:
			if s.Name != "checkout" {
				continue
			}
			sc := s.SpanContext
			checkout = &sc
			var got []string
			for _, e := range s.Events {
				if e.Name != otelidem.EventClientAttempt {
					t.Errorf("caller span event %q", e.Name)
					continue
				}
				a := attrs(e.Attributes)
				got = append(got, a[otelidem.AttrAttempt]+" "+a["http.response.status_code"]+" replayed="+a[otelidem.AttrReplayed]+" retry="+a[otelidem.AttrRetry])
				if a[otelidem.AttrKeyHash] != otelidem.KeyHash(keyA) {
					t.Errorf("attempt event key hash %q, want %q", a[otelidem.AttrKeyHash], otelidem.KeyHash(keyA))
				}
				if a[otelidem.AttrOperation] != "createPayment" {
					t.Errorf("attempt event oas.operation %q", a[otelidem.AttrOperation])
				}
			}
			want := []string{"1 503 replayed=false retry=true", "2 201 replayed=false retry=false", "1 201 replayed=true retry=false"}
			if strings.Join(got, "; ") != strings.Join(want, "; ") {
				t.Errorf("attempt events:\n got %q\nwant %q", got, want)
			}
		}
	}
	if checkout == nil {
		t.Fatal("no checkout span")
	}
	if len(clientSpans) != 3 || len(server) != 3 {
		t.Fatalf("%d client and %d server spans, want 3 and 3", len(clientSpans), len(server))
	}
	for i, parent := range serverParents {
		ca, ok := clientSpans[parent]
		if !ok {
			t.Errorf("server span %d: parent %v is no client span (trace context not propagated)", i, parent)
			continue
		}
		if ca["http.response.status_code"] != server[i]["http.response.status_code"] {
			t.Errorf("server span %d: status %s, its client span saw %s", i, server[i]["http.response.status_code"], ca["http.response.status_code"])
		}
		if ca[otelidem.AttrKeyHash] != server[i][otelidem.AttrKeyHash] || ca[otelidem.AttrKeyHash] != otelidem.KeyHash(keyA) {
			t.Errorf("key hash: client %q, server %q, want both %q", ca[otelidem.AttrKeyHash], server[i][otelidem.AttrKeyHash], otelidem.KeyHash(keyA))
		}
		if u := ca["url.full"]; u != srv.URL+"/payments?token=REDACTED" {
			t.Errorf("url.full %q, want the query value redacted", u)
		}
	}
	var outcomes []string
	for _, a := range server {
		outcomes = append(outcomes, a[otelidem.AttrOutcome])
	}
	if strings.Join(outcomes, ",") != "not_cached,executed,replayed" {
		t.Errorf("server outcomes %v, want not_cached, executed, replayed", outcomes)
	}
	assertNoRawKey(t, spans, keyA)

	m := h.metrics(t)
	op := otelidem.AttrOperation.String("createPayment")
	byStatus := counts(t, m[otelidem.MetricClientAttempts], "http.response.status_code", op)
	if byStatus["503"] != 1 || byStatus["201"] != 2 || len(byStatus) != 2 {
		t.Errorf("%s by status: %v, want 503: 1, 201: 2", otelidem.MetricClientAttempts, byStatus)
	}
	byReplay := counts(t, m[otelidem.MetricClientAttempts], otelidem.AttrReplayed, op)
	if byReplay["true"] != 1 || byReplay["false"] != 2 {
		t.Errorf("%s by replay flag: %v, want true: 1, false: 2", otelidem.MetricClientAttempts, byReplay)
	}
	byRetry := counts(t, m[otelidem.MetricClientAttempts], otelidem.AttrRetry, op)
	if byRetry["true"] != 1 || byRetry["false"] != 2 {
		t.Errorf("%s by retry flag: %v, want true: 1, false: 2", otelidem.MetricClientAttempts, byRetry)
	}
	if n := histCount(t, m[otelidem.MetricClientDuration]); n != 3 {
		t.Errorf("%s count %d, want 3", otelidem.MetricClientDuration, n)
	}
	got := counts(t, m[otelidem.MetricOutcomes], otelidem.AttrOutcome, op)
	if got["not_cached"] != 1 || got["executed"] != 1 || got["replayed"] != 1 || len(got) != 3 {
		t.Errorf("%s: %v", otelidem.MetricOutcomes, got)
	}
}

// TestClientNoResponse: an attempt that gets no response is counted with
// error.type and no status, and its client span is an error.
func TestClientNoResponse(t *testing.T) {
	h := newHarness(t)
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens any more: connection refused
	r, err := client.NewRetrier(h.tel.Doer(nil), client.WithObserver(h.tel.ClientObserver()),
		client.WithPolicy(client.Policy{MaxAttempts: 1}))
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, url+"/songs", nil)
	if _, err := r.Do(context.Background(), req, client.Call{Operation: "listSongs"}); err == nil {
		t.Fatal("Do succeeded with nothing listening")
	}
	spans := h.spans.GetSpans()
	if len(spans) != 1 || spans[0].Status.Code != codes.Error || attrs(spans[0].Attributes)["error.type"] == "" {
		t.Fatalf("spans %+v, want one client span with status Error and error.type", spans)
	}
	m := h.metrics(t)
	byErr := counts(t, m[otelidem.MetricClientAttempts], "error.type", otelidem.AttrOperation.String("listSongs"))
	if len(byErr) != 1 || byErr[""] != 0 {
		t.Errorf("%s by error.type: %v, want one error type", otelidem.MetricClientAttempts, byErr)
	}
	if s := counts(t, m[otelidem.MetricClientAttempts], "http.response.status_code"); s[""] != 1 {
		t.Errorf("%s by status: %v, want one attempt without a status", otelidem.MetricClientAttempts, s)
	}
}
