package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/idemgen/idemgen/bench/contender"
	"github.com/idemgen/idemgen/bench/loadgen"
	"github.com/idemgen/idemgen/bench/report"
	"github.com/idemgen/idemgen/bench/workload"
)

// scenario is one load setting.
type scenario struct {
	name        string
	mode        loadgen.Mode
	concurrency int
	procs       int // server processes sharing the store
}

// scenarios are the runtime section's settings: 32 clients as the outside
// harness used, each mode against a fresh server process per repeat.
var scenarios = []scenario{
	{"fresh keys, 32 clients", loadgen.Fresh, 32, 1},
	{"replay-heavy (90% repeats), 32 clients", loadgen.Replay, 32, 1},
	{"contention, 64 clients on a few keys", loadgen.Contention, 64, 1},
	{"contention, 64 clients, 2 server processes sharing the store", loadgen.Contention, 64, 2},
}

// proxyScenarios are the proxy section's settings: the gateway's cost on top of
// a direct call when every request reaches the upstream (fresh keys), and what
// replays from its store save (replay-heavy).
var proxyScenarios = []scenario{
	{"proxy: fresh keys, 32 clients", loadgen.Fresh, 32, 1},
	{"proxy: fresh keys, 128 clients", loadgen.Fresh, 128, 1},
	{"proxy: replay-heavy (90% repeats), 32 clients", loadgen.Replay, 32, 1},
}

type loadSettings struct {
	duration, warmup time.Duration
	requests         int // a run ends after this many requests or duration, whichever first
	repeats          int
	serverCPU        int // CPU the servers are pinned to, -1 for none
	contenders       []string
	modes            map[loadgen.Mode]bool // nil: every mode
	profile          string                // "contender/mode" to CPU-profile, e.g. "idemgen-memory/fresh"
	loadgen          string                // the load generator, one of loadgen.Generators
	profileDir       string
	// pgbench, when set, measures the PostgreSQL ceiling right after each
	// idemgen-postgres fresh-key cell (pglimit.go).
	pgbench *pgBench
	// redis, when set, is this run's private redis-server: its CPU time per
	// request is measured for the contenders with a Redis store.
	redis *privateRedis
}

// sample is one measured run of one cell.
type sample struct {
	rep          int
	res          loadgen.Result
	allocs       float64
	bytes        float64
	cpu          float64 // server CPU ns per request
	genCPU       float64 // the load generator's CPU ns per request
	storeCPU     float64 // the private Redis's CPU ns per request, 0 when not measured
	executions   int
	executedKeys int
}

// runLoad runs every scenario of scs for every contender of set, interleaving
// contenders within each repeat so that a slow minute of the machine hits them
// all, and returns one row per (scenario, contender). Every cell (contender,
// scenario, repeat) gets fresh server processes, started for it and stopped
// after it, so no run inherits another's heap, connections or caches; the
// SQLite contenders get a fresh database file too. Contenders that cannot
// start and failed cells become notes of doc.
func runLoad(ctx context.Context, set loadSettings, scs []scenario, env contender.Env, doc *report.Doc) ([]report.LoadRow, error) {
	body, err := workload.Body(1024)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, name := range set.contenders {
		if _, ok := contender.Lookup(name); !ok {
			doc.Notes = append(doc.Notes, fmt.Sprintf("contender %s is not built into this binary (its package has not landed?)", name))
			continue
		}
		names = append(names, name)
	}
	broken := map[string]bool{} // contenders that could not start: skipped from then on
	runBase := rand.Uint32()    // keys of this invocation never meet older records
	runID := runBase
	samples := map[[2]int][]sample{}
	var ceiling, batched []sample // pgbench's runs: rep and res only
	runCeiling := func(rep int) {
		res, err := set.pgbench.run(ctx)
		if err != nil {
			doc.Notes = append(doc.Notes, fmt.Sprintf("pgbench ceiling, repeat %d: %v", rep+1, err))
		} else {
			ceiling = append(ceiling, sample{rep: rep, res: res})
			fmt.Fprintf(os.Stderr, "load %d/%d %-20s %-62s %8.0f first requests/s\n", rep+1, set.repeats, "pgbench ceiling", "fresh keys, same two statements", res.RPS())
		}
		res, err = set.pgbench.runBatched(ctx)
		if err != nil {
			doc.Notes = append(doc.Notes, fmt.Sprintf("pgbench batched limit, repeat %d: %v", rep+1, err))
			return
		}
		batched = append(batched, sample{rep: rep, res: res})
		fmt.Fprintf(os.Stderr, "load %d/%d %-20s %-62s %8.0f first requests/s\n", rep+1, set.repeats, "pgbench batched", fmt.Sprintf("fresh keys, %d first requests per commit", pgBatch), res.RPS())
	}
	for rep := range set.repeats {
		for si, sc := range scs {
			for _, ni := range runOrder(names, rep) {
				name := names[ni]
				info, _ := contender.Lookup(name)
				if broken[name] || (sc.procs > 1 && !info.Shared) || (set.modes != nil && !set.modes[sc.mode]) || (info.ContentionOnly && sc.mode != loadgen.Contention) {
					continue
				}
				// pgbench's ceiling runs next to idemgen-postgres's fresh-key
				// cell: after it in even repeats, before it in odd ones (ABBA).
				ceilingCell := set.pgbench != nil && name == "idemgen-postgres" && sc.mode == loadgen.Fresh && sc.procs == 1
				if ceilingCell && rep%2 == 1 {
					runCeiling(rep)
				}
				runID++
				cellEnv := env
				if env.SQLitePath != "" {
					cellEnv.SQLitePath = fmt.Sprintf("%s.%d", env.SQLitePath, runID)
				}
				cs, err := startChildren(ctx, name, sc.procs, runID, cellEnv, set.serverCPU)
				if err != nil {
					broken[name] = true
					doc.Notes = append(doc.Notes, fmt.Sprintf("contender %s skipped: %v", name, err))
					continue
				}
				var redis *privateRedis
				if info.Store == "redis" {
					redis = set.redis
				}
				s, err := runCell(ctx, set, cs, sc, body, runID, rep == 0 && set.profile == name+"/"+string(sc.mode), redis)
				for _, c := range cs {
					c.stop()
				}
				if cellEnv.SQLitePath != env.SQLitePath {
					for _, suffix := range []string{"", "-wal", "-shm"} {
						_ = os.Remove(cellEnv.SQLitePath + suffix)
					}
				}
				if err != nil {
					doc.Notes = append(doc.Notes, fmt.Sprintf("%s, %s, repeat %d: %v", name, sc.name, rep+1, err))
					continue
				}
				s.rep = rep
				samples[[2]int{si, ni}] = append(samples[[2]int{si, ni}], s)
				fmt.Fprintf(os.Stderr, "load %d/%d %-20s %-62s %8.0f req/s %6.1f µs CPU/req gen %5.1f µs p99 %v dup %d\n", rep+1, set.repeats, name, sc.name, s.res.RPS(), s.cpu/1e3, s.genCPU/1e3, s.res.P99, s.executions-s.executedKeys)
				if ceilingCell && rep%2 == 0 {
					runCeiling(rep)
				}
			}
		}
	}
	var rows []report.LoadRow
	for si, sc := range scs {
		for ni, name := range names {
			ss := samples[[2]int{si, ni}]
			if len(ss) == 0 {
				continue
			}
			info, _ := contender.Lookup(name)
			row := aggregate(sc.name, name, info.Baseline, ss)
			if bi := slices.Index(names, info.Baseline); bi >= 0 && sc.procs == 1 {
				base := samples[[2]int{si, bi}]
				row.Ratio, row.RatioMin, row.RatioMax = pairedRatios(ss, base, func(s sample) float64 { return s.res.RPS() })
				// CPU: the base's CPU per request over ours, so that like the
				// throughput ratio, below 1 means we cost more.
				row.CPURatio, row.CPURatioMin, row.CPURatioMax = pairedRatios(ss, base, func(s sample) float64 {
					if s.cpu <= 0 {
						return 0
					}
					return 1 / s.cpu
				})
			}
			rows = append(rows, row)
			if name == "idemgen-postgres" && sc.mode == loadgen.Fresh && sc.procs == 1 && len(ceiling) > 0 {
				doc.Findings = append(doc.Findings, pgLimitFinding(sc.name, ss, ceiling, batched))
			}
		}
	}
	return rows, nil
}

// pgLimitFinding compares idemgen-postgres's throughput with pgbench's ceiling
// of the same repeats (issue 17's target) and with the batched limit (no
// target: how much of the server's own limit the store leaves unused).
func pgLimitFinding(scenarioName string, ss, ceiling, batched []sample) string {
	rps := func(s sample) float64 { return s.res.RPS() }
	med, lo, hi := pairedRatios(ss, ceiling, rps)
	verdict := "met"
	if med < pgLimitTarget {
		verdict = "MISSED"
	}
	tps := func(ss []sample) (float64, float64, float64) {
		var v []float64
		for _, s := range ss {
			v = append(v, s.res.RPS())
		}
		return median(v), slices.Min(v), slices.Max(v)
	}
	cm, cmn, cmx := tps(ceiling)
	out := fmt.Sprintf("Target %s: idemgen-postgres, %s: %.2f× [%.2f–%.2f] of the PostgreSQL server's ceiling for the same two statements (want ≥ %.2f×): pgbench ran pgstore's claim and complete SQL on a new id per transaction, each statement its own commit (idemgen-postgres commits the statements of concurrent requests together, so it can pass this ceiling), next to idemgen-postgres in each repeat (after it in even repeats, before it in odd ones): %.0f [%.0f–%.0f] first requests/s (`pgbench -n -M prepared -c 32 -j 1`, on the load generator's CPU).",
		verdict, scenarioName, med, lo, hi, pgLimitTarget, cm, cmn, cmx)
	if len(batched) == 0 {
		return out
	}
	med, lo, hi = pairedRatios(ss, batched, rps)
	m, mn, mx := tps(batched)
	return out + fmt.Sprintf(" Against the server's limit when first requests share commits (the same statements, %d claims and the completions of the %d ids claimed before in one pipelined transaction, right after each ceiling run): %.2f× [%.2f–%.2f] of %.0f [%.0f–%.0f] first requests/s.",
		pgBatch, pgBatch, med, lo, hi, m, mn, mx)
}

// startChildren starts procs server processes of contender name.
func startChildren(ctx context.Context, name string, procs int, runID uint32, env contender.Env, cpu int) ([]*child, error) {
	var cs []*child
	for p := range procs {
		c, err := startChild(ctx, name, fmt.Sprintf("%x.%d", runID, p), env, cpu)
		if err != nil {
			for _, c := range cs {
				c.stop()
			}
			return nil, err
		}
		cs = append(cs, c)
	}
	return cs, nil
}

// runOrder returns the indexes of names (grouped by HTTP stack, baseline
// first) in the order of repeat rep: each group as is in even repeats and
// reversed in odd ones, so that a drift of the machine's speed during a group
// favours neither the baseline nor the last contender (an ABBA design).
func runOrder(names []string, rep int) []int {
	var order, group []int
	flush := func() {
		if rep%2 == 1 {
			slices.Reverse(group)
		}
		order = append(order, group...)
		group = nil
	}
	for i, n := range names {
		info, _ := contender.Lookup(n)
		if i > 0 && info.Baseline == n {
			flush()
		}
		group = append(group, i)
	}
	flush()
	return order
}

// runCell warms up, resets the server's counters, runs the measured load and
// reads back allocations and executions.
//
// redis, when not nil, is the private Redis the contender's store uses: its CPU
// time over the measured run is charged to the contender.
func runCell(ctx context.Context, set loadSettings, cs []*child, sc scenario, body []byte, runID uint32, profile bool, redis *privateRedis) (sample, error) {
	var targets []string
	for _, c := range cs {
		targets = append(targets, c.url)
	}
	name := set.loadgen
	if name == "" {
		name = loadgen.Generators[0]
	}
	gen, err := loadgen.New(name, sc.concurrency)
	if err != nil {
		return sample{}, err
	}
	defer gen.Close()
	cfg := loadgen.Config{Targets: targets, Mode: sc.mode, Concurrency: sc.concurrency, Body: body}
	if set.warmup > 0 {
		warm := cfg
		warm.Duration, warm.Run = set.warmup, runID^0x80000000
		if _, err := gen.Run(ctx, warm); err != nil {
			return sample{}, fmt.Errorf("warm-up: %w", err)
		}
	}
	var before []procStats
	for _, c := range cs {
		if err := c.reset(ctx); err != nil {
			return sample{}, err
		}
		st, err := c.stats(ctx)
		if err != nil {
			return sample{}, err
		}
		before = append(before, st)
	}
	cfg.Duration, cfg.Requests, cfg.Run = set.duration, set.requests, runID
	profDone := make(chan error, 1)
	if profile {
		go func() {
			path := filepath.Join(set.profileDir, strings.ReplaceAll(cs[0].name+"-"+string(sc.mode), "/", "_")+".pprof")
			profDone <- cs[0].profile(ctx, set.duration, path)
		}()
	} else {
		profDone <- nil
	}
	var storeBefore, storeAfter int64
	if redis != nil {
		if storeBefore, err = redis.cpuNanos(ctx); err != nil {
			return sample{}, err
		}
	}
	genBefore := cpuNanos()
	res, err := gen.Run(ctx, cfg)
	if err != nil {
		return sample{}, err
	}
	genAfter := cpuNanos()
	if redis != nil {
		if storeAfter, err = redis.cpuNanos(ctx); err != nil {
			return sample{}, err
		}
	}
	if err := <-profDone; err != nil {
		return sample{}, fmt.Errorf("profile: %w", err)
	}
	s := sample{res: res}
	if res.Requests > 0 {
		s.genCPU = float64(genAfter-genBefore) / float64(res.Requests)
		s.storeCPU = float64(storeAfter-storeBefore) / float64(res.Requests)
	}
	union := map[string]bool{}
	for i, c := range cs {
		st, err := c.stats(ctx)
		if err != nil {
			return sample{}, err
		}
		s.allocs += float64(st.Mallocs - before[i].Mallocs)
		s.bytes += float64(st.TotalAlloc - before[i].TotalAlloc)
		s.cpu += float64(st.CPUNanos - before[i].CPUNanos)
		keys, err := c.keys(ctx)
		if err != nil {
			return sample{}, err
		}
		for k, n := range keys {
			s.executions += int(n)
			union[k] = true
		}
	}
	s.executedKeys = len(union)
	s.allocs /= float64(res.Requests)
	s.bytes /= float64(res.Requests)
	s.cpu /= float64(res.Requests)
	return s, nil
}

func aggregate(scenarioName, name, baseline string, ss []sample) report.LoadRow {
	row := report.LoadRow{Scenario: scenarioName, Contender: name, Baseline: baseline}
	var rps, p50, p99, allocs, bytes, cpu, genCPU, storeCPU []float64
	for _, s := range ss {
		rps = append(rps, s.res.RPS())
		cpu = append(cpu, s.cpu)
		genCPU = append(genCPU, s.genCPU)
		storeCPU = append(storeCPU, s.storeCPU)
		p50 = append(p50, float64(s.res.P50))
		p99 = append(p99, float64(s.res.P99))
		allocs = append(allocs, s.allocs)
		bytes = append(bytes, s.bytes)
		row.Requests += s.res.Requests
		row.Errors += s.res.Errors
		for code, n := range s.res.Status {
			switch {
			case code/100 == 2:
				row.Status2xx += n
			case code == 409:
				row.Status409 += n
			default:
				row.StatusOther += n
			}
		}
		row.Keys += s.res.Keys
		row.Executions += s.executions
		row.ExecutedKeys += s.executedKeys
		row.Divergent += s.res.Divergent
	}
	row.RPS, row.RPSMin, row.RPSMax = median(rps), slices.Min(rps), slices.Max(rps)
	row.CPUPerReq = time.Duration(median(cpu))
	row.GenCPUPerReq = time.Duration(median(genCPU))
	row.StoreCPUPerReq = time.Duration(median(storeCPU))
	row.Repeats = len(ss)
	row.P50 = time.Duration(median(p50))
	row.P99 = time.Duration(median(p99))
	row.AllocsPerReq = median(allocs)
	row.BytesPerReq = median(bytes)
	return row
}

// pairedRatios pairs the samples of one repeat, divides v(ours) by v(base)
// and returns the median, smallest and largest of those ratios (zeros when
// no repeat has both).
func pairedRatios(ss, base []sample, v func(sample) float64) (med, lo, hi float64) {
	var r []float64
	for _, s := range ss {
		for _, b := range base {
			if b.rep == s.rep && v(b) > 0 && v(s) > 0 {
				r = append(r, v(s)/v(b))
			}
		}
	}
	if len(r) == 0 {
		return 0, 0, 0
	}
	return median(r), slices.Min(r), slices.Max(r)
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
