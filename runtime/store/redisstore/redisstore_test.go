package redisstore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/idemgen/idemgen/runtime/idempotency"
	"github.com/idemgen/idemgen/runtime/store/redisstore"
	"github.com/idemgen/idemgen/runtime/store/storetest"
)

// redisAddr is the Redis server the tests use (storetest.RedisAddr).
func redisAddr() string { return storetest.RedisAddr() }

// openClient connects to the test Redis. Without a server the test is skipped,
// except under CI=true where the backend must be tested and its absence fails.
func openClient(tb testing.TB, hooks ...redis.Hook) *redis.Client {
	tb.Helper()
	c := redis.NewClient(&redis.Options{Addr: redisAddr()})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		c.Close()
		storetest.NeedService(tb, "redis at "+redisAddr(), err)
	}
	for _, h := range hooks {
		c.AddHook(h)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}

// newStore returns a Store on the test Redis with a prefix of its own, whose
// keys are deleted when the test ends.
func newStore(tb testing.TB, hooks ...redis.Hook) (*redisstore.Store, *redis.Client) {
	tb.Helper()
	c := openClient(tb, hooks...)
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		tb.Fatal(err)
	}
	prefix := "idemtest:" + hex.EncodeToString(b[:]) + ":"
	tb.Cleanup(func() {
		ctx := context.Background()
		iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			c.Del(ctx, iter.Val())
		}
	})
	return redisstore.New(c, redisstore.WithPrefix(prefix)), c
}

func TestKeyIsPrefixedAndHashTagged(t *testing.T) {
	s := redisstore.New(nil, redisstore.WithPrefix("svc:"))
	if got, want := s.Key("ab12"), "svc:{ab12}"; got != want {
		t.Fatalf("Key = %q, want %q", got, want)
	}
}

func TestTokensCompareAsStrings(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	// Two int64 tokens that are equal as Lua (double) numbers but differ as strings.
	a, b := "9007199254740993", "9007199254740992"
	if _, err := s.Claim(ctx, "r1", "fp", a, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := s.Complete(ctx, "r1", b, []byte("x"), time.Minute); !errors.Is(err, idempotency.ErrNotOwner) {
		t.Fatalf("Complete with a near-equal token: err = %v, want ErrNotOwner", err)
	}
	if err := s.Release(ctx, "r1", b); !errors.Is(err, idempotency.ErrNotOwner) {
		t.Fatalf("Release with a near-equal token: err = %v, want ErrNotOwner", err)
	}
	if err := s.Complete(ctx, "r1", a, []byte("x"), time.Minute); err != nil {
		t.Fatalf("Complete by the owner: %v", err)
	}
}

func TestExpiryUsesRedisTTL(t *testing.T) {
	ctx := context.Background()
	s, c := newStore(t)
	if _, err := s.Claim(ctx, "r", "fp", "t", time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := s.Complete(ctx, "r", "t", []byte("v"), 50*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if ttl := c.PTTL(ctx, s.Key("r")).Val(); ttl <= 0 || ttl > 50*time.Millisecond {
		t.Fatalf("PTTL after Complete = %v, want within (0, 50ms]", ttl)
	}
	time.Sleep(60 * time.Millisecond)
	if _, err := s.Get(ctx, "r"); !errors.Is(err, idempotency.ErrNotFound) {
		t.Fatalf("Get after the ttl: err = %v, want ErrNotFound", err)
	}
	if n := c.Exists(ctx, s.Key("r")).Val(); n != 0 {
		t.Fatalf("key still exists after its ttl")
	}
}

// TestLeasesAndTTLsChange: one store serving operations with different leases
// and ttls gives each key its own (the store keeps the last lifetime and ttl
// it sent as interface values: a change must not reuse the old one).
func TestLeasesAndTTLsChange(t *testing.T) {
	ctx := context.Background()
	s, c := newStore(t)
	for i, d := range []time.Duration{time.Minute, 3 * time.Minute, time.Minute, 2 * time.Minute} {
		id := "r" + strconv.Itoa(i)
		if _, err := s.Claim(ctx, id, "fp", "t", d); err != nil {
			t.Fatal(err)
		}
		// An in-flight key lives for its lease plus a grace of max(lease, 60s).
		if got, want := c.PTTL(ctx, s.Key(id)).Val(), 2*d; got <= want-5*time.Second || got > want {
			t.Fatalf("claim %d with lease %v: PTTL %v, want about %v", i, d, got, want)
		}
		if err := s.Complete(ctx, id, "t", []byte("v"), d); err != nil {
			t.Fatal(err)
		}
		if got := c.PTTL(ctx, s.Key(id)).Val(); got <= d-5*time.Second || got > d {
			t.Fatalf("complete %d with ttl %v: PTTL %v, want about %v", i, d, got, d)
		}
	}
}

// TestClaimRetriedWithItsToken: a claim command retried after a lost reply
// (same token) acquires again instead of blocking its own attempt with a 409.
func TestClaimRetriedWithItsToken(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	for i := range 2 {
		if c, err := s.Claim(ctx, "r", "fp", "tok", time.Minute); err != nil || !c.Acquired {
			t.Fatalf("claim %d with the same token = %+v, %v; want acquired", i, c, err)
		}
	}
	if c, err := s.Claim(ctx, "r", "fp", "other", time.Minute); err != nil || c.Acquired {
		t.Fatalf("claim with another token = %+v, %v; want not acquired", c, err)
	}
}

// TestLateOwnerCompletes: an owner whose lease ran out may still complete when
// nobody took over (storing its result beats running the handler again).
func TestLateOwnerCompletes(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	if _, err := s.Claim(ctx, "late", "fp", "t1", 10*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	time.Sleep(30 * time.Millisecond)
	if err := s.Complete(ctx, "late", "t1", []byte("ok"), time.Minute); err != nil {
		t.Fatalf("late Complete: %v", err)
	}
	if rec, err := s.Get(ctx, "late"); err != nil || rec.State != idempotency.StateCompleted {
		t.Fatalf("Get = %+v, %v", rec, err)
	}
}

// countHook counts the commands the client sends, one per round trip.
type countHook struct{ cmds atomic.Int64 }

func (h *countHook) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *countHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.cmds.Add(1)
		return next(ctx, cmd)
	}
}
func (h *countHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.cmds.Add(1)
		return next(ctx, cmds)
	}
}

// TestRoundTrips checks the floor the design promises: a first request costs two
// round trips (claim, complete) and a replay one (the claim answers with the
// completed record). It counts the commands the client sends; the benchmarks
// report the same from the server's INFO commandstats.
func TestRoundTrips(t *testing.T) {
	ctx := context.Background()
	h := &countHook{}
	s, _ := newStore(t, h)
	// Warm the script cache so that no NOSCRIPT fallback is counted.
	if _, err := s.Claim(ctx, "warm", "fp", "t", time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := s.Complete(ctx, "warm", "t", nil, time.Minute); err != nil {
		t.Fatal(err)
	}

	h.cmds.Store(0)
	if c, err := s.Claim(ctx, "first", "fp", "t", time.Minute); err != nil || !c.Acquired {
		t.Fatalf("claim = %+v, %v", c, err)
	}
	if err := s.Complete(ctx, "first", "t", []byte("result"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if n := h.cmds.Load(); n != 2 {
		t.Fatalf("first request: %d round trips, want 2", n)
	}

	h.cmds.Store(0)
	cl, err := s.Claim(ctx, "first", "fp", "t2", time.Minute)
	if err != nil || cl.Acquired || string(cl.Existing.Result) != "result" {
		t.Fatalf("replay claim = %+v, %v", cl, err)
	}
	if n := h.cmds.Load(); n != 1 {
		t.Fatalf("replay: %d round trips, want 1", n)
	}
}

func TestUnreachableServerIsAnError(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	defer c.Close()
	s := redisstore.New(c)
	_, err := s.Claim(context.Background(), "r", "fp", "t", time.Second)
	if err == nil || !strings.HasPrefix(err.Error(), "redisstore: claim") {
		t.Fatalf("Claim on a dead server: err = %v, want a redisstore error", err)
	}
}

// TestLegacyHashRecords: records that an earlier version of the package kept
// as hashes are still honoured until they expire: a completed one is replayed,
// a live in-flight one refuses other claims, an expired one is taken over.
func TestLegacyHashRecords(t *testing.T) {
	ctx := context.Background()
	s, c := newStore(t)
	now := time.Now().UnixMilli()
	ms := func(d time.Duration) string { return strconv.FormatInt(now+d.Milliseconds(), 10) }
	c.HSet(ctx, s.Key("done"), "s", "2", "f", "fp", "t", "old", "l", ms(-time.Second), "e", ms(time.Hour), "r", "stored")
	c.PExpire(ctx, s.Key("done"), time.Hour)
	c.HSet(ctx, s.Key("busy"), "s", "1", "f", "fp", "t", "old", "l", ms(time.Hour), "e", ms(time.Hour))
	c.PExpire(ctx, s.Key("busy"), 2*time.Hour)
	c.HSet(ctx, s.Key("stale"), "s", "1", "f", "fp", "t", "old", "l", ms(-time.Second), "e", ms(-time.Second))
	c.PExpire(ctx, s.Key("stale"), time.Hour)

	cl, err := s.Claim(ctx, "done", "fp", "new", time.Minute)
	if err != nil || cl.Acquired || cl.Existing.State != idempotency.StateCompleted || string(cl.Existing.Result) != "stored" ||
		cl.Existing.Fingerprint != "fp" || cl.Existing.ExpiresAt.UnixMilli() != now+time.Hour.Milliseconds() {
		t.Fatalf("claim of a legacy completed record = %+v, %v", cl, err)
	}
	if rec, err := s.Get(ctx, "done"); err != nil || rec.State != idempotency.StateCompleted || rec.Token != "old" || string(rec.Result) != "stored" {
		t.Fatalf("Get of a legacy completed record = %+v, %v", rec, err)
	}
	cl, err = s.Claim(ctx, "busy", "fp", "new", time.Minute)
	if err != nil || cl.Acquired || cl.Existing.State != idempotency.StateInFlight || cl.Existing.LeaseUntil.UnixMilli() != now+time.Hour.Milliseconds() {
		t.Fatalf("claim of a legacy in-flight record = %+v, %v", cl, err)
	}
	if rec, err := s.Get(ctx, "busy"); err != nil || rec.State != idempotency.StateInFlight || rec.Token != "old" {
		t.Fatalf("Get of a legacy in-flight record = %+v, %v", rec, err)
	}
	if _, err := s.Get(ctx, "stale"); !errors.Is(err, idempotency.ErrNotFound) {
		t.Fatalf("Get of an expired legacy claim: err = %v, want ErrNotFound", err)
	}
	cl, err = s.Claim(ctx, "stale", "fp", "new", time.Minute)
	if err != nil || !cl.Acquired || !cl.TookOver {
		t.Fatalf("claim of an expired legacy claim = %+v, %v; want acquired, took over", cl, err)
	}
	if err := s.Complete(ctx, "stale", "new", []byte("r"), time.Minute); err != nil {
		t.Fatalf("Complete after taking over a legacy claim: %v", err)
	}
}

// TestInFlightTimes: an in-flight record reports its lease end on the server
// clock, through Claim (a 409's Retry-After) and Get, and a completed record
// keeps it beside its expiry.
func TestInFlightTimes(t *testing.T) {
	ctx := context.Background()
	s, c := newStore(t)
	srv, err := c.Time(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Claim(ctx, "r", "fp", "tok", 90*time.Second); err != nil {
		t.Fatal(err)
	}
	want := srv.Add(90 * time.Second)
	near := func(got, want time.Time) bool { d := got.Sub(want); return d > -2*time.Second && d < 2*time.Second }
	cl, err := s.Claim(ctx, "r", "fp", "other", time.Minute)
	if err != nil || cl.Acquired || !near(cl.Existing.LeaseUntil, want) || !cl.Existing.ExpiresAt.Equal(cl.Existing.LeaseUntil) {
		t.Fatalf("409 claim = %+v, %v; want LeaseUntil = ExpiresAt near %v", cl, err, want)
	}
	rec, err := s.Get(ctx, "r")
	if err != nil || rec.Token != "tok" || !near(rec.LeaseUntil, want) || !rec.ExpiresAt.Equal(rec.LeaseUntil) {
		t.Fatalf("Get = %+v, %v; want LeaseUntil = ExpiresAt near %v", rec, err, want)
	}
	if err := s.Complete(ctx, "r", "tok", []byte("v"), time.Hour); err != nil {
		t.Fatal(err)
	}
	rec, err = s.Get(ctx, "r")
	if err != nil || !near(rec.LeaseUntil, want) || !near(rec.ExpiresAt, srv.Add(time.Hour)) || rec.Token != "tok" {
		t.Fatalf("Get after Complete = %+v, %v; want the lease end kept, ExpiresAt an hour on", rec, err)
	}
}

// fastHook counts the claims' SET NX GET commands the client sends and, when
// refuse is set, spoils each (an unknown last option) so that the server
// answers it with the syntax error a server before Redis 7.0 gives for NX with
// GET.
type fastHook struct {
	refuse bool
	sets   atomic.Int64
}

func (h *fastHook) see(cmd redis.Cmder) {
	args := cmd.Args()
	if len(args) > 0 && args[0] == "set" && args[len(args)-1] == "get" {
		h.sets.Add(1)
		if h.refuse {
			args[len(args)-1] = "nosuchoption"
		}
	}
}

func (h *fastHook) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *fastHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.see(cmd)
		return next(ctx, cmd)
	}
}
func (h *fastHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		for _, cmd := range cmds {
			h.see(cmd)
		}
		return next(ctx, cmds)
	}
}

// batchedClaims runs claims (id, token) concurrently while the store's first
// send (a Get) is held, so that they share the next send, and returns their
// answers in order.
func batchedClaims(t *testing.T, s *redisstore.Store, gate *gateHook, claims [][2]string) []idempotency.Claim {
	t.Helper()
	ctx := context.Background()
	gate.rearm()
	held := make(chan struct{})
	go func() { s.Get(ctx, "held"); close(held) }()
	<-gate.in
	out := make([]idempotency.Claim, len(claims))
	errs := make(chan error, len(claims))
	for i, c := range claims {
		go func() {
			var err error
			out[i], err = s.Claim(ctx, c[0], "fp", c[1], time.Minute)
			errs <- err
		}()
	}
	time.Sleep(50 * time.Millisecond) // let the claims queue
	close(gate.gate)
	<-held
	for range claims {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// TestBatchedClaimOutcomes: claims that share a send go as SET NX GET (but
// the first, a script) and answer as the script does: a fresh key acquired,
// a completed record replayed byte for byte, an in-flight record refused (or,
// for its own token, acquired again), a legacy hash honoured.
func TestBatchedClaimOutcomes(t *testing.T) {
	ctx := context.Background()
	gate, fh := newGateHook(), &fastHook{}
	gate.held.Store(true) // until batchedClaims
	s, c := newStore(t, gate, fh)
	result := []byte("\x00binary\r\n2:,answer,\xff")
	for _, id := range []string{"busy", "mine", "done"} {
		if _, err := s.Claim(ctx, id, "fp", "t", time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Complete(ctx, "done", "t", result, time.Hour); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UnixMilli()
	c.HSet(ctx, s.Key("legacy"), "s", "2", "f", "fp", "t", "old", "l", now, "e", now+3600000, "r", "stored")
	c.PExpire(ctx, s.Key("legacy"), time.Hour)
	fh.sets.Store(0)
	got := batchedClaims(t, s, gate, [][2]string{{"first", "t"}, {"fresh", "t"}, {"busy", "t2"}, {"mine", "t"}, {"done", "t3"}, {"legacy", "t4"}})
	if n := fh.sets.Load(); n < 4 {
		t.Fatalf("%d claims went as SET NX GET, want 5 of the 6 (the first may be a script)", n)
	}
	byID := map[string]idempotency.Claim{}
	for i, id := range []string{"first", "fresh", "busy", "mine", "done", "legacy"} {
		byID[id] = got[i]
	}
	if cl := byID["fresh"]; !cl.Acquired || cl.TookOver {
		t.Errorf("fresh key: %+v", cl)
	}
	if cl := byID["first"]; !cl.Acquired {
		t.Errorf("fresh key: %+v", cl)
	}
	if cl := byID["busy"]; cl.Acquired || cl.Existing.State != idempotency.StateInFlight || cl.Existing.Token != "t" || cl.Existing.LeaseUntil.IsZero() {
		t.Errorf("in flight: %+v", cl)
	}
	if cl := byID["mine"]; !cl.Acquired {
		t.Errorf("retried with its token: %+v", cl)
	}
	rec, err := s.Get(ctx, "done")
	if cl := byID["done"]; err != nil || cl.Acquired || cl.Existing.State != idempotency.StateCompleted || string(cl.Existing.Result) != string(result) ||
		cl.Existing.Token != "t" || cl.Existing.Fingerprint != "fp" || !cl.Existing.LeaseUntil.Equal(rec.LeaseUntil) || !cl.Existing.ExpiresAt.Equal(rec.ExpiresAt) {
		t.Errorf("completed: %+v; Get: %+v, %v", cl, rec, err)
	}
	if cl := byID["legacy"]; cl.Acquired || string(cl.Existing.Result) != "stored" {
		t.Errorf("legacy hash: %+v", cl)
	}
}

// TestClaimBeforeRedis7: a server that refuses SET NX GET (before Redis 7.0)
// gets the claim script instead, with the same answers, and is not asked
// again.
func TestClaimBeforeRedis7(t *testing.T) {
	ctx := context.Background()
	gate, fh := newGateHook(), &fastHook{refuse: true}
	gate.held.Store(true) // until batchedClaims
	s, _ := newStore(t, gate, fh)
	if _, err := s.Claim(ctx, "busy", "fp", "t", time.Minute); err != nil {
		t.Fatal(err)
	}
	got := batchedClaims(t, s, gate, [][2]string{{"a", "t"}, {"b", "t"}, {"c", "t"}, {"busy", "t2"}})
	refused := fh.sets.Load()
	if refused == 0 {
		t.Fatal("no claim went as SET NX GET")
	}
	for i, cl := range got[:3] {
		if !cl.Acquired {
			t.Errorf("claim %d of a fresh key: %+v", i, cl)
		}
	}
	if cl := got[3]; cl.Acquired || cl.Existing.Token != "t" {
		t.Errorf("claim in flight: %+v", cl)
	}
	// Another batch: no SET NX GET any more.
	for _, cl := range batchedClaims(t, s, gate, [][2]string{{"d", "t"}, {"e", "t"}, {"f", "t"}}) {
		if !cl.Acquired {
			t.Errorf("claim of a fresh key: %+v", cl)
		}
	}
	if n := fh.sets.Load(); n != refused {
		t.Fatalf("%d more SET NX GET after the server refused one", n-refused)
	}
}

// TestClaimFastFormBacksOff: when claims keep finding in-flight records (a
// few keys under contention), where the fast form would cost a second round
// trip, batched claims go as scripts; once claims find free keys again, they
// go fast again.
func TestClaimFastFormBacksOff(t *testing.T) {
	ctx := context.Background()
	gate, fh := newGateHook(), &fastHook{}
	gate.held.Store(true) // until batchedClaims
	s, _ := newStore(t, gate, fh)
	if _, err := s.Claim(ctx, "busy", "fp", "t", time.Minute); err != nil {
		t.Fatal(err)
	}
	for range 20 {
		if cl, err := s.Claim(ctx, "busy", "fp", "t2", time.Minute); err != nil || cl.Acquired {
			t.Fatalf("duplicate: %+v, %v", cl, err)
		}
	}
	for _, cl := range batchedClaims(t, s, gate, [][2]string{{"a", "t"}, {"b", "t"}, {"c", "t"}}) {
		if !cl.Acquired {
			t.Fatalf("fresh claim: %+v", cl)
		}
	}
	if n := fh.sets.Load(); n != 0 {
		t.Fatalf("%d claims went as SET NX GET while most found their key in flight", n)
	}
	for i := range 100 {
		if _, err := s.Claim(ctx, "free"+strconv.Itoa(i), "fp", "t", time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	batchedClaims(t, s, gate, [][2]string{{"d", "t"}, {"e", "t"}, {"f", "t"}})
	if n := fh.sets.Load(); n < 2 {
		t.Fatalf("%d claims went as SET NX GET once claims found free keys again, want 2", n)
	}
}
