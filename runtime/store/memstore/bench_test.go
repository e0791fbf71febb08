package memstore_test

import (
	"github.com/idemgen/idemgen/runtime/store/storetest"

	"context"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idemgen/idemgen/runtime/store/memstore"
)

// BenchmarkClaimComplete is one first request's store work (claim, then
// complete with a 1 KiB result), from every P in parallel: the shards keep
// the goroutines off each other's locks.
func BenchmarkClaimComplete(b *testing.B) {
	s := memstore.New(memstore.WithSweepInterval(-1))
	defer s.Close()
	ctx := context.Background()
	result := make([]byte, 1024)
	var n atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id := "id-" + strconv.FormatInt(n.Add(1), 10)
			if _, err := s.Claim(ctx, id, "fp", "tok", time.Minute); err != nil {
				b.Fatal(err)
			}
			if err := s.Complete(ctx, id, "tok", result, time.Hour); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkReplayClaim is a duplicate's store work: a claim that finds the
// completed record.
func BenchmarkReplayClaim(b *testing.B) {
	s := memstore.New(memstore.WithSweepInterval(-1))
	defer s.Close()
	ctx := context.Background()
	s.Claim(ctx, "id", "fp", "tok", time.Minute)
	s.Complete(ctx, "id", "tok", make([]byte, 1024), time.Hour)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if cl, err := s.Claim(ctx, "id", "fp", "other", time.Minute); err != nil || cl.Acquired {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkMiddleware: bare handler, first request and replay through the
// middleware with this store (cpu-ns/op, allocs/op).
func BenchmarkMiddleware(b *testing.B) {
	s := memstore.New(memstore.WithSweepInterval(-1))
	defer s.Close()
	storetest.BenchMiddleware(b, s)
}

// BenchmarkMemoryPerKey: memory per stored key with a ~1 KiB answer
// (rss-B/key, live-B/key of Go heap, and mapped-B/key: the record memory
// mapped outside the heap); run with -benchtime 200000x.
func BenchmarkMemoryPerKey(b *testing.B) {
	s := memstore.New(memstore.WithSweepInterval(-1))
	defer s.Close()
	storetest.BenchMemoryPerKey(b, s)
	b.ReportMetric(float64(memstore.MappedBytes(s))/float64(b.N), "mapped-B/key")
}

// BenchmarkClaimCompleteFresh is BenchmarkClaimComplete on one goroutine, as
// the middleware's benchmarks drive the store: every record lands on memory
// the store has not used before, so it also reports the page faults per
// record (faults/op) next to cpu-ns/op.
func BenchmarkClaimCompleteFresh(b *testing.B) {
	s := memstore.New(memstore.WithSweepInterval(-1))
	defer s.Close()
	ctx := context.Background()
	result := make([]byte, 1200)
	ids := make([]string, 1<<14)
	for i := range ids {
		ids[i] = fmt.Sprintf("%064x", i)
	}
	fp, tok := strings.Repeat("f", 44), strings.Repeat("t", 32)
	b.ReportAllocs()
	f0 := minorFaults()
	defer storetest.ReportCPU(b, storetest.CPUTime())
	i, round := 0, 0
	for b.Loop() {
		if i == len(ids) {
			b.StopTimer()
			round++
			for j := range ids {
				ids[j] = fmt.Sprintf("%032x%032x", round, j)
			}
			i = 0
			b.StartTimer()
		}
		id := ids[i]
		i++
		if _, err := s.Claim(ctx, id, fp, tok, time.Minute); err != nil {
			b.Fatal(err)
		}
		if err := s.Complete(ctx, id, tok, result, time.Hour); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(minorFaults()-f0)/float64(b.N), "faults/op")
}
