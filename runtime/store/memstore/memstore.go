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
	now      func() time.Time // WithClock's clock; nil: the system's (wallNano)
	seed     maphash.Seed
	shards   []shard
	arena    arena // the shards' record memory
	perShard int   // max records per shard, 0 = unbounded

	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

// shard holds the records whose id hashes to it. Neither its index nor its
// records hold a pointer: the GC has nothing to scan per record.
type shard struct {
	mu sync.Mutex
	// index maps the seeded hash of an id to its record's slot. The stored
	// id is compared on every lookup; an id whose hash another id already
	// holds goes to spill (2^-64 per pair of ids: practically never).
	index  map[uint64]uint32
	spill  map[string]uint32
	slab   slab
	closed bool
}

var (
	_ idempotency.Store        = (*Store)(nil)
	_ idempotency.Peeker       = (*Store)(nil)
	_ idempotency.PeekAppender = (*Store)(nil)
)

// ErrClosed is returned by every method of a closed store.
var ErrClosed = errors.New("memstore: the store is closed")

// New returns a running store; call Close to stop its sweeper and release its
// memory.
func New(opts ...Option) *Store {
	cfg := config{sweep: DefaultSweepInterval, shards: 32}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.maxRecords > 0 {
		// Small bounds get fewer shards so each shard's share stays useful.
		cfg.shards = min(cfg.shards, max(1, cfg.maxRecords/64))
	}
	s := &Store{now: cfg.now, seed: maphash.MakeSeed(), shards: make([]shard, cfg.shards)}
	s.arena.huge = true
	for i := range s.shards {
		s.shards[i].index = make(map[uint64]uint32)
		s.shards[i].slab.arena = &s.arena
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

// Close stops the sweeper, waits for it to exit and releases the records'
// memory: every method then returns ErrClosed (PeekCompleted finds nothing),
// so a request that races a shutdown fails closed instead of being run
// again. It is safe to call more than once.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		close(s.stop)
		<-s.done
		for i := range s.shards {
			sh := &s.shards[i]
			sh.mu.Lock()
			sh.closed = true
			sh.slab.close()
			sh.index, sh.spill = nil, nil
			sh.mu.Unlock()
		}
		s.arena.close()
	})
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

// lock returns id's shard, locked, and the hash of id.
func (s *Store) lock(id string) (*shard, uint64, error) {
	h := maphash.String(s.seed, id)
	sh := &s.shards[h%uint64(len(s.shards))]
	sh.mu.Lock()
	if sh.closed {
		sh.mu.Unlock()
		return nil, 0, ErrClosed
	}
	return sh, h, nil
}

// find returns the slot of id's record (expired or not) and whether it is
// there.
func (sh *shard) find(id string, h uint64) (uint32, bool) {
	if slot, ok := sh.index[h]; ok && string(sh.rec(slot).id()) == id {
		return slot, true
	}
	if len(sh.spill) > 0 {
		slot, ok := sh.spill[id]
		return slot, ok
	}
	return 0, false
}

func (sh *shard) rec(slot uint32) rec { return rec(sh.slab.bytes(slot)) }

// insert adds id's record, which must not be there yet.
func (sh *shard) insert(id string, h uint64, slot uint32) {
	if _, taken := sh.index[h]; !taken {
		sh.index[h] = slot
		return
	}
	if sh.spill == nil {
		sh.spill = make(map[string]uint32)
	}
	sh.spill[id] = slot
}

// move points id's record (at slot old) to slot instead.
func (sh *shard) move(id string, h uint64, old, slot uint32) {
	if cur, ok := sh.index[h]; ok && cur == old {
		sh.index[h] = slot
	} else {
		sh.spill[id] = slot
	}
}

// remove deletes id's record (at slot) and frees its slot.
func (sh *shard) remove(h uint64, slot uint32) {
	if cur, ok := sh.index[h]; ok && cur == slot {
		delete(sh.index, h)
	} else {
		delete(sh.spill, string(sh.rec(slot).id()))
	}
	sh.slab.release(slot)
}

// put writes a new record for id into a fresh slot, in place of the one at
// old when replace.
func (sh *shard) put(id string, h uint64, replace bool, old uint32, fp, tok string, res []byte, state idempotency.State, leaseUntil, expiresAt int64) error {
	slot, err := sh.slab.alloc(recordSize(id, fp, tok, res))
	if err != nil {
		return err
	}
	putRecord(sh.slab.bytes(slot), id, fp, tok, res, state, leaseUntil, expiresAt)
	if replace {
		sh.move(id, h, old, slot)
		sh.slab.release(old)
	} else {
		sh.insert(id, h, slot)
	}
	return nil
}

func (sh *shard) len() int { return len(sh.index) + len(sh.spill) }

// Claim implements idempotency.Store.
func (s *Store) Claim(ctx context.Context, id, fingerprint, token string, lease time.Duration) (idempotency.Claim, error) {
	if err := ctx.Err(); err != nil {
		return idempotency.Claim{}, err
	}
	sh, h, err := s.lock(id)
	if err != nil {
		return idempotency.Claim{}, err
	}
	defer sh.mu.Unlock()
	now := s.nowNano()
	slot, found := sh.find(id, h)
	var state idempotency.State
	if found {
		r := sh.rec(slot)
		state = r.state()
		if r.expiresAt() > now && state != idempotency.StateIssued {
			if state == idempotency.StateInFlight && r.leaseUntil() <= now && r.sameFingerprint(fingerprint) {
				// Takeover: a new token and lease on the same record.
				until := after(now, lease)
				exp := max(r.expiresAt(), until)
				if t := r.token(); len(t) == len(token) {
					copy(t, token)
					r.setTimes(until, exp)
				} else if err := sh.put(id, h, true, slot, str(r.fingerprint()), token, nil, idempotency.StateInFlight, until, exp); err != nil {
					return idempotency.Claim{}, err
				}
				return idempotency.Claim{Acquired: true, TookOver: true}, nil
			}
			return idempotency.Claim{Existing: r.record(id)}, nil
		}
	}
	// A dead in-flight record with this fingerprint is a crashed attempt.
	tookOver := found && state == idempotency.StateInFlight && sh.rec(slot).sameFingerprint(fingerprint)
	if !found && s.perShard > 0 && sh.len() >= s.perShard {
		if !sh.evict(now) {
			return idempotency.Claim{}, ErrFull
		}
	}
	until := after(now, lease)
	if err := sh.put(id, h, found, slot, fingerprint, token, nil, idempotency.StateInFlight, until, until); err != nil {
		return idempotency.Claim{}, err
	}
	return idempotency.Claim{Acquired: true, TookOver: tookOver}, nil
}

// evict makes room for one record in sh (lock held): it deletes expired
// records met in a sample, else the completed record expiring soonest.
func (sh *shard) evict(now int64) bool {
	var victim uint32
	var victimHash uint64
	var victimExp int64
	found := false
	seen := 0
	freed := false
	consider := func(h uint64, slot uint32) bool {
		r := sh.rec(slot)
		if exp := r.expiresAt(); exp <= now {
			sh.remove(h, slot)
			freed = true
		} else if r.state() != idempotency.StateInFlight && (!found || exp < victimExp) {
			victim, victimHash, victimExp, found = slot, h, exp, true
		}
		seen++
		return seen >= evictSample && (freed || found)
	}
	done := false
	for h, slot := range sh.index {
		if done = consider(h, slot); done {
			break
		}
	}
	if !done {
		for _, slot := range sh.spill {
			if consider(0, slot) { // remove finds a spilled record by its id
				break
			}
		}
	}
	if freed {
		return true
	}
	if !found {
		return false
	}
	sh.remove(victimHash, victim)
	return true
}

// Complete implements idempotency.Store. result is copied.
func (s *Store) Complete(ctx context.Context, id, token string, result []byte, ttl time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	sh, h, err := s.lock(id)
	if err != nil {
		return err
	}
	defer sh.mu.Unlock()
	now := s.nowNano()
	slot, r, ok := sh.owned(id, h, token, now)
	if !ok {
		return idempotency.ErrNotOwner
	}
	// The fingerprint is read from the old slot, released only after the copy.
	return sh.put(id, h, true, slot, str(r.fingerprint()), token, result, idempotency.StateCompleted, r.leaseUntil(), after(now, ttl))
}

// Release implements idempotency.Store.
func (s *Store) Release(ctx context.Context, id, token string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	sh, h, err := s.lock(id)
	if err != nil {
		return err
	}
	defer sh.mu.Unlock()
	slot, _, ok := sh.owned(id, h, token, s.nowNano())
	if !ok {
		return idempotency.ErrNotOwner
	}
	sh.remove(h, slot)
	return nil
}

// owned returns the slot of id's record when it is a live in-flight claim
// held with token (lock held): what Complete and Release may act on.
func (sh *shard) owned(id string, h uint64, token string, now int64) (uint32, rec, bool) {
	slot, found := sh.find(id, h)
	if !found {
		return 0, nil, false
	}
	r := sh.rec(slot)
	if r.expiresAt() <= now || r.state() != idempotency.StateInFlight || string(r.token()) != token {
		return 0, nil, false
	}
	return slot, r, true
}

// Get implements idempotency.Store.
func (s *Store) Get(ctx context.Context, id string) (idempotency.Record, error) {
	if err := ctx.Err(); err != nil {
		return idempotency.Record{}, err
	}
	sh, h, err := s.lock(id)
	if err != nil {
		return idempotency.Record{}, err
	}
	defer sh.mu.Unlock()
	slot, found := sh.find(id, h)
	if !found || sh.rec(slot).expiresAt() <= s.nowNano() {
		return idempotency.Record{}, idempotency.ErrNotFound
	}
	return sh.rec(slot).record(id), nil
}

// PeekCompleted implements idempotency.Peeker: the middleware answers a
// byte-identical replay from it without fingerprinting the request. The
// fingerprint and result are copied out in one allocation.
func (s *Store) PeekCompleted(id []byte) (string, []byte, bool) {
	buf, n, ok := s.AppendCompleted(nil, id)
	if !ok {
		return "", nil, false
	}
	return str(buf[:n]), buf[n:], true
}

// AppendCompleted implements idempotency.PeekAppender: PeekCompleted into the
// caller's buffer, which spares the middleware an allocation per replay.
func (s *Store) AppendCompleted(dst, id []byte) ([]byte, int, bool) {
	sh, h, err := s.lock(str(id)) // id is not kept beyond the call
	if err != nil {
		return dst, 0, false
	}
	defer sh.mu.Unlock()
	slot, found := sh.find(str(id), h)
	if !found {
		return dst, 0, false
	}
	r := sh.rec(slot)
	if r.state() != idempotency.StateCompleted || r.expiresAt() <= s.nowNano() {
		return dst, 0, false
	}
	_, fp, _, _ := r.lens()
	return append(dst, r.printAndResult()...), fp, true
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
			n, more := s.purgeShard(sh)
			total += n
			if !more {
				break
			}
		}
	}
	return total, nil
}

func (s *Store) purgeShard(sh *shard) (n int, more bool) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.closed {
		return 0, false
	}
	now := s.nowNano()
	for h, slot := range sh.index {
		if sh.rec(slot).expiresAt() <= now {
			sh.remove(h, slot)
			n++
			if n == purgeBatch {
				return n, true
			}
		}
	}
	for _, slot := range sh.spill {
		if sh.rec(slot).expiresAt() <= now {
			sh.remove(0, slot)
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
		n += sh.len()
		sh.mu.Unlock()
	}
	return n
}

// nowNano is the store's clock in Unix nanoseconds.
func (s *Store) nowNano() int64 {
	if s.now != nil {
		return s.now().UnixNano()
	}
	return wallNano()
}

// after is now+d in Unix nanoseconds, saturating instead of wrapping for a
// very long ttl.
func after(now int64, d time.Duration) int64 {
	if d > 0 && now > math.MaxInt64-int64(d) {
		return math.MaxInt64
	}
	return now + int64(d)
}
