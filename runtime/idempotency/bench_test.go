package idempotency_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/idemgen/idemgen/runtime/idempotency"
	"github.com/idemgen/idemgen/runtime/store/memstore"
	"github.com/idemgen/idemgen/runtime/store/storetest"
)

// order is a 1 KiB JSON document, used as both request and response.
type order struct {
	ID       string  `json:"id"`
	Customer string  `json:"customer"`
	Amount   int64   `json:"amount"`
	Currency string  `json:"currency"`
	Note     string  `json:"note"`
	Items    []item  `json:"items"`
	Total    float64 `json:"total"`
}

type item struct {
	SKU   string `json:"sku"`
	Name  string `json:"name"`
	Qty   int    `json:"qty"`
	Price int64  `json:"price"`
}

func kibOrder() []byte {
	o := order{ID: "ord_123", Customer: "cus_456", Amount: 1999, Currency: "EUR", Total: 19.99, Note: "leave at the door"}
	for i := 0; len(mustJSON(o)) < 950; i++ {
		o.Items = append(o.Items, item{SKU: "sku-" + strconv.Itoa(i), Name: "a product with a name", Qty: i + 1, Price: 100})
	}
	b := mustJSON(o)
	o.Note += string(bytes.Repeat([]byte("."), 1024-len(b)))
	return mustJSON(o)
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// bareHandler is a typical JSON handler: decode the request, encode a 1 KiB response.
func bareHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var o order
		if err := json.NewDecoder(r.Body).Decode(&o); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(o)
	})
}

// discardWriter is a reusable ResponseWriter that throws the body away.
type discardWriter struct {
	h      http.Header
	status int
}

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) WriteHeader(code int)        { d.status = code }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) reset() {
	clear(d.h)
	d.status = 0
}

type benchReq struct {
	r    *http.Request
	body *bytes.Reader
}

func newBenchReq(body []byte, key string) *benchReq {
	br := &benchReq{body: bytes.NewReader(body)}
	r, _ := http.NewRequest(http.MethodPost, "http://example.com/orders?x=1", nil)
	r.Header.Set("Content-Type", "application/json")
	if key != "" {
		r.Header.Set("Idempotency-Key", key)
	}
	r.ContentLength = int64(len(body))
	br.r = r
	return br
}

func (b *benchReq) prepare(body []byte) *http.Request {
	b.body.Reset(body)
	b.r.Body = io.NopCloser(b.body)
	return b.r
}

func newBenchMiddleware(b *testing.B, p idempotency.Policy) (*idempotency.Middleware, *memstore.Store) {
	s := memstore.New(memstore.WithSweepInterval(-1))
	b.Cleanup(func() { s.Close() })
	m, err := idempotency.New(s, p, idempotency.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		b.Fatal(err)
	}
	return m, s
}

// benchBare serves the 1 KiB request with h alone.
func benchBare(b *testing.B, h http.Handler) {
	body := kibOrder()
	w := &discardWriter{h: http.Header{}}
	br := newBenchReq(body, "")
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	defer storetest.ReportCPU(b, storetest.CPUTime())
	for b.Loop() {
		w.reset()
		h.ServeHTTP(w, br.prepare(body))
	}
}

// benchFirst serves the 1 KiB request with h behind the middleware, a new key
// every time (claim, run, store).
func benchFirst(b *testing.B, h http.Handler) {
	body := kibOrder()
	wrap := func() http.Handler {
		m, _ := newBenchMiddleware(b, idempotency.Policy{Operation: "createOrder", TTL: time.Hour})
		return m.Wrap(h)
	}
	wrapped := wrap()
	w := &discardWriter{h: http.Header{}}
	br := newBenchReq(body, "")
	keys := make([]string, 0, 1<<14)
	for i := range cap(keys) {
		keys = append(keys, fmt.Sprintf("key-%08d", i))
	}
	hdr := []string{""}
	br.r.Header["Idempotency-Key"] = hdr
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	defer storetest.ReportCPU(b, storetest.CPUTime())
	i := 0
	for b.Loop() {
		if i == len(keys) { // a fresh store keeps the live heap (and GC work) bounded
			b.StopTimer()
			wrapped, i = wrap(), 0
			b.StartTimer()
		}
		hdr[0] = keys[i]
		i++
		w.reset()
		wrapped.ServeHTTP(w, br.prepare(body))
		if w.status != http.StatusCreated {
			b.Fatalf("status %d", w.status)
		}
	}
}

// BenchmarkBareHandler: a typical JSON handler, no middleware.
func BenchmarkBareHandler(b *testing.B) { benchBare(b, bareHandler()) }

// BenchmarkFirstRequest: the same handler behind the middleware, new keys.
func BenchmarkFirstRequest(b *testing.B) { benchFirst(b, bareHandler()) }

// BenchmarkReplay: the same key every time (the stored response is replayed).
func BenchmarkReplay(b *testing.B) {
	body := kibOrder()
	m, _ := newBenchMiddleware(b, idempotency.Policy{Operation: "createOrder", TTL: time.Hour})
	h := m.Wrap(bareHandler())
	w := &discardWriter{h: http.Header{}}
	br := newBenchReq(body, "replayed-key")
	h.ServeHTTP(w, br.prepare(body))
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	defer storetest.ReportCPU(b, storetest.CPUTime())
	for b.Loop() {
		w.reset()
		h.ServeHTTP(w, br.prepare(body))
		if w.status != http.StatusCreated {
			b.Fatalf("status %d", w.status)
		}
	}
}

// BenchmarkConflict: the key is held by an in-flight claim (409).
func BenchmarkConflict(b *testing.B) {
	body := kibOrder()
	m, _ := newBenchMiddleware(b, idempotency.Policy{Operation: "createOrder", TTL: time.Hour, Lease: time.Hour})
	block := make(chan struct{})
	started := make(chan struct{})
	h := m.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-block
	}))
	go h.ServeHTTP(&discardWriter{h: http.Header{}}, newBenchReq(body, "held").prepare(body))
	<-started
	defer close(block)
	w := &discardWriter{h: http.Header{}}
	br := newBenchReq(body, "held")
	b.ReportAllocs()
	defer storetest.ReportCPU(b, storetest.CPUTime())
	for b.Loop() {
		w.reset()
		h.ServeHTTP(w, br.prepare(body))
		if w.status != http.StatusConflict {
			b.Fatalf("status %d", w.status)
		}
	}
}

func BenchmarkCanonicalJSON(b *testing.B) {
	body := kibOrder()
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	defer storetest.ReportCPU(b, storetest.CPUTime())
	for b.Loop() {
		idempotency.CanonicalJSON(body)
	}
}

func BenchmarkDoReplay(b *testing.B) {
	m, _ := newBenchMiddleware(b, idempotency.Policy{Operation: "consume", TTL: time.Hour})
	ctx := b.Context()
	payload := kibOrder()
	m.Do(ctx, "tenant", "msg-1", payload, func(c2 context.Context) ([]byte, error) { return payload, nil })
	b.ReportAllocs()
	defer storetest.ReportCPU(b, storetest.CPUTime())
	for b.Loop() {
		if _, replayed, err := m.Do(ctx, "tenant", "msg-1", payload, func(context.Context) ([]byte, error) { return payload, nil }); err != nil || !replayed {
			b.Fatal(err)
		}
	}
}

// staticHandler writes a prebuilt 1 KiB JSON response: with a handler this
// cheap, the difference between the two Static benchmarks is the
// middleware's own cost on a first request.
func staticHandler(resp []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Content-Type"] = []string{"application/json"}
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write(resp)
	})
}

func BenchmarkStaticBare(b *testing.B) { benchBare(b, staticHandler(kibOrder())) }

func BenchmarkStaticFirstRequest(b *testing.B) { benchFirst(b, staticHandler(kibOrder())) }
