package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/idemgen/idemgen/bench/contender"
	"github.com/idemgen/idemgen/bench/loadgen"
	"github.com/idemgen/idemgen/bench/report"
	"github.com/idemgen/idemgen/bench/workload"
)

// TestMain lets the test binary act as the `benchcompare serve` child that
// startChild runs (it re-executes os.Executable()).
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "serve" {
		if err := serve(context.Background(), os.Args[2:], os.Stdin, os.Stdout); err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestRunCell runs short cells through real child processes: the counters
// come back, a bare handler executes every request, and two idemgen processes
// sharing one SQLite file never run a key twice under contention.
func TestRunCell(t *testing.T) {
	ctx := context.Background()
	env := contender.Env{SQLitePath: filepath.Join(t.TempDir(), "cell.db")}
	body, err := workload.Body(1024)
	if err != nil {
		t.Fatal(err)
	}
	set := loadSettings{duration: 300 * time.Millisecond, warmup: 50 * time.Millisecond}

	bare, err := startChild(ctx, "nethttp", "t0", env, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer bare.stop()
	s, err := runCell(ctx, set, []*child{bare}, scenario{"fresh", loadgen.Fresh, 8, 1}, body, 1, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.res.Requests == 0 || s.executions != s.res.Requests || s.executedKeys != s.res.Requests || s.allocs <= 0 || s.bytes <= 0 || s.genCPU <= 0 || s.storeCPU != 0 {
		t.Fatalf("bare fresh: %+v", s)
	}

	var procs []*child
	for i := range 2 {
		c, err := startChild(ctx, "idemgen-sqlite", "t"+string(rune('1'+i)), env, -1)
		if err != nil {
			t.Fatal(err)
		}
		defer c.stop()
		procs = append(procs, c)
	}
	s, err = runCell(ctx, set, procs, scenario{"contention", loadgen.Contention, 16, 2}, body, 2, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.res.Requests == 0 || s.executions == 0 || s.executions != s.executedKeys || s.res.Divergent != 0 {
		t.Fatalf("idemgen-sqlite, 2 processes: %d executions of %d keys, %+v", s.executions, s.executedKeys, s.res)
	}

	// The gateway in front of the upstream, in its own child: replays come
	// from its store, so the upstream runs once per key.
	gw, err := startChild(ctx, "proxy-memory", "t3", env, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer gw.stop()
	s, err = runCell(ctx, set, []*child{gw}, proxyScenarios[2], body, 3, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.res.Requests == 0 || s.executions == 0 || s.executions != s.executedKeys || s.executions >= s.res.Requests || s.res.Divergent != 0 || s.allocs <= 0 {
		t.Fatalf("proxy-memory, replay: %d upstream executions of %d keys for %d requests, %+v", s.executions, s.executedKeys, s.res.Requests, s.res)
	}
}

// TestRunLoadProxy runs the proxy section end to end, briefly: a row per
// (scenario, contender), each proxied row with its ratio to the direct call of
// the same repeat.
func TestRunLoadProxy(t *testing.T) {
	set := loadSettings{duration: 100 * time.Millisecond, repeats: 2,
		contenders: []string{contender.ProxyBaseline, "proxy-memory"}}
	var doc report.Doc
	rows, err := runLoad(context.Background(), set, proxyScenarios[:1], contender.Env{}, &doc)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || len(doc.Notes) != 0 {
		t.Fatalf("rows %+v, notes %v", rows, doc.Notes)
	}
	for _, r := range rows {
		if r.RPS <= 0 || r.Ratio <= 0 || r.Baseline != contender.ProxyBaseline || r.Executions != r.Keys {
			t.Errorf("row %+v", r)
		}
	}
	if rows[0].Contender != contender.ProxyBaseline || rows[0].Ratio != 1 {
		t.Errorf("first row %+v, want the direct call at 1.00×", rows[0])
	}
}

func TestStartChildUnknownContender(t *testing.T) {
	if _, err := startChild(context.Background(), "nope", "x", contender.Env{}, -1); err == nil {
		t.Fatal("startChild of an unknown contender succeeded")
	}
}

// TestRunCellRedisCPU: a Redis contender's cell charges the private
// redis-server's CPU time to it.
func TestRunCellRedisCPU(t *testing.T) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server not installed")
	}
	ctx := context.Background()
	r, err := startRedis(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer r.stop()
	body, err := workload.Body(1024)
	if err != nil {
		t.Fatal(err)
	}
	c, err := startChild(ctx, "idemgen-redis", "r0", contender.Env{RedisURL: "redis://" + r.addr + "/0"}, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer c.stop()
	set := loadSettings{duration: 300 * time.Millisecond, warmup: 50 * time.Millisecond}
	s, err := runCell(ctx, set, []*child{c}, scenario{"fresh", loadgen.Fresh, 8, 1}, body, 7, false, r)
	if err != nil {
		t.Fatal(err)
	}
	if s.res.Requests == 0 || s.genCPU <= 0 || s.storeCPU <= 0 {
		t.Fatalf("idemgen-redis fresh: %+v", s)
	}
}
