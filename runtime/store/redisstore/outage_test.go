package redisstore_test

import (
	"context"
	"errors"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/idemgen/idemgen/runtime/idempotency"
	"github.com/idemgen/idemgen/runtime/store/redisstore"
)

// TestBatchDuringOutage: when Redis dies while operations are queued for a
// batch, every caller gets an error, and after a restart (the data kept on
// disk, every write fsynced) nothing of the failed batch is applied: the
// claim it completed is still in flight and the keys it claimed are free.
func TestBatchDuringOutage(t *testing.T) {
	bin := redisServer(t)
	ports, err := freePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	addr := "127.0.0.1:" + strconv.Itoa(ports[0])
	var srv *exec.Cmd
	start := func() {
		srv = exec.Command(bin, "--port", strconv.Itoa(ports[0]), "--bind", "127.0.0.1", "--save", "",
			"--appendonly", "yes", "--appendfsync", "always", "--dir", dir, "--logfile", "redis.log")
		dieWithTest(srv)
		if err := srv.Start(); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if err := waitFor(ctx, addr+" answering PING", func(rc *redis.Client) (bool, error) {
			return rc.Ping(ctx).Err() == nil, nil
		}, &node{port: ports[0]}); err != nil {
			t.Fatal(err)
		}
	}
	kill := func() {
		srv.Process.Kill()
		srv.Wait()
	}
	start()
	defer kill()

	ctx := context.Background()
	h := newGateHook()
	c := redis.NewClient(&redis.Options{Addr: addr, DialerRetries: 1})
	defer c.Close()
	s := redisstore.New(c)
	// The claim to complete, and the scripts loaded, before the hook holds.
	for _, id := range []string{"held", "done"} {
		if _, err := s.Claim(ctx, id, "fp", "t", time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	c.AddHook(h)
	first := make(chan error, 1)
	go func() { _, err := s.Claim(ctx, "first", "fp", "t", time.Minute); first <- err }()
	<-h.in
	const n = 8
	errs := make(chan error, n+1)
	for i := range n {
		go func() { _, err := s.Claim(ctx, "k"+strconv.Itoa(i), "fp", "t", time.Minute); errs <- err }()
	}
	go func() { errs <- s.Complete(ctx, "done", "t", []byte("answer"), time.Minute) }()
	time.Sleep(50 * time.Millisecond) // let them queue
	kill()
	close(h.gate)
	if err := <-first; err == nil {
		t.Error("a claim sent to a dead server succeeded")
	}
	for range n + 1 {
		if err := <-errs; err == nil {
			t.Error("an operation batched for a dead server succeeded")
		}
	}
	h.mu.Lock()
	sizes := h.sizes
	h.mu.Unlock()
	if len(sizes) < 2 || sizes[1] < 2 {
		t.Fatalf("send sizes %v: the queued operations were not batched", sizes)
	}

	start()
	// After the restart the server knows no script: the store loads them.
	rec, err := s.Get(ctx, "done")
	if err != nil || rec.State != idempotency.StateInFlight {
		t.Fatalf("the completion of a failed batch: record %+v, %v; want it still in flight", rec, err)
	}
	for i := range n {
		if _, err := s.Get(ctx, "k"+strconv.Itoa(i)); !errors.Is(err, idempotency.ErrNotFound) {
			t.Fatalf("a claim of a failed batch: Get = %v, want ErrNotFound", err)
		}
	}
	if _, err := s.Get(ctx, "held"); err != nil {
		t.Fatalf("a claim from before the outage: %v", err)
	}
}
