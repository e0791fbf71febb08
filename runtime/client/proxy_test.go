package client_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idemgen/idemgen/runtime/client"
)

// dropProxy forwards every request to backend and then, with probability rate,
// closes the client's connection instead of passing the response on: the
// operation ran, the caller never heard. The random source is seeded: the run
// is reproducible.
type dropProxy struct {
	backend string
	fwd     *http.Client
	rate    float64
	mu      sync.Mutex
	rnd     *rand.Rand
	dropped atomic.Int64
}

func (p *dropProxy) drop() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.rnd.Float64() < p.rate
}

func (p *dropProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	out, err := http.NewRequestWithContext(r.Context(), r.Method, p.backend+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		panic(err)
	}
	out.Header = r.Header.Clone()
	resp, err := p.fwd.Do(out)
	if err != nil {
		w.WriteHeader(http.StatusBadGateway)
		return
	}
	rb, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		w.WriteHeader(http.StatusBadGateway)
		return
	}
	if p.drop() {
		p.dropped.Add(1)
		hijackClose(w)
		return
	}
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	w.Write(rb)
}

// runDropProxy makes calls logical calls through a proxy that drops 30% of the
// responses of backend, and checks that every call succeeds and the backend
// executed exactly calls operations (executions reports them).
func runDropProxy(t *testing.T, backend http.Handler, executions func() int64) {
	const calls, workers = 1000, 8
	be := httptest.NewServer(backend)
	defer be.Close()
	px := &dropProxy{backend: be.URL, fwd: be.Client(), rate: 0.3, rnd: rand.New(rand.NewPCG(1, 2))}
	ps := httptest.NewServer(px)
	defer ps.Close()

	var attempts, replays atomic.Int64
	// Without keep-alive every attempt is its own connection: net/http cannot
	// retry a dropped request by itself (it does for keyed requests on a reused
	// connection), so every retry counted here is the Retrier's.
	r := newRetrier(t, freshClient(),
		client.WithSleep(func(ctx context.Context, _ time.Duration) error { return ctx.Err() }),
		// 0.3^25 per call: losing a call to bad luck is not a possible outcome.
		client.WithPolicy(client.Policy{MaxAttempts: 25, MaxElapsed: -1}))
	jobs := make(chan int)
	errs := make(chan error, calls)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range jobs {
				key := client.NewKey()
				body := fmt.Sprintf(`{"n":%d}`, i)
				req, _ := http.NewRequest(http.MethodPost, ps.URL+"/work", bytes.NewReader([]byte(body)))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Idempotency-Key", client.KeyHeaderValue(key))
				resp, err := r.Do(context.Background(), req, client.Call{Operation: "work", Idempotent: true, Key: key})
				if err == nil {
					err = resp.Err()
				}
				if err == nil && string(resp.Body) != fmt.Sprintf(`{"done":%d}`, i) {
					err = fmt.Errorf("call %d: body %q", i, resp.Body)
				}
				attempts.Add(int64(resp.Result.Attempts))
				if resp.Result.Replayed {
					replays.Add(1)
				}
				errs <- err
			}
		})
	}
	for i := range calls {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := executions(); got != calls {
		t.Errorf("backend executed %d operations for %d calls", got, calls)
	}
	t.Logf("%d calls, %d attempts, %d responses dropped, %d answered by replay", calls, attempts.Load(), px.dropped.Load(), replays.Load())
	if px.dropped.Load() < calls/5 || replays.Load() == 0 {
		t.Errorf("the proxy dropped %d responses: the test did not test retries", px.dropped.Load())
	}
}

// workResult echoes the call number: {"n":i} -> {"done":i}.
func workResult(body []byte) []byte {
	var n int
	fmt.Sscanf(string(body), `{"n":%d}`, &n)
	return fmt.Appendf(nil, `{"done":%d}`, n)
}

func TestDropProxyDraftServer(t *testing.T) {
	s := newDraftServer(func(r *http.Request, body []byte) (int, []byte) { return 200, workResult(body) })
	runDropProxy(t, s, s.runs.Load)
}
