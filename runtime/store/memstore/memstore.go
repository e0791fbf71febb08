package memstore

import (
	"context"
	"errors"
	"hash/maphash"
	"math"
	"sync"
	"time"

	"github.com/idemgen/idemgen/runtime/idempotency"
)

// ErrFull is returned by Claim when the store holds its maximum number of
// records and none of them can be evicted (they are all in flight).
var ErrFull = errors.New("memstore: full: every record is an in-flight claim")

// Defaults.
const (
	DefaultSweepInterval = time.Minute
	// purgeBatch bounds how many records Purge deletes per lock hold.
	purgeBatch = 1024
	// evictSample is how many records an eviction inspects before settling for
	// the completed record expiring soonest among them.
	evictSample = 16
)

// Option configures New.
type Option func(*config)

type config struct {
	now        func() time.Time
	maxRecords int
	sweep      time.Duration
	shards     int
}

// WithClock replaces time.Now (for tests that move time by hand).
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// WithMaxRecords bounds the number of records (0, the default, is unbounded).
// At the bound, a new claim evicts a completed record (expired ones first,
// then the one expiring soonest among a sample); in-flight claims are never
// evicted, and when every record is in flight Claim returns ErrFull.
func WithMaxRecords(n int) Option { return func(c *config) { c.maxRecords = n } }

// WithSweepInterval sets how often the sweeper purges expired records
// (default one minute; a negative interval disables the sweeper).
func WithSweepInterval(d time.Duration) Option { return func(c *config) { c.sweep = d } }

// Store is the memory store. The zero value is not usable; call New.
type Store struct {
	now      func() time.Time
	seed     maphash.Seed
	shards   []shard
	perShard int // max records per shard, 0 = unbounded

	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

type shard struct {
	mu sync.Mutex
	m  map[string]entry
	_  [40]byte // keep neighbouring shards' locks off one cache line
}

// entry is a record as the map holds it, by value: no allocation per record
// beyond its result, and few pointers for the GC to follow (the id,
// fingerprint and token strings the middleware passes share one object).
// Times are Unix nanoseconds of the store's clock.
type entry struct {
	state       idempotency.State
	fingerprint string
	token       string
	leaseUntil  int64
	expiresAt   int64
	result      []byte
}

// record returns e as an idempotency.Record (Result is shared: it is never
// modified in place, only replaced).
func (e *entry) record(id string) idempotency.Record {
	return idempotency.Record{
		ID:          id,
		State:       e.state,
		Fingerprint: e.fingerprint,
		Token:       e.token,
		LeaseUntil:  time.Unix(0, e.leaseUntil),
		ExpiresAt:   time.Unix(0, e.expiresAt),
		Result:      e.result,
	}
}

var (
	_ idempotency.Store  = (*Store)(nil)
	_ idempotency.Peeker = (*Store)(nil)
)

// New returns a running store; call Close to stop its sweeper.
func New(opts ...Option) *Store {
	cfg := config{now: time.Now, sweep: DefaultSweepInterval, shards: 32}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.maxRecords > 0 {
		// Small bounds get fewer shards so each shard's share stays useful.
		cfg.shards = min(cfg.shards, max(1, cfg.maxRecords/64))
	}
	s := &Store{now: cfg.now, seed: maphash.MakeSeed(), shards: make([]shard, cfg.shards)}
	for i := range s.shards {
		s.shards[i].m = make(map[string]entry)
	}
	if cfg.maxRecords > 0 {
		s.perShard = (cfg.maxRecords + cfg.shards - 1) / cfg.shards
		if s.perShard*cfg.shards > cfg.maxRecords {
			// Round down so the total never exceeds maxRecords.
			s.perShard = max(1, cfg.maxRecords/cfg.shards)
		}
	}
	s.stop, s.done = make(chan struct{}), make(chan struct{})
	if cfg.sweep > 0 {
		go s.sweeper(cfg.sweep)
	} else {
		close(s.done)
	}
	return s
}

// Close stops the sweeper and waits for it to exit. It is safe to call more
// than once; the store stays usable (without background expiry).
func (s *Store) Close() error {
	s.closeOnce.Do(func() { close(s.stop) })
	<-s.done
	return nil
}

func (s *Store) sweeper(every time.Duration) {
	defer close(s.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			_, _ = s.Purge(context.Background())
		}
	}
}

func (s *Store) shard(id string) *shard {
	return &s.shards[maphash.String(s.seed, id)%uint64(len(s.shards))]
}

// live returns the record for id and whether it is unexpired at now (the
// shard lock held).
func live(sh *shard, id string, now int64) (entry, bool, bool) {
	e, ok := sh.m[id]
	return e, ok, ok && e.expiresAt > now
}

// Claim implements idempotency.Store.
func (s *Store) Claim(ctx context.Context, id, fingerprint, token string, lease time.Duration) (idempotency.Claim, error) {
	if err := ctx.Err(); err != nil {
		return idempotency.Claim{}, err
	}
	sh := s.shard(id)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	now := s.now().UnixNano()
	e, found, ok := live(sh, id, now)
	if ok && e.state != idempotency.StateIssued {
		if e.state == idempotency.StateInFlight && e.leaseUntil <= now && idempotency.SameFingerprint(e.fingerprint, fingerprint) {
			e.token, e.leaseUntil = token, after(now, lease)
			e.expiresAt = max(e.expiresAt, e.leaseUntil)
			sh.m[id] = e
			return idempotency.Claim{Acquired: true, TookOver: true}, nil
		}
		return idempotency.Claim{Existing: e.record(id)}, nil
	}
	// A dead in-flight record with this fingerprint is a crashed attempt.
	tookOver := found && e.state == idempotency.StateInFlight && idempotency.SameFingerprint(e.fingerprint, fingerprint)
	if !found && s.perShard > 0 && len(sh.m) >= s.perShard {
		if !s.evict(sh, now) {
			return idempotency.Claim{}, ErrFull
		}
	}
	until := after(now, lease)
	sh.m[id] = entry{
		state:       idempotency.StateInFlight,
		fingerprint: fingerprint,
		token:       token,
		leaseUntil:  until,
		expiresAt:   until,
	}
	return idempotency.Claim{Acquired: true, TookOver: tookOver}, nil
}

// evict makes room for one record in sh (lock held): it deletes expired
// records met in a sample, else the completed record expiring soonest.
func (s *Store) evict(sh *shard, now int64) bool {
	var victim string
	var victimExp int64
	seen := 0
	freed := false
	for id, e := range sh.m {
		if e.expiresAt <= now {
			delete(sh.m, id)
			freed = true
		} else if e.state != idempotency.StateInFlight && (victim == "" || e.expiresAt < victimExp) {
			victim, victimExp = id, e.expiresAt
		}
		seen++
		if seen >= evictSample && (freed || victim != "") {
			break
		}
	}
	if freed {
		return true
	}
	if victim == "" {
		return false
	}
	delete(sh.m, victim)
	return true
}

// Complete implements idempotency.Store. result is copied.
func (s *Store) Complete(ctx context.Context, id, token string, result []byte, ttl time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	res := make([]byte, len(result))
	copy(res, result)
	sh := s.shard(id)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	now := s.now().UnixNano()
	e, _, ok := live(sh, id, now)
	if !ok || e.state != idempotency.StateInFlight || e.token != token {
		return idempotency.ErrNotOwner
	}
	e.state, e.result, e.expiresAt = idempotency.StateCompleted, res, after(now, ttl)
	sh.m[id] = e
	return nil
}

// Release implements idempotency.Store.
func (s *Store) Release(ctx context.Context, id, token string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	sh := s.shard(id)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e, _, ok := live(sh, id, s.now().UnixNano())
	if !ok || e.state != idempotency.StateInFlight || e.token != token {
		return idempotency.ErrNotOwner
	}
	delete(sh.m, id)
	return nil
}

// Get implements idempotency.Store.
func (s *Store) Get(ctx context.Context, id string) (idempotency.Record, error) {
	if err := ctx.Err(); err != nil {
		return idempotency.Record{}, err
	}
	sh := s.shard(id)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e, _, ok := live(sh, id, s.now().UnixNano())
	if !ok {
		return idempotency.Record{}, idempotency.ErrNotFound
	}
	return e.record(id), nil
}

// PeekCompleted implements idempotency.Peeker: the middleware answers a
// byte-identical replay from it without fingerprinting the request.
func (s *Store) PeekCompleted(id []byte) (string, []byte, bool) {
	sh := &s.shards[maphash.Bytes(s.seed, id)%uint64(len(s.shards))]
	sh.mu.Lock()
	e, ok := sh.m[string(id)]
	sh.mu.Unlock()
	if !ok || e.state != idempotency.StateCompleted || e.expiresAt <= s.now().UnixNano() {
		return "", nil, false
	}
	return e.fingerprint, e.result, true
}

// FingerprintSeed implements idempotency.InProcess: the records never leave
// this process, so the middleware fingerprints requests with this secret seed.
func (s *Store) FingerprintSeed() maphash.Seed { return s.seed }

// Purge implements idempotency.Store: it deletes expired records, holding each
// shard's lock for at most purgeBatch deletions at a time.
func (s *Store) Purge(ctx context.Context) (int, error) {
	total := 0
	for i := range s.shards {
		sh := &s.shards[i]
		for {
			if err := ctx.Err(); err != nil {
				return total, err
			}
			n, more := purgeShard(sh, s.now().UnixNano())
			total += n
			if !more {
				break
			}
		}
	}
	return total, nil
}

func purgeShard(sh *shard, now int64) (n int, more bool) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	for id, e := range sh.m {
		if e.expiresAt <= now {
			delete(sh.m, id)
			n++
			if n == purgeBatch {
				return n, true
			}
		}
	}
	return n, false
}

// Len returns the number of records held, expired ones not yet purged included.
func (s *Store) Len() int {
	n := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		n += len(sh.m)
		sh.mu.Unlock()
	}
	return n
}

// after is now+d in Unix nanoseconds, saturating instead of wrapping for a
// very long ttl.
func after(now int64, d time.Duration) int64 {
	if d > 0 && now > math.MaxInt64-int64(d) {
		return math.MaxInt64
	}
	return now + int64(d)
}
