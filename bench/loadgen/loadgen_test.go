package loadgen_test

import (
	"context"
	"testing"
	"time"

	"github.com/idemgen/idemgen/bench/contender"
	"github.com/idemgen/idemgen/bench/internal/benchtest"
	"github.com/idemgen/idemgen/bench/loadgen"
	"github.com/idemgen/idemgen/bench/workload"
)

// serve starts the contender name on loopback and returns its URL and recorder.
func serve(t *testing.T, name string) (string, *contender.Recorder) {
	t.Helper()
	url, rec, _ := benchtest.Serve(t, name, contender.Env{})
	return url, rec
}

func run(t *testing.T, url string, mode loadgen.Mode) loadgen.Result {
	t.Helper()
	body, err := workload.Body(1024)
	if err != nil {
		t.Fatal(err)
	}
	client := loadgen.NewClient(8)
	t.Cleanup(client.CloseIdleConnections) // before the server's Close, registered earlier
	res, err := loadgen.Run(context.Background(), client, loadgen.Config{
		Targets: []string{url}, Mode: mode, Concurrency: 8, Duration: 150 * time.Millisecond, Body: body, Run: 7,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Errors != 0 || res.Requests < 16 || res.P50 <= 0 || res.P99 < res.P50 || res.RPS() <= 0 {
		t.Fatalf("%s: result %+v", mode, res)
	}
	return res
}

func executions(rec *contender.Recorder) (total, distinct int) {
	for _, n := range rec.Snapshot() {
		total += int(n)
		distinct++
	}
	return total, distinct
}

func TestBareHandlerRunsEveryRequest(t *testing.T) {
	url, rec := serve(t, "nethttp")
	res := run(t, url, loadgen.Fresh)
	if res.Status[201] != res.Requests || res.Keys != res.Requests || res.Divergent != 0 {
		t.Fatalf("fresh: %+v", res)
	}
	total, distinct := executions(rec)
	if total != res.Requests || distinct != res.Keys {
		t.Fatalf("fresh: %d executions of %d keys, want %d of %d", total, distinct, res.Requests, res.Keys)
	}
	// Without idempotency every repeat runs the handler again, and the client sees it.
	rec.Reset()
	res = run(t, url, loadgen.Replay)
	if res.Keys >= res.Requests || res.Divergent == 0 {
		t.Fatalf("replay on a bare handler: %+v; want repeats and divergent answers", res)
	}
	if total, _ := executions(rec); total != res.Requests {
		t.Fatalf("replay: %d executions, want %d", total, res.Requests)
	}
}

func TestFiberMiddlewareReplays(t *testing.T) {
	url, rec := serve(t, "fiber2-memory")
	for _, mode := range []loadgen.Mode{loadgen.Replay, loadgen.Contention} {
		rec.Reset()
		res := run(t, url, mode)
		total, distinct := executions(rec)
		if res.Divergent != 0 || total != distinct || distinct > res.Keys || res.Keys >= res.Requests {
			t.Fatalf("%s: %+v, %d executions of %d keys", mode, res, total, distinct)
		}
	}
}

func TestKey(t *testing.T) {
	seen := map[string]bool{}
	for _, n := range []uint64{0, 1, 1 << 20, 1 << 40, 1<<48 - 1} {
		k := loadgen.Key(3, n)
		if len(k) != 36 || seen[k] {
			t.Fatalf("Key(3, %d) = %q", n, k)
		}
		seen[k] = true
	}
	if loadgen.Key(3, 5) == loadgen.Key(4, 5) {
		t.Fatal("keys of two runs collide")
	}
}

func TestRunRejectsBadConfig(t *testing.T) {
	for _, cfg := range []loadgen.Config{
		{Mode: loadgen.Fresh, Concurrency: 1, Duration: time.Second},
		{Targets: []string{"http://127.0.0.1:1/"}, Mode: "other", Concurrency: 1, Duration: time.Second},
		{Targets: []string{"http://127.0.0.1:1/"}, Mode: loadgen.Fresh, Duration: time.Second},
	} {
		if _, err := loadgen.Run(context.Background(), loadgen.NewClient(1), cfg); err == nil {
			t.Fatalf("Run(%+v) succeeded", cfg)
		}
	}
}

// A request cap ends the run before its duration: exactly that many requests.
func TestRequestCap(t *testing.T) {
	url, rec := serve(t, "nethttp")
	body, err := workload.Body(1024)
	if err != nil {
		t.Fatal(err)
	}
	client := loadgen.NewClient(8)
	t.Cleanup(client.CloseIdleConnections)
	res, err := loadgen.Run(context.Background(), client, loadgen.Config{
		Targets: []string{url}, Mode: loadgen.Fresh, Concurrency: 8, Duration: time.Minute, Requests: 300, Body: body, Run: 9,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 300 || res.Elapsed >= time.Minute {
		t.Fatalf("%d requests in %v, want 300 well before the minute", res.Requests, res.Elapsed)
	}
	if total, _ := executions(rec); total != 300 {
		t.Fatalf("%d executions, want 300", total)
	}
}
