// Package report renders the comparison as Markdown (docs/benchmarks.md).
package report

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// Doc is everything one benchmark run measured.
type Doc struct {
	Machine Machine
	// Load holds one row per (scenario, contender), in display order.
	Load []LoadRow
	// Proxy holds one row per (scenario, contender) of the gateway section:
	// the upstream reached directly (the baseline of Ratio) and through
	// `idemgen proxy`'s gateway.
	Proxy []LoadRow
	// Trips holds one row per contender with a networked store.
	Trips []TripRow
	// Gen holds one row per (spec, generator).
	Gen []GenRow
	// Lint holds one row per (spec, linter), in display order.
	Lint []LintRow
	// Cost holds one row per (request, contender) of the server-cost
	// section: CPU per request of the same spec served by each generator.
	Cost []CostRow
	// Notes are remarks gathered during the run (skipped contenders, failures).
	Notes []string
	// Findings are the targets checked against this run's figures.
	Findings []string
	// Analysis is hand-written Markdown (bench/analysis.md): what profiling
	// found behind the missed targets, and the fixes proposed. Included verbatim.
	Analysis string
}

// Machine describes where and how the run happened.
type Machine struct {
	Cores     int
	CPU       string
	OS        string
	GoVersion string
	Date      string
	Command   string
	// Duration, Requests and Repeats are the load runs' settings: a run ends
	// after Requests requests or Duration, whichever comes first.
	Duration time.Duration
	Requests int
	Repeats  int
	Warmup   time.Duration
	// Pinning says how server and load generator were placed on CPUs;
	// Pinned is true when each has a CPU of its own.
	Pinning string
	Pinned  bool
	// LoadAvg is /proc/loadavg's 1, 5 and 15 minute averages at the start
	// and at the end of the run.
	LoadAvgStart, LoadAvgEnd string
	// LoadGen says which load generator sent the load runs' requests and how.
	LoadGen string
	// ToolRepeats is the repeats of each generator and lint run.
	ToolRepeats int
	Elapsed     time.Duration
}

// LoadRow is one contender in one load scenario, aggregated over repeats.
type LoadRow struct {
	Scenario  string
	Contender string
	Baseline  string
	// RPS, P50, P99, AllocsPerReq and CPUPerReq are medians over the
	// repeats; RPSMin and RPSMax the extremes.
	RPS, RPSMin, RPSMax float64
	// CPUPerReq is the server process's CPU time (user+system) per request.
	CPUPerReq time.Duration
	// GenCPUPerReq is the load generator's CPU time per request, and
	// StoreCPUPerReq the private Redis server's (0 when not measured): with
	// pinning, both run on the CPU the server does not use.
	GenCPUPerReq, StoreCPUPerReq time.Duration
	P50, P99                     time.Duration
	AllocsPerReq                 float64
	BytesPerReq                  float64
	// Ratio is the median over repeats of RPS / the baseline's RPS in the same
	// repeat (0 when there is no baseline in that scenario), with its extremes.
	Ratio, RatioMin, RatioMax float64
	// CPURatio is the median over repeats of the baseline's CPU per request /
	// ours in the same repeat (below 1: we cost more), with its extremes.
	CPURatio, CPURatioMin, CPURatioMax float64
	// Repeats is the number of repeats aggregated.
	Repeats int
	// The counts below are summed over the repeats.
	Requests     int
	Status2xx    int
	Status409    int
	StatusOther  int
	Errors       int
	Keys         int // distinct keys the client sent
	Executions   int // handler executions
	ExecutedKeys int // distinct keys the handler ran for
	Divergent    int // 2xx answers from another execution than the key's first 2xx
}

// Duplicates is the number of handler executions beyond one per key.
func (r LoadRow) Duplicates() int { return r.Executions - r.ExecutedKeys }

// TripRow is the store traffic of one contender per request.
type TripRow struct {
	Contender string
	Store     string
	// First and Replay are commands (Redis) or statements (PostgreSQL) per first
	// request and per replay; the RoundTrip fields count network round trips.
	First, Replay                     float64
	FirstRoundTrips, ReplayRoundTrips float64
	// FirstServerMicros and ReplayServerMicros are the store server's own time
	// per request in µs (Redis INFO commandstats; 0 when not measured).
	FirstServerMicros, ReplayServerMicros float64
	// FirstDetail and ReplayDetail break the counts down by message.
	FirstDetail, ReplayDetail string
}

// GenRow is one generator on one spec.
type GenRow struct {
	Spec string
	Tool string
	// Time is the median wall time of the repeats; RSSKiB the largest peak RSS.
	Time   time.Duration
	RSSKiB int64
	// Ratio is Time / oapi-codegen's Time on the same spec (0 when unknown).
	Ratio    float64
	Generate string // "ok" or the failure
	Build    string // "ok", the first compile error, or "-" when not attempted
	Vet      string
}

// LintRow is one linter on one spec.
type LintRow struct {
	Spec     string
	Tool     string
	Ruleset  string
	Time     time.Duration // median wall time
	CPU      time.Duration // median user + system time
	RSSKiB   int64
	Ratio    float64 // CPU / the reference linter's CPU on the same spec (Redocly's)
	Findings string
	Exit     string
}

// CostRow is one contender serving one request of bench/servercost.
type CostRow struct {
	Request   string // "POST" or "GET"
	Contender string
	// CPU is the median server CPU per request [Min–Max over the repeats].
	CPU, Min, Max time.Duration
	Allocs, Bytes int64
	Ratio         float64 // CPU / the hand-written handler's CPU
}

// Render writes doc as Markdown.
func Render(w io.Writer, doc Doc) error {
	var b strings.Builder
	m := doc.Machine
	b.WriteString("# Benchmarks: idemgen against the alternatives\n\n")
	b.WriteString("Generated by `" + m.Command + "` (bench/cmd/benchcompare, its own Go module so that the peers never enter the main go.mod); do not edit by hand. " +
		"Flags go through `BENCH_FLAGS`, e.g. `make bench-compare BENCH_FLAGS='-sections load -modes fresh -repeats 5'`; `-profile idemgen-memory/fresh` saves a CPU profile of one contender during one mode.\n\n")
	b.WriteString("**Ratios and CPU time are what matter.** The machine may be shared and noisy (see the load average below): every figure is a median of repeated runs with its min–max, " +
		"and every ratio compares two contenders measured in the same repeat, seconds apart. Throughput moves with whatever else runs on the machine; the server's CPU time per request moves far less. Absolute numbers move between runs; read them as orders of magnitude.\n\n")
	fmt.Fprintf(&b, "| machine | |\n|---|---|\n| cores | %d |\n| CPU | %s |\n| OS | %s |\n| Go | %s |\n| date | %s |\n| load average (1, 5, 15 min) | %s at the start, %s at the end |\n| load runs | %d requests or %v each, whichever first, after a %v warm-up; a fresh server process per contender, mode and repeat; %d repeats, contenders interleaved; medians [min–max] |\n| load generator | %s; its CPU time per request is the first number of the *gen (+Redis) CPU/req* column |\n| CPU placement | %s |\n| tool runs | %d repeats, medians |\n| whole run | %v |\n\n",
		m.Cores, m.CPU, m.OS, m.GoVersion, m.Date, orDash(m.LoadAvgStart), orDash(m.LoadAvgEnd), m.Requests, m.Duration, m.Warmup, m.Repeats, orDash(m.LoadGen), orDash(m.Pinning), m.ToolRepeats, m.Elapsed.Round(time.Second))
	if len(doc.Findings) > 0 {
		b.WriteString("## Findings\n\n")
		for _, f := range doc.Findings {
			b.WriteString("- " + f + "\n")
		}
		b.WriteString("\n")
	}
	if doc.Analysis != "" {
		b.WriteString(strings.TrimSpace(doc.Analysis) + "\n\n")
	}
	if len(doc.Load) > 0 {
		renderLoad(&b, doc.Load, m.LoadGen)
	}
	if len(doc.Trips) > 0 {
		renderTrips(&b, doc.Trips)
	}
	if len(doc.Gen) > 0 {
		renderGen(&b, doc.Gen)
	}
	if len(doc.Lint) > 0 {
		renderLint(&b, doc.Lint)
	}
	if len(doc.Proxy) > 0 {
		renderProxy(&b, doc.Proxy)
	}
	if len(doc.Cost) > 0 {
		renderCost(&b, doc.Cost)
	}
	if len(doc.Notes) > 0 {
		b.WriteString("## Notes from this run\n\n")
		for _, n := range doc.Notes {
			b.WriteString("- " + n + "\n")
		}
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// spread prints a median ratio with its min–max, or — when there is none.
func spread(med, lo, hi float64) string {
	if med <= 0 {
		return "—"
	}
	if lo == hi {
		return fmt.Sprintf("%.2f×", med)
	}
	return fmt.Sprintf("%.2f× [%.2f–%.2f]", med, lo, hi)
}

func renderLoad(b *strings.Builder, rows []LoadRow, loadGen string) {
	b.WriteString("## 1. Runtime over loopback HTTP\n\n")
	b.WriteString("Every contender runs in its own process (`benchcompare serve`) and does the same handler work " +
		"(decode a 1 KiB JSON payment, total it, encode a ~1 KiB receipt tagged with the execution id; nothing more, so the middleware's share is not diluted). " +
		"Each cell starts its own server process(es) and stops them after the run. The load generator keeps one request in flight per client; it is " + orDash(loadGen) + ". " +
		"*vs base* is throughput over the bare handler of the same HTTP stack (net/http for idemgen, bare Fiber for Fiber's middleware), measured in the same repeat: median [min–max] over the repeats. " +
		"*CPU/req* is the server process's user+system CPU time (getrusage) over the measured run divided by its requests; *CPU vs base* is the bare handler's CPU/req over the contender's in the same repeat (below 1.00×: the contender costs more per request). " +
		"*gen (+Redis) CPU/req* is the load generator's CPU time per request (getrusage of this process), plus, for a Redis store, the private redis-server's (INFO cpu): with pinning, the two share the CPU the server does not use, so a contender whose sum is larger than the bare handler's can be held back by that CPU rather than by its server. " +
		"*allocs/req* and *B/req* are the server process's runtime.MemStats deltas divided by requests. " +
		"*dup* = handler executions beyond one per key (must be 0); *divergent* = successful answers carrying another execution's receipt than the key's first (must be 0). " +
		"idemgen runs its default policy: a duplicate that arrives while the first is in flight gets 409 (Fiber's middleware instead blocks on an in-process lock and replays). " +
		"The work differs in idemgen's disfavour: Fiber's middleware neither fingerprints the request (a reused key with another body is replayed, not refused with 422) nor hashes keys, and its lock does not reach across processes.\n\n")
	b.WriteString("Modes: **fresh** = a new key per request; **replay** = 90% of requests repeat one of the client's earlier keys; " +
		"**contention** = 64 clients, each group of 32 consecutive requests shares a key; **contention, 2 procs** = the same against two server processes sharing one store (requests alternate between them).\n\n")
	loadTables(b, rows, "vs base", "executions")
}

// loadTables writes one table per scenario of rows.
func loadTables(b *strings.Builder, rows []LoadRow, ratioHead, execHead string) {
	scenario := ""
	for _, r := range rows {
		if r.Scenario != scenario {
			scenario = r.Scenario
			fmt.Fprintf(b, "\n### %s\n\n", scenario)
			b.WriteString("| contender | req/s [min–max] | " + ratioHead + " | CPU/req | CPU " + ratioHead + " | gen (+Redis) CPU/req | p50 | p99 | allocs/req | B/req | 2xx | 409 | other | keys | " + execHead + " | dup | divergent |\n")
			b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
		}
		ratio := spread(r.Ratio, r.RatioMin, r.RatioMax)
		cpuRatio := spread(r.CPURatio, r.CPURatioMin, r.CPURatioMax)
		rps := fmt.Sprintf("%.0f", r.RPS)
		if r.RPSMin != r.RPSMax {
			rps = fmt.Sprintf("%.0f [%.0f–%.0f]", r.RPS, r.RPSMin, r.RPSMax)
		}
		cpu := "—"
		if r.CPUPerReq > 0 {
			cpu = fmt.Sprintf("%.1fµs", float64(r.CPUPerReq)/float64(time.Microsecond))
		}
		gen := "—"
		if r.GenCPUPerReq > 0 {
			gen = fmt.Sprintf("%.1fµs", float64(r.GenCPUPerReq)/float64(time.Microsecond))
			if r.StoreCPUPerReq > 0 {
				gen = fmt.Sprintf("%.1f + %.1fµs", float64(r.GenCPUPerReq)/float64(time.Microsecond), float64(r.StoreCPUPerReq)/float64(time.Microsecond))
			}
		}
		other := r.StatusOther + r.Errors
		dup := fmt.Sprint(r.Duplicates())
		if r.Duplicates() > 0 {
			dup = "**" + dup + "**"
		}
		div := fmt.Sprint(r.Divergent)
		if r.Divergent > 0 {
			div = "**" + div + "**"
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s | %s | %.1f | %.0f | %d | %d | %d | %d | %d | %s | %s |\n",
			r.Contender, rps, ratio, cpu, cpuRatio, gen, dur(r.P50), dur(r.P99), r.AllocsPerReq, r.BytesPerReq,
			r.Status2xx, r.Status409, other, r.Keys, r.Executions, dup, div)
	}
	b.WriteString("\n")
}

func renderProxy(b *strings.Builder, rows []LoadRow) {
	b.WriteString("## 5. Gateway mode (`idemgen proxy`) against a direct call\n\n")
	b.WriteString("The upstream is the bare net/http handler of section 1 (same work, same 1 KiB payment). " +
		"**proxy-direct** is the client calling it directly; **proxy-memory** goes through runtime/gateway (the handler of `idemgen proxy`) with POST /payments marked `x-idempotent: true` and the memory store; " +
		"**proxy-passthrough** goes through the gateway with the operation not idempotent (reverse proxy only). " +
		"The gateway is configured as `idemgen proxy --store memory://` configures it (its default Transport to the upstream, no upstream timeout) with logging off (as with `--log-level warn`: no line per request). " +
		"That Transport keeps 2 idle connections to the upstream, so with more clients most proxied requests dial a new one; " +
		"**proxy-memory-pooled** is proxy-memory with a Transport that keeps 256 (`gateway.Config.Transport`, which the command does not set), to show what that costs. " +
		"Gateway and upstream run in one process (`benchcompare serve`), each with its own loopback listener and net/http server, so *allocs/req* and *B/req* of the proxied rows include the upstream's: the difference to proxy-direct is the gateway's. " +
		"*vs direct* is throughput through the proxy over proxy-direct's, measured in the same repeat (the overhead ratio; below 1.00× is the proxy's cost). " +
		"*upstream executions* counts the upstream handler's runs; with the idempotent gateway it must equal *keys* (*dup* 0, *divergent* 0). " +
		"proxy-direct and proxy-passthrough deduplicate nothing: in the replay mode every repeat runs the upstream again, by design.\n")
	loadTables(b, rows, "vs direct", "upstream executions")
}

func renderTrips(b *strings.Builder, rows []TripRow) {
	b.WriteString("## 2. Store round trips\n\n")
	b.WriteString("Counted on the wire by a loopback proxy between the server process and the store (bench/wirecount), " +
		"so other users of the same Redis or PostgreSQL cannot disturb the count: Redis commands (RESP arrays sent), " +
		"PostgreSQL statements (Query + Execute messages) and round trips (Query + Sync messages). " +
		"Sequential requests after a warm-up; the floor is 2 for a first request and 1 for a replay.\n\n")
	b.WriteString("*server µs* is the store server's own time per request (Redis INFO commandstats `usec` deltas, on a private redis-server; — where not measured).\n\n")
	b.WriteString("| contender | store | per first request | round trips | server µs | per replay | round trips | server µs | first request detail | replay detail |\n")
	b.WriteString("|---|---|---:|---:|---:|---:|---:|---:|---|---|\n")
	us := func(v float64) string {
		if v <= 0 {
			return "—"
		}
		return fmt.Sprintf("%.1f", v)
	}
	for _, r := range rows {
		fmt.Fprintf(b, "| %s | %s | %.2f | %.2f | %s | %.2f | %.2f | %s | %s | %s |\n", r.Contender, r.Store, r.First, r.FirstRoundTrips, us(r.FirstServerMicros),
			r.Replay, r.ReplayRoundTrips, us(r.ReplayServerMicros), r.FirstDetail, r.ReplayDetail)
	}
	b.WriteString("\n")
}

func renderGen(b *strings.Builder, rows []GenRow) {
	b.WriteString("## 3. Generator\n\n")
	b.WriteString("Wall time (median of the repeats) and peak RSS (getrusage of the child) of one generation per spec of ../shared/corpus, " +
		"and whether the output compiles (`go build` and `go vet` in a scratch module). *vs oapi-codegen* is our time over oapi-codegen's on the same spec. " +
		"oapi-codegen runs with its default options (`-package api`: types, client, Echo server, embedded spec).\n\n")
	b.WriteString("| spec | generator | time | vs oapi-codegen | peak RSS | generate | go build | go vet |\n")
	b.WriteString("|---|---|---:|---:|---:|---|---|---|\n")
	for _, r := range rows {
		ratio := "—"
		if r.Ratio > 0 {
			ratio = fmt.Sprintf("%.2f×", r.Ratio)
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", r.Spec, r.Tool, dur(r.Time), ratio, rss(r.RSSKiB), cell(r.Generate), cell(r.Build), cell(r.Vet))
	}
	b.WriteString("\n")
}

func renderLint(b *strings.Builder, rows []LintRow) {
	b.WriteString("## 4. Lint\n\n")
	b.WriteString("**Informative only: the rule sets differ** (idemgen reviews idempotency and the spec's structure; Spectral runs `spectral:oas`; Redocly runs its `recommended` rules), " +
		"so this compares the cost of a lint run, not the linters. Every corpus spec; median CPU time (user + system) and wall time of the repeats, the largest peak RSS. " +
		"CPU time is what counts on a shared machine; \"CPU vs Redocly\" is the linter's CPU time over Redocly's on the same spec (the target for idemgen is ≤ 0.30×).\n\n")
	b.WriteString("| spec | linter | rules | CPU | CPU vs Redocly | wall | peak RSS | findings | exit |\n|---|---|---|---:|---:|---:|---:|---|---|\n")
	for _, r := range rows {
		ratio := "—"
		if r.Ratio > 0 {
			ratio = fmt.Sprintf("%.2f×", r.Ratio)
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", r.Spec, r.Tool, r.Ruleset, dur(r.CPU), ratio, dur(r.Time), rss(r.RSSKiB), cell(r.Findings), r.Exit)
	}
	b.WriteString("\n")
}

func renderCost(b *strings.Builder, rows []CostRow) {
	b.WriteString("## 6. Server cost per request: generated servers against a hand-written one\n\n")
	b.WriteString("bench/servercost: one spec (bench/servercost/openapi.yaml; an 865-byte JSON POST with 12 properties and 5 nested items, every one with a keyword to check, and a GET of the order) " +
		"served in process (httptest, no network) by each contender doing the same handler work. CPU is the process's user+system time per request (getrusage), " +
		"median of the repeats [min–max] (go test -count: the contenders take turns); the ratio is of the medians, to the hand-written net/http + encoding/json handler's.\n\n")
	b.WriteString("| request | server | CPU/request | vs hand-written | allocs | bytes |\n|---|---|---:|---:|---:|---:|\n")
	for _, r := range rows {
		fmt.Fprintf(b, "| %s | %s | %s [%s–%s] | %.2f× | %d | %d |\n", r.Request, r.Contender, micros(r.CPU), micros(r.Min), micros(r.Max), r.Ratio, r.Allocs, r.Bytes)
	}
	b.WriteString("\n")
}

// Dur prints a duration as the tables do (three significant figures, — for none).
func Dur(d time.Duration) string { return dur(d) }

// dur prints a duration with three significant figures.
func dur(d time.Duration) string {
	switch {
	case d <= 0:
		return "—"
	case d < time.Millisecond:
		return fmt.Sprintf("%.0fµs", float64(d)/float64(time.Microsecond))
	case d < time.Second:
		return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.2fs", d.Seconds())
	}
}

// micros prints a duration in microseconds with one decimal (a request's CPU).
func micros(d time.Duration) string {
	return fmt.Sprintf("%.1fµs", float64(d)/float64(time.Microsecond))
}

func rss(kib int64) string {
	if kib <= 0 {
		return "—"
	}
	return fmt.Sprintf("%.0f MiB", float64(kib)/1024)
}

// cell makes s safe inside a Markdown table cell.
func cell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > 160 {
		s = s[:157] + "..."
	}
	return s
}
