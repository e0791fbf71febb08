package contender

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/idemgen/idemgen/generator/loader"
	"github.com/idemgen/idemgen/generator/proxyplan"
	"github.com/idemgen/idemgen/runtime/gateway"
	"github.com/idemgen/idemgen/runtime/store/memstore"
)

// SectionProxy is the Info.Section of the gateway contenders: an upstream bare
// net/http server reached directly, through `idemgen proxy`'s gateway with the
// operation idempotent, and through it as pass-through.
const SectionProxy = "proxy"

// ProxyBaseline is the direct call to the upstream, the proxy contenders' baseline.
const ProxyBaseline = "proxy-direct"

// proxySpec is the document the gateway contenders load: the workload's one
// operation, POST /payments, with X-IDEMPOTENT replaced by its x-idempotent
// line (the extension's defaults, like idemgenPolicy) or by nothing.
const proxySpec = `openapi: 3.0.3
info:
  title: benchcompare gateway
  version: "1"
paths:
  /payments:
    post:
      operationId: createPayment
X-IDEMPOTENT
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
      responses:
        "201":
          description: the receipt
          content:
            application/json:
              schema:
                type: object
`

func init() {
	register(Info{Name: ProxyBaseline, Baseline: ProxyBaseline, Section: SectionProxy},
		func(ctx context.Context, env Env, rec *Recorder) (Server, error) {
			return newHTTPServer(Handler(rec), nil), nil
		})
	register(Info{Name: "proxy-memory", Baseline: ProxyBaseline, Store: "memory", Section: SectionProxy},
		func(ctx context.Context, env Env, rec *Recorder) (Server, error) {
			return openGateway(ctx, rec, true, nil)
		})
	// The gateway's default Transport (http.DefaultTransport's clone) keeps 2
	// idle connections per host, so with more clients than that most requests
	// dial the upstream anew. This variant gives it a pool as large as the
	// largest load (a Config.Transport `idemgen proxy` does not set), to show
	// what the connection churn costs.
	register(Info{Name: "proxy-memory-pooled", Baseline: ProxyBaseline, Store: "memory", Section: SectionProxy},
		func(ctx context.Context, env Env, rec *Recorder) (Server, error) {
			t := http.DefaultTransport.(*http.Transport).Clone()
			t.MaxIdleConns, t.MaxIdleConnsPerHost = 256, 256
			return openGateway(ctx, rec, true, t)
		})
	register(Info{Name: "proxy-passthrough", Baseline: ProxyBaseline, Section: SectionProxy},
		func(ctx context.Context, env Env, rec *Recorder) (Server, error) {
			return openGateway(ctx, rec, false, nil)
		})
}

// openGateway starts the upstream (the bare handler on its own loopback
// listener and net/http server, in this process) and returns the gateway in
// front of it, configured as `idemgen proxy --store memory://` configures it:
// the default Transport to the upstream (unless tr is set), no timeout.
// Logging is off (like --log-level warn: the per-request info lines are not
// written).
func openGateway(ctx context.Context, rec *Recorder, idempotent bool, tr http.RoundTripper) (Server, error) {
	line := "      x-idempotent: true"
	if !idempotent {
		line = "      # not idempotent: pass-through"
	}
	dir, err := os.MkdirTemp("", "benchcompare-gateway-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "openapi.yaml")
	if err := os.WriteFile(path, []byte(strings.Replace(proxySpec, "X-IDEMPOTENT", line, 1)), 0o644); err != nil {
		return nil, err
	}
	api, err := loader.Load(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("contender: gateway spec: %w", err)
	}
	routes, err := proxyplan.Routes(api)
	if err != nil {
		return nil, fmt.Errorf("contender: gateway spec: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	up := newHTTPServer(Handler(rec), nil)
	go up.Serve(ln)
	st := memstore.New()
	closeAll := func() error { return errors.Join(up.Close(), st.Close()) }
	g, err := gateway.New(gateway.Config{
		Routes:    routes,
		Upstream:  &url.URL{Scheme: "http", Host: ln.Addr().String()},
		Store:     st,
		Logger:    slog.New(slog.DiscardHandler),
		Transport: tr,
	})
	if err != nil {
		_ = closeAll()
		return nil, fmt.Errorf("contender: gateway: %w", err)
	}
	if rs := g.Routes(); len(rs) != 1 || rs[0].Idempotent() != idempotent {
		_ = closeAll()
		return nil, fmt.Errorf("contender: gateway routes %+v, want POST /payments with idempotent %v", rs, idempotent)
	}
	return newHTTPServer(g, closeAll), nil
}
