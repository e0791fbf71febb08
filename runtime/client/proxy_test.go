package client_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idemgen/idemgen/runtime/client"
	"github.com/idemgen/idemgen/runtime/client/clienttest"
	"github.com/idemgen/idemgen/runtime/idempotency"
	"github.com/idemgen/idemgen/runtime/store/memstore"
)

// runDropProxy makes calls logical calls through a proxy that drops 30% of the
// responses of backend, and checks that every call succeeds and that the
// backend executed exactly calls operations (executions reports them).
func runDropProxy(t *testing.T, calls int, backend http.Handler, executions func() int64) {
	const workers = 8
	be := httptest.NewServer(backend)
	defer be.Close()
	px := clienttest.NewDropProxy(be.URL, be.Client(), 0.3, 1)
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
				req, _ := http.NewRequest(http.MethodPost, ps.URL+"/work", bytes.NewReader(fmt.Appendf(nil, `{"n":%d}`, i)))
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
	if got := executions(); got != int64(calls) {
		t.Errorf("backend executed %d operations for %d calls", got, calls)
	}
	t.Logf("%d calls, %d attempts, %d responses dropped, %d answered by replay", calls, attempts.Load(), px.Dropped(), replays.Load())
	if px.Dropped() < int64(calls/5) || replays.Load() == 0 {
		t.Errorf("the proxy dropped %d responses: the test did not test retries", px.Dropped())
	}
}

// workResult echoes the call number: {"n":i} -> {"done":i}.
func workResult(body []byte) []byte {
	var n int
	fmt.Sscanf(string(body), `{"n":%d}`, &n)
	return fmt.Appendf(nil, `{"done":%d}`, n)
}

// TestDropProxyRuntime: the backend is idemgen's idempotency middleware with
// the memory store.
func TestDropProxyRuntime(t *testing.T) {
	store := memstore.New()
	defer store.Close()
	mw, err := idempotency.New(store, idempotency.Policy{Operation: "work"})
	if err != nil {
		t.Fatal(err)
	}
	var runs atomic.Int64
	h := mw.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var buf bytes.Buffer
		buf.ReadFrom(r.Body)
		runs.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Write(workResult(buf.Bytes()))
	}))
	runDropProxy(t, 1000, h, runs.Load)
}

// TestDropProxyDraftServer: the backend is the hand-written IETF draft server.
func TestDropProxyDraftServer(t *testing.T) {
	s := &clienttest.DraftServer{Work: func(r *http.Request, body []byte) clienttest.Outcome {
		return clienttest.Outcome{Status: 200, Body: workResult(body)}
	}}
	runDropProxy(t, 300, s, s.Runs)
}
