package redisstore_test

import (
	"github.com/idemgen/idemgen/runtime/store/storetest"

	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// scriptStats is the number of EVALSHA and EVAL calls the server has run and
// the server time they took, in microseconds (INFO commandstats): the store's
// scripts and their cost as the server counts them. A claim's SET NX GET is
// not among them (the SETs of the scripts would be counted with it): rt/op,
// counted by the client, has the round trips. cpu is the server
// process's user+system CPU time (INFO cpu): unlike commandstats, which is
// wall time inside the commands, it counts the server's socket reads and
// writes too and, unlike wall time, does not count the time the server waits
// for a CPU on a busy machine.
type scriptStats struct {
	calls, usec int64
	cpu         time.Duration
}

func readScriptStats(b testing.TB, c *redis.Client) scriptStats {
	info, err := c.Info(context.Background(), "commandstats").Result()
	if err != nil {
		b.Fatal(err)
	}
	var st scriptStats
	cpu, err := c.Info(context.Background(), "cpu").Result()
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(cpu, "\n") {
		name, v, _ := strings.Cut(strings.TrimSpace(line), ":")
		if name == "used_cpu_sys" || name == "used_cpu_user" {
			sec, _ := strconv.ParseFloat(v, 64)
			st.cpu += time.Duration(sec * 1e9)
		}
	}
	for _, line := range strings.Split(info, "\n") {
		name, rest, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok || (name != "cmdstat_evalsha" && name != "cmdstat_eval") {
			continue
		}
		for _, kv := range strings.Split(rest, ",") {
			k, v, _ := strings.Cut(kv, "=")
			n, _ := strconv.ParseInt(v, 10, 64)
			switch k {
			case "calls":
				st.calls += n
			case "usec":
				st.usec += n
			}
		}
	}
	return st
}

// reportServer reports the server's script calls (server-rt/op), script time
// (server-µs/op) and whole CPU time (server-cpu-µs/op: the scripts and the
// socket work, which commandstats leaves out, without the waits for a CPU that
// commandstats' wall time includes) per operation since before. Other clients of the same server inflate all three:
// measure on a private redis-server (IDEMGEN_REDIS_ADDR).
func reportServer(b *testing.B, c *redis.Client, before scriptStats) {
	after := readScriptStats(b, c)
	b.ReportMetric(float64(after.calls-before.calls)/float64(b.N), "server-rt/op")
	b.ReportMetric(float64(after.usec-before.usec)/float64(b.N), "server-µs/op")
	b.ReportMetric(float64(after.cpu-before.cpu)/1e3/float64(b.N), "server-cpu-µs/op")
}

var result = []byte(strings.Repeat("r", 256))

// BenchmarkFirstRequest is a first request's store work: claim and complete.
// It reports the round trips per request counted by the client (rt/op) and by
// the server (server-rt/op), the server time of the scripts (server-µs/op),
// both INFO commandstats deltas, and the server's CPU time (server-cpu-µs/op,
// INFO cpu); other clients of the same server inflate the last three.
func BenchmarkFirstRequest(b *testing.B) {
	ctx := context.Background()
	h := &countHook{}
	s, c := newStore(b, h)
	run := fmt.Sprint(time.Now().UnixNano())
	s.Claim(ctx, "warm", "fp", "t", time.Minute) // load the scripts
	s.Complete(ctx, "warm", "t", result, time.Minute)
	before := readScriptStats(b, c)
	h.cmds.Store(0)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		id := run + strconv.Itoa(i)
		if _, err := s.Claim(ctx, id, "fp", "t", time.Minute); err != nil {
			b.Fatal(err)
		}
		if err := s.Complete(ctx, id, "t", result, time.Minute); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(h.cmds.Load())/float64(b.N), "rt/op")
	reportServer(b, c, before)
}

// BenchmarkReplay is a replay's store work: one claim that returns the
// completed record.
func BenchmarkReplay(b *testing.B) {
	ctx := context.Background()
	h := &countHook{}
	s, c := newStore(b, h)
	s.Claim(ctx, "done", "fp", "t", time.Minute)
	s.Complete(ctx, "done", "t", result, time.Minute)
	before := readScriptStats(b, c)
	h.cmds.Store(0)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		cl, err := s.Claim(ctx, "done", "fp", "t2", time.Minute)
		if err != nil || cl.Acquired {
			b.Fatal(cl, err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(h.cmds.Load())/float64(b.N), "rt/op")
	reportServer(b, c, before)
}

// BenchmarkConflict is a duplicate that arrives while the first attempt is in
// flight: one claim that returns the live in-flight record (a 409).
func BenchmarkConflict(b *testing.B) {
	ctx := context.Background()
	h := &countHook{}
	s, c := newStore(b, h)
	s.Claim(ctx, "busy", "fp", "t", time.Hour)
	before := readScriptStats(b, c)
	h.cmds.Store(0)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		cl, err := s.Claim(ctx, "busy", "fp", "t2", time.Hour)
		if err != nil || cl.Acquired || cl.Existing.LeaseUntil.IsZero() {
			b.Fatal(cl, err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(h.cmds.Load())/float64(b.N), "rt/op")
	reportServer(b, c, before)
}

// BenchmarkMiddleware: bare handler, first request and replay through the
// middleware with this store (cpu-ns/op, allocs/op).
func BenchmarkMiddleware(b *testing.B) {
	s, _ := newStore(b)
	storetest.BenchMiddleware(b, s)
}

// BenchmarkFirstRequestParallel is a first request's store work (claim and
// complete with a ~1 KiB result) from 32 concurrent callers, as a loaded
// server makes it. cpu-ns/op is this process's CPU time per request (the
// Redis server's own time is not in it): on loopback most of it is the
// kernel's, in the socket writes and reads. server-cpu-µs/op is the Redis
// server's.
func BenchmarkFirstRequestParallel(b *testing.B) {
	h := &countHook{}
	s, c := newStore(b, h)
	run := fmt.Sprint(time.Now().UnixNano())
	before := readScriptStats(b, c)
	h.cmds.Store(0)
	storetest.BenchFirstRequestParallel(b, s, 32, func(n int64) (id, fp, tok string) {
		return run + strconv.FormatInt(n, 10), "fp", "t"
	})
	// sends/op: socket writes (pipelines and lone commands) per request; 2
	// without any batching.
	b.ReportMetric(float64(h.cmds.Load())/float64(b.N), "sends/op")
	reportServer(b, c, before)
}
