package proxyplan

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idemgen/idemgen/runtime/client"
)

// dropper loses 30% of the exchanges in front of the gateway: 15% of the
// requests never reach it, and 15% of the responses are lost after the
// gateway (and the upstream) processed the request. A lost exchange closes
// the client's connection, like a network failure.
type dropper struct {
	next                  http.Handler
	mu                    sync.Mutex
	rng                   *rand.Rand
	dropped, droppedAfter atomic.Int64
}

func (d *dropper) roll() float64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.rng.Float64()
}

func (d *dropper) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := d.roll()
	if p < 0.15 {
		d.dropped.Add(1)
		hangUp(w)
		return
	}
	if p < 0.30 {
		rec := httptest.NewRecorder()
		d.next.ServeHTTP(rec, r)
		d.droppedAfter.Add(1)
		hangUp(w)
		return
	}
	d.next.ServeHTTP(w, r)
}

func hangUp(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(err)
	}
	conn.Close()
}

// TestDroppedExchanges: 1000 logical calls through a network that loses 30% of
// the exchanges, each retried with its one key by the runtime client: every
// call ends in a 201 and the upstream ran exactly once per key.
func TestDroppedExchanges(t *testing.T) {
	f := newFixture(t, nil)
	d := &dropper{next: f.gw, rng: rand.New(rand.NewPCG(1, 2))}
	srv := httptest.NewServer(d)
	defer srv.Close()
	hc := srv.Client()
	retrier, err := client.NewRetrier(hc, client.WithPolicy(client.Policy{
		MaxAttempts: 30, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond, MaxElapsed: -1,
	}))
	if err != nil {
		t.Fatal(err)
	}
	const calls, workers = 1000, 8
	var attempts atomic.Int64
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range next {
				key := fmt.Sprintf("call-%04d", i)
				path := fmt.Sprintf("/accounts/a%d/payments", i%7)
				req, _ := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(fmt.Sprintf(`{"amount":%d}`, i)))
				req.Header.Set("Idempotency-Key", key)
				req.Header.Set("Content-Type", "application/json")
				res, err := retrier.Do(context.Background(), req, client.Call{Operation: "createPayment", Idempotent: true, Key: key})
				if err != nil {
					t.Errorf("%s: %v", key, err)
					continue
				}
				attempts.Add(int64(res.Result.Attempts))
				if res.Result.Status != http.StatusCreated {
					t.Errorf("%s: final status %d: %s", key, res.Result.Status, res.Body)
				}
			}
		})
	}
	for i := range calls {
		next <- i
	}
	close(next)
	wg.Wait()
	for i := range calls {
		key := fmt.Sprintf("call-%04d", i)
		if n := f.up.count(fmt.Sprintf("/accounts/a%d/payments", i%7), key); n != 1 {
			t.Errorf("%s: upstream ran %d times, want 1", key, n)
		}
	}
	if n := f.up.total.Load(); n != calls {
		t.Errorf("upstream ran %d times for %d calls", n, calls)
	}
	if d.droppedAfter.Load() == 0 || d.dropped.Load() == 0 {
		t.Fatalf("the network lost nothing (%d before, %d after): the test proves nothing", d.dropped.Load(), d.droppedAfter.Load())
	}
	t.Logf("%d calls, %d attempts, %d requests lost, %d responses lost", calls, attempts.Load(), d.dropped.Load(), d.droppedAfter.Load())
}
