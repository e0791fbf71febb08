package pgstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/idemgen/idemgen/runtime/idempotency"
)

// Group commit. Most of PostgreSQL's work for a statement of the hot path is
// not the statement but its transaction: the commit and its WAL flush, a
// transaction id, a snapshot, a backend wakeup. The batcher sends the Claim
// and Complete statements of concurrent callers (different requests) together,
// as one transaction in one round trip on one connection: their Bind and
// Execute messages, the same prepared statements as ever, then one Sync, which
// makes them an implicit transaction that commits at the Sync (pgconn's
// ExecBatch). A caller is answered only after that commit.
//
// It is natural batching, as redisstore's batcher: the first caller to find a
// flight free sends its own statement at once, alone and autocommit, in one
// round trip as before; callers that arrive while every flight is busy queue,
// and when a flight ends, the first queued caller takes over what is queued
// as the next flight. Up to maxFlights flights run at once, each on its own
// pooled connection, so that two lone callers do not wait on each other.
//
// Within a flight the statements run in the order of their ids, so two
// processes' flights lock rows in the same order and cannot deadlock; a second
// call for an id already in the flight waits for the next one, so every
// statement sees the others' effects as committed, as it does alone.
//
// When the transaction fails on a statement error (the connection still up,
// so nothing committed), each caller runs its own statement again, alone and
// autocommit, as it would have without the batcher: the failing one gets its
// own error, the others their own answers. When the connection is lost, the
// outcome is unknown: every caller gets the error (as a lone statement would).
//
// Contexts: a caller whose context ends while queued is withdrawn and gets
// the context's error. Once its statement is in a flight, the statement is no
// longer its own (cancelling it would roll back the others'): the caller still
// returns the context's error at once, and the statement may commit, as it may
// today when a cancellation arrives after the statement ran (a claim then
// holds its lease until it expires, when another request takes it over). A
// flight is cancelled only when every caller in it has given up.

// maxFlights bounds the batched round trips in flight at once.
const maxFlights = 2

// maxBatch bounds the statements of one flight, so a burst does not make one
// flight's callers wait for a very long transaction.
const maxBatch = 64

// batcher groups the statements of concurrent callers (see above).
type batcher struct {
	s *Store

	mu      sync.Mutex
	queue   []*call
	flights int // flights running, or handed to a queued caller

	// hook, when set (tests), is called by each flight on its connection
	// before it sends, with the ids of its statements.
	hook func(conn *pgx.Conn, ids []string)
}

// call is one Claim or Complete statement.
type call struct {
	ctx    context.Context
	st     *stmt
	id     string
	params [][]byte

	ans answer

	// wake is signalled once: the answer is in ans, or (lead set) the caller
	// must fly f next.
	wake chan struct{}
	// Guarded by batcher.mu:
	lead bool
	f    *flight // the flight the call is in; nil while queued
	gone bool    // the caller gave up before f was sent
}

// answer is what a statement returned.
type answer struct {
	tag pgconn.CommandTag
	// Claim's decoded row.
	cl    idempotency.Claim
	again bool
	err   error
	// alone says that the flight rolled back: the caller runs its statement
	// again by itself.
	alone bool
}

// flight is one transaction of queued calls.
type flight struct {
	calls []*call
	// Guarded by batcher.mu:
	sent    bool
	waiting int                // callers (the lead among them) still waiting
	cancel  context.CancelFunc // ends the flight's context once none is
}

var callPool = sync.Pool{New: func() any { return &call{wake: make(chan struct{}, 1)} }}

// do runs st with params for id, batched with concurrent calls, and returns
// its answer.
func (b *batcher) do(ctx context.Context, st *stmt, id string, params [][]byte) answer {
	c := callPool.Get().(*call)
	c.ctx, c.st, c.id, c.params = ctx, st, id, params
	b.mu.Lock()
	if b.flights < maxFlights {
		b.flights++
		b.mu.Unlock()
		b.s.runAlone(c, b.hook)
		b.landed()
		return c.done()
	}
	b.queue = append(b.queue, c)
	b.mu.Unlock()
	select {
	case <-c.wake:
	case <-ctx.Done():
		b.mu.Lock()
		switch {
		case c.lead || len(c.wake) > 0:
			// Either the others in c.f wait for this caller to fly it (it
			// does), or c's answer is in.
			b.mu.Unlock()
			<-c.wake
		case c.f == nil:
			// Still queued: withdraw it.
			if i := slices.Index(b.queue, c); i >= 0 {
				b.queue = slices.Delete(b.queue, i, i+1)
			}
			b.mu.Unlock()
			c.ans = answer{err: ctx.Err()}
			return c.done()
		default:
			// In a flight: leave the statement to it. c stays with the flight
			// (the garbage collector takes it, not the pool).
			if !c.f.sent {
				c.gone = true
			}
			b.leave(c.f)
			b.mu.Unlock()
			return answer{err: ctx.Err()}
		}
	}
	if c.lead {
		b.fly(c)
	}
	if c.ans.alone {
		b.s.runAlone(c, nil)
	}
	return c.done()
}

// done returns c's answer and gives c back to the pool.
func (c *call) done() answer {
	ans := c.ans
	*c = call{wake: c.wake}
	callPool.Put(c)
	return ans
}

// leave counts a caller of f that no longer waits; the last one cancels f.
// b.mu is held.
func (b *batcher) leave(f *flight) {
	f.waiting--
	if f.waiting == 0 && f.cancel != nil {
		f.cancel()
	}
}

// landed ends a flight: the first queued caller takes what is queued as the
// next one, or the flight is free.
func (b *batcher) landed() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.queue) == 0 {
		b.flights--
		return
	}
	f := &flight{calls: make([]*call, 0, min(len(b.queue), maxBatch))}
	// Take calls in their order of arrival, leaving for a later flight any
	// whose id is already in this one.
	rest := b.queue[:0]
	for _, c := range b.queue {
		if len(f.calls) == maxBatch || slices.ContainsFunc(f.calls, func(o *call) bool { return o.id == c.id }) {
			rest = append(rest, c)
			continue
		}
		c.f = f
		f.calls = append(f.calls, c)
	}
	clear(b.queue[len(rest):])
	b.queue = rest
	f.waiting = len(f.calls)
	lead := f.calls[0]
	lead.lead = true
	lead.wake <- struct{}{}
}

// fly sends the flight that lead was handed, answers its callers and hands
// the next flight on. The lead's own call is among them.
func (b *batcher) fly(lead *call) {
	f := lead.f
	if len(f.calls) == 1 {
		b.s.runAlone(lead, b.hook)
		b.landed()
		return
	}
	// The flight runs until every caller in it has given up (see above).
	ctx, cancel := context.WithCancel(context.WithoutCancel(lead.ctx))
	b.mu.Lock()
	f.cancel = cancel
	b.mu.Unlock()
	stop := context.AfterFunc(lead.ctx, func() {
		b.mu.Lock()
		b.leave(f)
		b.mu.Unlock()
	})
	sent := b.s.runBatch(ctx, f, b)
	stop()
	cancel()
	b.landed()
	for _, c := range sent {
		if c != lead {
			c.wake <- struct{}{}
		}
	}
}

// runBatch runs the calls of f as one transaction in one round trip and puts
// each one's answer in it. It returns the calls it sent: those whose callers
// had not given up by then.
func (s *Store) runBatch(ctx context.Context, f *flight, b *batcher) (sent []*call) {
	slices.SortFunc(f.calls, func(x, y *call) int { return strings.Compare(x.id, y.id) })
	fail := func(err error) []*call {
		b.mu.Lock()
		defer b.mu.Unlock()
		f.sent = true
		sent = f.calls[:0]
		for _, c := range f.calls {
			if !c.gone {
				c.ans = answer{err: err}
				sent = append(sent, c)
			}
		}
		return sent
	}
	pc, err := s.pool.Acquire(ctx)
	if err != nil {
		return fail(err)
	}
	defer pc.Release()
	conn := pc.Conn()
	if b.hook != nil {
		ids := make([]string, len(f.calls))
		for i, c := range f.calls {
			ids[i] = c.id
		}
		b.hook(conn, ids)
	}
	// The statements' descriptions, when they are prepared on the connection.
	var claim, complete *pgconn.StatementDescription
	if s.prepare {
		for _, c := range f.calls {
			if c.st == &s.claim && claim == nil {
				claim, err = conn.Prepare(ctx, s.claim.name, s.claim.sql)
			} else if c.st == &s.complete && complete == nil {
				complete, err = conn.Prepare(ctx, s.complete.name, s.complete.sql)
			}
			if err != nil {
				return fail(err)
			}
		}
	}
	// Encoding copies the parameters; a caller that gives up after that may
	// reuse its buffers (Complete's result).
	var batch pgconn.Batch
	b.mu.Lock()
	f.sent = true
	for _, c := range f.calls {
		if c.gone {
			continue
		}
		sent = append(sent, c)
		switch {
		case !s.prepare:
			batch.ExecParams(c.st.sql, c.params, c.st.oids, binaryFormat, binaryFormat)
		case c.st == &s.claim:
			batch.ExecStatement(claim, c.params, binaryFormat, binaryFormat)
		default:
			batch.ExecStatement(complete, c.params, binaryFormat, binaryFormat)
		}
	}
	b.mu.Unlock()

	tracer, _ := conn.Config().Tracer.(pgx.QueryTracer)
	var traced []context.Context
	if tracer != nil {
		traced = make([]context.Context, len(sent))
		for i, c := range sent {
			traced[i] = tracer.TraceQueryStart(c.ctx, conn, pgx.TraceQueryStartData{SQL: c.st.sql})
		}
	}
	mrr := conn.PgConn().ExecBatch(ctx, &batch)
	for i := 0; mrr.NextResult() && i < len(sent); i++ {
		c := sent[i]
		rr := mrr.ResultReader()
		var rowErr error
		for rr.NextRow() {
			if c.st == &s.claim && rowErr == nil {
				c.ans.cl, c.ans.again, rowErr = decodeClaim(c.id, rr.Values())
			}
		}
		c.ans.tag, c.ans.err = rr.Close()
		if c.ans.err == nil {
			c.ans.err = rowErr
		}
	}
	err = mrr.Close()
	var pe *pgconn.PgError
	switch {
	case err == nil:
	case errors.As(err, &pe) && !conn.PgConn().IsClosed():
		// A statement failed, so the transaction rolled back: each caller
		// runs its own again.
		if pe.Code == "0A000" || pe.Code == "26000" {
			// A stale prepared statement (see runAlone).
			_ = conn.Deallocate(ctx, s.claim.name)
			_ = conn.Deallocate(ctx, s.complete.name)
		}
		for _, c := range sent {
			c.ans = answer{alone: true}
		}
	default:
		err = fmt.Errorf("batch of %d statements: %w", len(sent), err)
		for _, c := range sent {
			c.ans = answer{err: err}
		}
	}
	if tracer != nil {
		for i, c := range sent {
			e := c.ans.err
			if c.ans.alone {
				e = err
			}
			tracer.TraceQueryEnd(traced[i], conn, pgx.TraceQueryEndData{CommandTag: c.ans.tag, Err: e})
		}
	}
	return sent
}
