package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/idemgen/idemgen/bench/report"
	"github.com/idemgen/idemgen/bench/servercost"
)

// runCost runs bench/servercost's benchmarks (repeats times, contenders
// interleaved by go test's -count) and returns a row per request and
// contender: median CPU per request, allocations, and the ratio to the
// hand-written handler.
func runCost(ctx context.Context, repeats int, pinCPU int) ([]report.CostRow, error) {
	args := []string{"test", "-run", "^$", "-bench", ".", "-benchtime", "20000x", "-count", strconv.Itoa(repeats), "./servercost"}
	cmd := exec.CommandContext(ctx, "go", args...)
	if pinCPU >= 0 {
		cmd = exec.CommandContext(ctx, "taskset", append([]string{"-c", strconv.Itoa(pinCPU), "go"}, args...)...)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("server cost: go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return parseCost(out)
}

// parseCost reads go test -bench output of servercost's benchmarks.
func parseCost(out []byte) ([]report.CostRow, error) {
	type key struct{ req, name string }
	cpu := map[key][]time.Duration{}
	allocs, bytesPer := map[key]int64{}, map[key]int64{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		name, _, _ := strings.Cut(strings.TrimPrefix(f[0], "Benchmark"), "/")
		sub := f[0][strings.Index(f[0], "/")+1:]
		if i := strings.LastIndex(sub, "-"); i > 0 {
			if _, err := strconv.Atoi(sub[i+1:]); err == nil {
				sub = sub[:i] // the GOMAXPROCS suffix (none when it is 1)
			}
		}
		k := key{strings.ToUpper(name), sub}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			switch f[i+1] {
			case "cpu-ns/op":
				cpu[k] = append(cpu[k], time.Duration(v))
			case "allocs/op":
				allocs[k] = int64(v)
			case "B/op":
				bytesPer[k] = int64(v)
			}
		}
	}
	var rows []report.CostRow
	for _, req := range []string{"POST", "GET"} {
		base := time.Duration(0)
		for i, c := range servercost.Contenders {
			k := key{req, benchName(c.Name)}
			d := slices.Clone(cpu[k])
			if len(d) == 0 {
				return nil, fmt.Errorf("server cost: no %s figures for %s", req, c.Name)
			}
			slices.Sort(d)
			med := d[len(d)/2]
			if i == 0 {
				base = med
			}
			rows = append(rows, report.CostRow{Request: req, Contender: c.Name, CPU: med, Min: d[0], Max: d[len(d)-1],
				Allocs: allocs[k], Bytes: bytesPer[k], Ratio: float64(med) / float64(base)})
		}
	}
	return rows, nil
}

// benchName is the sub-benchmark name go test prints for a contender.
func benchName(s string) string {
	return servercost.BenchName(s)
}
