// Package redisstore keeps idempotency records in Redis (single node, Sentinel or
// Cluster, through redis.UniversalClient).
//
// Each record is one string value at PREFIX{ID}: the braces are a cluster hash
// tag, so a record never spans slots. The value packs the record's fields, the
// strings with their lengths in front (so any bytes are safe):
//
//	in flight:  1 <len(token)>:<token> <len(fingerprint)>:<fingerprint> <grace>
//	completed:  2 <len(token)>:<token> <len(fingerprint)>:<fingerprint> <leaseUntil>,<expiresAt>,<result>
//
// (without the spaces). The token is compared as a string (Lua numbers would
// lose int64 precision). leaseUntil and expiresAt are Unix milliseconds of the
// Redis server clock. grace is in milliseconds, zero padded to 15 digits.
//
// Every Store step is one Lua script (EVALSHA, falling back to EVAL when the
// server does not know the script yet), so each step is one atomic round trip:
// a first request costs two (claim, complete) and a replay one (the claim
// returns the completed record). A claim that shares a send with other calls
// (see below) is instead, unless it is the send's first command, one plain
// SET NX PX GET (Redis 7.0 or later): it creates the in-flight record when the
// key is free, or returns a completed record to replay, atomically and
// without Lua, which saves Redis about an eighth of a first request's
// instructions and two thirds of a replay's; only when it finds an in-flight
// record (a duplicate in flight, the same claim retried, a lease to take
// over) or a legacy hash does the claim script decide, in a second round
// trip. (A claim sent alone or first stays a script because go-redis spends
// more client CPU on a send whose first reply is nil than the script costs.)
// The scripts are short: complete is GET, TIME, PTTL, SET PX and APPEND (the
// answer is appended by the server, not concatenated in Lua, which hashes
// every byte of every string it makes); Release is GET and DEL. A server that
// refuses NX with GET (before 7.0) gets the claim script only.
//
// Concurrent calls share socket writes: while one caller's scripts are on the
// wire, the scripts of callers that arrive meanwhile queue and go out together
// in the next pipeline, which the first of them sends (group commit, for a
// network client). On loopback a socket write and read cost more client CPU
// than the script itself (about 29 µs of CPU per first request with 32
// concurrent callers before, 7 µs after); each script is still its own
// command and atomic on its own, and a lone caller sends at once.
//
// Redis expires keys by itself: a completed record's key lives for its ttl, an
// in-flight record's for its lease plus a grace of one more lease, at least a
// minute. The record is logically gone at the end of its lease; the grace lets
// Claim report a takeover and lets a slow owner still complete when nobody took
// over (as the SQL stores allow until their purger runs). Purge therefore has
// nothing to do. An in-flight record does not store its lease end: the key's
// own expiry does, as lease end + grace, so a fresh claim needs no clock. The
// lease is live while the key's PTTL exceeds the grace, and ends at the server's
// TIME + PTTL - grace, which the scripts compute only when they answer with an
// in-flight record (a 409, Get) or complete it. Leases and expiries are thus
// the server's clock, never the caller's, so replicas with skewed clocks agree.
//
// Redis replicates asynchronously, so a failover can lose a write the master
// had acknowledged; WithReplicaWait makes Claim and Complete wait for the
// record's replicas (Redis WAIT) and fail when they did not acknowledge.
//
// Records that an earlier version of the package kept as hashes (fields s, f,
// t, l, e, r) are still read by Claim and Get until they expire, so a rolling
// upgrade replays what the old version completed and refuses what it has in
// flight. Old processes cannot read the new records: they answer them with an
// error (WRONGTYPE), which the middleware turns into a 503, never a second run.
package redisstore
