package sqlitestore_test

import (
	"github.com/idemgen/idemgen/runtime/store/storetest"

	"context"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/idemgen/idemgen/runtime/store/sqlitestore"
)

var result = []byte(strings.Repeat("r", 256))

func benchStore(b *testing.B) *sqlitestore.Store {
	b.Helper()
	s, err := sqlitestore.Open(context.Background(), filepath.Join(b.TempDir(), "idem.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// BenchmarkFirstRequest is a first request's store work: claim and complete.
func BenchmarkFirstRequest(b *testing.B) {
	ctx := context.Background()
	s := benchStore(b)
	b.ReportAllocs()
	b.ResetTimer()
	defer storetest.ReportCPU(b, storetest.CPUTime())
	for i := range b.N {
		id := strconv.Itoa(i)
		if _, err := s.Claim(ctx, id, "fp", "t", time.Minute); err != nil {
			b.Fatal(err)
		}
		if err := s.Complete(ctx, id, "t", result, time.Minute); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReplay is a replay's store work: one claim that returns the
// completed record.
func BenchmarkReplay(b *testing.B) {
	ctx := context.Background()
	s := benchStore(b)
	s.Claim(ctx, "done", "fp", "t", time.Minute)
	s.Complete(ctx, "done", "t", result, time.Minute)
	b.ReportAllocs()
	b.ResetTimer()
	defer storetest.ReportCPU(b, storetest.CPUTime())
	for range b.N {
		cl, err := s.Claim(ctx, "done", "fp", "t2", time.Minute)
		if err != nil || cl.Acquired {
			b.Fatal(cl, err)
		}
	}
}

// BenchmarkMiddleware: bare handler, first request and replay through the
// middleware with this store (cpu-ns/op, allocs/op).
func BenchmarkMiddleware(b *testing.B) { storetest.BenchMiddleware(b, benchStore(b)) }
