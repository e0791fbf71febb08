// Package redisstore keeps idempotency records in Redis (single node, Sentinel or
// Cluster, through redis.UniversalClient).
//
// Each record is one hash at PREFIX{ID}: the braces are a cluster hash tag, so a
// record never spans slots. Its fields are
//
//	s  state (1 in flight, 2 completed, 3 issued)
//	f  request fingerprint
//	t  fencing token (compared as a string: Lua numbers would lose int64 precision)
//	l  lease end, Unix milliseconds of the Redis server clock
//	e  logical expiry, Unix milliseconds of the Redis server clock
//	r  stored result (completed records only)
//
// Every Store step is one Lua script (EVALSHA, falling back to EVAL when the
// server does not know the script yet), so each step is one atomic round trip:
// a first request costs two (claim, complete) and a replay one (the claim returns
// the completed record). Leases and expiries use the server's clock
// (redis.call('TIME')), never the caller's, so replicas with skewed clocks agree.
//
// Redis expires keys by itself: a completed record's key lives for its ttl, an
// in-flight record's for its lease plus a grace of one more lease, at least a
// minute. The record is logically gone at the end of its lease; the grace lets
// Claim report a takeover and lets a slow owner still complete when nobody took
// over (as the SQL stores allow until their purger runs). Purge therefore has
// nothing to do.
package redisstore
