package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/idemgen/idemgen/runtime/gateway"
	"github.com/idemgen/idemgen/runtime/otelidem"
	"github.com/idemgen/idemgen/runtime/otelidem/otelenv"
)

// proxyTelemetry is the proxy's OpenTelemetry: the SDK the OTEL_* variables
// and --metrics-listen ask for, and otelidem on top of it. The gateway itself
// knows nothing of OpenTelemetry; it is given hooks.
type proxyTelemetry struct {
	sdk *otelenv.SDK
	tel *otelidem.Telemetry // nil when nothing is recorded
}

func newProxyTelemetry(ctx context.Context, metricsListen string) (*proxyTelemetry, error) {
	sdk, err := otelenv.Setup(ctx, otelenv.Config{ServiceName: "idemgen-proxy", Prometheus: metricsListen != ""})
	if err != nil {
		return nil, err
	}
	pt := &proxyTelemetry{sdk: sdk}
	if !sdk.Enabled() {
		return pt, nil
	}
	pt.tel, err = otelidem.New(
		otelidem.WithTracerProvider(sdk.TracerProvider),
		otelidem.WithMeterProvider(sdk.MeterProvider),
		otelidem.WithPropagator(sdk.Propagator))
	if err != nil {
		return nil, errors.Join(err, sdk.Shutdown(ctx))
	}
	return pt, nil
}

// configure gives the gateway the observer, a server span per request named
// by its route, and a client span per upstream call.
func (pt *proxyTelemetry) configure(cfg *gateway.Config) {
	if pt.tel == nil {
		return
	}
	base := cfg.BasePath
	cfg.Observer = pt.tel.IdempotencyObserver()
	cfg.RouteMiddleware = func(r gateway.Route, next http.Handler) http.Handler {
		if r.Operation == "" { // a request no spec operation matches
			return pt.tel.Middleware("", "")(next)
		}
		return pt.tel.Middleware(r.Operation, base+r.Path)(next)
	}
	if pt.sdk.Traces != "none" {
		// Only spans come of it; without them the client's traceparent
		// goes upstream as ReverseProxy copies it.
		cfg.WrapTransport = pt.tel.Transport
	}
}

// shutdown flushes the exporters, for at most 5 seconds.
func (pt *proxyTelemetry) shutdown(log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := pt.sdk.Shutdown(ctx); err != nil {
		log.Warn("idemgen proxy: telemetry not flushed", "err", err)
	}
}

// serveMetrics serves the Prometheus metrics on ln at path until ctx ends.
// It is a listener of its own, so the upstream's own /metrics is still
// proxied on the main one.
func (pt *proxyTelemetry) serveMetrics(ctx context.Context, ln net.Listener, path string, log *slog.Logger) error {
	mux := http.NewServeMux()
	mux.Handle("GET "+path, pt.sdk.MetricsHandler)
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		// The proxy goes on serving; say so now rather than at exit.
		log.Error("idemgen proxy: the metrics listener stopped", "err", err)
		return fmt.Errorf("proxy: metrics listener: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	return nil
}
