package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/idemgen/idemgen/examples/songs/api"
	"github.com/idemgen/idemgen/runtime/client"
)

// TestRunWithMetrics runs the server with -metrics-addr: an upload retried
// with its key is counted as executed then replayed in the Prometheus
// metrics, with the request duration under the route template.
func TestRunWithMetrics(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "") // Prometheus only, whatever the machine sets
	t.Setenv("OTEL_TRACES_EXPORTER", "")
	t.Setenv("OTEL_METRICS_EXPORTER", "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-store", "memory://", "-upload-time", "0", "-metrics-addr", "127.0.0.1:0"}, pw, io.Discard)
		pw.Close()
	}()
	out := bufio.NewReader(pr)
	var metricsURL, base string
	for base == "" {
		line, err := out.ReadString('\n')
		if err != nil {
			t.Fatalf("stdout ended before the listening line: %v", err)
		}
		if u, ok := strings.CutPrefix(strings.TrimSpace(line), "metrics on "); ok {
			metricsURL = u
		}
		if u, ok := strings.CutPrefix(strings.TrimSpace(line), "listening on "); ok {
			base = u
		}
	}
	go io.Copy(io.Discard, out)
	if metricsURL == "" {
		t.Fatal("no \"metrics on URL\" line before the listening line")
	}
	c, err := api.NewClient(base)
	if err != nil {
		t.Fatal(err)
	}
	_, raw, err := c.CreateSong(ctx, api.CreateSongRequestObject{Body: tide})
	if err != nil {
		t.Fatal(err)
	}
	if _, again, err := c.CreateSong(ctx, api.CreateSongRequestObject{Body: tide}, client.WithIdempotencyKey(raw.Result.Key)); err != nil || !again.Result.Replayed {
		t.Fatalf("retry: %v, replayed %v", err, again != nil && again.Result.Replayed)
	}

	res, err := http.Get(metricsURL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, want := range []string{
		`(?m)^idempotency_outcomes_total\{[^}]*idempotency_outcome="executed",oas_operation="createSong"[^}]*\} 1$`,
		`(?m)^idempotency_outcomes_total\{[^}]*idempotency_outcome="replayed",oas_operation="createSong"[^}]*\} 1$`,
		`(?m)^http_server_request_duration_seconds_count\{[^}]*http_route="/songs"[^}]*\} 2$`,
	} {
		if !regexp.MustCompile(want).Match(body) {
			t.Errorf("metrics lack %s:\n%s", want, body)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return within 10s of the context ending")
	}
}
