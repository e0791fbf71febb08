package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/idemgen/idemgen/runtime/idempotency"
)

// DefaultPrefix is the key prefix used when WithPrefix is not given.
const DefaultPrefix = "idem:"

// The scripts share one clock helper: the server's TIME in milliseconds. Numbers
// that Lua stores are formatted with %.0f, because tostring would switch to
// exponent notation for millisecond timestamps.
const clockLua = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`

// claimLua: KEYS[1] record; ARGV fingerprint, token, lease ms.
// Returns {acquired, tookOver, state, fingerprint, leaseUntil, expiresAt, result}.
// A live in-flight record that already holds this token is this same claim,
// retried by the client after a lost reply (go-redis retries commands on
// network errors): it is acquired again rather than answered as a duplicate.
const claimLua = clockLua + `
local r = redis.call('HMGET', KEYS[1], 's', 'f', 'l', 'e', 'r', 't')
local s = r[1]
if s and s ~= '3' and now < tonumber(r[4]) then
  if s == '1' and r[6] == ARGV[2] then
    return {1, 0, s, r[2], r[3], r[4], false}
  end
  return {0, 0, s, r[2], r[3], r[4], r[5]}
end
local lease = tonumber(ARGV[3])
local untl = string.format('%.0f', now + lease)
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 's', '1', 'f', ARGV[1], 't', ARGV[2], 'l', untl, 'e', untl)
redis.call('PEXPIRE', KEYS[1], lease + math.max(lease, 60000))
local took = 0
if s == '1' then took = 1 end
return {1, took, '1', ARGV[1], untl, untl, false}
`

// completeLua: KEYS[1] record; ARGV token, result, ttl ms. Returns 1, or 0 when
// the token does not own an in-flight claim.
const completeLua = clockLua + `
local r = redis.call('HMGET', KEYS[1], 's', 't')
if r[1] ~= '1' or r[2] ~= ARGV[1] then return 0 end
local ttl = tonumber(ARGV[3])
redis.call('HSET', KEYS[1], 's', '2', 'r', ARGV[2], 'e', string.format('%.0f', now + ttl))
redis.call('PEXPIRE', KEYS[1], ttl)
return 1
`

// releaseLua: KEYS[1] record; ARGV token. Returns 1, or 0 when the token does not
// own an in-flight claim.
const releaseLua = `
local r = redis.call('HMGET', KEYS[1], 's', 't')
if r[1] ~= '1' or r[2] ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1
`

// getLua: KEYS[1] record. Returns {state, fingerprint, token, leaseUntil,
// expiresAt, result}, or nil when there is no live record.
const getLua = clockLua + `
local r = redis.call('HMGET', KEYS[1], 's', 'f', 't', 'l', 'e', 'r')
if not r[1] or now >= tonumber(r[5]) then return false end
return r
`

// Store is an idempotency.Store on Redis. It is safe for concurrent use by many
// goroutines and many processes sharing the server. It does not own the client:
// closing the client is the caller's business.
type Store struct {
	client   redis.UniversalClient
	prefix   string
	claim    *redis.Script
	complete *redis.Script
	release  *redis.Script
	get      *redis.Script
}

var _ idempotency.Store = (*Store)(nil)

// Option configures a Store.
type Option func(*Store)

// WithPrefix sets the prefix of every key the store writes (DefaultPrefix when
// not given). Services sharing one Redis keep their records apart with it.
func WithPrefix(prefix string) Option {
	return func(s *Store) { s.prefix = prefix }
}

// New returns a Store that keeps its records in client.
func New(client redis.UniversalClient, opts ...Option) *Store {
	s := &Store{
		client:   client,
		prefix:   DefaultPrefix,
		claim:    redis.NewScript(claimLua),
		complete: redis.NewScript(completeLua),
		release:  redis.NewScript(releaseLua),
		get:      redis.NewScript(getLua),
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Key returns the Redis key that holds record id: the prefix, then the id in a
// cluster hash tag.
func (s *Store) Key(id string) string {
	return s.prefix + "{" + id + "}"
}

// Claim implements idempotency.Store.Claim in one script run.
func (s *Store) Claim(ctx context.Context, id, fingerprint, token string, lease time.Duration) (idempotency.Claim, error) {
	v, err := s.claim.Run(ctx, s.client, []string{s.Key(id)}, fingerprint, token, millis(lease)).Slice()
	if err != nil {
		return idempotency.Claim{}, fmt.Errorf("redisstore: claim %q: %w", id, err)
	}
	if len(v) != 7 {
		return idempotency.Claim{}, fmt.Errorf("redisstore: claim %q: unexpected reply %v", id, v)
	}
	rec, err := record(id, v[2], v[3], nil, v[4], v[5], v[6])
	if err != nil {
		return idempotency.Claim{}, fmt.Errorf("redisstore: claim %q: %w", id, err)
	}
	if v[0] == int64(1) {
		return idempotency.Claim{Acquired: true, TookOver: v[1] == int64(1)}, nil
	}
	return idempotency.Claim{Existing: rec}, nil
}

// Complete implements idempotency.Store.Complete in one script run.
func (s *Store) Complete(ctx context.Context, id, token string, result []byte, ttl time.Duration) error {
	n, err := s.complete.Run(ctx, s.client, []string{s.Key(id)}, token, result, millis(ttl)).Int()
	if err != nil {
		return fmt.Errorf("redisstore: complete %q: %w", id, err)
	}
	if n != 1 {
		return idempotency.ErrNotOwner
	}
	return nil
}

// Release implements idempotency.Store.Release in one script run.
func (s *Store) Release(ctx context.Context, id, token string) error {
	n, err := s.release.Run(ctx, s.client, []string{s.Key(id)}, token).Int()
	if err != nil {
		return fmt.Errorf("redisstore: release %q: %w", id, err)
	}
	if n != 1 {
		return idempotency.ErrNotOwner
	}
	return nil
}

// Get implements idempotency.Store.Get in one script run.
func (s *Store) Get(ctx context.Context, id string) (idempotency.Record, error) {
	v, err := s.get.Run(ctx, s.client, []string{s.Key(id)}).Slice()
	if errors.Is(err, redis.Nil) {
		return idempotency.Record{}, idempotency.ErrNotFound
	}
	if err != nil {
		return idempotency.Record{}, fmt.Errorf("redisstore: get %q: %w", id, err)
	}
	if len(v) != 6 {
		return idempotency.Record{}, fmt.Errorf("redisstore: get %q: unexpected reply %v", id, v)
	}
	rec, err := record(id, v[0], v[1], v[2], v[3], v[4], v[5])
	if err != nil {
		return idempotency.Record{}, fmt.Errorf("redisstore: get %q: %w", id, err)
	}
	return rec, nil
}

// Purge implements idempotency.Store.Purge. Redis expires keys by itself, so it
// returns 0, nil.
func (s *Store) Purge(context.Context) (int, error) { return 0, nil }

// record builds a Record from the script reply fields (strings or nil).
func record(id string, state, fp, token, lease, expires, result any) (idempotency.Record, error) {
	rec := idempotency.Record{ID: id, Fingerprint: str(fp), Token: str(token)}
	st, err := strconv.Atoi(str(state))
	if err != nil {
		return rec, fmt.Errorf("bad state %v", state)
	}
	rec.State = idempotency.State(st)
	if rec.LeaseUntil, err = msTime(lease); err != nil {
		return rec, err
	}
	if rec.ExpiresAt, err = msTime(expires); err != nil {
		return rec, err
	}
	if r, ok := result.(string); ok {
		rec.Result = []byte(r)
	}
	return rec, nil
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func msTime(v any) (time.Time, error) {
	ms, err := strconv.ParseInt(str(v), 10, 64)
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
