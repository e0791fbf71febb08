package redisstore_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/idemgen/idemgen/runtime/idempotency"
)

// gateHook holds the first command or pipeline the client sends until open
// is closed, so that the callers behind it queue in the store's batcher. It
// records the size of every pipeline.
type gateHook struct {
	held  atomic.Bool
	gate  chan struct{}
	in    chan struct{} // closed when the first send is held
	mu    sync.Mutex
	sizes []int
}

func newGateHook() *gateHook {
	return &gateHook{gate: make(chan struct{}), in: make(chan struct{})}
}

// rearm makes h hold the next send, as it held the first. Call it only when
// nothing is being sent.
func (h *gateHook) rearm() {
	h.gate, h.in = make(chan struct{}), make(chan struct{})
	h.held.Store(false)
}

func (h *gateHook) hold() {
	if h.held.CompareAndSwap(false, true) {
		close(h.in)
		<-h.gate
	}
}

func (h *gateHook) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *gateHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.hold()
		h.mu.Lock()
		h.sizes = append(h.sizes, 1)
		h.mu.Unlock()
		return next(ctx, cmd)
	}
}
func (h *gateHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.hold()
		h.mu.Lock()
		h.sizes = append(h.sizes, len(cmds))
		h.mu.Unlock()
		return next(ctx, cmds)
	}
}

// TestBatchedClaimsKeepExactlyOnce: callers that queue behind a flush are
// sent together in one pipeline, and each script keeps its own atomic
// answer: of many concurrent claims of one key exactly one acquires, every
// other key's claim acquires, and a canceled caller that was still queued is
// withdrawn (its claim never reaches the server).
func TestBatchedClaimsKeepExactlyOnce(t *testing.T) {
	ctx := context.Background()
	h := newGateHook()
	s, _ := newStore(t, h)

	// The first claim is held in the hook: everything after it queues.
	first := make(chan error, 1)
	go func() {
		_, err := s.Claim(ctx, "first", "fp", "t0", time.Minute)
		first <- err
	}()
	<-h.in

	const same, distinct = 16, 16
	var wg sync.WaitGroup
	var acquired atomic.Int64
	errs := make(chan error, same+distinct)
	for i := range same {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl, err := s.Claim(ctx, "shared", "fp", "tok"+strconv.Itoa(i), time.Minute)
			if err != nil {
				errs <- err
				return
			}
			if cl.Acquired {
				acquired.Add(1)
			}
		}()
	}
	for i := range distinct {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl, err := s.Claim(ctx, "k"+strconv.Itoa(i), "fp", "t", time.Minute)
			if err == nil && !cl.Acquired {
				err = errors.New("a fresh key was not acquired: " + strconv.Itoa(i))
			}
			if err != nil {
				errs <- err
			}
		}()
	}
	cctx, cancel := context.WithCancel(ctx)
	canceled := make(chan error, 1)
	go func() {
		_, err := s.Claim(cctx, "canceled", "fp", "t", time.Minute)
		canceled <- err
	}()
	time.Sleep(50 * time.Millisecond) // let the callers queue
	cancel()
	select {
	case err := <-canceled:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("canceled queued claim: %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a canceled caller waited for the held flush")
	}

	close(h.gate)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := acquired.Load(); n != 1 {
		t.Fatalf("%d of %d concurrent claims of one key acquired it, want 1", n, same)
	}
	// The withdrawn claim never ran: the key is free.
	if cl, err := s.Claim(ctx, "canceled", "fp", "t2", time.Minute); err != nil || !cl.Acquired {
		t.Fatalf("claim after a withdrawn claim = %+v, %v; want acquired", cl, err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	largest := 0
	for _, n := range h.sizes {
		largest = max(largest, n)
	}
	if largest < 2 {
		t.Fatalf("pipeline sizes %v: the queued claims were not sent together", h.sizes)
	}
}

// TestBatchedNoScript: a pipeline of scripts the server does not know (after
// SCRIPT FLUSH or a restart) is sent again with the scripts whole, and every
// caller gets its own answer.
func TestBatchedNoScript(t *testing.T) {
	ctx := context.Background()
	h := newGateHook()
	s, _ := newStore(t, h)
	// A Complete (another script) is held while the claims queue behind it.
	first := make(chan error, 1)
	go func() { first <- s.Complete(ctx, "none", "t", nil, time.Minute) }()
	<-h.in
	if err := openClient(t).ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	const n = 8
	errs := make(chan error, n)
	for i := range n {
		go func() {
			cl, err := s.Claim(ctx, "k"+strconv.Itoa(i), "fp", "t", time.Minute)
			if err == nil && !cl.Acquired {
				err = errors.New("a fresh key was not acquired")
			}
			errs <- err
		}()
	}
	time.Sleep(50 * time.Millisecond) // let the claims queue
	close(h.gate)
	if err := <-first; err == nil || !errors.Is(err, idempotency.ErrNotOwner) {
		t.Fatalf("complete without a claim: %v, want ErrNotOwner", err)
	}
	for range n {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// seqGateHook holds the n-th pipeline the client sends (n from 1) until its
// gate is closed.
type seqGateHook struct {
	sent  atomic.Int64
	gates []chan struct{} // gates[i] holds send i+1
	in    []chan struct{} // in[i] is closed when send i+1 is held
}

func newSeqGateHook(n int) *seqGateHook {
	h := &seqGateHook{}
	for range n {
		h.gates = append(h.gates, make(chan struct{}))
		h.in = append(h.in, make(chan struct{}))
	}
	return h
}

func (h *seqGateHook) hold() {
	if i := int(h.sent.Add(1)) - 1; i < len(h.gates) {
		close(h.in[i])
		<-h.gates[i]
	}
}

func (h *seqGateHook) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *seqGateHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { h.hold(); return next(ctx, cmd) }
}
func (h *seqGateHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { h.hold(); return next(ctx, cmds) }
}

// TestBatchedCallerCanceledInFlight: a caller whose context ends while its
// script is in another caller's pipeline returns at once; the pipeline goes
// on for the others, and the script may still have run.
func TestBatchedCallerCanceledInFlight(t *testing.T) {
	ctx := context.Background()
	// The server must know the claim script already (it does not after a
	// restart or SCRIPT FLUSH): loading it would be one more send, which
	// the hook would hold, and the test would hang.
	warm, _ := newStore(t)
	if _, err := warm.Claim(ctx, "warm", "fp", "t", time.Minute); err != nil {
		t.Fatal(err)
	}
	h := newSeqGateHook(2)
	s, _ := newStore(t, h)
	first := make(chan error, 1)
	go func() { _, err := s.Claim(ctx, "first", "fp", "t", time.Minute); first <- err }()
	<-h.in[0]
	// Two callers queue behind the held first send; they go out together
	// in the second, which is held too.
	lead := make(chan error, 1)
	go func() { _, err := s.Claim(ctx, "lead", "fp", "t", time.Minute); lead <- err }()
	time.Sleep(20 * time.Millisecond) // "lead" queues first, so it sends the next pipeline
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	canceled := make(chan error, 1)
	go func() { _, err := s.Claim(cctx, "canceled", "fp", "t", time.Minute); canceled <- err }()
	time.Sleep(50 * time.Millisecond) // let both queue
	close(h.gates[0])
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	<-h.in[1]
	cancel()
	select {
	case err := <-canceled:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("canceled claim in flight: %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a canceled caller waited for another caller's pipeline")
	}
	close(h.gates[1])
	if err := <-lead; err != nil {
		t.Fatal(err)
	}
	// The canceled claim was sent: it holds its key.
	if cl, err := s.Claim(ctx, "canceled", "fp", "t2", time.Minute); err != nil || cl.Acquired {
		t.Fatalf("claim after a canceled claim that was sent = %+v, %v; want the first claim's record", cl, err)
	}
}
