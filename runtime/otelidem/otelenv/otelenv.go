// Package otelenv sets up the OpenTelemetry SDK the way the standard OTEL_*
// environment variables ask, for a process that wants traces and metrics
// without writing the SDK wiring itself: `idemgen proxy`, or a generated
// server's main. It returns the providers to give otelidem.New and, on
// request, an http.Handler serving the metrics in the Prometheus text format.
//
// Only OTLP over HTTP (protobuf) is exported: the exporters read the
// endpoint, headers, timeout, compression and certificates from the standard
// variables themselves. Without any OTEL_* variable nothing is exported and
// the providers are no-ops, so a process that is not configured pays nothing.
package otelenv

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

// Config says what the process wants besides what the environment says.
type Config struct {
	// ServiceName is the resource's service.name unless OTEL_SERVICE_NAME or
	// OTEL_RESOURCE_ATTRIBUTES set one.
	ServiceName string
	// Prometheus makes the metrics readable by Setup's MetricsHandler, in
	// the Prometheus text format (e.g. for a --metrics-listen address).
	Prometheus bool
}

// SDK is what Setup built. Its providers are no-ops for what is not
// exported; Shutdown flushes and stops the exporters.
type SDK struct {
	TracerProvider trace.TracerProvider
	MeterProvider  metric.MeterProvider
	Propagator     propagation.TextMapPropagator
	// MetricsHandler serves the metrics in the Prometheus text format (the
	// process's Go runtime metrics included); nil without Config.Prometheus.
	MetricsHandler http.Handler
	// Traces and Metrics describe the exporters, for a log line:
	// "otlp http://collector:4318", "prometheus", or "none".
	Traces, Metrics string

	shutdown []func(context.Context) error
}

// Enabled reports whether anything is recorded (traces or metrics).
func (s *SDK) Enabled() bool { return s.Traces != "none" || s.Metrics != "none" }

// Shutdown flushes what is buffered and stops the exporters.
func (s *SDK) Shutdown(ctx context.Context) error {
	var errs []error
	for _, f := range s.shutdown {
		errs = append(errs, f(ctx))
	}
	return errors.Join(errs...)
}

// Setup reads the environment and builds the providers:
//
//   - OTEL_SDK_DISABLED=true: no OTLP export (the Prometheus handler, when
//     asked for, still serves);
//   - OTEL_TRACES_EXPORTER and OTEL_METRICS_EXPORTER: "otlp" or "none"
//     (OTEL_METRICS_EXPORTER also "prometheus", which needs
//     Config.Prometheus). Unset, a signal is exported over OTLP when
//     OTEL_EXPORTER_OTLP_ENDPOINT or its signal's endpoint
//     (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, ..._METRICS_ENDPOINT) is set, and
//     not at all otherwise: the specification's default of OTLP to
//     localhost would make an unconfigured process log export errors;
//   - OTEL_EXPORTER_OTLP_PROTOCOL (and the per-signal ones): http/protobuf,
//     the default; grpc and http/json are refused with an error;
//   - OTEL_PROPAGATORS: a list of tracecontext, baggage and none (default
//     tracecontext,baggage);
//   - OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES: the resource;
//   - the sampler (OTEL_TRACES_SAMPLER), the export intervals
//     (OTEL_METRIC_EXPORT_INTERVAL, OTEL_BSP_*) and the exporters' own
//     variables are read by the SDK itself.
func Setup(ctx context.Context, cfg Config) (*SDK, error) {
	getenv := os.Getenv // the exporters read the process's environment too
	sdk := &SDK{
		TracerProvider: tracenoop.NewTracerProvider(),
		MeterProvider:  metricnoop.NewMeterProvider(),
		Traces:         "none",
		Metrics:        "none",
	}
	prop, err := propagators(getenv("OTEL_PROPAGATORS"))
	if err != nil {
		return nil, err
	}
	sdk.Propagator = prop

	disabled := strings.EqualFold(strings.TrimSpace(getenv("OTEL_SDK_DISABLED")), "true")
	traces, err := exporterChoice(getenv, "TRACES", disabled, false)
	if err != nil {
		return nil, err
	}
	metrics, err := exporterChoice(getenv, "METRICS", disabled, true)
	if err != nil {
		return nil, err
	}
	if metrics == "prometheus" && !cfg.Prometheus {
		return nil, errors.New("otelenv: OTEL_METRICS_EXPORTER=prometheus: no address to serve the metrics on (idemgen proxy: --metrics-listen)")
	}
	if traces == "none" && metrics == "none" && !cfg.Prometheus {
		return sdk, nil
	}

	res, err := resource.New(ctx,
		resource.WithAttributes(semconv.ServiceName(cfg.ServiceName)),
		resource.WithFromEnv(), // OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES override the default
		resource.WithTelemetrySDK())
	if err != nil {
		return nil, fmt.Errorf("otelenv: resource: %w", err)
	}

	if traces == "otlp" {
		exp, err := otlptracehttp.New(ctx)
		if err != nil {
			return nil, fmt.Errorf("otelenv: OTLP trace exporter: %w", err)
		}
		tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
		sdk.TracerProvider = tp
		sdk.shutdown = append(sdk.shutdown, tp.Shutdown)
		sdk.Traces = "otlp " + endpoint(getenv, "TRACES")
	}

	var readers []sdkmetric.Option
	if metrics == "otlp" {
		exp, err := otlpmetrichttp.New(ctx)
		if err != nil {
			return nil, errors.Join(fmt.Errorf("otelenv: OTLP metric exporter: %w", err), sdk.Shutdown(ctx))
		}
		readers = append(readers, sdkmetric.WithReader(sdkmetric.NewPeriodicReader(exp)))
		sdk.Metrics = "otlp " + endpoint(getenv, "METRICS")
	}
	if cfg.Prometheus {
		// A registry of our own, not the global default: nothing else in the
		// process registers into it behind our back.
		reg := prometheus.NewRegistry()
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		exp, err := otelprom.New(otelprom.WithRegisterer(reg))
		if err != nil {
			return nil, errors.Join(fmt.Errorf("otelenv: Prometheus exporter: %w", err), sdk.Shutdown(ctx))
		}
		readers = append(readers, sdkmetric.WithReader(exp))
		sdk.MetricsHandler = promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
		if sdk.Metrics == "none" {
			sdk.Metrics = "prometheus"
		} else {
			sdk.Metrics += ", prometheus"
		}
	}
	if len(readers) > 0 {
		mp := sdkmetric.NewMeterProvider(append(readers, sdkmetric.WithResource(res))...)
		sdk.MeterProvider = mp
		sdk.shutdown = append(sdk.shutdown, mp.Shutdown)
	}
	return sdk, nil
}

// exporterChoice is "otlp", "none" or (for metrics) "prometheus", from
// OTEL_<SIGNAL>_EXPORTER or, unset, from whether an OTLP endpoint is set.
func exporterChoice(getenv func(string) string, signal string, disabled, metrics bool) (string, error) {
	name := "OTEL_" + signal + "_EXPORTER"
	v := strings.ToLower(strings.TrimSpace(getenv(name)))
	if disabled {
		return "none", nil
	}
	switch v {
	case "":
		if getenv("OTEL_EXPORTER_OTLP_ENDPOINT") == "" && getenv("OTEL_EXPORTER_OTLP_"+signal+"_ENDPOINT") == "" {
			return "none", nil
		}
	case "none":
		return "none", nil
	case "otlp":
	case "prometheus":
		if metrics {
			return "prometheus", nil
		}
		fallthrough
	default:
		want := "otlp or none"
		if metrics {
			want = "otlp, prometheus or none"
		}
		return "", fmt.Errorf("otelenv: %s=%s: want %s (other exporters are not built in)", name, v, want)
	}
	for _, p := range []string{"OTEL_EXPORTER_OTLP_" + signal + "_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"} {
		switch proto := strings.TrimSpace(getenv(p)); proto {
		case "", "http/protobuf":
			continue
		default:
			return "", fmt.Errorf("otelenv: %s=%s: only http/protobuf is built in", p, proto)
		}
	}
	return "otlp", nil
}

// endpoint is the OTLP endpoint a signal goes to, for the log line.
func endpoint(getenv func(string) string, signal string) string {
	if v := getenv("OTEL_EXPORTER_OTLP_" + signal + "_ENDPOINT"); v != "" {
		return v
	}
	if v := getenv("OTEL_EXPORTER_OTLP_ENDPOINT"); v != "" {
		return v
	}
	return "http://localhost:4318"
}

// propagators parses OTEL_PROPAGATORS.
func propagators(v string) (propagation.TextMapPropagator, error) {
	if strings.TrimSpace(v) == "" {
		v = "tracecontext,baggage"
	}
	var ps []propagation.TextMapPropagator
	for _, name := range strings.Split(v, ",") {
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "tracecontext":
			ps = append(ps, propagation.TraceContext{})
		case "baggage":
			ps = append(ps, propagation.Baggage{})
		case "none":
			return propagation.NewCompositeTextMapPropagator(), nil
		default:
			return nil, fmt.Errorf("otelenv: OTEL_PROPAGATORS: %q: want tracecontext, baggage or none", name)
		}
	}
	return propagation.NewCompositeTextMapPropagator(ps...), nil
}
