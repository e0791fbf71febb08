package redisstore

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/redis/go-redis/v9"
)

// maxBatch bounds the scripts sent in one pipeline, so a burst does not make
// one flush's callers wait for a very long reply.
const maxBatch = 128

// batcher sends the scripts of concurrent callers together: one socket write
// and, mostly, one read for many scripts, where go-redis alone spends a write,
// a read and a poller wait per command. On loopback those syscalls are most of
// a store call's client CPU (about 10 µs per write on the benchmark machine).
// It is group commit for a network client: the first caller to find no flush
// running flushes everything queued, one pipeline at a time; callers that
// arrive meanwhile queue, and when a flush ends the first of them takes over
// the next one. A lone caller flushes its own script at once, without waiting
// for company, in the same one round trip as before. Every script is still its
// own command with its own reply, so the round trips a request costs and the
// atomicity of each script are unchanged.
type batcher struct {
	client redis.UniversalClient
	// noFast: the server refused a fast form (SET NX GET before Redis
	// 7.0): scripts only, from then on.
	noFast atomic.Bool

	mu      sync.Mutex
	queue   []*call
	spare   []*call
	running bool // a caller is flushing
}

// op is one store command: the script sc on key, as the arguments of its
// EVALSHA command (args). fastArgs, when set, is a claim's plain SET NX PX GET
// (see Store.Claim), which the batcher sends instead when the op is not the
// first of its send (see exec).
//
// The ops build their commands' arguments themselves, rather than through
// redis.Script, in one allocation and with the values that do not change
// (the script digests, the lifetimes) made interface values once: go-redis's
// Script.EvalSha copies the arguments into a second slice, and every string or
// large number passed as an interface value is an allocation.
type op struct {
	sc       *script
	key      string
	args     []any
	fastArgs []any
}

// op returns the op that runs sc on key with argv.
func (s *Store) op(sc *script, key string, argv ...any) op {
	return op{sc: sc, key: key, args: append(append(make([]any, 0, 4+len(argv)), "evalsha", sc.sha, 1, key), argv...)}
}

// add queues o's script in p and returns its command: EVALSHA or, when whole
// is set, EVAL.
func (o *op) add(ctx context.Context, p redis.Pipeliner, whole bool) *redis.Cmd {
	cmd := o.command(ctx, whole)
	_ = p.Process(ctx, cmd)
	return cmd
}

// command returns o's script command: EVALSHA or, when whole is set, EVAL.
func (o *op) command(ctx context.Context, whole bool) *redis.Cmd {
	args := o.args
	if whole {
		args = append([]any{"eval", o.sc.src}, args[2:]...)
	}
	cmd := redis.NewCmd(ctx, args...)
	cmd.SetFirstKeyPos(3)
	return cmd
}

// script is a Lua script with its SHA-1 digest, made an interface value once.
type script struct {
	src string
	sha any
}

func newScript(src string) *script {
	h := sha1.Sum([]byte(src))
	return &script{src: src, sha: hex.EncodeToString(h[:])}
}

// boxCache keeps the last number it was asked for as an interface value: the
// key lifetimes and ttls of a service's operations are few and mostly one,
// and an int64 above 255 made an interface value is an allocation.
type boxCache struct{ last atomic.Pointer[boxed] }

type boxed struct {
	n int64
	v any
}

func (c *boxCache) get(n int64) any {
	if b := c.last.Load(); b != nil && b.n == n {
		return b.v
	}
	b := &boxed{n: n, v: n}
	c.last.Store(b)
	return b.v
}

// call is one queued op.
type call struct {
	op
	cmd *redis.Cmd
	// sentFast: cmd is the reply of op.fastArgs, not of the script.
	sentFast bool
	// wake is signalled once: the reply is in cmd, or (lead set) the caller
	// must flush next.
	wake chan struct{}
	lead bool // guarded by batcher.mu
}

var callPool = sync.Pool{New: func() any { return &call{wake: make(chan struct{}, 1)} }}

// run runs o and returns its reply (its script's, sent whole again when the
// server did not know it), or the reply of o.fastArgs when fast is set.
func (b *batcher) run(ctx context.Context, o op) (cmd *redis.Cmd, fast bool) {
	c := callPool.Get().(*call)
	c.op, c.cmd, c.sentFast, c.lead = o, nil, false, false
	b.mu.Lock()
	b.queue = append(b.queue, c)
	if !b.running {
		b.running = true
		b.mu.Unlock()
		b.flush(ctx)
		return c.done()
	}
	b.mu.Unlock()
	select {
	case <-c.wake:
	case <-ctx.Done():
		b.mu.Lock()
		if c.lead {
			// The others wait for this caller to flush: it does, then returns.
			b.mu.Unlock()
			<-c.wake
			break
		}
		cmd := redis.NewCmd(ctx)
		cmd.SetErr(ctx.Err())
		if i := indexOf(b.queue, c); i >= 0 {
			// Not sent yet: withdraw it.
			b.queue = append(b.queue[:i], b.queue[i+1:]...)
			b.mu.Unlock()
			c.op = op{}
			callPool.Put(c)
			return cmd, false
		}
		// In another caller's pipeline: the script may run, and its reply
		// goes to c, which is left to the garbage collector instead of the
		// pool.
		b.mu.Unlock()
		return cmd, false
	}
	if c.lead {
		b.flush(ctx)
	}
	return c.done()
}

// done returns c's reply and gives c back to the pool.
func (c *call) done() (*redis.Cmd, bool) {
	cmd, fast := c.cmd, c.sentFast
	c.op, c.cmd = op{}, nil
	callPool.Put(c)
	return cmd, fast
}

func indexOf(q []*call, c *call) int {
	for i, x := range q {
		if x == c {
			return i
		}
	}
	return -1
}

// flush sends what is queued, the flushing caller's own script among it,
// then hands the flushing role to the first caller that queued meanwhile.
// Only the running caller calls it.
func (b *batcher) flush(ctx context.Context) {
	// One caller's cancellation must not fail the others' scripts.
	ctx = context.WithoutCancel(ctx)
	b.mu.Lock()
	n := min(len(b.queue), maxBatch)
	batch := append(b.spare[:0], b.queue[:n]...)
	b.queue = append(b.queue[:0], b.queue[n:]...)
	b.mu.Unlock()

	b.exec(ctx, batch)

	b.mu.Lock()
	if len(b.queue) > 0 {
		next := b.queue[0]
		next.lead = true
		next.wake <- struct{}{}
	} else {
		b.running = false
	}
	clear(batch)
	b.spare = batch[:0]
	b.mu.Unlock()
}

// exec runs batch in one pipeline (EVALSHA, then EVAL for the scripts the
// server did not know) and wakes every caller in it but the flusher, whose
// call is the first: the queue was empty when it started flushing, or it was
// the queue's head when the flushing role was handed to it.
func (b *batcher) exec(ctx context.Context, batch []*call) {
	if c := batch[0]; len(batch) == 1 {
		c.cmd = c.command(ctx, false)
		_ = b.client.Process(ctx, c.cmd)
		if isNoScript(c.cmd.Err()) {
			c.cmd = c.command(ctx, true)
			_ = b.client.Process(ctx, c.cmd)
		}
	} else {
		// go-redis takes the first reply's error for the whole send's and,
		// for a nil reply (a claim's SET NX GET that created the record),
		// runs its retry classification on it: some twenty errors.As calls,
		// 17 allocations and about 20k instructions, more than the script
		// costs the client. So the ops without a fast form go first (the
		// order of concurrent calls is free) and, when there is none, the
		// first claim runs as its script; the others are fast.
		p := b.client.Pipeline()
		first := true
		for _, c := range batch {
			if c.fastArgs == nil {
				c.cmd = c.add(ctx, p, false)
				first = false
			}
		}
		fast := !b.noFast.Load()
		for _, c := range batch {
			if c.fastArgs != nil {
				c.sentFast = fast && !first
				if c.sentFast {
					c.cmd = redis.NewCmd(ctx, c.fastArgs...)
					_ = p.Process(ctx, c.cmd)
				} else {
					c.cmd = c.add(ctx, p, false)
				}
				first = false
			}
		}
		_, _ = p.Exec(ctx) // every error is its command's
		var retry redis.Pipeliner
		for _, c := range batch {
			if !c.sentFast && isNoScript(c.cmd.Err()) {
				if retry == nil {
					retry = b.client.Pipeline()
				}
				c.cmd = c.add(ctx, retry, true)
			}
		}
		if retry != nil {
			_, _ = retry.Exec(ctx)
		}
	}
	for _, c := range batch {
		if c != batch[0] {
			c.wake <- struct{}{}
		}
	}
}

func isNoScript(err error) bool {
	return err != nil && strings.HasPrefix(err.Error(), "NOSCRIPT")
}
