package main

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/idemgen/idemgen/bench/servercost"
)

// TestParseCost: medians per request and contender, the ratio to the first
// (hand-written) contender, allocations.
func TestParseCost(t *testing.T) {
	var out strings.Builder
	suffix := map[string]string{"Post": "-2", "Get": ""} // GOMAXPROCS 1 (pinned) prints none
	for _, req := range []string{"Post", "Get"} {
		for i, c := range servercost.Contenders {
			for _, cpu := range []int{3000, 1000, 2000} {
				out.WriteString("Benchmark" + req + "/" + servercost.BenchName(c.Name) + suffix[req] + " \t 20000 \t 5000 ns/op \t " +
					strconv.Itoa(cpu*(i+1)) + " cpu-ns/op \t 100 B/op \t " + strconv.Itoa(10+i) + " allocs/op\n")
			}
		}
	}
	out.WriteString("PASS\nok  \tgithub.com/idemgen/idemgen/bench/servercost\t1.0s\n")
	rows, err := parseCost([]byte(out.String()))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2*len(servercost.Contenders) {
		t.Fatalf("%d rows", len(rows))
	}
	r := rows[1]
	if r.Request != "POST" || r.CPU != 4000*time.Nanosecond || r.Min != 2000 || r.Max != 6000 || r.Ratio != 2 || r.Allocs != 11 || r.Bytes != 100 {
		t.Errorf("row %+v", r)
	}
	if rows[len(servercost.Contenders)].Request != "GET" || rows[0].Ratio != 1 {
		t.Errorf("rows %+v", rows)
	}
	if _, err := parseCost([]byte("PASS\n")); err == nil {
		t.Error("no figures: no error")
	}
}
