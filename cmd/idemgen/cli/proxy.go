package cli

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/idemgen/idemgen/generator/loader"
	"github.com/idemgen/idemgen/generator/proxyplan"
	"github.com/idemgen/idemgen/runtime/gateway"
	"github.com/idemgen/idemgen/runtime/issuedkey"
	"github.com/idemgen/idemgen/runtime/store/storeurl"
	_ "github.com/idemgen/idemgen/runtime/store/storeurl/all" // every backend, picked by URL
)

// secretsEnv names the environment variable holding the issued-key secrets.
const secretsEnv = "IDEMGEN_KEY_SECRETS"

type proxyOptions struct {
	spec, upstream, listen, store string
	basePath                      string
	upstreamTimeout, grace        time.Duration
	principalHeader               string
	issuePath, statusPath         string
	healthPath, readyPath         string
	logFormat, logLevel           string
	metricsListen, metricsPath    string
	check                         bool
}

func newProxyCmd(e *env) *cobra.Command {
	var o proxyOptions
	cmd := &cobra.Command{
		Use: "proxy --spec openapi.yaml --upstream URL",
		Example: `  # enforce the spec's policies in front of any backend, records in Redis
  idemgen proxy --spec openapi.yaml --upstream http://127.0.0.1:9000 --listen :8080 --store redis://127.0.0.1:6379/0

  # print the route table (which operations are idempotent) and exit
  idemgen proxy --spec openapi.yaml --upstream http://127.0.0.1:9000 --check

  # Prometheus metrics on a separate port (GET :9464/metrics); /metrics on :8080 stays the upstream's
  idemgen proxy --spec openapi.yaml --upstream http://127.0.0.1:9000 --metrics-listen 127.0.0.1:9464

  # traces and metrics over OTLP/HTTP to a collector
  OTEL_EXPORTER_OTLP_ENDPOINT=http://otel-collector:4318 OTEL_SERVICE_NAME=payments-proxy \
    idemgen proxy --spec openapi.yaml --upstream http://127.0.0.1:9000`,
		Short: "Run a reverse proxy that enforces the spec's x-idempotent policies in front of any backend",
		Long: `proxy runs an HTTP reverse proxy in front of an upstream written in any
language. Each request is routed by method and path template to its spec
operation; an idempotent operation's request runs through the same runtime as a
generated Go server (same stores, same semantics, same problem+json answers).
Everything else passes through untouched. See docs/proxy.md.

Server-issued keys (issued: true) are verified with the secrets in
$` + secretsEnv + `: comma-separated, base64-encoded, at least 32 bytes each; the
first signs new keys (at --issue-path), the others only verify (rotation).

Each idempotent request is logged with its operation, outcome, status,
latency and key_hash (the first 16 hex digits of the key's SHA-256, never the
key). With --metrics-listen the proxy serves Prometheus metrics (idempotency
outcomes, handler/store latency, HTTP server request metrics) on
that separate address. OpenTelemetry traces and metrics go over OTLP/HTTP when
OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT /
_METRICS_ENDPOINT) is set, or OTEL_TRACES_EXPORTER / OTEL_METRICS_EXPORTER say
otlp; OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, OTEL_PROPAGATORS,
OTEL_TRACES_SAMPLER and OTEL_SDK_DISABLED are honoured. See
docs/observability.md.

With --check the proxy loads the spec, builds every policy, prints the route
table and exits without listening.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runProxy(cmd.Context(), e, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.spec, "spec", "", "the OpenAPI document (YAML or JSON)")
	f.StringVar(&o.upstream, "upstream", "", "the backend's base URL, e.g. http://127.0.0.1:9000")
	f.StringVar(&o.listen, "listen", ":8080", "the address to listen on")
	f.StringVar(&o.store, "store", "memory://", "the idempotency store: memory://, redis://HOST:PORT/DB, redis+cluster://HOST:PORT?addr=HOST2:PORT2, redis+sentinel://HOST:26379/DB?master_name=NAME, postgres://..., sqlite:///PATH")
	f.StringVar(&o.basePath, "base-path", "", "a path prefix in front of the spec's paths (the server URL's path, e.g. /v1)")
	f.DurationVar(&o.upstreamTimeout, "upstream-timeout", 0, "the longest wait for the upstream's response headers (504 after); 0 means no bound")
	f.DurationVar(&o.grace, "shutdown-grace", 10*time.Second, "how long requests in flight may finish after SIGINT/SIGTERM")
	f.StringVar(&o.principalHeader, "principal-header", "", "a request header carrying the authenticated principal (set by an auth layer in front), for scope: [principal] and bound issued keys")
	f.StringVar(&o.issuePath, "issue-path", "", "serve POST on this path with a new server-issued key (needs $"+secretsEnv+")")
	f.StringVar(&o.statusPath, "status-path", "", "serve status lookups: GET PATH/<spec path>[?method=POST] with the request's key answers its record's state (completed, in_flight, issued)")
	f.StringVar(&o.healthPath, "healthz", "/healthz", "the liveness path (GET); empty disables it")
	f.StringVar(&o.readyPath, "readyz", "/readyz", "the readiness path (GET, 503 while the store is unreachable); empty disables it")
	f.StringVar(&o.logFormat, "log-format", "text", "log format: text or json")
	f.StringVar(&o.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	f.StringVar(&o.metricsListen, "metrics-listen", "", "serve Prometheus metrics on this separate address, e.g. 127.0.0.1:9464; empty: none")
	f.StringVar(&o.metricsPath, "metrics-path", "/metrics", "the path of the metrics on --metrics-listen")
	f.BoolVar(&o.check, "check", false, "load the spec, print the route table and exit")
	return cmd
}

func runProxy(ctx context.Context, e *env, o proxyOptions) error {
	if o.spec == "" || o.upstream == "" {
		return exitCode(2, errors.New("proxy: --spec and --upstream are required"))
	}
	up, err := url.Parse(o.upstream)
	if err != nil || (up.Scheme != "http" && up.Scheme != "https") || up.Host == "" {
		return exitCode(2, fmt.Errorf("proxy: --upstream: want an http(s) URL like http://127.0.0.1:9000, got %q", o.upstream))
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		return exitCode(2, fmt.Errorf("proxy: --log-level: want debug, info, warn or error, got %q", o.logLevel))
	}
	hopts := &slog.HandlerOptions{Level: level}
	var log *slog.Logger
	switch o.logFormat {
	case "text":
		log = slog.New(slog.NewTextHandler(e.stderr, hopts))
	case "json":
		log = slog.New(slog.NewJSONHandler(e.stderr, hopts))
	default:
		return exitCode(2, fmt.Errorf("proxy: --log-format: want text or json, got %q", o.logFormat))
	}

	api, err := loader.Load(ctx, o.spec)
	if err != nil {
		return exitCode(1, err)
	}
	if errs := printDiagnostics(e.stderr, o.spec, api.Diagnostics); errs > 0 {
		return exitCode(1, fmt.Errorf("proxy: %s has %d error(s)", o.spec, errs))
	}
	routes, err := proxyplan.Routes(api)
	if err != nil {
		return exitCode(1, err)
	}
	issuer, err := issuerFromEnv()
	if err != nil {
		return exitCode(2, err)
	}
	if o.issuePath != "" && issuer == nil {
		return exitCode(2, fmt.Errorf("proxy: --issue-path needs signing secrets in $%s", secretsEnv))
	}
	var principal func(*http.Request) (string, error)
	if h := o.principalHeader; h != "" {
		principal = func(r *http.Request) (string, error) {
			if v := r.Header.Get(h); v != "" {
				return v, nil
			}
			return "", fmt.Errorf("no %s header", h)
		}
	}

	// --check builds every policy against a memory store: no backend is needed
	// to validate a configuration.
	storeURL := o.store
	if o.check {
		storeURL = "memory://"
	}
	store, closer, err := storeurl.Open(ctx, storeURL)
	if err != nil {
		return exitCode(1, fmt.Errorf("proxy: --store: %w", err))
	}
	defer closer.Close()

	cfg := gateway.Config{
		Routes: routes, Upstream: up, Store: store, BasePath: o.basePath,
		UpstreamTimeout: o.upstreamTimeout, Logger: log, Principal: principal,
		Issuer: issuer, IssuePath: o.issuePath, StatusPath: o.statusPath, HealthPath: o.healthPath, ReadyPath: o.readyPath,
	}
	var tel *proxyTelemetry
	if !o.check {
		if o.metricsListen != "" && !strings.HasPrefix(o.metricsPath, "/") {
			return exitCode(2, fmt.Errorf("proxy: --metrics-path: want a path starting with /, got %q", o.metricsPath))
		}
		if tel, err = newProxyTelemetry(ctx, o.metricsListen); err != nil {
			return exitCode(2, fmt.Errorf("proxy: %w", err))
		}
		defer tel.shutdown(log)
		tel.configure(&cfg)
	}
	g, err := gateway.New(cfg)
	if err != nil {
		if issuer == nil && strings.Contains(err.Error(), "server-issued") {
			err = fmt.Errorf("%w (set $%s)", err, secretsEnv)
		}
		if principal == nil && strings.Contains(err.Error(), "WithPrincipal") {
			err = fmt.Errorf("%w (set --principal-header)", err)
		}
		return exitCode(1, err)
	}
	if o.check {
		// In spec order; the gateway holds them in the order it tries them.
		byOp := map[string]gateway.Route{}
		for _, r := range g.Routes() {
			byOp[r.Operation] = r
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		for _, op := range api.Operations {
			r := byOp[op.ID]
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Method, r.Path, r.Operation, r.Summary())
		}
		return tw.Flush()
	}

	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return exitCode(1, fmt.Errorf("proxy: %w", err))
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM)
	defer stop()
	var metricsErr chan error
	if o.metricsListen != "" {
		mln, err := net.Listen("tcp", o.metricsListen)
		if err != nil {
			ln.Close()
			return exitCode(1, fmt.Errorf("proxy: --metrics-listen: %w", err))
		}
		metricsErr = make(chan error, 1)
		go func() { metricsErr <- tel.serveMetrics(ctx, mln, o.metricsPath, log) }()
		log.Info("idemgen proxy: serving metrics", "metrics_addr", mln.Addr().String(), "path", o.metricsPath)
	}
	log.Info("idemgen proxy: listening", "addr", ln.Addr().String(), "upstream", up.String(), "spec", o.spec, "operations", len(g.Routes()),
		"traces", tel.sdk.Traces, "metrics", tel.sdk.Metrics)
	err = g.Serve(ctx, ln, o.grace)
	if metricsErr != nil {
		stop() // the gateway is done: so is the metrics listener
		if merr := <-metricsErr; err == nil {
			err = merr
		}
	}
	if err != nil {
		return exitCode(1, err)
	}
	return nil
}

// issuerFromEnv builds the Issuer from $IDEMGEN_KEY_SECRETS, or returns nil
// when it is unset.
func issuerFromEnv() (*issuedkey.Issuer, error) {
	v := os.Getenv(secretsEnv)
	if v == "" {
		return nil, nil
	}
	var secrets [][]byte
	for i, s := range strings.Split(v, ",") {
		b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
		if err != nil {
			return nil, fmt.Errorf("proxy: $%s: secret %d: want base64: %v", secretsEnv, i+1, err)
		}
		secrets = append(secrets, b)
	}
	is, err := issuedkey.New(issuedkey.Config{Secret: secrets[0], Previous: secrets[1:]})
	if err != nil {
		return nil, fmt.Errorf("proxy: $%s: %w", secretsEnv, err)
	}
	return is, nil
}
