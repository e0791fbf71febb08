// Package loadgen drives contenders over loopback HTTP: a fixed number of
// clients, each sending one request at a time for a fixed duration, with an
// idempotency key chosen by the mode. It records latencies, status codes, the
// distinct keys it sent and whether two successful answers for one key came from
// different handler executions (a duplicate the client can see).
package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash/maphash"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/idemgen/idemgen/bench/workload"
)

// Mode chooses the keys of the requests.
type Mode string

const (
	// Fresh sends a new key with every request: every request is a first request.
	Fresh Mode = "fresh"
	// Replay sends a repeat of one of the client's earlier keys with probability
	// ReplayRatio (90% by default), else a new key.
	Replay Mode = "replay"
	// Contention makes every client send the same key as the ContentionGroup-1
	// requests issued just before or after it (across all clients), so a few keys
	// are hammered concurrently at any moment.
	Contention Mode = "contention"
)

// Config is one load run.
type Config struct {
	// Targets are the URLs requests are POSTed to, in turn (two targets spread
	// the load over two server processes).
	Targets []string
	// Mode chooses the keys.
	Mode Mode
	// Concurrency is the number of clients, each with one request in flight.
	Concurrency int
	// Duration bounds the run: no request starts after it.
	Duration time.Duration
	// Requests, when above 0, also ends the run: no request starts once this
	// many have been started. A run is then Requests requests or Duration,
	// whichever comes first.
	Requests int
	// Body is the request body.
	Body []byte
	// Run distinguishes the keys of separate runs against the same store.
	Run uint32
	// ReplayRatio is the share of repeated keys in Replay mode; 0 means 0.9.
	ReplayRatio float64
	// ContentionGroup is how many consecutive requests share a key in
	// Contention mode; 0 means 32.
	ContentionGroup int
}

// Result is what a run observed from the client side.
type Result struct {
	// Requests is the number of completed requests (answered, whatever the status).
	Requests int
	// Errors is the number of requests that got no HTTP answer.
	Errors int
	// Elapsed is the time from the first request to the last answer.
	Elapsed time.Duration
	// Status counts the answers by status code.
	Status map[int]int
	// P50 and P99 are latency percentiles of the answered requests.
	P50, P99 time.Duration
	// Keys is the number of distinct keys sent.
	Keys int
	// Divergent counts successful answers whose receipt came from another
	// handler execution than the first successful answer for the same key.
	Divergent int
}

// RPS is the answered requests per second.
func (r Result) RPS() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests) / r.Elapsed.Seconds()
}

// Key returns the key of the n-th key of a run: a UUID-shaped string (36
// characters, which Fiber's middleware requires).
func Key(run uint32, n uint64) string {
	return fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", run, (n>>40)&0xffff, (n>>28)&0xfff, (n>>16)&0xfff, n&0xffffffffffff)
}

type worker struct {
	latencies []time.Duration
	status    map[int]int
	errors    int
	keys      int
	recent    []string
	rng       *rand.Rand
}

// Run performs one load run. It fails when cfg is invalid, ctx ends, or no
// request at all got an answer.
func Run(ctx context.Context, client *http.Client, cfg Config) (Result, error) {
	if len(cfg.Targets) == 0 || cfg.Concurrency < 1 || cfg.Duration <= 0 {
		return Result{}, fmt.Errorf("loadgen: need targets, concurrency >= 1 and a duration, got %d targets, %d, %v", len(cfg.Targets), cfg.Concurrency, cfg.Duration)
	}
	switch cfg.Mode {
	case Fresh, Replay, Contention:
	default:
		return Result{}, fmt.Errorf("loadgen: unknown mode %q", cfg.Mode)
	}
	ratio := cfg.ReplayRatio
	if ratio == 0 {
		ratio = 0.9
	}
	group := uint64(cfg.ContentionGroup)
	if group == 0 {
		group = 32
	}
	var (
		seq      atomic.Uint64 // request sequence across clients (targets, contention keys)
		keySeq   atomic.Uint64 // new keys in fresh and replay modes
		seen     = newReceipts()
		deadline = time.Now().Add(cfg.Duration)
		workers  = make([]*worker, cfg.Concurrency)
		wg       sync.WaitGroup
	)
	start := time.Now()
	for i := range workers {
		w := &worker{status: map[int]int{}, rng: rand.New(rand.NewPCG(uint64(cfg.Run), uint64(i)))}
		workers[i] = w
		wg.Go(func() {
			for time.Now().Before(deadline) && ctx.Err() == nil {
				n := seq.Add(1) - 1
				if cfg.Requests > 0 && n >= uint64(cfg.Requests) {
					return
				}
				var key string
				switch cfg.Mode {
				case Fresh:
					key = Key(cfg.Run, keySeq.Add(1))
					w.keys++
				case Replay:
					if len(w.recent) == 0 || w.rng.Float64() >= ratio {
						key = Key(cfg.Run, keySeq.Add(1))
						w.keys++
						if len(w.recent) < 64 {
							w.recent = append(w.recent, key)
						} else {
							w.recent[w.rng.IntN(len(w.recent))] = key
						}
					} else {
						key = w.recent[w.rng.IntN(len(w.recent))]
					}
				case Contention:
					key = Key(cfg.Run, n/group)
					if n%group == 0 {
						w.keys++
					}
				}
				w.do(ctx, client, cfg.Targets[n%uint64(len(cfg.Targets))], key, cfg.Body, cfg.Mode != Fresh, seen)
			}
		})
	}
	wg.Wait()
	res := Result{Elapsed: time.Since(start), Status: map[int]int{}, Divergent: int(seen.divergent.Load())}
	var lat []time.Duration
	for _, w := range workers {
		lat = append(lat, w.latencies...)
		res.Errors += w.errors
		res.Keys += w.keys
		for s, c := range w.status {
			res.Status[s] += c
		}
	}
	res.Requests = len(lat)
	if err := ctx.Err(); err != nil {
		return res, fmt.Errorf("loadgen: %w", err)
	}
	if res.Requests == 0 {
		return res, fmt.Errorf("loadgen: no request was answered (%d errors)", res.Errors)
	}
	slices.Sort(lat)
	res.P50 = lat[len(lat)*50/100]
	res.P99 = lat[len(lat)*99/100]
	return res, nil
}

func (w *worker) do(ctx context.Context, client *http.Client, url, key string, body []byte, check bool, seen *receipts) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		w.errors++
		return
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(workload.KeyHeader, key)
	t0 := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		w.errors++
		return
	}
	out, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		w.errors++
		return
	}
	w.latencies = append(w.latencies, time.Since(t0))
	w.status[resp.StatusCode]++
	if check && resp.StatusCode/100 == 2 {
		var r workload.Receipt
		if json.Unmarshal(out, &r) == nil {
			seen.check(key, r.Execution)
		}
	}
}

// receipts remembers the execution of the first successful answer per key.
type receipts struct {
	seed      maphash.Seed
	shards    [32]receiptShard
	divergent atomic.Int64
}

type receiptShard struct {
	mu sync.Mutex
	m  map[string]string
}

func newReceipts() *receipts {
	r := &receipts{seed: maphash.MakeSeed()}
	for i := range r.shards {
		r.shards[i].m = map[string]string{}
	}
	return r
}

func (r *receipts) check(key, execution string) {
	s := &r.shards[maphash.String(r.seed, key)%uint64(len(r.shards))]
	s.mu.Lock()
	first, ok := s.m[key]
	if !ok {
		s.m[key] = execution
	}
	s.mu.Unlock()
	if ok && first != execution {
		r.divergent.Add(1)
	}
}

// NewClient returns an HTTP client that keeps one connection per client open.
func NewClient(concurrency int) *http.Client {
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			MaxIdleConns:        concurrency * 2,
			MaxIdleConnsPerHost: concurrency,
			IdleConnTimeout:     30 * time.Second,
			DisableCompression:  true,
		},
	}
}
