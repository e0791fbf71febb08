package otelidem_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/idemgen/idemgen/runtime/idempotency"
	"github.com/idemgen/idemgen/runtime/otelidem"
	"github.com/idemgen/idemgen/runtime/store/memstore"
)

// BenchmarkServer is the cost otelidem adds to one executed idempotent
// request (a fresh key each time, memory store, no network): bare is the
// idempotency middleware alone; noop adds Middleware and the observer with
// the API's no-op providers (OpenTelemetry not configured); sdk with the SDK
// recording every span (sampled, no exporter) and every metric.
func BenchmarkServer(b *testing.B) {
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	b.Cleanup(func() {
		_ = tp.Shutdown(context.Background())
		_ = mp.Shutdown(context.Background())
	})
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte(`{"id":"pay_1"}`))
	})
	for _, c := range []struct {
		name string
		opts []otelidem.Option // nil: no otelidem at all
	}{
		{"bare", nil},
		{"noop", []otelidem.Option{}},
		{"sdk", []otelidem.Option{otelidem.WithTracerProvider(tp), otelidem.WithMeterProvider(mp)}},
	} {
		b.Run(c.name, func(b *testing.B) {
			store := memstore.New()
			defer store.Close()
			var idemOpts []idempotency.Option
			var tel *otelidem.Telemetry
			if c.opts != nil {
				var err error
				if tel, err = otelidem.New(c.opts...); err != nil {
					b.Fatal(err)
				}
				idemOpts = append(idemOpts, idempotency.WithObserver(tel.IdempotencyObserver()))
			}
			mw, err := idempotency.New(store, idempotency.Policy{Operation: "createPayment"}, idemOpts...)
			if err != nil {
				b.Fatal(err)
			}
			h := mw.Wrap(handler)
			if tel != nil {
				h = tel.Middleware("createPayment", "/payments")(h)
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				i++
				req := httptest.NewRequest(http.MethodPost, "/payments", strings.NewReader(`{"amount":100}`))
				req.Header.Set("Idempotency-Key", "k-"+strconv.Itoa(i))
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != http.StatusCreated {
					b.Fatalf("status %d", w.Code)
				}
			}
		})
	}
}
