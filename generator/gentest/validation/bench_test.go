package validation

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/idemgen/idemgen/runtime/store/storetest"
)

// benchBody is a valid ~900-byte order: 15 properties, 5 nested items.
const benchBody = `{"sku":"ABCDEF","quantity":3,"price":19.99,"note":"abc","status":"new",` +
	`"shipOn":"2026-12-24","at":"09:30:00Z","ref":"123e4567-e89b-12d3-a456-426614174000",` +
	`"email":"buyer@example.com","host":"shop.example.com","site":"https://example.com/o/1",` +
	`"ip4":"192.0.2.10","ip6":"2001:db8::1","tags":["gift","fragile","red"],"labels":{"a":"x","b":"y"},` +
	`"items":[` +
	`{"name":"pen","kind":"pen","parts":[{"code":1},{"code":2},{"code":3}]},` +
	`{"name":"book","kind":"book","parts":[{"code":4},{"code":5}]},` +
	`{"name":"ink","kind":"pen","parts":[{"code":6}]},` +
	`{"name":"atlas","kind":"book","parts":[{"code":7},{"code":8},{"code":9}]},` +
	`{"name":"nib","kind":"pen","parts":[{"code":0},{"code":1}]}]}`

// benchOrder is what GET /orders/{id} answers in the benchmarks: benchBody
// decoded, with its id.
var benchOrder = func() Order {
	var o Order
	if err := json.Unmarshal([]byte(benchBody), &o); err != nil {
		panic(err)
	}
	o.ID = "o1"
	return o
}()

func (s *shop) GetOrder(ctx context.Context, req GetOrderRequestObject) (GetOrderResponseObject, error) {
	return GetOrder200JSONResponse{Body: benchOrder}, nil
}

// BenchmarkGetOrder: GET /orders/{id} through the generated server (the
// comparison with hand-written and other generated servers is
// bench/servercost, in the bench module).
func BenchmarkGetOrder(b *testing.B) {
	srv, err := NewServer(&shop{})
	if err != nil {
		b.Fatal(err)
	}
	benchHandler(b, srv, "GET", "/orders/o1", "", nil, http.StatusOK)
}

// benchHandler sends method path (with body) to h b.N times in process (no
// network), the idempotency key from key(i) when not nil, and reports the
// CPU time per request.
func benchHandler(b *testing.B, h http.Handler, method, path, body string, key func(i int) string, want int) {
	b.ReportAllocs()
	i := 0
	start := storetest.CPUTime()
	for b.Loop() {
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		r := httptest.NewRequest(method, path, rd)
		if body != "" {
			r.Header.Set("Content-Type", "application/json")
		}
		if key != nil {
			r.Header.Set("Idempotency-Key", key(i))
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != want {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
		i++
	}
	b.ReportMetric(float64(storetest.CPUTime()-start)/float64(b.N), "cpu-ns/op")
}

func (s *shop) CreateDraft(ctx context.Context, req CreateDraftRequestObject) (CreateDraftResponseObject, error) {
	return CreateDraft201Response{}, nil
}

// benchServe posts benchBody to path of the generated server.
func benchServe(b *testing.B, path string, key func(i int) string, want int) {
	srv, err := NewServer(&shop{})
	if err != nil {
		b.Fatal(err)
	}
	benchHandler(b, srv, "POST", path, benchBody, key, want)
}

// BenchmarkPostDraft: a POST of benchBody through the generated server, not
// idempotent: routing, decoding, validation, the handler, the response.
func BenchmarkPostDraft(b *testing.B) { benchServe(b, "/drafts", nil, http.StatusCreated) }

// BenchmarkPostOrder: the same through the idempotency middleware (memory
// store), a new key per request.
func BenchmarkPostOrder(b *testing.B) {
	benchServe(b, "/orders", func(i int) string { return "bench-" + strconv.Itoa(i) }, http.StatusCreated)
}

// BenchmarkValidateOrder: the generated validation of a decoded benchBody
// alone.
func BenchmarkValidateOrder(b *testing.B) {
	var req CreateDraftRequestObject
	if err := json.Unmarshal([]byte(benchBody), &req.Body); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	start := storetest.CPUTime()
	for b.Loop() {
		if err := req.validate(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(storetest.CPUTime()-start)/float64(b.N), "cpu-ns/op")
}
