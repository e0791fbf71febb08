package sqlitestore_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/idemgen/idemgen/runtime/store/sqlitestore"
)

// cpuTime is the process's user+system CPU time: per op, it measures the
// code rather than the neighbours on a shared machine.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}

// BenchmarkFirstRequestParallel is a first request's store work (claim and
// complete with a ~1 KiB result) from 32 concurrent callers, as a loaded
// server makes it: concurrent writes share transactions. cpu-ns/op is the
// process's CPU time per request.
func BenchmarkFirstRequestParallel(b *testing.B) {
	benchFirstParallel(b, func(n int64) (id, fp, tok string) { return strconv.FormatInt(n, 10), "fp", "t" })
}

// BenchmarkFirstRequestParallelHex is BenchmarkFirstRequestParallel with the
// middleware's strings: a 64-hex record id (a SHA-256, so ids arrive in random
// order), a 64-hex fingerprint and a 32-hex token.
func BenchmarkFirstRequestParallelHex(b *testing.B) {
	benchFirstParallel(b, func(n int64) (id, fp, tok string) {
		sum := sha256.Sum256(strconv.AppendInt(nil, n, 10))
		h := hex.EncodeToString(sum[:])
		return h, h, h[:32]
	})
}

func benchFirstParallel(b *testing.B, strs func(n int64) (id, fp, tok string)) {
	ctx := context.Background()
	s, err := sqlitestore.Open(ctx, filepath.Join(b.TempDir(), "idem.db"), sqlitestore.WithPurgeInterval(0))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	res := make([]byte, 1100)
	var next atomic.Int64
	b.SetParallelism(16)
	b.ReportAllocs()
	defer reportCPU(b, cpuTime())
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id, fp, tok := strs(next.Add(1))
			if _, err := s.Claim(ctx, id, fp, tok, time.Minute); err != nil {
				b.Error(err)
				return
			}
			if err := s.Complete(ctx, id, tok, res, time.Minute); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
