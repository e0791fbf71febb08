package otelenv_test

import (
	"context"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/idemgen/idemgen/runtime/otelidem/otelenv"
)

// clearEnv unsets every variable Setup reads, whatever the machine has.
func clearEnv(t *testing.T) {
	for _, v := range []string{"OTEL_SDK_DISABLED", "OTEL_TRACES_EXPORTER", "OTEL_METRICS_EXPORTER",
		"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
		"OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL",
		"OTEL_PROPAGATORS", "OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES"} {
		t.Setenv(v, "")
	}
}

func TestSetup(t *testing.T) {
	for _, tc := range []struct {
		name            string
		env             map[string]string
		prometheus      bool
		traces, metrics string // want; "" with wantErr
		wantErr         string
	}{
		{name: "nothing set: nothing recorded", traces: "none", metrics: "none"},
		{name: "an endpoint: both signals over OTLP", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"},
			traces: "otlp http://127.0.0.1:4318", metrics: "otlp http://127.0.0.1:4318"},
		{name: "a traces endpoint only", env: map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"},
			traces: "otlp http://127.0.0.1:4318/v1/traces", metrics: "none"},
		{name: "metrics turned off", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_METRICS_EXPORTER": "none"},
			traces: "otlp http://c:4318", metrics: "none"},
		{name: "otlp named, default endpoint", env: map[string]string{"OTEL_TRACES_EXPORTER": "otlp"},
			traces: "otlp http://localhost:4318", metrics: "none"},
		{name: "disabled", env: map[string]string{"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"},
			traces: "none", metrics: "none"},
		{name: "prometheus", prometheus: true, traces: "none", metrics: "prometheus"},
		{name: "prometheus and OTLP metrics", prometheus: true, env: map[string]string{"OTEL_METRICS_EXPORTER": "otlp", "OTEL_TRACES_EXPORTER": "none"},
			traces: "none", metrics: "otlp http://localhost:4318, prometheus"},
		{name: "an exporter not built in", env: map[string]string{"OTEL_TRACES_EXPORTER": "zipkin"},
			wantErr: "OTEL_TRACES_EXPORTER=zipkin: want otlp or none"},
		{name: "grpc", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
			wantErr: "OTEL_EXPORTER_OTLP_PROTOCOL=grpc: only http/protobuf"},
		{name: "prometheus named without an address", env: map[string]string{"OTEL_METRICS_EXPORTER": "prometheus"},
			wantErr: "no address to serve the metrics on"},
		{name: "an unknown propagator", env: map[string]string{"OTEL_PROPAGATORS": "tracecontext,b3"},
			wantErr: `OTEL_PROPAGATORS: "b3"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clearEnv(t)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			sdk, err := otelenv.Setup(context.Background(), otelenv.Config{ServiceName: "test", Prometheus: tc.prometheus})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer sdk.Shutdown(context.Background())
			if sdk.Traces != tc.traces || sdk.Metrics != tc.metrics {
				t.Errorf("traces %q, metrics %q; want %q, %q", sdk.Traces, sdk.Metrics, tc.traces, tc.metrics)
			}
			if want := tc.traces != "none" || tc.metrics != "none"; sdk.Enabled() != want {
				t.Errorf("Enabled() = %v, want %v", sdk.Enabled(), want)
			}
			if (sdk.MetricsHandler != nil) != tc.prometheus {
				t.Errorf("MetricsHandler %v with Prometheus %v", sdk.MetricsHandler, tc.prometheus)
			}
		})
	}
}

// TestPrometheusHandler: a counter recorded through the MeterProvider is in
// the handler's text exposition, named as Prometheus names it.
func TestPrometheusHandler(t *testing.T) {
	clearEnv(t)
	sdk, err := otelenv.Setup(context.Background(), otelenv.Config{ServiceName: "test", Prometheus: true})
	if err != nil {
		t.Fatal(err)
	}
	defer sdk.Shutdown(context.Background())
	c, err := sdk.MeterProvider.Meter("test").Int64Counter("idempotency.outcomes")
	if err != nil {
		t.Fatal(err)
	}
	c.Add(context.Background(), 3)
	rec := httptest.NewRecorder()
	sdk.MetricsHandler.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	if !strings.Contains(string(body), "idempotency_outcomes_total{") || !strings.Contains(string(body), "} 3\n") {
		t.Errorf("exposition lacks idempotency_outcomes_total 3:\n%s", body)
	}
}
