package cli

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	collmetric "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	colltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/idemgen/idemgen/generator/loader"
	"github.com/idemgen/idemgen/generator/proxyplan"
	"github.com/idemgen/idemgen/runtime/gateway"
	"github.com/idemgen/idemgen/runtime/idempotency"
	"github.com/idemgen/idemgen/runtime/store/memstore"
)

// runningProxy is `idemgen proxy` run in process, in front of an upstream
// that answers POST /orders with 201 and GET /metrics with its own metrics.
type runningProxy struct {
	addr, metricsAddr string
	stderr            *syncBuffer
	runs              *atomic.Int64 // POST /orders the upstream served
	traceparent       *atomic.Value // the last traceparent header the upstream got
	stop              func() int    // cancels and returns the exit code
}

const upstreamMetrics = "upstream_own_metric 42\n"

func startProxy(t *testing.T, extra ...string) *runningProxy {
	t.Helper()
	p := &runningProxy{stderr: &syncBuffer{}, runs: &atomic.Int64{}, traceparent: &atomic.Value{}}
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/metrics" {
			io.WriteString(w, upstreamMetrics)
			return
		}
		p.runs.Add(1)
		p.traceparent.Store(r.Header.Get("Traceparent"))
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, "made")
	}))
	t.Cleanup(up.Close)
	spec := filepath.Join(t.TempDir(), "api.yaml")
	err := os.WriteFile(spec, []byte(`openapi: 3.0.3
info: {title: T, version: "1"}
paths:
  /orders:
    post:
      operationId: createOrder
      x-idempotent: true
      responses:
        "201": {description: created}
`), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	code := make(chan int, 1)
	args := append([]string{"proxy", "--spec", spec, "--upstream", up.URL, "--listen", "127.0.0.1:0", "--log-format", "json"}, extra...)
	go func() { code <- Run(ctx, args, nil, io.Discard, p.stderr) }()
	var once sync.Once
	exit := -1
	p.stop = func() int {
		once.Do(func() {
			cancel()
			select {
			case exit = <-code:
			case <-time.After(15 * time.Second):
				t.Error("the proxy did not shut down")
			}
		})
		return exit
	}
	t.Cleanup(func() { p.stop() })

	addrRE := regexp.MustCompile(`"addr":"([^"]+)"`)
	metricsRE := regexp.MustCompile(`"metrics_addr":"([^"]+)"`)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		if m := addrRE.FindStringSubmatch(p.stderr.String()); m != nil {
			p.addr = m[1]
			if m := metricsRE.FindStringSubmatch(p.stderr.String()); m != nil {
				p.metricsAddr = m[1]
			}
			return p
		}
		select {
		case c := <-code:
			t.Fatalf("proxy exited with %d: %s", c, p.stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Fatalf("the proxy never logged its address: %s", p.stderr.String())
	return nil
}

// noOTLP unsets the variables that would make the proxy export over OTLP,
// whatever the machine running the test sets.
func noOTLP(t testing.TB) {
	for _, v := range []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
		"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "OTEL_TRACES_EXPORTER", "OTEL_METRICS_EXPORTER"} {
		t.Setenv(v, "")
	}
}

// post sends POST /orders with key and returns the response, body read.
func (p *runningProxy) post(t *testing.T, key string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, "http://"+p.addr+"/orders", strings.NewReader("{}"))
	req.Header.Set("Idempotency-Key", key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// TestProxyMetricsListen: with --metrics-listen the proxy serves Prometheus
// metrics on that address, where a duplicate shows as a replay, while
// /metrics on the proxy's own address still reaches the upstream.
func TestProxyMetricsListen(t *testing.T) {
	noOTLP(t)
	p := startProxy(t, "--metrics-listen", "127.0.0.1:0")
	if p.metricsAddr == "" {
		t.Fatalf("no metrics_addr logged: %s", p.stderr.String())
	}
	const key = "6a1f0c7e-5b7d-4a3c-9f1e-2d8b4c6a0e11"
	if a, b := p.post(t, key), p.post(t, key); a.StatusCode != http.StatusCreated || b.Header.Get("Idempotent-Replayed") != "true" || p.runs.Load() != 1 {
		t.Fatalf("first %d, second %d %v, upstream ran %d", a.StatusCode, b.StatusCode, b.Header, p.runs.Load())
	}

	status, body := get(t, "http://"+p.addr+"/metrics")
	if status != http.StatusOK || body != upstreamMetrics {
		t.Errorf("GET /metrics on the proxy's address: %d %q, want the upstream's %q", status, body, upstreamMetrics)
	}

	status, body = get(t, "http://"+p.metricsAddr+"/metrics")
	if status != http.StatusOK {
		t.Fatalf("GET /metrics on --metrics-listen: %d\n%s", status, body)
	}
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^idempotency_outcomes_total\{[^}]*idempotency_outcome="replayed"[^}]*oas_operation="createOrder"[^}]*\} 1$`),
		regexp.MustCompile(`(?m)^idempotency_outcomes_total\{[^}]*idempotency_outcome="executed"[^}]*oas_operation="createOrder"[^}]*\} 1$`),
		regexp.MustCompile(`(?m)^idempotency_handler_duration_seconds_count\{[^}]*idempotency_outcome="executed"[^}]*\} 1$`),
		regexp.MustCompile(`(?m)^idempotency_store_duration_seconds_count\{[^}]*idempotency_outcome="replayed"[^}]*\} 1$`),
		regexp.MustCompile(`(?m)^http_server_request_duration_seconds_count\{[^}]*http_route="/orders"[^}]*\} 2$`),
		regexp.MustCompile(`(?m)^go_goroutines `), // the Go runtime collector
	} {
		if !want.MatchString(body) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(body, key) {
		t.Error("the metrics hold the raw key")
	}
	if c := p.stop(); c != 0 {
		t.Fatalf("exit %d: %s", c, p.stderr.String())
	}
}

// TestProxyLogsKeyHash: each idempotent request's log line has the key's
// hash, and the raw key appears nowhere in the log.
func TestProxyLogsKeyHash(t *testing.T) {
	noOTLP(t)
	p := startProxy(t)
	const key = "order-2026-000417" // guessable, as business keys are
	p.post(t, key)
	p.post(t, key)
	if c := p.stop(); c != 0 {
		t.Fatalf("exit %d: %s", c, p.stderr.String())
	}
	log := p.stderr.String()
	if strings.Contains(log, key) {
		t.Errorf("the log holds the raw key:\n%s", log)
	}
	var lines int
	for _, line := range strings.Split(log, "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) != nil || rec["msg"] != "gateway: request" {
			continue
		}
		lines++
		if rec["key_hash"] != idempotency.KeyHash(key) {
			t.Errorf("key_hash %v, want %s: %s", rec["key_hash"], idempotency.KeyHash(key), line)
		}
	}
	if lines != 2 {
		t.Errorf("%d request lines, want 2:\n%s", lines, log)
	}
}

// TestProxyOTLP: with OTEL_EXPORTER_OTLP_ENDPOINT set, the proxy sends its
// spans and metrics over OTLP/HTTP to a receiver on loopback (flushed at
// shutdown): the server span of the route with the outcome and key hash,
// and the client span of the upstream call in the same trace.
func TestProxyOTLP(t *testing.T) {
	var mu sync.Mutex
	var traces []*colltrace.ExportTraceServiceRequest
	var metrics []*collmetric.ExportMetricsServiceRequest
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-protobuf" {
			t.Errorf("receiver: %s %s %s", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
		}
		mu.Lock()
		defer mu.Unlock()
		switch r.URL.Path {
		case "/v1/traces":
			var req colltrace.ExportTraceServiceRequest
			if err := proto.Unmarshal(body, &req); err != nil {
				t.Errorf("traces: %v", err)
			}
			traces = append(traces, &req)
		case "/v1/metrics":
			var req collmetric.ExportMetricsServiceRequest
			if err := proto.Unmarshal(body, &req); err != nil {
				t.Errorf("metrics: %v", err)
			}
			metrics = append(metrics, &req)
		default:
			t.Errorf("receiver: unexpected path %s", r.URL.Path)
		}
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	defer recv.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", recv.URL)
	t.Setenv("OTEL_SERVICE_NAME", "orders-proxy")

	p := startProxy(t)
	const key = "0b9f7a52-3c1e-4d6a-8e2f-7a1c5b3d9e04"
	p.post(t, key)
	p.post(t, key)
	if c := p.stop(); c != 0 {
		t.Fatalf("exit %d: %s", c, p.stderr.String())
	}

	mu.Lock()
	defer mu.Unlock()
	type span struct {
		name, kind, trace string
		attrs             map[string]string
	}
	var spans []span
	service := ""
	for _, req := range traces {
		for _, rs := range req.ResourceSpans {
			for _, a := range rs.Resource.Attributes {
				if a.Key == "service.name" {
					service = a.Value.GetStringValue()
				}
			}
			for _, ss := range rs.ScopeSpans {
				for _, s := range ss.Spans {
					a := map[string]string{}
					for _, kv := range s.Attributes {
						a[kv.Key] = kv.Value.GetStringValue() // the int ones are not checked
					}
					spans = append(spans, span{s.Name, s.Kind.String(), string(s.TraceId), a})
				}
			}
		}
	}
	if service != "orders-proxy" {
		t.Errorf("service.name %q, want orders-proxy (OTEL_SERVICE_NAME)", service)
	}
	var outcomes []string
	serverTraces := map[string]bool{}
	var clientTraces []string
	for _, s := range spans {
		switch s.kind {
		case "SPAN_KIND_SERVER":
			if s.name != "POST /orders" || s.attrs["http.route"] != "/orders" || s.attrs["oas.operation"] != "createOrder" {
				t.Errorf("server span %q %v", s.name, s.attrs)
			}
			if s.attrs["idempotency.key.hash"] != idempotency.KeyHash(key) {
				t.Errorf("server span key hash %q, want %s", s.attrs["idempotency.key.hash"], idempotency.KeyHash(key))
			}
			outcomes = append(outcomes, s.attrs["idempotency.outcome"])
			serverTraces[s.trace] = true
		case "SPAN_KIND_CLIENT":
			clientTraces = append(clientTraces, s.trace)
		}
		for k, v := range s.attrs {
			if strings.Contains(v, key) {
				t.Errorf("span %q attribute %s holds the raw key", s.name, k)
			}
		}
	}
	if strings.Join(outcomes, ",") != "executed,replayed" {
		t.Errorf("server spans' outcomes %v, want executed then replayed", outcomes)
	}
	if len(clientTraces) != 1 {
		t.Errorf("%d upstream client spans, want 1 (the replay does not reach the upstream)", len(clientTraces))
	} else if !serverTraces[clientTraces[0]] {
		t.Error("the upstream call's span is in no server span's trace")
	} else if tp, _ := p.traceparent.Load().(string); !strings.Contains(tp, "-"+hex.EncodeToString([]byte(clientTraces[0]))+"-") {
		t.Errorf("the upstream got traceparent %q, want the trace %x", tp, clientTraces[0])
	}
	var names []string
	for _, req := range metrics {
		for _, rm := range req.ResourceMetrics {
			for _, sm := range rm.ScopeMetrics {
				for _, m := range sm.Metrics {
					names = append(names, m.Name)
				}
			}
		}
	}
	if got := strings.Join(names, " "); !strings.Contains(got, "idempotency.outcomes") || !strings.Contains(got, "http.server.request.duration") {
		t.Errorf("OTLP metrics %q lack idempotency.outcomes or http.server.request.duration", got)
	}
}

// BenchmarkProxyTelemetry is one idempotent request with a new key through
// the gateway over loopback, without telemetry and with what
// --metrics-listen turns on (otelidem over the SDK, Prometheus reader; no
// span exporter, so the spans are not recorded), and with the log line at
// info level (the key hashed) into io.Discard.
func BenchmarkProxyTelemetry(b *testing.B) {
	noOTLP(b)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusCreated)
	}))
	defer up.Close()
	spec := filepath.Join(b.TempDir(), "api.yaml")
	if err := os.WriteFile(spec, []byte(`openapi: 3.0.3
info: {title: T, version: "1"}
paths:
  /orders:
    post:
      operationId: createOrder
      x-idempotent: true
      responses:
        "201": {description: created}
`), 0o644); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	api, err := loader.Load(ctx, spec)
	if err != nil {
		b.Fatal(err)
	}
	routes, err := proxyplan.Routes(api)
	if err != nil {
		b.Fatal(err)
	}
	upURL, _ := url.Parse(up.URL)
	for _, bc := range []struct {
		name    string
		metrics string
		level   slog.Level
	}{
		{"off", "", slog.LevelError},
		{"log-key-hash", "", slog.LevelInfo},
		{"metrics-listen", "127.0.0.1:0", slog.LevelError},
	} {
		b.Run(bc.name, func(b *testing.B) {
			log := slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: bc.level}))
			st := memstore.New()
			defer st.Close()
			cfg := gateway.Config{Routes: routes, Upstream: upURL, Store: st, Logger: log}
			tel, err := newProxyTelemetry(ctx, bc.metrics)
			if err != nil {
				b.Fatal(err)
			}
			defer tel.shutdown(log)
			tel.configure(&cfg)
			g, err := gateway.New(cfg)
			if err != nil {
				b.Fatal(err)
			}
			srv := httptest.NewServer(g)
			defer srv.Close()
			c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
			defer c.CloseIdleConnections()
			var seq int
			b.ReportAllocs()
			for b.Loop() {
				seq++
				req, _ := http.NewRequest(http.MethodPost, srv.URL+"/orders", strings.NewReader(`{"n":1}`))
				req.Header.Set("Idempotency-Key", "key-"+strconv.Itoa(seq))
				res, err := c.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != http.StatusCreated {
					b.Fatalf("status %d", res.StatusCode)
				}
			}
		})
	}
}
