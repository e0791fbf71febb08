package proxyplan

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/idemgen/idemgen/runtime/gateway"
	"github.com/idemgen/idemgen/runtime/store/memstore"
)

// benchUpstream answers 201 with a small JSON body.
var benchUpstream = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_, _ = io.WriteString(w, `{"id":"pay_1","amount":5}`)
})

// BenchmarkGateway compares one request over loopback to the upstream
// directly, through the gateway on a pass-through path, through it on an
// idempotent operation with a fresh key (claim + complete in the memory
// store) and with a reused key (replay, the upstream not called).
func BenchmarkGateway(b *testing.B) {
	up := httptest.NewServer(benchUpstream)
	defer up.Close()
	u, _ := url.Parse(up.URL)
	st := memstore.New()
	defer st.Close()
	g, err := gateway.New(gateway.Config{Routes: routesOf(b, loadSpec(b, "testdata/openapi.yaml")), Upstream: u, Store: st,
		Logger: slog.New(slog.DiscardHandler), Issuer: nil})
	if err == nil {
		b.Fatal("the test spec's issued-key operation needs an Issuer")
	}
	api := loadSpec(b, "testdata/openapi.yaml")
	for _, op := range api.Operations {
		if op.ID == "redeemVoucher" {
			op.Idempotency.Enabled = false
		}
	}
	g, err = gateway.New(gateway.Config{Routes: routesOf(b, api), Upstream: u, Store: st, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	gw := httptest.NewServer(g)
	defer gw.Close()
	body := []byte(`{"amount":5}`)
	var seq atomic.Int64
	run := func(b *testing.B, base, path string, key func() string) {
		c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
		defer c.CloseIdleConnections()
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, base+path, bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			if key != nil {
				req.Header.Set("Idempotency-Key", key())
			}
			res, err := c.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusCreated {
				b.Fatalf("status %d", res.StatusCode)
			}
		}
	}
	b.Run("direct", func(b *testing.B) { run(b, up.URL, "/accounts/a/payments", nil) })
	b.Run("pass-through", func(b *testing.B) { run(b, gw.URL, "/messages", nil) })
	b.Run("idempotent-new-key", func(b *testing.B) {
		run(b, gw.URL, "/accounts/a/payments", func() string { return fmt.Sprint("k", seq.Add(1)) })
	})
	b.Run("idempotent-replay", func(b *testing.B) {
		run(b, gw.URL, "/accounts/a/payments", func() string { return "same" })
	})
}

// BenchmarkRoute measures matching a request path against the test spec's
// routes (no network).
func BenchmarkRoute(b *testing.B) {
	st := memstore.New()
	defer st.Close()
	api := loadSpec(b, "testdata/openapi.yaml")
	for _, op := range api.Operations {
		if op.ID == "redeemVoucher" {
			op.Idempotency.Enabled = false
		}
	}
	g, err := gateway.New(gateway.Config{Routes: routesOf(b, api), Upstream: &url.URL{Scheme: "http", Host: "x"}, Store: st})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		rt, ok := g.Lookup("PUT", "/reports/q1.json")
		if !ok || !strings.HasPrefix(rt.Path, "/reports/") {
			b.Fatal("no match")
		}
	}
}
