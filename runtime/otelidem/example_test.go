package otelidem_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"

	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/idemgen/idemgen/runtime/client"
	"github.com/idemgen/idemgen/runtime/idempotency"
	"github.com/idemgen/idemgen/runtime/otelidem"
	"github.com/idemgen/idemgen/runtime/store/memstore"
)

// The setup on both sides of one API. The providers are the application's
// (here an in-memory exporter and a manual reader, so the example can print
// what was recorded; in production an OTLP exporter and a periodic reader).
func Example() {
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	defer tp.Shutdown(context.Background())
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())

	tel, err := otelidem.New(
		otelidem.WithTracerProvider(tp),
		otelidem.WithMeterProvider(mp),
		otelidem.WithPropagator(propagation.TraceContext{}))
	if err != nil {
		log.Fatal(err)
	}

	// Server: the idempotency middleware reports to the observer, inside the
	// span of tel.Middleware. A generated server takes the same two pieces:
	// serverkit.WithObserver(tel.IdempotencyObserver()) and
	// serverkit.WithOperationMiddleware(...) (see docs/observability.md).
	store := memstore.New()
	defer store.Close()
	mw, err := idempotency.New(store, idempotency.Policy{Operation: "createPayment"},
		idempotency.WithObserver(tel.IdempotencyObserver()))
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("POST /payments", tel.Middleware("createPayment", "/payments")(mw.Wrap(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusCreated)
		}))))
	srv := httptest.NewServer(mux)

	// Client: each attempt in a client span that the server's span joins, and
	// one event per attempt on the caller's span. A generated client takes
	// client.WithHTTPClient(tel.Doer(nil)) and client.WithClientObserver(tel.ClientObserver()).
	retrier, err := client.NewRetrier(tel.Doer(nil), client.WithObserver(tel.ClientObserver()))
	if err != nil {
		log.Fatal(err)
	}
	ctx, checkout := tp.Tracer("shop").Start(context.Background(), "checkout")
	key := client.NewKey()
	for range 2 { // a retry of the same logical call, with the same key
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/payments", strings.NewReader(`{"amount":100}`))
		req.Header.Set("Idempotency-Key", client.KeyHeaderValue(key))
		if _, err := retrier.Do(ctx, req, client.Call{Operation: "createPayment", Idempotent: true, Key: key}); err != nil {
			log.Fatal(err)
		}
	}
	checkout.End()
	srv.Close()

	for _, s := range spans.GetSpans() {
		if s.SpanKind != trace.SpanKindServer {
			continue
		}
		a := attrs(s.Attributes)
		fmt.Printf("span %q: %s=%s %s=%s, key hash matches: %v\n", s.Name,
			otelidem.AttrOutcome, a[otelidem.AttrOutcome],
			"http.response.status_code", a["http.response.status_code"],
			a[otelidem.AttrKeyHash] == otelidem.KeyHash(key))
	}
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		log.Fatal(err)
	}
	var lines []string
	for _, m := range rm.ScopeMetrics[0].Metrics {
		if sum, ok := m.Data.(metricdata.Sum[int64]); ok && m.Name != "http.server.active_requests" {
			for _, dp := range sum.DataPoints {
				outcome, _ := dp.Attributes.Value(otelidem.AttrOutcome)
				replayed, _ := dp.Attributes.Value(otelidem.AttrReplayed)
				label := "outcome=" + outcome.Emit()
				if m.Name == otelidem.MetricClientAttempts {
					label = "replayed=" + replayed.Emit()
				}
				lines = append(lines, fmt.Sprintf("%s{%s} %d", m.Name, label, dp.Value))
			}
		}
	}
	sort.Strings(lines)
	fmt.Println(strings.Join(lines, "\n"))
	// Output:
	// span "POST /payments": idempotency.outcome=executed http.response.status_code=201, key hash matches: true
	// span "POST /payments": idempotency.outcome=replayed http.response.status_code=201, key hash matches: true
	// idempotency.client.attempts{replayed=false} 1
	// idempotency.client.attempts{replayed=true} 1
	// idempotency.outcomes{outcome=executed} 1
	// idempotency.outcomes{outcome=replayed} 1
}
