package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/idemgen/idemgen/bench/loadgen"
	"github.com/idemgen/idemgen/bench/report"
)

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{{nil, 0}, {[]float64{3}, 3}, {[]float64{5, 1, 3}, 3}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := median(c.in); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}

func TestAggregateAndRatio(t *testing.T) {
	mk := func(rep, reqs int, sec float64, execs, keys int) sample {
		return sample{rep: rep, executions: execs, executedKeys: keys, allocs: float64(reqs) / 100,
			res: loadgen.Result{Requests: reqs, Elapsed: time.Duration(sec * float64(time.Second)), Status: map[int]int{201: reqs - 2, 409: 1, 500: 1}, Keys: keys, P50: time.Millisecond, P99: time.Duration(reqs) * time.Microsecond}}
	}
	ours := []sample{mk(0, 900, 1, 10, 10), mk(1, 800, 1, 12, 11), mk(2, 1000, 1, 10, 10)}
	base := []sample{mk(0, 1000, 1, 0, 0), mk(2, 1000, 1, 0, 0)} // repeat 1 failed for the baseline
	row := aggregate("s", "ours", "base", ours)
	if row.RPS != 900 || row.P99 != 900*time.Microsecond || row.Requests != 2700 || row.Status2xx != 2694 || row.Status409 != 3 || row.StatusOther != 3 || row.Duplicates() != 1 || row.AllocsPerReq != 9 {
		t.Fatalf("row = %+v", row)
	}
	if r, lo, hi := pairedRatios(ours, base, func(s sample) float64 { return s.res.RPS() }); r != 0.95 || lo != 0.9 || hi != 1 {
		t.Fatalf("ratio = %v [%v–%v], want 0.95 [0.9–1] (repeats 0 and 2 only)", r, lo, hi)
	}
}

func TestFindings(t *testing.T) {
	fresh, cont := scenarios[0].name, scenarios[2].name
	doc := report.Doc{
		Machine: report.Machine{Pinned: true},
		Load: []report.LoadRow{
			{Scenario: fresh, Contender: "idemgen-memory", Baseline: "nethttp", Ratio: 0.8, RatioMin: 0.7, RatioMax: 0.85, CPURatio: 0.75, CPURatioMin: 0.7, CPURatioMax: 0.8, CPUPerReq: 50 * time.Microsecond},
			{Scenario: fresh, Contender: "idemgen-sqlite", Baseline: "nethttp", Ratio: 0.55, RatioMin: 0.5, RatioMax: 0.6},
			{Scenario: fresh, Contender: "nethttp", Baseline: "nethttp", RPS: 10000, GenCPUPerReq: 50 * time.Microsecond},
			{Scenario: fresh, Contender: "idemgen-redis", Baseline: "nethttp", RPS: 5000, Ratio: 0.5, GenCPUPerReq: 60 * time.Microsecond, StoreCPUPerReq: 65 * time.Microsecond},
			{Scenario: fresh, Contender: "fiber2-memory", Baseline: "fiber2", Ratio: 0.9},
			{Scenario: cont, Contender: "idemgen-redis", Baseline: "nethttp", Ratio: 0.5, Executions: 3, ExecutedKeys: 2},
			{Scenario: cont, Contender: "fiber3-redis", Baseline: "fiber3", Ratio: 0.4, Executions: 5, ExecutedKeys: 4},
			{Scenario: cont, Contender: "nethttp", Baseline: "nethttp", Executions: 9, ExecutedKeys: 2},
		},
		Gen: []report.GenRow{{Spec: "a", Tool: "idemgen", Ratio: 1.2, Generate: "ok", Build: "FAILS: x", Vet: "-"}},
	}
	got := strings.Join(findings(doc), "\n")
	for _, want := range []string{
		"Target MISSED: idemgen-memory, fresh keys, 32 clients: 0.80× [0.70–0.85] of bare net/http's throughput (want ≥ 0.92×); CPU per request 0.75× [0.70–0.80] of bare's (50µs of server CPU per request).",
		"Target met: idemgen-sqlite, fresh keys, 32 clients: 0.55× [0.50–0.60] of bare net/http's throughput (want ≥ 0.50×)",
		"Target MISSED: idemgen ahead of Fiber's middleware store for store in 1 of 2 comparisons; behind in: fresh keys, 32 clients: idemgen-memory 0.80× of bare net/http vs fiber2-memory 0.90× of bare Fiber.",
		"Correctness MISSED: idemgen-redis",
		"Peers that ran the handler twice for one key: fiber3-redis",
		"idemgen takes 1.20× oapi-codegen's time on a",
		"idemgen's output for a: generate ok, build FAILS: x",
		"Where idemgen-redis's throughput is capped: the load generator and the private redis-server share one CPU and use 60µs + 65µs of it per request (medians; bare net/http's load generator 50µs), so that CPU alone allows at most 8000 req/s, 0.80× of bare's 10000.",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("findings lack %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "nethttp (") || strings.Contains(got, "behind in: contention") {
		t.Errorf("findings blame a bare handler or a contender ahead of its peer:\n%s", got)
	}
}

func TestProxyFindings(t *testing.T) {
	fresh, replay := proxyScenarios[0].name, proxyScenarios[2].name
	rows := []report.LoadRow{
		{Scenario: fresh, Contender: "proxy-direct", Baseline: "proxy-direct", Ratio: 1, RPS: 8000, P50: 3 * time.Millisecond, P99: 20 * time.Millisecond, Keys: 10, Executions: 10, ExecutedKeys: 10},
		{Scenario: fresh, Contender: "proxy-passthrough", Baseline: "proxy-direct", Ratio: 0.5, RPS: 4000, P50: 6 * time.Millisecond, P99: 30 * time.Millisecond},
		{Scenario: fresh, Contender: "proxy-memory", Baseline: "proxy-direct", Ratio: 0.4, RPS: 3200, P50: 8 * time.Millisecond, P99: 40 * time.Millisecond, Keys: 10, Executions: 10, ExecutedKeys: 10},
		{Scenario: replay, Contender: "proxy-direct", Baseline: "proxy-direct", Ratio: 1, RPS: 8000, Keys: 5, Executions: 50, ExecutedKeys: 5, Divergent: 45},
		{Scenario: replay, Contender: "proxy-memory", Baseline: "proxy-direct", Ratio: 1.1, RPS: 8800, Keys: 5, Executions: 5, ExecutedKeys: 5},
	}
	got := strings.Join(proxyFindings(rows), "\n")
	for _, want := range []string{
		"Gateway overhead, fresh keys, 32 clients: throughput through the proxy over the direct call (8000 req/s, p50 3.0ms, p99 20.0ms): proxy-memory 0.40× (3200 req/s, p50 8.0ms, p99 40.0ms); proxy-passthrough 0.50× (4000 req/s, p50 6.0ms, p99 30.0ms).",
		"Gateway overhead, replay-heavy (90% repeats), 32 clients: throughput through the proxy over the direct call (8000 req/s, p50 —, p99 —): proxy-memory 1.10×",
		"Correctness: the idempotent gateway ran the upstream once per key in every proxy mode (15 upstream executions for 15 distinct keys sent",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("findings lack %q:\n%s", want, got)
		}
	}
	rows[4].Executions = 6
	if got := strings.Join(proxyFindings(rows), "\n"); !strings.Contains(got, "Correctness MISSED: the idempotent gateway ran the upstream twice for a key: proxy-memory (proxy: replay-heavy (90% repeats), 32 clients: 1 duplicate upstream executions") {
		t.Errorf("a duplicate upstream execution is not reported:\n%s", got)
	}
	if got := findings(report.Doc{Proxy: rows}); !strings.Contains(strings.Join(got, "\n"), "Gateway overhead") {
		t.Errorf("findings leave out the proxy section: %v", got)
	}
}

func TestCountJSON(t *testing.T) {
	for in, want := range map[string]string{
		`[{"a":1},{"b":2}]`: "2",
		`{"totals":{"errors":3,"warnings":4},"problems":[]}`: "3 errors, 4 warnings",
		`{"findings":[{},{},{}]}`:                            "3",
		`not json`:                                           "unparsed output",
	} {
		if got := countJSON([]byte(in)); got != want {
			t.Errorf("countJSON(%s) = %q, want %q", in, got, want)
		}
	}
}

func TestPerRequest(t *testing.T) {
	m, rt, d := perRequest("postgres", map[string]int{"Bind": 100, "Execute": 100, "Sync": 100, "Query": 0})
	if m != 2 || rt != 2 || d != "Bind 2.00, Execute 2.00, Query 0.00, Sync 2.00" {
		t.Fatalf("postgres: %v %v %q", m, rt, d)
	}
	m, rt, _ = perRequest("redis", map[string]int{"EVALSHA": 50, "GET": 25})
	if m != 1.5 || rt != 1.5 {
		t.Fatalf("redis: %v %v", m, rt)
	}
}

func TestRunOrder(t *testing.T) {
	names := []string{"nethttp", "idemgen-memory", "idemgen-redis", "fiber2", "fiber2-memory"}
	if got := fmt.Sprint(runOrder(names, 0)); got != "[0 1 2 3 4]" {
		t.Fatalf("even repeat: %s", got)
	}
	if got := fmt.Sprint(runOrder(names, 1)); got != "[2 1 0 4 3]" {
		t.Fatalf("odd repeat: %s", got)
	}
	proxy := []string{"proxy-direct", "proxy-passthrough", "proxy-memory"}
	if got := fmt.Sprint(runOrder(proxy, 1)); got != "[2 1 0]" {
		t.Fatalf("proxy, odd repeat: %s (one group, the direct call its baseline)", got)
	}
}

func TestCommandStats(t *testing.T) {
	before := parseCommandStats("# Commandstats\r\ncmdstat_evalsha:calls=10,usec=360,usec_per_call=36.00,rejected_calls=0,failed_calls=0\r\ncmdstat_info:calls=1,usec=50,usec_per_call=50.00\r\n")
	after := parseCommandStats("# Commandstats\r\ncmdstat_evalsha:calls=12,usec=400,usec_per_call=33.33\r\ncmdstat_get:calls=3,usec=6,usec_per_call=2.00\r\ncmdstat_set:calls=2,usec=8,usec_per_call=4.00\r\ncmdstat_info:calls=2,usec=100,usec_per_call=50.00\r\n")
	if before["EVALSHA"] != (cmdStat{calls: 10, usec: 360}) || len(before) != 2 {
		t.Fatalf("before = %v", before)
	}
	// The SETs ran inside the scripts: their time is in EVALSHA's already.
	if got := serverMicros(before, after, map[string]int{"EVALSHA": 2, "GET": 3}); got != 46 {
		t.Fatalf("serverMicros = %d, want 40 (EVALSHA) + 6 (GET); INFO and the scripts' SETs left out", got)
	}
}

func TestParseCPUInfo(t *testing.T) {
	info := "# CPU\r\nused_cpu_sys:1.250000\r\nused_cpu_user:0.500001\r\nused_cpu_sys_children:9.000000\r\n"
	if ns, err := parseCPUInfo(info); err != nil || ns != 1_750_001_000 {
		t.Fatalf("parseCPUInfo = %d, %v; want 1750001000", ns, err)
	}
	if _, err := parseCPUInfo("# CPU\r\nused_cpu_sys:1.0\r\n"); err == nil {
		t.Fatal("parseCPUInfo accepted a reply without used_cpu_user")
	}
}
