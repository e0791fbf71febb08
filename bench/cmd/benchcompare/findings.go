package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/idemgen/idemgen/bench/contender"
	"github.com/idemgen/idemgen/bench/loadgen"
	"github.com/idemgen/idemgen/bench/report"
)

// ensureDatabase creates the benchmark's own PostgreSQL database when missing,
// so that other users of the server (tests truncating tables) cannot disturb it.
func ensureDatabase(ctx context.Context, addr, name string) error {
	conn, err := pgx.Connect(ctx, "postgres://postgres@"+addr+"/test?sslmode=disable")
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, "select exists(select 1 from pg_database where datname = $1)", name).Scan(&exists); err != nil {
		return err
	}
	if exists {
		return nil
	}
	_, err = conn.Exec(ctx, "create database "+pgx.Identifier{name}.Sanitize())
	return err
}

// freshTargets are issue 17's fresh-key targets: throughput over the bare
// net/http handler of the same repeat.
var freshTargets = []struct {
	contender string
	min       float64
}{
	{"idemgen-memory", 0.92},
	{"idemgen-sqlite", 0.5},
	{"idemgen-redis", 0.6},
}

// findings checks the targets against the measurements: fresh-key
// throughput over the bare handler per store (freshTargets); ahead of every
// peer (overhead over its own bare stack, store for store) in every mode; no
// duplicate execution; our generator faster than oapi-codegen on every spec
// with every output compiling.
func findings(doc report.Doc) []string {
	var out []string
	byKey := map[string]report.LoadRow{}
	for _, r := range doc.Load {
		byKey[r.Scenario+"|"+r.Contender] = r
	}
	var won, lost []string
	for _, sc := range scenarios {
		if sc.mode == loadgen.Fresh && sc.procs == 1 {
			for _, tg := range freshTargets {
				r, ok := byKey[sc.name+"|"+tg.contender]
				if !ok || r.Ratio <= 0 {
					continue
				}
				verdict := "met"
				if r.Ratio < tg.min {
					verdict = "MISSED"
				}
				out = append(out, fmt.Sprintf("Target %s: %s, %s: %.2f× [%.2f–%.2f] of bare net/http's throughput (want ≥ %.2f×); CPU per request %.2f× [%.2f–%.2f] of bare's (%s of server CPU per request).",
					verdict, tg.contender, sc.name, r.Ratio, r.RatioMin, r.RatioMax, tg.min, r.CPURatio, r.CPURatioMin, r.CPURatioMax, report.Dur(r.CPUPerReq)))
				if bare, ok := byKey[sc.name+"|"+r.Baseline]; ok && doc.Machine.Pinned && r.StoreCPUPerReq > 0 && bare.RPS > 0 {
					out = append(out, storeCPUFinding(r, bare))
				}
			}
		}
		for _, store := range []string{"memory", "redis"} {
			ours, ok := byKey[sc.name+"|idemgen-"+store]
			if !ok {
				continue
			}
			for _, peer := range []string{"fiber2-" + store, "fiber3-" + store} {
				p, ok := byKey[sc.name+"|"+peer]
				if !ok {
					continue
				}
				// Overhead over the own bare stack where there is one; in the
				// two-process mode (no bare baseline) requests per second.
				var s string
				var ahead bool
				if ours.Ratio > 0 && p.Ratio > 0 {
					s = fmt.Sprintf("%s: idemgen-%s %.2f× of bare net/http vs %s %.2f× of bare Fiber", sc.name, store, ours.Ratio, peer, p.Ratio)
					ahead = ours.Ratio >= p.Ratio
				} else {
					s = fmt.Sprintf("%s: idemgen-%s %.0f req/s vs %s %.0f req/s", sc.name, store, ours.RPS, peer, p.RPS)
					ahead = ours.RPS >= p.RPS
				}
				if ahead {
					won = append(won, s)
				} else {
					lost = append(lost, s)
				}
			}
		}
	}
	if len(won)+len(lost) > 0 {
		if len(lost) == 0 {
			out = append(out, fmt.Sprintf("Target met: idemgen ahead of Fiber's middleware store for store in all %d comparisons.", len(won)))
		} else {
			out = append(out, fmt.Sprintf("Target MISSED: idemgen ahead of Fiber's middleware store for store in %d of %d comparisons; behind in: %s.", len(won), len(won)+len(lost), strings.Join(lost, "; ")))
		}
	}
	var dupOurs, dupPeers []string
	for _, r := range doc.Load {
		if r.Duplicates() == 0 && r.Divergent == 0 {
			continue
		}
		if r.Baseline == r.Contender {
			continue // a bare handler deduplicates nothing, by design
		}
		s := fmt.Sprintf("%s (%s: %d duplicate executions, %d divergent answers)", r.Contender, r.Scenario, r.Duplicates(), r.Divergent)
		if strings.HasPrefix(r.Contender, "idemgen-") {
			dupOurs = append(dupOurs, s)
		} else {
			dupPeers = append(dupPeers, s)
		}
	}
	if len(doc.Load) > 0 {
		if len(dupOurs) > 0 {
			out = append(out, "Correctness MISSED: "+strings.Join(dupOurs, "; ")+".")
		} else {
			out = append(out, "Correctness: no idemgen contender ran the handler twice for a key in any mode.")
		}
		if len(dupPeers) > 0 {
			out = append(out, "Peers that ran the handler twice for one key: "+strings.Join(dupPeers, "; ")+".")
		}
	}
	out = append(out, proxyFindings(doc.Proxy)...)
	peerGen := map[string]report.GenRow{}
	for _, r := range doc.Gen {
		if r.Tool != "idemgen" {
			peerGen[r.Spec] = r
		}
	}
	for _, r := range doc.Gen {
		if r.Tool != "idemgen" {
			continue
		}
		if r.Ratio >= 1 {
			s := fmt.Sprintf("Target MISSED: idemgen takes %.2f× oapi-codegen's time on %s", r.Ratio, r.Spec)
			if p, ok := peerGen[r.Spec]; ok && p.Generate != "ok" {
				s += " (oapi-codegen aborts on this spec without output, so it did less work)"
			}
			out = append(out, s+".")
		}
		if r.Generate != "ok" || r.Build != "ok" || r.Vet != "ok" {
			out = append(out, fmt.Sprintf("Target MISSED: idemgen's output for %s: generate %s, build %s, vet %s.", r.Spec, r.Generate, r.Build, r.Vet))
		}
	}
	return out
}

// proxyFindings reports the gateway's overhead per proxy scenario (issue 9:
// throughput through `idemgen proxy` over a direct call, same repeat) and
// whether the idempotent gateway ran the upstream once per key.
func proxyFindings(rows []report.LoadRow) []string {
	var out []string
	byKey := map[string]report.LoadRow{}
	for _, r := range rows {
		byKey[r.Scenario+"|"+r.Contender] = r
	}
	for _, sc := range proxyScenarios {
		direct, ok := byKey[sc.name+"|"+contender.ProxyBaseline]
		if !ok {
			continue
		}
		var parts []string
		for _, name := range []string{"proxy-memory", "proxy-passthrough", "proxy-memory-pooled"} {
			r, ok := byKey[sc.name+"|"+name]
			if !ok || r.Ratio <= 0 {
				continue
			}
			parts = append(parts, fmt.Sprintf("%s %.2f× (%.0f req/s, p50 %s, p99 %s)", name, r.Ratio, r.RPS, report.Dur(r.P50), report.Dur(r.P99)))
		}
		if len(parts) > 0 {
			out = append(out, fmt.Sprintf("Gateway overhead, %s: throughput through the proxy over the direct call (%.0f req/s, p50 %s, p99 %s): %s.",
				strings.TrimPrefix(sc.name, "proxy: "), direct.RPS, report.Dur(direct.P50), report.Dur(direct.P99), strings.Join(parts, "; ")))
		}
	}
	var bad []string
	var execs, keys, idem int
	for _, r := range rows {
		if info, ok := contender.Lookup(r.Contender); !ok || info.Store == "" {
			continue // direct and pass-through deduplicate nothing, by design
		}
		idem++
		execs += r.Executions
		keys += r.Keys
		if r.Duplicates() > 0 || r.Divergent > 0 {
			bad = append(bad, fmt.Sprintf("%s (%s: %d duplicate upstream executions, %d divergent answers)", r.Contender, r.Scenario, r.Duplicates(), r.Divergent))
		}
	}
	switch {
	case len(bad) > 0:
		out = append(out, "Correctness MISSED: the idempotent gateway ran the upstream twice for a key: "+strings.Join(bad, "; ")+".")
	case idem > 0:
		out = append(out, fmt.Sprintf("Correctness: the idempotent gateway ran the upstream once per key in every proxy mode (%d upstream executions for %d distinct keys sent, no divergent answer).", execs, keys))
	}
	return out
}

// storeCPUFinding says what the CPU shared by the load generator and the
// private Redis allows r, against its bare baseline: when that CPU is saturated,
// throughput is one request per (generator + Redis) CPU time per request,
// whatever the server under test does.
func storeCPUFinding(r, bare report.LoadRow) string {
	perReq := r.GenCPUPerReq + r.StoreCPUPerReq
	most := float64(time.Second) / float64(perReq)
	return fmt.Sprintf("Where %s's throughput is capped: the load generator and the private redis-server share one CPU and use %s + %s of it per request (medians; bare net/http's load generator %s), so that CPU alone allows at most %.0f req/s, %.2f× of bare's %.0f.",
		r.Contender, report.Dur(r.GenCPUPerReq), report.Dur(r.StoreCPUPerReq), report.Dur(bare.GenCPUPerReq), most, most/bare.RPS, bare.RPS)
}
