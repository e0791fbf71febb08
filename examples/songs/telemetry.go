package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/idemgen/idemgen/runtime/otelidem"
	"github.com/idemgen/idemgen/runtime/otelidem/otelenv"
	"github.com/idemgen/idemgen/runtime/serverkit"
)

// telemetry sets up OpenTelemetry when it is asked for: the standard OTEL_*
// variables (e.g. OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 exports
// traces and metrics over OTLP/HTTP) or metricsAddr (Prometheus metrics served
// at http://metricsAddr/metrics, announced on stdout). It returns the server
// options that record a span per request and the idempotency outcomes, and a
// function that stops the metrics listener and flushes the exporters. Asked
// for nothing, it returns no options: the server is built as without it.
func telemetry(ctx context.Context, metricsAddr string, stdout io.Writer) ([]serverkit.Option, func(), error) {
	sdk, err := otelenv.Setup(ctx, otelenv.Config{ServiceName: "songs", Prometheus: metricsAddr != ""})
	if err != nil {
		return nil, nil, err
	}
	stop := func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = sdk.Shutdown(sctx) // flushes the last spans and metrics
	}
	if !sdk.Enabled() {
		return nil, stop, nil
	}
	tel, err := otelidem.New(
		otelidem.WithTracerProvider(sdk.TracerProvider),
		otelidem.WithMeterProvider(sdk.MeterProvider),
		otelidem.WithPropagator(sdk.Propagator))
	if err != nil {
		stop()
		return nil, nil, err
	}
	opts := []serverkit.Option{
		serverkit.WithObserver(tel.IdempotencyObserver()), // outcomes: span attributes, events, metrics
		serverkit.WithOperationMiddleware(func(op serverkit.OperationInfo, next http.Handler) http.Handler {
			return tel.Middleware(op.ID, op.Route)(next) // a server span per request: "POST /songs"
		}),
	}
	if metricsAddr == "" {
		return opts, stop, nil
	}
	ln, err := net.Listen("tcp", metricsAddr)
	if err != nil {
		stop()
		return nil, nil, fmt.Errorf("-metrics-addr: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", sdk.MetricsHandler)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintln(stdout, "metrics listener:", err)
		}
	}()
	fmt.Fprintf(stdout, "metrics on http://%s/metrics\n", ln.Addr())
	return opts, func() { _ = srv.Close(); stop() }, nil
}
