package client_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idemgen/idemgen/runtime/client"
	"github.com/idemgen/idemgen/runtime/client/clienttest"
)

// fakeTime is a clock that only moves when the retrier sleeps; it records the waits.
type fakeTime struct {
	mu    sync.Mutex
	t     time.Time
	waits []time.Duration
}

func newFakeTime() *fakeTime { return &fakeTime{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (f *fakeTime) now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.t
}

func (f *fakeTime) sleep(ctx context.Context, d time.Duration) error {
	f.mu.Lock()
	f.waits = append(f.waits, d)
	f.t = f.t.Add(d)
	f.mu.Unlock()
	return ctx.Err()
}

func (f *fakeTime) recorded() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Duration(nil), f.waits...)
}

func (f *fakeTime) options() []client.Option {
	return []client.Option{client.WithClock(f.now), client.WithSleep(f.sleep)}
}

func newRetrier(t *testing.T, doer client.Doer, opts ...client.Option) *client.Retrier {
	t.Helper()
	r, err := client.NewRetrier(doer, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// freshClient returns an http.Client that never reuses connections, so that each
// attempt is one connection and attempt counts are exact.
func freshClient() *http.Client {
	return &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
}

func postKeyed(t *testing.T, url, key, body string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", client.KeyHeaderValue(key))
	return req
}

// scripted answers the n-th request (1-based) with answers[n-1] (the last one repeats).
func scripted(t *testing.T, answers ...func(w http.ResponseWriter)) (*httptest.Server, *atomic.Int64) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		i := int(n.Add(1)) - 1
		answers[min(i, len(answers)-1)](w)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func status(code int, headers ...string) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		w.WriteHeader(code)
		fmt.Fprintf(w, `{"status":%d}`, code)
	}
}

func problem(code int, headers ...string) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(code)
		fmt.Fprintf(w, `{"type":"https://example.com/p","title":"t%d","status":%d,"detail":"d","key_hint":"x"}`, code, code)
	}
}

// TestDropAfterCommitReplays: the server runs the operation and stores the
// outcome, then drops the connection before answering. The client retries with
// the same key and gets the replay; the operation ran once.
func TestDropAfterCommitReplays(t *testing.T) {
	var drops atomic.Int64
	s := &clienttest.DraftServer{
		Work: func(r *http.Request, body []byte) clienttest.Outcome {
			return clienttest.Outcome{Status: http.StatusCreated, Body: []byte(`{"id":"song-1"}`)}
		},
		DropAfterCommit: func(*http.Request) bool { return drops.Add(1) == 1 },
	}
	srv := httptest.NewServer(s)
	defer srv.Close()

	ft := newFakeTime()
	r := newRetrier(t, freshClient(), ft.options()...)
	key := client.NewKey()
	resp, err := r.Do(context.Background(), postKeyed(t, srv.URL+"/songs", key, `{"title":"x"}`),
		client.Call{Operation: "createSong", Idempotent: true, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Runs(); got != 1 || s.Requests(key) != 2 {
		t.Errorf("operation ran %d times for %d requests, want 1 for 2", got, s.Requests(key))
	}
	res := resp.Result
	if res.Attempts != 2 || !res.Replayed || res.Status != http.StatusCreated || res.Key != key {
		t.Errorf("result = %+v, want 2 attempts, replayed, 201, key %q", res, key)
	}
	if string(resp.Body) != `{"id":"song-1"}` {
		t.Errorf("body = %q", resp.Body)
	}
	if b, _ := io.ReadAll(resp.HTTP.Body); !bytes.Equal(b, resp.Body) {
		t.Errorf("HTTP.Body = %q, want the buffered body", b)
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	ft := newFakeTime()
	date := ft.now().Add(7 * time.Second).Format(http.TimeFormat)
	srv, n := scripted(t,
		problem(503, "Retry-After", "2"),
		status(429, "Retry-After", date),
		status(503, "Retry-After", "3600"), // capped by MaxRetryAfter
		status(200))
	r := newRetrier(t, freshClient(), append(ft.options(), client.WithPolicy(client.Policy{MaxRetryAfter: 20 * time.Second}))...)
	resp, err := r.Do(context.Background(), postKeyed(t, srv.URL, "k", "{}"), client.Call{Idempotent: true, Key: "k"})
	if err != nil {
		t.Fatal(err)
	}
	// The date is 7s after the first attempt, which was 2s before the second answer.
	want := []time.Duration{2 * time.Second, 5 * time.Second, 20 * time.Second}
	if got := ft.recorded(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("waits = %v, want %v", got, want)
	}
	if resp.Result.Attempts != 4 || n.Load() != 4 || resp.Result.Status != 200 {
		t.Errorf("result = %+v after %d requests", resp.Result, n.Load())
	}
}

func TestNotRetried(t *testing.T) {
	for _, code := range []int{400, 401, 403, 404, 409, 422, 418} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			answer := problem(code)
			if code == 409 {
				answer = status(409) // an application conflict: no Retry-After, no problem body
			}
			srv, n := scripted(t, answer, status(200))
			ft := newFakeTime()
			r := newRetrier(t, freshClient(), ft.options()...)
			resp, err := r.Do(context.Background(), postKeyed(t, srv.URL, "k", "{}"), client.Call{Operation: "op", Idempotent: true, Key: "k"})
			if err != nil {
				t.Fatal(err)
			}
			if n.Load() != 1 || resp.Result.Attempts != 1 {
				t.Fatalf("%d requests, %d attempts; want 1", n.Load(), resp.Result.Attempts)
			}
			err = resp.Err()
			var ce *client.Error
			if !errors.As(err, &ce) || ce.Status != code || ce.Result.Key != "k" {
				t.Fatalf("Err() = %v, want *client.Error with status %d", err, code)
			}
			var p *client.Problem
			if code != 409 {
				if !errors.As(err, &p) || p.Status != code || p.Title != fmt.Sprintf("t%d", code) || string(p.Extensions["key_hint"]) != `"x"` {
					t.Fatalf("problem = %+v", p)
				}
			} else if errors.As(err, &p) || ce.InFlight() {
				t.Fatalf("plain 409 decoded as problem %v / in flight", p)
			}
			if ce.KeyMismatch() != (code == 422) {
				t.Errorf("KeyMismatch() = %v", ce.KeyMismatch())
			}
		})
	}
}

func TestConfiguredStatusRetried(t *testing.T) {
	srv, n := scripted(t, status(408), status(200))
	ft := newFakeTime()
	r := newRetrier(t, freshClient(), append(ft.options(), client.WithPolicy(client.Policy{RetryStatuses: []int{408}}))...)
	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	resp, err := r.Do(context.Background(), req, client.Call{})
	if err != nil || resp.Result.Status != 200 || n.Load() != 2 {
		t.Fatalf("err %v, result %+v, %d requests", err, resp.Result, n.Load())
	}
}

func TestInFlightRetriedUntilReplay(t *testing.T) {
	inflight := problem(409, "Retry-After", "1")
	srv, n := scripted(t, inflight, inflight, inflight, status(201, "Idempotent-Replayed", "true"))
	ft := newFakeTime()
	r := newRetrier(t, freshClient(), ft.options()...)
	resp, err := r.Do(context.Background(), postKeyed(t, srv.URL, "k", "{}"), client.Call{Idempotent: true, Key: "k"})
	if err != nil {
		t.Fatal(err)
	}
	if !resp.Result.Replayed || resp.Result.Attempts != 4 || n.Load() != 4 || resp.Err() != nil {
		t.Fatalf("result %+v, %d requests, err %v", resp.Result, n.Load(), resp.Err())
	}
	if got := ft.recorded(); fmt.Sprint(got) != "[1s 1s 1s]" {
		t.Errorf("waits = %v", got)
	}
	// A non-idempotent call never retries a 409.
	n.Store(0)
	resp, _ = r.Do(context.Background(), postKeyed(t, srv.URL, "k", "{}"), client.Call{})
	if resp.Result.Attempts != 1 {
		t.Errorf("non-idempotent 409: %d attempts", resp.Result.Attempts)
	}
}

func TestCancelDuringBackoff(t *testing.T) {
	srv, _ := scripted(t, status(503))
	sleeping := make(chan struct{})
	var once sync.Once
	// The real sleep, observed: the test cancels once the retrier is waiting an hour.
	sleep := func(ctx context.Context, d time.Duration) error {
		once.Do(func() { close(sleeping) })
		tm := time.NewTimer(d)
		defer tm.Stop()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tm.C:
			return nil
		}
	}
	r := newRetrier(t, freshClient(), client.WithSleep(sleep),
		client.WithPolicy(client.Policy{BaseDelay: time.Hour, MaxDelay: time.Hour, MaxElapsed: -1}),
		client.WithJitter(func(n int64) int64 { return n - 1 }))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		resp, err := r.Do(ctx, postKeyed(t, srv.URL, "k", "{}"), client.Call{Idempotent: true, Key: "k"})
		if err == nil && resp.Result.Attempts != 1 {
			err = fmt.Errorf("attempts %d", resp.Result.Attempts)
		}
		done <- err
	}()
	<-sleeping
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	case <-time.After(30 * time.Second): // a hang guard, not a timing assertion
		t.Fatal("Do did not return after cancellation")
	}
}

func TestDefaultSleepStopsOnCancel(t *testing.T) {
	srv, _ := scripted(t, status(503))
	var attempts atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	r := newRetrier(t, freshClient(),
		client.WithPolicy(client.Policy{BaseDelay: time.Hour, MaxDelay: time.Hour, MaxElapsed: -1}),
		client.WithJitter(func(n int64) int64 { return n - 1 }),
		client.WithObserver(client.ObserverFunc(func(ctx context.Context, e client.Event) {
			attempts.Add(1)
			if e.Retry {
				cancel() // the backoff of an hour starts right after this
			}
		})))
	_, err := r.Do(ctx, postKeyed(t, srv.URL, "k", "{}"), client.Call{Idempotent: true, Key: "k"})
	if !errors.Is(err, context.Canceled) || attempts.Load() != 1 {
		t.Fatalf("err = %v after %d attempts", err, attempts.Load())
	}
}

func TestBackoffBounds(t *testing.T) {
	srv, n := scripted(t, status(500))
	p := client.Policy{MaxAttempts: 8, BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second, MaxElapsed: -1}
	var ceils []int64
	ft := newFakeTime()
	r := newRetrier(t, freshClient(), append(ft.options(), client.WithPolicy(p),
		client.WithJitter(func(n int64) int64 { ceils = append(ceils, n); return n - 1 }))...)
	resp, err := r.Do(context.Background(), postKeyed(t, srv.URL, "k", "{}"), client.Call{Idempotent: true, Key: "k"})
	if err != nil {
		t.Fatal(err)
	}
	want := "[100ms 200ms 400ms 800ms 1s 1s 1s]"
	var got []time.Duration
	for _, c := range ceils {
		got = append(got, time.Duration(c))
	}
	if fmt.Sprint(got) != want {
		t.Errorf("backoff ceilings = %v, want %v", got, want)
	}
	if resp.Result.Attempts != 8 || n.Load() != 8 || resp.Result.Status != 500 {
		t.Errorf("result %+v, %d requests", resp.Result, n.Load())
	}
	var ce *client.Error
	if !errors.As(resp.Err(), &ce) || ce.Result.Attempts != 8 {
		t.Errorf("Err() = %v", resp.Err())
	}

	// With the real random source every wait is in [0, ceiling).
	ft = newFakeTime()
	r = newRetrier(t, freshClient(), append(ft.options(), client.WithPolicy(p))...)
	for range 20 {
		r.Do(context.Background(), postKeyed(t, srv.URL, "k", "{}"), client.Call{Idempotent: true, Key: "k"})
	}
	waits := ft.recorded()
	if len(waits) != 20*7 {
		t.Fatalf("%d waits", len(waits))
	}
	var sum time.Duration
	for i, w := range waits {
		ceil := min(p.BaseDelay<<(i%7), p.MaxDelay)
		if w < 0 || w >= ceil {
			t.Errorf("wait %d = %v, want in [0, %v)", i, w, ceil)
		}
		sum += w
	}
	if sum == 0 {
		t.Error("every jittered wait was zero")
	}
}

func TestMaxElapsed(t *testing.T) {
	srv, n := scripted(t, status(502))
	ft := newFakeTime()
	p := client.Policy{MaxAttempts: 100, BaseDelay: 400 * time.Millisecond, MaxDelay: 10 * time.Second, MaxElapsed: 3 * time.Second}
	r := newRetrier(t, freshClient(), append(ft.options(), client.WithPolicy(p),
		client.WithJitter(func(n int64) int64 { return n - 1 }))...)
	resp, err := r.Do(context.Background(), postKeyed(t, srv.URL, "k", "{}"), client.Call{Idempotent: true, Key: "k"})
	if err != nil {
		t.Fatal(err)
	}
	// Waits of ~400ms and ~800ms fit in 3s (1.2s); the next (~1.6s) would end at ~2.8s: fits;
	// the one after (~3.2s) does not.
	if got := len(ft.recorded()); got != 3 || resp.Result.Attempts != 4 || n.Load() != 4 {
		t.Errorf("%d waits, %d attempts, %d requests; want 3, 4, 4", got, resp.Result.Attempts, n.Load())
	}
	if resp.Result.Elapsed > p.MaxElapsed {
		t.Errorf("elapsed %v > MaxElapsed", resp.Result.Elapsed)
	}
}

// resetServer accepts connections, reads the request head and resets the
// connection before any response: the request left, its outcome is unknown.
func resetServer(t *testing.T) (string, *atomic.Int64) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var n atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			n.Add(1)
			buf := make([]byte, 4096)
			c.Read(buf)
			c.(*net.TCPConn).SetLinger(0) // RST, not FIN
			c.Close()
		}
	}()
	return "http://" + ln.Addr().String(), &n
}

func TestConnectionErrors(t *testing.T) {
	url, n := resetServer(t)
	ft := newFakeTime()
	r := newRetrier(t, freshClient(), ft.options()...)

	// A plain POST whose request may have arrived is not retried.
	resp, err := r.Do(context.Background(), postKeyed(t, url, "k", "{}"), client.Call{Operation: "append"})
	if err == nil || resp.Result.Attempts != 1 || n.Load() != 1 {
		t.Fatalf("plain POST: err %v, %d attempts, %d connections", err, resp.Result.Attempts, n.Load())
	}
	if !strings.HasPrefix(err.Error(), "client: append: ") {
		t.Errorf("err = %q", err)
	}
	// An idempotent POST, a GET and a PUT are.
	for _, tc := range []struct {
		method string
		call   client.Call
	}{{"POST", client.Call{Idempotent: true, Key: "k"}}, {"GET", client.Call{}}, {"PUT", client.Call{}}} {
		n.Store(0)
		req, _ := http.NewRequest(tc.method, url, strings.NewReader("{}"))
		resp, err := r.Do(context.Background(), req, tc.call)
		if err == nil || resp.Result.Attempts != client.DefaultMaxAttempts || n.Load() != client.DefaultMaxAttempts {
			t.Errorf("%s: err %v, %d attempts, %d connections", tc.method, err, resp.Result.Attempts, n.Load())
		}
	}

	// A connection that cannot be made proves the request never left: even a
	// plain POST is retried.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := "http://" + ln.Addr().String()
	ln.Close()
	var events []client.Event
	r = newRetrier(t, freshClient(), append(ft.options(),
		client.WithObserver(client.ObserverFunc(func(_ context.Context, e client.Event) { events = append(events, e) })))...)
	resp, err = r.Do(context.Background(), postKeyed(t, closed, "k", "{}"), client.Call{Operation: "append"})
	if err == nil || resp.Result.Attempts != client.DefaultMaxAttempts {
		t.Fatalf("dial failure: err %v, %d attempts", err, resp.Result.Attempts)
	}
	if len(events) != client.DefaultMaxAttempts || !events[0].Retry || events[len(events)-1].Retry || events[0].Err == nil {
		t.Errorf("events = %+v", events)
	}
	// An unusable request is not a connection error.
	req, _ := http.NewRequest(http.MethodGet, "nope://x", nil)
	if resp, err := r.Do(context.Background(), req, client.Call{}); err == nil || resp.Result.Attempts != 1 {
		t.Errorf("bad scheme: err %v, %d attempts", err, resp.Result.Attempts)
	}
}

func TestAttemptTimeout(t *testing.T) {
	var n atomic.Int64
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			select { // hang until the client gives up on this attempt
			case <-r.Context().Done():
			case <-release:
			}
			return
		}
		w.WriteHeader(200)
	}))
	defer srv.Close()
	defer close(release)
	ft := newFakeTime()
	r := newRetrier(t, freshClient(), append(ft.options(), client.WithPolicy(client.Policy{AttemptTimeout: 100 * time.Millisecond}))...)
	resp, err := r.Do(context.Background(), postKeyed(t, srv.URL, "k", "{}"), client.Call{Idempotent: true, Key: "k"})
	if err != nil || resp.Result.Attempts != 2 || resp.Result.Status != 200 {
		t.Fatalf("err %v, result %+v", err, resp.Result)
	}
}

// TestSameBodyEveryAttempt: the body is replayed byte for byte, including one that
// was given without GetBody.
func TestSameBodyEveryAttempt(t *testing.T) {
	var mu sync.Mutex
	var bodies []string
	var keys []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, string(b))
		keys = append(keys, r.Header.Get("Idempotency-Key"))
		last := len(bodies) == 3
		mu.Unlock()
		if !last {
			w.WriteHeader(503)
			return
		}
		w.WriteHeader(200)
	}))
	defer srv.Close()
	payload := `{"b":1,  "a":"é"}`
	req, _ := http.NewRequest(http.MethodPost, srv.URL, io.MultiReader(strings.NewReader(payload[:5]), strings.NewReader(payload[5:])))
	req.Header.Set("Idempotency-Key", client.KeyHeaderValue("key-1"))
	ft := newFakeTime()
	r := newRetrier(t, freshClient(), ft.options()...)
	if _, err := r.Do(context.Background(), req, client.Call{Idempotent: true, Key: "key-1"}); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(bodies) != fmt.Sprint([]string{payload, payload, payload}) {
		t.Errorf("bodies = %q", bodies)
	}
	if fmt.Sprint(keys) != `["key-1" "key-1" "key-1"]` {
		t.Errorf("keys = %q", keys)
	}
}

func TestPolicyValidate(t *testing.T) {
	for _, p := range []client.Policy{
		{MaxAttempts: -1}, {BaseDelay: -1}, {MaxDelay: -1}, {AttemptTimeout: -1}, {MaxRetryAfter: -1},
		{BaseDelay: time.Second, MaxDelay: time.Millisecond}, {RetryStatuses: []int{99}},
	} {
		if err := p.Validate(); err == nil || !strings.HasPrefix(err.Error(), "client: retry policy: ") {
			t.Errorf("%+v: err = %v", p, err)
		}
		if _, err := client.NewRetrier(nil, client.WithPolicy(p)); err == nil {
			t.Errorf("NewRetrier accepted %+v", p)
		}
	}
	if err := (client.Policy{}).Validate(); err != nil {
		t.Errorf("zero policy: %v", err)
	}
	r := newRetrier(t, nil)
	bad := client.Policy{MaxAttempts: -2}
	if _, err := r.Do(context.Background(), httptest.NewRequest("GET", "http://x/", nil), client.Call{Policy: &bad}); err == nil {
		t.Error("Do accepted an invalid per-call policy")
	}
}

// TestStoreUnavailableProblem: a 503 problem (the runtime's fail-closed answer)
// is retried; when it persists the caller gets it as a *client.Problem.
func TestStoreUnavailableProblem(t *testing.T) {
	srv, n := scripted(t, problem(503, "Retry-After", "1"))
	ft := newFakeTime()
	r := newRetrier(t, freshClient(), append(ft.options(), client.WithPolicy(client.Policy{MaxAttempts: 3}))...)
	resp, err := r.Do(context.Background(), postKeyed(t, srv.URL, "k", "{}"), client.Call{Operation: "op", Idempotent: true, Key: "k"})
	if err != nil {
		t.Fatal(err)
	}
	var p *client.Problem
	if err := resp.Err(); !errors.As(err, &p) || p.Status != 503 || n.Load() != 3 ||
		!strings.Contains(err.Error(), "client: op: 503 Service Unavailable: t503: d (after 3 attempts)") {
		t.Errorf("err %v after %d requests", err, n.Load())
	}
}

// net/http's Transport resends a request carrying an Idempotency-Key by itself
// when a reused connection dies before any response byte; Attempts counts that
// resend too, as the server saw two requests.
func TestAttemptsCountTransportResends(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var seen atomic.Int32
	var conns sync.WaitGroup
	defer conns.Wait()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Go(func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					_, _ = io.Copy(io.Discard, req.Body)
					if seen.Add(1) == 2 {
						return // the second request dies on its reused connection, unanswered
					}
					_, _ = io.WriteString(c, "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n{}")
				}
			})
		}
	}()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	r := newRetrier(t, &http.Client{Transport: tr}, client.WithPolicy(client.Policy{MaxAttempts: 1}))
	url := "http://" + ln.Addr().String() + "/things"
	post := func(key string) *client.Response {
		req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(`{"a":1}`))
		req.Header.Set("Idempotency-Key", key)
		resp, err := r.Do(context.Background(), req, client.Call{Idempotent: true, Key: key})
		if err != nil {
			t.Fatalf("key %s: %v", key, err)
		}
		return resp
	}
	if got := post("k1").Result.Attempts; got != 1 {
		t.Fatalf("first call: %d attempts, want 1", got)
	}
	resp := post("k2") // reuses the connection, which dies: the Transport resends
	if resp.Result.Status != http.StatusCreated || seen.Load() != 3 {
		t.Fatalf("status %d, server saw %d requests; want 201 after 3", resp.Result.Status, seen.Load())
	}
	if resp.Result.Attempts != 2 {
		t.Errorf("Attempts %d, want 2 (the Transport's own resend included)", resp.Result.Attempts)
	}
}
