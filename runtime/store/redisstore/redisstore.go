package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/idemgen/idemgen/runtime/idempotency"
)

// DefaultPrefix is the key prefix used when WithPrefix is not given.
const DefaultPrefix = "idem:"

// A record is one string value (see the package documentation for the layout):
//
//	in flight:  1 <len(token)> : <token> <len(fingerprint)> : <fingerprint> <grace, 15 digits>
//	completed:  2 <len(token)> : <token> <len(fingerprint)> : <fingerprint> <leaseUntil> , <expiresAt> , <result>
//
// An in-flight record's key expires at the lease end plus grace (milliseconds),
// so the lease is live while PTTL > grace and ends at now + PTTL - grace. That
// keeps the server clock out of a fresh claim. The leading "1<len>:<token>" is
// the owner prefix: Complete and Release check ownership by comparing it.
//
// The scripts that need the server's clock share one helper: TIME in
// milliseconds. Numbers that Lua formats use %d: Lua numbers are doubles, and
// %d prints them through a C long, far cheaper than the C library's
// floating-point printing that %.0f and tostring use.
const clockLua = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`

// graceLua sets g, the grace of the in-flight record v: its last graceDigits
// characters.
const graceLua = `
local g = tonumber(string.sub(v, -15))
`

// legacyLua runs when GET meets a hash: a record that an earlier version of
// this package left as a hash (fields s, f, t, l, e, r; its times absolute).
// It sets r to the hash's fields and, when the record is live, lv and lu to the
// record and its lease end the way the scripts reply. Those records stay
// readable until they expire, so a rolling upgrade still replays what the old
// version completed and still refuses what it has in flight.
const legacyLua = `
  local r = redis.call('HMGET', KEYS[1], 's', 'f', 'l', 'e', 'r', 't')` + clockLua + `
  local lv, lu
  if (r[1] == '1' or r[1] == '2') and now < tonumber(r[4]) then
    local tok, f = r[6] or '', r[2] or ''
    local h = string.len(tok) .. ':' .. tok .. string.len(f) .. ':' .. f
    if r[1] == '2' then
      lv, lu = '2' .. h .. r[3] .. ',' .. r[4] .. ',' .. (r[5] or ''), 0
    else
      lv, lu = '1' .. h .. '000000000000000', r[3]
    end
  end
`

// claimLua: KEYS[1] record; ARGV the in-flight record, the length of its owner
// prefix, the key's lifetime (lease + grace, ms). Returns 1 (acquired), 2
// (acquired by taking over an in-flight record whose lease had expired), or
// {record, leaseUntil} for the live record that prevents the claim (leaseUntil
// is 0 for a completed record, which holds its own). A fresh claim is one SET.
// A live in-flight record that already holds this token is this same claim,
// retried by the client after a lost reply (go-redis retries commands on
// network errors): it is acquired again rather than answered as a duplicate.
const claimLua = `
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[3]) then return 1 end
local v = redis.pcall('GET', KEYS[1])
if type(v) == 'table' then` + legacyLua + `
  if lv then return {lv, lu} end
  redis.call('DEL', KEYS[1])
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
  if r[1] == '1' then return 2 end
  return 1
end
local s = v and string.sub(v, 1, 1)
if s == '2' then return {v, 0} end
if s == '1' then` + graceLua + `
  local pttl = redis.call('PTTL', KEYS[1])
  if pttl > g then
    local n = tonumber(ARGV[2])
    if string.sub(v, 1, n) == string.sub(ARGV[1], 1, n) then return 1 end` + clockLua + `
    return {v, string.format('%d', now + pttl - g)}
  end
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
  return 2
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
return 1
`

// completeLua: KEYS[1] record; ARGV owner prefix, result, ttl ms. Returns 1, or
// 0 when the token does not own an in-flight claim. The completed record keeps
// the token and fingerprint and stores the lease end and the expiry as server
// times. The result is appended by the server rather than concatenated in Lua:
// Lua interns every string it makes, hashing all of its bytes, and collects it
// later, which for a 1 KiB answer cost more than the APPEND call.
const completeLua = `
local v = redis.call('GET', KEYS[1])
if not v or string.sub(v, 1, #ARGV[1]) ~= ARGV[1] then return 0 end
local g = tonumber(string.sub(v, -15))` + clockLua + `
local ttl = tonumber(ARGV[3])
local untl = now + redis.call('PTTL', KEYS[1]) - g
redis.call('SET', KEYS[1], '2' .. string.sub(v, 2, -16) .. string.format('%d,%d,', untl, now + ttl), 'PX', ttl)
redis.call('APPEND', KEYS[1], ARGV[2])
return 1
`

// releaseLua: KEYS[1] record; ARGV owner prefix. Returns 1, or 0 when the token
// does not own an in-flight claim.
const releaseLua = `
local v = redis.call('GET', KEYS[1])
if not v or string.sub(v, 1, #ARGV[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1
`

// getLua: KEYS[1] record. Returns {record, leaseUntil} (leaseUntil 0 for a
// completed record), or nil when there is no live record.
const getLua = `
local v = redis.pcall('GET', KEYS[1])
if type(v) == 'table' then` + legacyLua + `
  if lv then return {lv, lu} end
  return false
end
local s = v and string.sub(v, 1, 1)
if s == '2' then return {v, 0} end
if s ~= '1' then return false end` + graceLua + `
local pttl = redis.call('PTTL', KEYS[1])
if pttl <= g then return false end` + clockLua + `
return {v, string.format('%d', now + pttl - g)}
`

// Store is an idempotency.Store on Redis. It is safe for concurrent use by many
// goroutines and many processes sharing the server. It does not own the client:
// closing the client is the caller's business.
type Store struct {
	client   redis.UniversalClient
	prefix   string
	claim    *script
	complete *script
	release  *script
	get      *script
	batch    *batcher
	// lifetime and ttl hold the last key lifetime of a claim and ttl of a
	// completion as interface values (see boxCache).
	lifetime, ttl boxCache
	inFlight      atomic.Int32 // see sawInFlight
	// reload is the client's ReloadState when it is a cluster client.
	reload func(context.Context)
	// replicas and waitTimeout: see WithReplicaWait (replicas 0: no WAIT).
	replicas    int
	waitTimeout time.Duration
}

var _ idempotency.Store = (*Store)(nil)

// Option configures a Store.
type Option func(*Store)

// WithPrefix sets the prefix of every key the store writes (DefaultPrefix when
// not given). Services sharing one Redis keep their records apart with it.
func WithPrefix(prefix string) Option {
	return func(s *Store) { s.prefix = prefix }
}

// WithReplicaWait makes Claim and Complete wait until n replicas of the
// record's master acknowledged the write (Redis WAIT n timeout, on the same
// connection, one more round trip), and fail when fewer did within timeout.
// Redis replicates asynchronously: without it, a claim or a completed record
// that the master acknowledged just before it died can be missing on the
// replica that takes over, and a retry then runs again. A claim that was not
// replicated is released and reported as an error (the middleware answers 503
// and the handler does not run); a completion that was not replicated is an
// error (the answer is sent but not stored). WAIT cannot make Redis strongly
// consistent (a replica that acknowledged may still lose a failover election
// to one that did not), but with one replica per master it closes the window.
// n < 1 or timeout <= 0 leave the store as without the option.
func WithReplicaWait(n int, timeout time.Duration) Option {
	return func(s *Store) {
		if n >= 1 && timeout > 0 {
			s.replicas, s.waitTimeout = n, timeout
		}
	}
}

// New returns a Store that keeps its records in client.
func New(client redis.UniversalClient, opts ...Option) *Store {
	s := &Store{
		client:   client,
		prefix:   DefaultPrefix,
		claim:    newScript(claimLua),
		complete: newScript(completeLua),
		release:  newScript(releaseLua),
		get:      newScript(getLua),
	}
	for _, o := range opts {
		o(s)
	}
	s.batch = &batcher{client: client}
	if cc, ok := client.(*redis.ClusterClient); ok {
		s.reload = cc.ReloadState
	}
	return s
}

// failed is called with every error of a command. go-redis reloads a
// cluster's slot map on MOVED/ASK replies and otherwise only every 60s: after
// a master dies, the commands for its slots keep going to its dead address
// (503s) for up to a minute although a replica took over within seconds. A
// failed command therefore asks for a reload (go-redis runs one at a time, at
// most one per 200ms), so the store follows the promotion at once.
func (s *Store) failed(ctx context.Context) {
	if s.reload != nil {
		s.reload(ctx)
	}
}

// Key returns the Redis key that holds record id: the prefix, then the id in a
// cluster hash tag.
func (s *Store) Key(id string) string {
	return s.prefix + "{" + id + "}"
}

// minGrace is the least grace an in-flight key outlives its lease by.
const minGrace = 60000

// graceDigits is the fixed width of an in-flight record's grace (ms, zero
// padded), so that the scripts read it at a fixed offset from the end: the
// largest time.Duration is 13 digits of milliseconds. The scripts spell it
// as 15 and -16.
const graceDigits = 15

// Claim implements idempotency.Store.Claim in one round trip. When it shares a
// send with other calls (see batcher.exec), it is a plain SET NX PX GET
// (Redis 7.0 or later; no Lua): that creates the in-flight record when the key
// is free, or returns a completed record to replay. Only when the key holds an
// in-flight record (a duplicate in flight, this same claim retried, or a lease
// to take over) or a legacy hash does the claim script decide, in a second
// round trip. A claim sent alone, or first, is the script.
func (s *Store) Claim(ctx context.Context, id, fingerprint, token string, lease time.Duration) (idempotency.Claim, error) {
	ms := millis(lease)
	grace := max(ms, minGrace)
	var b strings.Builder
	b.Grow(len(token) + len(fingerprint) + 32)
	b.WriteByte('1')
	b.WriteString(strconv.Itoa(len(token)))
	b.WriteByte(':')
	b.WriteString(token)
	owner := b.Len()
	b.WriteString(strconv.Itoa(len(fingerprint)))
	b.WriteByte(':')
	b.WriteString(fingerprint)
	g := strconv.FormatInt(grace, 10)
	b.WriteString(zeros[:graceDigits-len(g)])
	b.WriteString(g)
	key := s.Key(id)
	o := op{sc: s.claim, key: key}
	// The script's command and the fast form share one array and their
	// arguments' interface values.
	k, rec, life := any(key), any(b.String()), s.lifetime.get(ms+grace)
	a := append(make([]any, 0, 14), "evalsha", s.claim.sha, 1, k, rec, owner, life)
	o.args = a[:7:7]
	if s.inFlight.Load() < inFlightLimit {
		o.fastArgs = append(a[7:], "set", k, rec, "nx", "px", life, "get")
	}
	cmd, fast, acked, err := s.run(ctx, o)
	if err == nil && fast {
		err = cmd.Err()
		v, _ := cmd.Val().(string)
		switch {
		case errors.Is(err, redis.Nil):
			s.sawInFlight(false)
			return s.acquired(ctx, id, key, token, 1, acked)
		case err == nil && strings.HasPrefix(v, "2"):
			s.sawInFlight(false)
			rec, err := decode(id, v, nil)
			if err != nil {
				return idempotency.Claim{}, fmt.Errorf("redisstore: claim %q: %w", id, err)
			}
			return idempotency.Claim{Existing: rec}, nil
		case err == nil, strings.HasPrefix(err.Error(), "WRONGTYPE"):
			// In flight, or a legacy hash: the script decides.
			s.sawInFlight(true)
		case strings.HasPrefix(err.Error(), "ERR syntax error"):
			// Redis before 7.0: scripts only, from now on.
			s.batch.noFast.Store(true)
		default:
			s.failed(ctx)
			return idempotency.Claim{}, fmt.Errorf("redisstore: claim %q: %w", id, err)
		}
		o.fastArgs = nil
		cmd, _, acked, err = s.run(ctx, o)
	}
	if err != nil {
		s.failed(ctx)
		return idempotency.Claim{}, fmt.Errorf("redisstore: claim %q: %w", id, err)
	}
	v, err := cmd.Result()
	if err != nil {
		s.failed(ctx)
		return idempotency.Claim{}, fmt.Errorf("redisstore: claim %q: %w", id, err)
	}
	switch v := v.(type) {
	case int64:
		if v == 1 || v == 2 {
			if !fast {
				s.sawInFlight(false)
			}
			return s.acquired(ctx, id, key, token, v, acked)
		}
	case []any:
		if len(v) == 2 {
			if !fast {
				s.sawInFlight(v[1] != int64(0))
			}
			rec, err := decode(id, v[0], v[1])
			if err != nil {
				return idempotency.Claim{}, fmt.Errorf("redisstore: claim %q: %w", id, err)
			}
			return idempotency.Claim{Existing: rec}, nil
		}
	}
	return idempotency.Claim{}, fmt.Errorf("redisstore: claim %q: unexpected reply %v", id, v)
}

// inFlight scores how often claims find an in-flight record (up 4 for one
// that does, down 1 for one that does not, within about [0, 4*inFlightLimit]:
// concurrent updates may overshoot a little, which does no harm);
// at inFlightLimit or more, claims are sent as scripts only. A claim's fast
// form (see Claim) that finds an in-flight record costs a second round trip,
// so it pays only when most claims find a free key or a completed record:
// under contention for a few keys (duplicates in flight) it does not.
const inFlightLimit = 16

func (s *Store) sawInFlight(yes bool) {
	if n := s.inFlight.Load(); yes && n < 4*inFlightLimit {
		s.inFlight.Add(4)
	} else if !yes && n > 0 {
		s.inFlight.Add(-1)
	}
}

// acquired answers a claim that token acquired (how: 1 fresh, 2 by taking
// over an expired lease) with acked replicas acknowledging it.
func (s *Store) acquired(ctx context.Context, id, key, token string, how int64, acked int) (idempotency.Claim, error) {
	if acked < s.replicas {
		// Nobody may rely on a claim that a failover can lose: give
		// it back (best effort; its lease bounds it otherwise).
		s.batch.run(ctx, s.op(s.release, key, ownerPrefix(token)))
		return idempotency.Claim{}, fmt.Errorf("redisstore: claim %q: %d of %d replicas acknowledged it within %v", id, acked, s.replicas, s.waitTimeout)
	}
	return idempotency.Claim{Acquired: true, TookOver: how == 2}, nil
}

const zeros = "000000000000000"

// run runs the write o, through the batcher (fast: the reply is that of o's
// fast form).
// With WithReplicaWait it sends o's script and WAIT in one pipeline on one
// connection to the master of o's key (WAIT counts the replicas that have
// that connection's writes), and returns how many replicas acknowledged;
// without, acked is 0 and nothing waits. err is an error of the connection or
// of WAIT; o's own is in cmd.
func (s *Store) run(ctx context.Context, o op) (cmd *redis.Cmd, fast bool, acked int, err error) {
	if s.replicas == 0 {
		cmd, fast = s.batch.run(ctx, o)
		return cmd, fast, 0, nil
	}
	var node redis.Pipeliner
	if cc, ok := s.client.(*redis.ClusterClient); ok {
		m, err := cc.MasterForKey(ctx, o.key)
		if err != nil {
			return nil, false, 0, err
		}
		node = m.Pipeline()
	} else {
		node = s.client.Pipeline()
	}
	cmd = o.add(ctx, node, false)
	wait := node.Do(ctx, "WAIT", s.replicas, millis(s.waitTimeout))
	node.Exec(ctx) // the errors are the commands'
	if isNoScript(cmd.Err()) {
		// The server does not know the script yet: send it whole.
		cmd = o.add(ctx, node, true)
		wait = node.Do(ctx, "WAIT", s.replicas, millis(s.waitTimeout))
		node.Exec(ctx)
	}
	n, err := wait.Int64()
	return cmd, false, int(n), err
}

// ownerPrefix is the start of the in-flight record that token owns.
func ownerPrefix(token string) string {
	return "1" + strconv.Itoa(len(token)) + ":" + token
}

// Complete implements idempotency.Store.Complete in one script run.
func (s *Store) Complete(ctx context.Context, id, token string, result []byte, ttl time.Duration) error {
	cmd, _, acked, err := s.run(ctx, s.op(s.complete, s.Key(id), ownerPrefix(token), result, s.ttl.get(millis(ttl))))
	if err == nil {
		var n int
		n, err = cmd.Int()
		if err == nil && n != 1 {
			return idempotency.ErrNotOwner
		}
	}
	if err != nil {
		s.failed(ctx)
		return fmt.Errorf("redisstore: complete %q: %w", id, err)
	}
	if acked < s.replicas {
		return fmt.Errorf("redisstore: complete %q: %d of %d replicas acknowledged it within %v", id, acked, s.replicas, s.waitTimeout)
	}
	return nil
}

// Release implements idempotency.Store.Release in one script run.
func (s *Store) Release(ctx context.Context, id, token string) error {
	cmd, _ := s.batch.run(ctx, s.op(s.release, s.Key(id), ownerPrefix(token)))
	n, err := cmd.Int()
	if err != nil {
		s.failed(ctx)
		return fmt.Errorf("redisstore: release %q: %w", id, err)
	}
	if n != 1 {
		return idempotency.ErrNotOwner
	}
	return nil
}

// Get implements idempotency.Store.Get in one script run.
func (s *Store) Get(ctx context.Context, id string) (idempotency.Record, error) {
	cmd, _ := s.batch.run(ctx, s.op(s.get, s.Key(id)))
	v, err := cmd.Slice()
	if errors.Is(err, redis.Nil) {
		return idempotency.Record{}, idempotency.ErrNotFound
	}
	if err != nil {
		s.failed(ctx)
		return idempotency.Record{}, fmt.Errorf("redisstore: get %q: %w", id, err)
	}
	if len(v) != 2 {
		return idempotency.Record{}, fmt.Errorf("redisstore: get %q: unexpected reply %v", id, v)
	}
	rec, err := decode(id, v[0], v[1])
	if err != nil {
		return idempotency.Record{}, fmt.Errorf("redisstore: get %q: %w", id, err)
	}
	return rec, nil
}

// Purge implements idempotency.Store.Purge. Redis expires keys by itself, so it
// returns 0, nil.
func (s *Store) Purge(context.Context) (int, error) { return 0, nil }

// decode builds a Record from a script reply: the stored record and, for an
// in-flight one, its lease end (Unix ms of the server clock).
func decode(id string, value, leaseUntil any) (idempotency.Record, error) {
	v, _ := value.(string)
	rec := idempotency.Record{ID: id}
	if v == "" {
		return rec, fmt.Errorf("bad record %v", value)
	}
	rec.State = idempotency.State(v[0] - '0')
	rest := v[1:]
	var ok bool
	if rec.Token, rest, ok = lenPrefixed(rest); !ok {
		return rec, fmt.Errorf("bad record %q", v)
	}
	if rec.Fingerprint, rest, ok = lenPrefixed(rest); !ok {
		return rec, fmt.Errorf("bad record %q", v)
	}
	switch rec.State {
	case idempotency.StateInFlight:
		lu, err := msTime(leaseUntil)
		if err != nil {
			return rec, err
		}
		rec.LeaseUntil, rec.ExpiresAt = lu, lu
	case idempotency.StateCompleted:
		l, rest, ok1 := strings.Cut(rest, ",")
		e, r, ok2 := strings.Cut(rest, ",")
		if !ok1 || !ok2 {
			return rec, fmt.Errorf("bad record %q", v)
		}
		var err error
		if rec.LeaseUntil, err = msTime(l); err != nil {
			return rec, err
		}
		if rec.ExpiresAt, err = msTime(e); err != nil {
			return rec, err
		}
		rec.Result = []byte(r)
	default:
		return rec, fmt.Errorf("bad state in record %q", v)
	}
	return rec, nil
}

// lenPrefixed splits "<n>:<n bytes>rest" into the n bytes and rest.
func lenPrefixed(s string) (field, rest string, ok bool) {
	ns, rest, ok := strings.Cut(s, ":")
	if !ok {
		return "", "", false
	}
	n, err := strconv.Atoi(ns)
	if err != nil || n < 0 || n > len(rest) {
		return "", "", false
	}
	return rest[:n], rest[n:], true
}

func msTime(v any) (time.Time, error) {
	s, _ := v.(string)
	ms, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("bad timestamp %v", v)
	}
	return time.UnixMilli(ms), nil
}

// millis rounds d up to whole milliseconds (at least 1): Redis expiries are in
// milliseconds, and a lease must never round down to nothing.
func millis(d time.Duration) int64 {
	ms := int64((d + time.Millisecond - 1) / time.Millisecond)
	if ms < 1 {
		ms = 1
	}
	return ms
}
