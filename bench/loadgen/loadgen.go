// Package loadgen drives contenders over loopback HTTP: a fixed number of
// clients, each sending one request at a time for a fixed duration, with an
// idempotency key chosen by the mode. It records latencies, status codes, the
// distinct keys it sent and whether two successful answers for one key came from
// different handler executions (a duplicate the client can see).
//
// Two generators send the requests with the same semantics: Raw, over raw
// keep-alive TCP connections with prebuilt request bytes (the default of the
// benchmark, cheap enough not to be its bottleneck), and NetHTTP, a net/http
// client.
package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash/maphash"
	"math/rand/v2"
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

// Generator sends the requests of load runs.
type Generator interface {
	// Run performs one load run. It fails when cfg is invalid, ctx ends, or
	// no request at all got an answer.
	Run(ctx context.Context, cfg Config) (Result, error)
	// Close releases the connections kept between runs.
	Close()
}

// New returns the generator called name (one of Generators) for runs of up to
// concurrency clients.
func New(name string, concurrency int) (Generator, error) {
	switch name {
	case "raw":
		return NewRaw(), nil
	case "nethttp":
		return NetHTTP{Client: NewClient(concurrency)}, nil
	}
	return nil, fmt.Errorf("loadgen: unknown generator %q, want one of %v", name, Generators)
}

// KeySize is the length of every key Key returns.
const KeySize = 36

type key [KeySize]byte

// Key returns the key of the n-th key of a run: a UUID-shaped string (36
// characters, which Fiber's middleware requires).
func Key(run uint32, n uint64) string {
	k := makeKey(run, n)
	return string(k[:])
}

// makeKey is Key without the allocation: "%08x-%04x-4%03x-8%03x-%012x" of
// run, bits 40-55, 28-39, 16-27 and 0-47 of n.
func makeKey(run uint32, n uint64) key {
	var k key
	hex(k[0:8], uint64(run))
	k[8] = '-'
	hex(k[9:13], (n>>40)&0xffff)
	k[13] = '-'
	k[14] = '4'
	hex(k[15:18], (n>>28)&0xfff)
	k[18] = '-'
	k[19] = '8'
	hex(k[20:23], (n>>16)&0xfff)
	k[23] = '-'
	hex(k[24:36], n&0xffffffffffff)
	return k
}

// hex writes v's lowest len(dst) hexadecimal digits into dst.
func hex(dst []byte, v uint64) {
	for i := len(dst) - 1; i >= 0; i-- {
		dst[i] = "0123456789abcdef"[v&0xf]
		v >>= 4
	}
}

// sender sends one client's requests, one at a time.
type sender interface {
	// send posts the run's body with key to the target-th target and returns
	// the answer's status and, when want is true and the status is 2xx, its
	// body (valid until the next send).
	send(target int, key []byte, want bool) (status int, body []byte, err error)
	// done ends the client's use of the sender.
	done()
}

// validate checks the settings of cfg that every generator needs.
func validate(cfg Config) error {
	if len(cfg.Targets) == 0 || cfg.Concurrency < 1 || cfg.Duration <= 0 {
		return fmt.Errorf("loadgen: need targets, concurrency >= 1 and a duration, got %d targets, %d, %v", len(cfg.Targets), cfg.Concurrency, cfg.Duration)
	}
	switch cfg.Mode {
	case Fresh, Replay, Contention:
	default:
		return fmt.Errorf("loadgen: unknown mode %q", cfg.Mode)
	}
	return nil
}

type worker struct {
	latencies []time.Duration
	status    map[int]int
	errors    int
	keys      int
	recent    []key
	rng       *rand.Rand
}

// plan is what every generator shares in one run: the validated settings,
// the request sequence, the clients' statistics and the receipts seen.
type plan struct {
	cfg      Config
	ratio    float64
	group    uint64
	check    bool // read the receipts' executions (the modes with repeated keys)
	seq      atomic.Uint64
	keySeq   atomic.Uint64
	seen     *receipts
	deadline time.Time
	start    time.Time
	workers  []*worker
}

func newPlan(cfg Config) (*plan, error) {
	if err := validate(cfg); err != nil {
		return nil, err
	}
	p := &plan{cfg: cfg, ratio: cfg.ReplayRatio, group: uint64(cfg.ContentionGroup), check: cfg.Mode != Fresh, seen: newReceipts()}
	if p.ratio == 0 {
		p.ratio = 0.9
	}
	if p.group == 0 {
		p.group = 32
	}
	perClient := 1024
	if cfg.Requests > 0 {
		perClient = min(cfg.Requests/cfg.Concurrency+cfg.Requests/(4*cfg.Concurrency)+16, 1<<16)
	}
	p.workers = make([]*worker, cfg.Concurrency)
	for i := range p.workers {
		p.workers[i] = &worker{status: map[int]int{}, rng: rand.New(rand.NewPCG(uint64(cfg.Run), uint64(i))), latencies: make([]time.Duration, 0, perClient)}
	}
	p.start = time.Now()
	p.deadline = p.start.Add(cfg.Duration)
	return p, nil
}

// next returns the sequence number of the next request and its key, or false
// when the run is over (deadline, request cap or ctx).
func (p *plan) next(ctx context.Context, w *worker, now time.Time) (uint64, key, bool) {
	if !now.Before(p.deadline) || ctx.Err() != nil {
		return 0, key{}, false
	}
	n := p.seq.Add(1) - 1
	if p.cfg.Requests > 0 && n >= uint64(p.cfg.Requests) {
		return 0, key{}, false
	}
	var k key
	switch p.cfg.Mode {
	case Fresh:
		k = makeKey(p.cfg.Run, p.keySeq.Add(1))
		w.keys++
	case Replay:
		if len(w.recent) == 0 || w.rng.Float64() >= p.ratio {
			k = makeKey(p.cfg.Run, p.keySeq.Add(1))
			w.keys++
			if len(w.recent) < 64 {
				w.recent = append(w.recent, k)
			} else {
				w.recent[w.rng.IntN(len(w.recent))] = k
			}
		} else {
			k = w.recent[w.rng.IntN(len(w.recent))]
		}
	case Contention:
		k = makeKey(p.cfg.Run, n/p.group)
		if n%p.group == 0 {
			w.keys++
		}
	}
	return n, k, true
}

// answered records an answer to the request with key k sent at t0.
func (p *plan) answered(w *worker, k *key, t0, end time.Time, status int, body []byte) {
	w.latencies = append(w.latencies, end.Sub(t0))
	w.status[status]++
	if p.check && status/100 == 2 {
		if e, ok := execution(body); ok {
			p.seen.check(k, e)
		}
	}
}

// result sums the clients' statistics.
func (p *plan) result(ctx context.Context) (Result, error) {
	res := Result{Elapsed: time.Since(p.start), Status: map[int]int{}, Divergent: int(p.seen.divergent.Load())}
	var lat []time.Duration
	for _, w := range p.workers {
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

// run performs one load run with a goroutine and a sender per client.
func run(ctx context.Context, cfg Config, newSender func() sender) (Result, error) {
	p, err := newPlan(cfg)
	if err != nil {
		return Result{}, err
	}
	var wg sync.WaitGroup
	for _, w := range p.workers {
		s := newSender()
		wg.Go(func() {
			defer s.done()
			now := time.Now()
			for {
				n, k, ok := p.next(ctx, w, now)
				if !ok {
					return
				}
				status, body, err := s.send(int(n%uint64(len(cfg.Targets))), k[:], p.check)
				end := time.Now()
				if err != nil {
					w.errors++
				} else {
					p.answered(w, &k, now, end, status, body)
				}
				now = end
			}
		})
	}
	wg.Wait()
	return p.result(ctx)
}

// executionPrefix starts every receipt workload.Work encodes.
var executionPrefix = []byte(`{"execution":"`)

// execution returns the execution id of a receipt: read in place when body
// starts as workload.Work encodes it, else decoded as JSON.
func execution(body []byte) ([]byte, bool) {
	if rest, ok := bytes.CutPrefix(body, executionPrefix); ok {
		if i := bytes.IndexByte(rest, '"'); i >= 0 && bytes.IndexByte(rest[:i], '\\') < 0 {
			return rest[:i], true
		}
	}
	var r workload.Receipt
	if json.Unmarshal(body, &r) != nil {
		return nil, false
	}
	return []byte(r.Execution), true
}

// receipts remembers the execution of the first successful answer per key.
type receipts struct {
	seed      maphash.Seed
	shards    [32]receiptShard
	divergent atomic.Int64
}

type receiptShard struct {
	mu sync.Mutex
	m  map[key]string
}

func newReceipts() *receipts {
	r := &receipts{seed: maphash.MakeSeed()}
	for i := range r.shards {
		r.shards[i].m = map[key]string{}
	}
	return r
}

func (r *receipts) check(k *key, execution []byte) {
	s := &r.shards[maphash.Bytes(r.seed, k[:])%uint64(len(r.shards))]
	s.mu.Lock()
	first, ok := s.m[*k]
	if !ok {
		s.m[*k] = string(execution)
	}
	s.mu.Unlock()
	if ok && first != string(execution) {
		r.divergent.Add(1)
	}
}
