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

// generator returns the generator name, closed before the servers the test
// started earlier.
func generator(t *testing.T, name string) loadgen.Generator {
	t.Helper()
	g, err := loadgen.New(name, 8)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Close) // before the server's Close, registered earlier
	return g
}

// eachGenerator runs f as a subtest per generator.
func eachGenerator(t *testing.T, f func(t *testing.T, gen string)) {
	for _, gen := range loadgen.Generators {
		t.Run(gen, func(t *testing.T) { f(t, gen) })
	}
}

func run(t *testing.T, g loadgen.Generator, url string, mode loadgen.Mode) loadgen.Result {
	t.Helper()
	body, err := workload.Body(1024)
	if err != nil {
		t.Fatal(err)
	}
	res, err := g.Run(context.Background(), loadgen.Config{
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
	eachGenerator(t, func(t *testing.T, gen string) {
		url, rec := serve(t, "nethttp")
		g := generator(t, gen)
		res := run(t, g, url, loadgen.Fresh)
		if res.Status[201] != res.Requests || res.Keys != res.Requests || res.Divergent != 0 {
			t.Fatalf("fresh: %+v", res)
		}
		total, distinct := executions(rec)
		if total != res.Requests || distinct != res.Keys {
			t.Fatalf("fresh: %d executions of %d keys, want %d of %d", total, distinct, res.Requests, res.Keys)
		}
		// Without idempotency every repeat runs the handler again, and the client sees it.
		rec.Reset()
		res = run(t, g, url, loadgen.Replay)
		if res.Keys >= res.Requests || res.Divergent == 0 {
			t.Fatalf("replay on a bare handler: %+v; want repeats and divergent answers", res)
		}
		if total, _ := executions(rec); total != res.Requests {
			t.Fatalf("replay: %d executions, want %d", total, res.Requests)
		}
	})
}

// Fiber (fasthttp) answers with its own header layout; its middleware replays
// the first answer, so no answer diverges.
func TestFiberMiddlewareReplays(t *testing.T) {
	eachGenerator(t, func(t *testing.T, gen string) {
		url, rec := serve(t, "fiber2-memory")
		g := generator(t, gen)
		for _, mode := range []loadgen.Mode{loadgen.Replay, loadgen.Contention} {
			rec.Reset()
			res := run(t, g, url, mode)
			total, distinct := executions(rec)
			if res.Divergent != 0 || total != distinct || distinct > res.Keys || res.Keys >= res.Requests {
				t.Fatalf("%s: %+v, %d executions of %d keys", mode, res, total, distinct)
			}
		}
	})
}

// Against a bare Fiber handler every repeat runs again: the raw generator
// reads fasthttp's receipts and sees the divergence.
func TestBareFiberDiverges(t *testing.T) {
	eachGenerator(t, func(t *testing.T, gen string) {
		url, _ := serve(t, "fiber3")
		res := run(t, generator(t, gen), url, loadgen.Contention)
		if res.Status[201] != res.Requests || res.Divergent == 0 {
			t.Fatalf("contention on bare Fiber: %+v; want divergent answers", res)
		}
	})
}

func TestKey(t *testing.T) {
	seen := map[string]bool{}
	for _, n := range []uint64{0, 1, 1 << 20, 1 << 40, 1<<48 - 1} {
		k := loadgen.Key(3, n)
		if len(k) != loadgen.KeySize || seen[k] {
			t.Fatalf("Key(3, %d) = %q", n, k)
		}
		seen[k] = true
	}
	if loadgen.Key(3, 5) == loadgen.Key(4, 5) {
		t.Fatal("keys of two runs collide")
	}
	if got, want := loadgen.Key(0xdeadbeef, 0x0123456789abcdef), "deadbeef-2345-4678-89ab-456789abcdef"; got != want {
		t.Fatalf("Key = %q, want %q", got, want)
	}
}

func TestRunRejectsBadConfig(t *testing.T) {
	eachGenerator(t, func(t *testing.T, gen string) {
		g := generator(t, gen)
		for _, cfg := range []loadgen.Config{
			{Mode: loadgen.Fresh, Concurrency: 1, Duration: time.Second},
			{Targets: []string{"http://127.0.0.1:1/"}, Mode: "other", Concurrency: 1, Duration: time.Second},
			{Targets: []string{"http://127.0.0.1:1/"}, Mode: loadgen.Fresh, Duration: time.Second},
		} {
			if _, err := g.Run(context.Background(), cfg); err == nil {
				t.Fatalf("Run(%+v) succeeded", cfg)
			}
		}
	})
	if _, err := loadgen.New("other", 1); err == nil {
		t.Fatal(`New("other") succeeded`)
	}
}

// A request cap ends the run before its duration: exactly that many requests.
func TestRequestCap(t *testing.T) {
	eachGenerator(t, func(t *testing.T, gen string) {
		url, rec := serve(t, "nethttp")
		body, err := workload.Body(1024)
		if err != nil {
			t.Fatal(err)
		}
		res, err := generator(t, gen).Run(context.Background(), loadgen.Config{
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
	})
}

// Cancelling the context ends a run against a server that never answers.
func TestCancel(t *testing.T) {
	eachGenerator(t, func(t *testing.T, gen string) {
		url := silentServer(t)
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := generator(t, gen).Run(ctx, loadgen.Config{Targets: []string{url}, Mode: loadgen.Fresh, Concurrency: 2, Duration: time.Minute, Body: []byte("{}")})
		if err == nil || time.Since(start) > 10*time.Second {
			t.Fatalf("run against a silent server: %v after %v, want an error soon after the cancel", err, time.Since(start))
		}
	})
}
