package storetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idemgen/idemgen/runtime/idempotency"
)

// BenchMiddleware measures the HTTP middleware with store s against the bare
// handler, in-process (no network between client and server): sub-benchmarks
// Bare (the handler alone), FirstRequest (a new key every time: claim, run,
// store) and Replay (the same key: the stored answer). The handler is the
// plainest JSON one: decode a 1 KiB order, encode a ~1 KiB answer. Each
// reports cpu-ns/op, the process's CPU time per request, next to ns/op: on a
// shared machine, wall time mostly measures the neighbours.
//
//	func BenchmarkMiddleware(b *testing.B) { storetest.BenchMiddleware(b, openStore(b)) }
func BenchMiddleware(b *testing.B, s idempotency.Store) {
	body := benchBody()
	h := benchHandler()
	op := "bench" + uniq("")
	m, err := idempotency.New(s, idempotency.Policy{Operation: op, TTL: time.Hour}, idempotency.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		b.Fatal(err)
	}
	wrapped := m.Wrap(h)
	run := func(b *testing.B, h http.Handler, key func(i int) string, want int) {
		w := &discard{h: http.Header{}}
		br := bytes.NewReader(body)
		r, err := http.NewRequest(http.MethodPost, "http://example.com/orders", nil)
		if err != nil {
			b.Fatal(err)
		}
		r.Header.Set("Content-Type", "application/json")
		hdr := []string{""}
		r.ContentLength = int64(len(body))
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		start := CPUTime()
		i := 0
		for b.Loop() {
			if k := key(i); k != "" {
				hdr[0] = k
				r.Header["Idempotency-Key"] = hdr
			}
			i++
			br.Reset(body)
			r.Body = io.NopCloser(br)
			clear(w.h)
			w.status = 0
			h.ServeHTTP(w, r)
			if w.status != want {
				b.Fatalf("status %d, want %d", w.status, want)
			}
		}
		ReportCPU(b, start)
	}
	prefix := uniq("k")
	b.Run("Bare", func(b *testing.B) { run(b, h, func(int) string { return "" }, http.StatusCreated) })
	// -count reruns a sub-benchmark without rerunning this function: keys
	// must stay new across those reruns too.
	n := 0
	b.Run("FirstRequest", func(b *testing.B) {
		run(b, wrapped, func(int) string { n++; return prefix + "-" + strconv.Itoa(n) }, http.StatusCreated)
	})
	b.Run("Replay", func(b *testing.B) {
		run(b, wrapped, func(int) string { return prefix + "-replayed" }, http.StatusCreated)
	})
}

// BenchMemoryPerKey stores b.N first requests' answers (the handler of
// BenchMiddleware: a ~1 KiB JSON answer) through the middleware with s, and
// reports the process's memory per stored key over the empty store: the
// resident set as it stands after the last request (rss-B/key, the GC's
// headroom included, as an outside observer sees it) and the live heap after
// a full GC (live-B/key). Run it with a fixed count, e.g. -benchtime 200000x.
func BenchMemoryPerKey(b *testing.B, s idempotency.Store) {
	body := benchBody()
	m, err := idempotency.New(s, idempotency.Policy{Operation: "mem" + uniq(""), TTL: time.Hour}, idempotency.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		b.Fatal(err)
	}
	h := m.Wrap(benchHandler())
	w := &discard{h: http.Header{}}
	br := bytes.NewReader(body)
	r, err := http.NewRequest(http.MethodPost, "http://example.com/orders", nil)
	if err != nil {
		b.Fatal(err)
	}
	r.Header.Set("Content-Type", "application/json")
	r.ContentLength = int64(len(body))
	prefix := uniq("m")
	runtime.GC()
	debug.FreeOSMemory()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	rss0 := residentBytes()
	b.ResetTimer()
	for i := range b.N {
		r.Header["Idempotency-Key"] = []string{prefix + "-" + strconv.Itoa(i)}
		br.Reset(body)
		r.Body = io.NopCloser(br)
		clear(w.h)
		w.status = 0
		h.ServeHTTP(w, r)
		if w.status != http.StatusCreated {
			b.Fatalf("status %d, want %d", w.status, http.StatusCreated)
		}
	}
	b.StopTimer()
	rss1 := residentBytes()
	runtime.GC()
	runtime.ReadMemStats(&m1)
	b.ReportMetric(float64(rss1-rss0)/float64(b.N), "rss-B/key")
	b.ReportMetric(float64(int64(m1.HeapAlloc)-int64(m0.HeapAlloc))/float64(b.N), "live-B/key")
	runtime.KeepAlive(s)
}

// residentBytes is the process's resident set size (Linux; 0 elsewhere).
func residentBytes() int64 {
	data, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(data))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize())
}

type benchOrder struct {
	ID    string      `json:"id"`
	Note  string      `json:"note"`
	Items []benchItem `json:"items"`
	Total int64       `json:"total"`
}

type benchItem struct {
	SKU   string `json:"sku"`
	Qty   int    `json:"qty"`
	Price int64  `json:"price"`
}

// benchBody is a 1 KiB JSON order.
func benchBody() []byte {
	o := benchOrder{ID: "ord_123"}
	for i := range 4 {
		o.Items = append(o.Items, benchItem{SKU: fmt.Sprint("sku-", i), Qty: i + 1, Price: 100})
	}
	b, _ := json.Marshal(o)
	o.Note = strings.Repeat("n", 1024-len(b))
	b, _ = json.Marshal(o)
	return b
}

// benchHandler decodes the order, totals it and encodes it back.
func benchHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var o benchOrder
		if err := json.NewDecoder(r.Body).Decode(&o); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		for _, it := range o.Items {
			o.Total += int64(it.Qty) * it.Price
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(o)
	})
}

// discard is a reusable ResponseWriter that throws the body away.
type discard struct {
	h      http.Header
	status int
}

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) WriteHeader(code int)        { d.status = code }
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }

// BenchFirstRequestParallel runs a first request's store work (Claim, then
// Complete with a ~1.1 KiB result) from parallelism × GOMAXPROCS concurrent
// callers, as a loaded server makes it, and reports cpu-ns/op, the process's
// CPU time per request. ids gives the strings of request n (1, 2, ...); a
// store that outlives the benchmark needs ids no earlier run used. b.N is
// final when it returns, so a store can report its own metrics (round trips,
// server CPU) from counters it read before the call.
func BenchFirstRequestParallel(b *testing.B, s idempotency.Store, parallelism int, ids func(n int64) (id, fp, tok string)) {
	ctx := b.Context()
	res := []byte(strings.Repeat("r", 1100))
	var next atomic.Int64
	b.SetParallelism(parallelism)
	b.ReportAllocs()
	defer ReportCPU(b, CPUTime())
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id, fp, tok := ids(next.Add(1))
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

// ReportCPU adds the cpu-ns/op metric for the loop that started at start.
func ReportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(CPUTime()-start)/float64(b.N), "cpu-ns/op")
}
