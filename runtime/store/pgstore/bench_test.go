package pgstore_test

import (
	"github.com/idemgen/idemgen/runtime/store/storetest"

	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/idemgen/idemgen/runtime/store/pgstore"
)

// tripCounter counts the round trips a pool makes: the writes to its
// connections (pgconn sends each statement's messages in one write and reads
// the answer before the next).
type tripCounter struct{ n atomic.Int64 }

type countConn struct {
	net.Conn
	n *atomic.Int64
}

func (c countConn) Write(p []byte) (int, error) {
	c.n.Add(1)
	return c.Conn.Write(p)
}

// benchStore is a store on a pool of conns connections whose round trips are
// counted. Its first connection has already prepared the store's statements (once per
// connection), so the count starts at the steady state.
func benchStore(b testing.TB, conns int32) (*pgstore.Store, *tripCounter) {
	b.Helper()
	check := openPool(b) // skips without a server
	cfg, err := pgxpool.ParseConfig(pgURL())
	if err != nil {
		b.Fatal(err)
	}
	tr := &tripCounter{}
	dial := cfg.ConnConfig.DialFunc
	cfg.ConnConfig.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return countConn{Conn: c, n: &tr.n}, nil
	}
	cfg.MaxConns = conns
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(pool.Close)
	s, err := pgstore.New(context.Background(), pool, pgstore.WithTable(uniqueTable(b, check)))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	ctx := context.Background()
	if _, err := s.Claim(ctx, "warm-up", "fp", "t", time.Minute); err != nil {
		b.Fatal(err)
	}
	if err := s.Complete(ctx, "warm-up", "t", nil, time.Minute); err != nil {
		b.Fatal(err)
	}
	return s, tr
}

var result = []byte(strings.Repeat("r", 256))

// TestRoundTrips checks that each step is one statement: a first request costs
// two round trips (claim, complete) and a replay one.
func TestRoundTrips(t *testing.T) {
	ctx := context.Background()
	s, tr := benchStore(t, 1)
	tr.n.Store(0)
	if cl, err := s.Claim(ctx, "first", "fp", "t", time.Minute); err != nil || !cl.Acquired {
		t.Fatalf("Claim = %+v, %v", cl, err)
	}
	if err := s.Complete(ctx, "first", "t", result, time.Minute); err != nil {
		t.Fatal(err)
	}
	if n := tr.n.Swap(0); n != 2 {
		t.Errorf("first request: %d round trips, want 2", n)
	}
	if cl, err := s.Claim(ctx, "first", "fp", "t2", time.Minute); err != nil || cl.Acquired {
		t.Fatalf("replay Claim = %+v, %v", cl, err)
	}
	if n := tr.n.Load(); n != 1 {
		t.Errorf("replay: %d round trips, want 1", n)
	}
}

// BenchmarkFirstRequest is a first request's store work: claim and complete
// (rt/op: statements sent, one round trip each; cpu-ns/op: this process's CPU
// time).
func BenchmarkFirstRequest(b *testing.B) {
	ctx := context.Background()
	s, tr := benchStore(b, 1)
	run := fmt.Sprint(time.Now().UnixNano())
	tr.n.Store(0)
	b.ReportAllocs()
	b.ResetTimer()
	cpu := storetest.CPUTime()
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
	storetest.ReportCPU(b, cpu)
	b.ReportMetric(float64(tr.n.Load())/float64(b.N), "rt/op")
}

// BenchmarkReplay is a replay's store work: one claim that returns the
// completed record (rt/op and cpu-ns/op as in BenchmarkFirstRequest).
func BenchmarkReplay(b *testing.B) {
	ctx := context.Background()
	s, tr := benchStore(b, 1)
	s.Claim(ctx, "done", "fp", "t", time.Minute)
	s.Complete(ctx, "done", "t", result, time.Minute)
	tr.n.Store(0)
	b.ReportAllocs()
	b.ResetTimer()
	cpu := storetest.CPUTime()
	for range b.N {
		cl, err := s.Claim(ctx, "done", "fp", "t2", time.Minute)
		if err != nil || cl.Acquired {
			b.Fatal(cl, err)
		}
	}
	b.StopTimer()
	storetest.ReportCPU(b, cpu)
	b.ReportMetric(float64(tr.n.Load())/float64(b.N), "rt/op")
}

// BenchmarkAtomicFirstRequest is a first request in atomic mode: claim, begin,
// the guarded complete and the commit (the handler's own writes not counted).
func BenchmarkAtomicFirstRequest(b *testing.B) {
	ctx := context.Background()
	s, tr := benchStore(b, 1)
	run := fmt.Sprint(time.Now().UnixNano())
	tr.n.Store(0)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		id := run + strconv.Itoa(i)
		if _, err := s.Claim(ctx, id, "fp", "t", time.Minute); err != nil {
			b.Fatal(err)
		}
		_, tx, err := s.Begin(ctx, id, "t")
		if err != nil {
			b.Fatal(err)
		}
		if err := tx.Complete(ctx, result, time.Minute); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(tr.n.Load())/float64(b.N), "rt/op")
}

// BenchmarkMiddleware: bare handler, first request and replay through the
// middleware with this store (cpu-ns/op, allocs/op).
func BenchmarkMiddleware(b *testing.B) {
	s, _ := benchStore(b, 1)
	storetest.BenchMiddleware(b, s)
}

// BenchmarkFirstRequestParallel is a first request's store work (claim and
// complete with a ~1.1 KiB result) from 32 concurrent callers on a pool of 64
// connections, as a loaded server makes it: concurrent statements share
// transactions. rt/op is round trips per request (each one transaction; 2
// without batching), cpu-ns/op this process's CPU time per request, and
// pg-cpu-ns/op PostgreSQL's (its processes' CPU time, read from /proc when
// the server runs on this machine).
func BenchmarkFirstRequestParallel(b *testing.B) {
	s, tr := benchStore(b, 64)
	run := fmt.Sprint(time.Now().UnixNano())
	tr.n.Store(0)
	pg := postgresCPU()
	storetest.BenchFirstRequestParallel(b, s, 16, func(n int64) (id, fp, tok string) {
		return run + strconv.FormatInt(n, 10), "fp", "t"
	})
	if pg > 0 {
		b.ReportMetric(float64(postgresCPU()-pg)/float64(b.N), "pg-cpu-ns/op")
	}
	b.ReportMetric(float64(tr.n.Load())/float64(b.N), "rt/op")
}

// postgresCPU is the CPU time of this machine's postgres processes, exited
// backends included (in their parent's children's time), or 0 without any
// (or without /proc).
func postgresCPU() time.Duration {
	ents, _ := os.ReadDir("/proc")
	var ticks int64
	for _, e := range ents {
		comm, err := os.ReadFile("/proc/" + e.Name() + "/comm")
		if err != nil || !strings.HasPrefix(string(comm), "postgres") {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// Fields after the command: utime, stime, cutime and cstime are the
		// 12th to 15th, in clock ticks (100 a second on Linux).
		s := string(stat)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) < 15 {
			continue
		}
		for _, v := range f[11:15] {
			n, _ := strconv.ParseInt(v, 10, 64)
			ticks += n
		}
	}
	return time.Duration(ticks) * 10 * time.Millisecond
}
