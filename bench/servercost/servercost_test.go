package servercost

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"
)

func serve(h http.Handler, method, path, body string) *httptest.ResponseRecorder {
	var r *http.Request
	if body != "" {
		r = httptest.NewRequest(method, path, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
	} else {
		r = httptest.NewRequest(method, path, nil)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// TestSameWork: every contender serves the same spec: the valid POST is
// created with the same total, the GET answers the order, and the
// validating ones refuse the invalid POST.
func TestSameWork(t *testing.T) {
	validating := map[string]bool{"idemgen (validating)": true, "oapi-codegen strict + kin-openapi validation": true, "ogen (validating)": true}
	for _, c := range Contenders {
		h, err := c.New()
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		w := serve(h, "POST", "/orders", Body)
		if w.Code != http.StatusCreated || !strings.Contains(w.Body.String(), `"total":16475`) {
			t.Errorf("%s: POST: %d %s", c.Name, w.Code, w.Body)
		}
		w = serve(h, "GET", "/orders/o-1", "")
		if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"sku":"ABC123"`) {
			t.Errorf("%s: GET: %d %s", c.Name, w.Code, w.Body)
		}
		w = serve(h, "POST", "/orders", Invalid)
		if got := w.Code == http.StatusBadRequest; got != validating[c.Name] {
			t.Errorf("%s: invalid POST: %d %s", c.Name, w.Code, w.Body)
		}
	}
}

// cpuTime is the CPU time this process used so far: the machine may be
// shared, so ns/op (wall clock) alone would measure the neighbours.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func bench(b *testing.B, method, path, body string, want int) {
	for _, c := range Contenders {
		b.Run(BenchName(c.Name), func(b *testing.B) {
			h, err := c.New()
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			start := cpuTime(b)
			for b.Loop() {
				if w := serve(h, method, path, body); w.Code != want {
					b.Fatalf("status %d: %s", w.Code, w.Body)
				}
			}
			b.ReportMetric(float64(cpuTime(b)-start)/float64(b.N), "cpu-ns/op")
		})
	}
}

// BenchmarkPost: the ~900-byte order, in process (no network).
func BenchmarkPost(b *testing.B) { bench(b, "POST", "/orders", Body, http.StatusCreated) }

// BenchmarkGet: the order, in process.
func BenchmarkGet(b *testing.B) { bench(b, "GET", "/orders/o-1", "", http.StatusOK) }
