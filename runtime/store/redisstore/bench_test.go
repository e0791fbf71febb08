package redisstore_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// scriptCalls is the number of EVALSHA and EVAL calls the server has run
// (INFO commandstats), i.e. the store's round trips as the server counts them.
func scriptCalls(b *testing.B, c *redis.Client) int64 {
	info, err := c.Info(context.Background(), "commandstats").Result()
	if err != nil {
		b.Fatal(err)
	}
	var n int64
	for _, line := range strings.Split(info, "\n") {
		name, rest, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok || (name != "cmdstat_evalsha" && name != "cmdstat_eval") {
			continue
		}
		calls, _, _ := strings.Cut(strings.TrimPrefix(rest, "calls="), ",")
		v, _ := strconv.ParseInt(calls, 10, 64)
		n += v
	}
	return n
}

var result = []byte(strings.Repeat("r", 256))

// BenchmarkFirstRequest is a first request's store work: claim and complete.
// It reports the round trips per request counted by the client (rt/op) and by
// the server (server-rt/op, INFO commandstats deltas; other clients of the
// same server inflate it).
func BenchmarkFirstRequest(b *testing.B) {
	ctx := context.Background()
	h := &countHook{}
	s, c := newStore(b, h)
	run := fmt.Sprint(time.Now().UnixNano())
	s.Claim(ctx, "warm", "fp", "t", time.Minute) // load the scripts
	s.Complete(ctx, "warm", "t", result, time.Minute)
	before := scriptCalls(b, c)
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
	b.ReportMetric(float64(scriptCalls(b, c)-before)/float64(b.N), "server-rt/op")
}

// BenchmarkReplay is a replay's store work: one claim that returns the
// completed record.
func BenchmarkReplay(b *testing.B) {
	ctx := context.Background()
	h := &countHook{}
	s, c := newStore(b, h)
	s.Claim(ctx, "done", "fp", "t", time.Minute)
	s.Complete(ctx, "done", "t", result, time.Minute)
	before := scriptCalls(b, c)
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
	b.ReportMetric(float64(scriptCalls(b, c)-before)/float64(b.N), "server-rt/op")
}
