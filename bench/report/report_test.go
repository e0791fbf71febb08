package report

import (
	"strings"
	"testing"
	"time"
)

func TestRender(t *testing.T) {
	doc := Doc{
		Machine: Machine{Cores: 2, GoVersion: "go1.26.8", Command: "make bench-compare", Duration: time.Second, Requests: 20000, Repeats: 3, LoadAvgStart: "1.50, 1.20, 0.90", LoadAvgEnd: "2.00, 1.40, 1.00"},
		Load: []LoadRow{
			{Scenario: "fresh", Contender: "nethttp", Baseline: "nethttp", RPS: 10000, Ratio: 1, RatioMin: 1, RatioMax: 1, P50: 2 * time.Millisecond, P99: 9 * time.Millisecond, Status2xx: 30000, Keys: 30000, Executions: 30000, ExecutedKeys: 30000},
			{Scenario: "fresh", Contender: "idemgen-memory", Baseline: "nethttp", RPS: 9000, RPSMin: 8000, RPSMax: 9500, Ratio: 0.9, RatioMin: 0.85, RatioMax: 0.95, CPUPerReq: 40 * time.Microsecond, CPURatio: 0.8, CPURatioMin: 0.7, CPURatioMax: 0.9, GenCPUPerReq: 30 * time.Microsecond},
			{Scenario: "fresh", Contender: "idemgen-redis", Baseline: "nethttp", RPS: 5000, GenCPUPerReq: 31 * time.Microsecond, StoreCPUPerReq: 45500 * time.Nanosecond},
			{Scenario: "contention", Contender: "fiber2-redis", Baseline: "fiber2", RPS: 4000, Status2xx: 12000, Keys: 375, Executions: 403, ExecutedKeys: 375, Divergent: 380},
		},
		Trips: []TripRow{{Contender: "idemgen-redis", Store: "redis", First: 2, FirstRoundTrips: 2, FirstServerMicros: 30.5, Replay: 1, ReplayRoundTrips: 1, FirstDetail: "EVALSHA 2.00"}},
		Gen:   []GenRow{{Spec: "a.yaml", Tool: "idemgen", Time: 150 * time.Millisecond, Ratio: 0.5, RSSKiB: 40960, Generate: "ok", Build: "ok", Vet: "ok"}, {Spec: "a.yaml", Tool: "oapi-codegen", Generate: "ok", Build: "FAILS: x | y", Vet: "-"}},
		Lint: []LintRow{
			{Spec: "big.json", Tool: "idemgen lint", Time: 900 * time.Microsecond, CPU: 800 * time.Microsecond, Ratio: 0.0002, Exit: "0"},
			{Spec: "big.json", Tool: "Spectral", CPU: 5 * time.Second, Time: 6 * time.Second, Ratio: 1.25, Exit: "1"},
		},
		Proxy: []LoadRow{
			{Scenario: "proxy: fresh", Contender: "proxy-direct", Baseline: "proxy-direct", RPS: 8000, Ratio: 1, P50: 3 * time.Millisecond, P99: 20 * time.Millisecond, Keys: 100, Executions: 100, ExecutedKeys: 100},
			{Scenario: "proxy: fresh", Contender: "proxy-memory", Baseline: "proxy-direct", RPS: 2000, Ratio: 0.25, P50: 12 * time.Millisecond, P99: 80 * time.Millisecond, Keys: 100, Executions: 100, ExecutedKeys: 100},
		},
		Findings: []string{"Target met: x."},
		Notes:    []string{"note"},
		Analysis: "## Analysis\n\ntext\n",
	}
	var b strings.Builder
	if err := Render(&b, doc); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"`make bench-compare`", "Ratios and CPU time are what matter", "| cores | 2 |",
		"| load average (1, 5, 15 min) | 1.50, 1.20, 0.90 at the start, 2.00, 1.40, 1.00 at the end |",
		"| 20000 requests or 1s each, whichever first",
		"- Target met: x.",
		"| nethttp | 10000 | 1.00× | — | — | — | 2.0ms | 9.0ms |",
		"| idemgen-memory | 9000 [8000–9500] | 0.90× [0.85–0.95] | 40.0µs | 0.80× [0.70–0.90] | 30.0µs |",
		"| idemgen-redis | 5000 | — | — | — | 31.0 + 45.5µs |",
		"| fiber2-redis | 4000 | — |", "| **28** | **380** |",
		"| idemgen-redis | redis | 2.00 | 2.00 | 30.5 | 1.00 | 1.00 | — | EVALSHA 2.00 |",
		"| a.yaml | idemgen | 150.0ms | 0.50× | 40 MiB | ok | ok | ok |",
		`FAILS: x \| y`,
		"Informative only: the rule sets differ", "| big.json | idemgen lint |  | 800µs | 0.00× | 900µs |", "| big.json | Spectral |  | 5.00s | 1.25× | 6.00s |",
		"- note", "## Analysis\n\ntext\n\n## 1. Runtime",
		"## 5. Gateway mode (`idemgen proxy`) against a direct call", "### proxy: fresh",
		"| contender | req/s [min–max] | vs direct | CPU/req | CPU vs direct | gen (+Redis) CPU/req | p50 | p99 | allocs/req | B/req | 2xx | 409 | other | keys | upstream executions | dup | divergent |",
		"| proxy-memory | 2000 | 0.25× | — | — | — | 12.0ms | 80.0ms |",
		"| 100 | 100 | 0 | 0 |\n\n## Notes from this run",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if t.Failed() {
		t.Log(out)
	}
}
