package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/idemgen/idemgen/runtime/store/memstore"
)

// TestConsumerAppliesEachMessageOnce publishes every message twice, loses the
// first ack of each (so each comes back after the ack wait) and runs several
// consumers at once: every message must take effect exactly once.
func TestConsumerAppliesEachMessageOnce(t *testing.T) {
	const n = 100
	store := memstore.New()
	defer store.Close()
	ledger := NewLedger()
	c, err := NewConsumer(store, ledger, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	q := NewQueue(30 * time.Millisecond)
	for i := range n {
		body, _ := json.Marshal(QueueEvent{Type: "payment.succeeded", Account: fmt.Sprintf("a%d", i%4), Amount: 10})
		q.Publish(fmt.Sprintf("m%d", i), body)
		q.Publish(fmt.Sprintf("m%d", i), body)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	lose := loseFirstAck()
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.Run(ctx, q, lose); err != nil {
				t.Error(err)
			}
		}()
	}
	for q.Len() > 0 && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	wg.Wait()
	if q.Len() != 0 {
		t.Fatalf("%d messages still unacked when the test timed out", q.Len())
	}

	balances, applied := ledger.Snapshot()
	if applied != n {
		t.Errorf("ledger applied %d events, want %d (each was delivered at least three times)", applied, n)
	}
	for i := range n {
		if got := ledger.Times(fmt.Sprintf("m%d", i)); got != 1 {
			t.Errorf("m%d applied %d times, want 1", i, got)
		}
	}
	for a := range 4 {
		if got := balances[fmt.Sprintf("a%d", a)]; got != 10*n/4 {
			t.Errorf("balance of a%d = %d, want %d", a, got, 10*n/4)
		}
	}
}

// TestConsumerReplaysResult checks the Do contract the consumer relies on: the
// second delivery returns the first result, marked replayed.
func TestConsumerReplaysResult(t *testing.T) {
	store := memstore.New()
	defer store.Close()
	ledger := NewLedger()
	c, err := NewConsumer(store, ledger, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"type":"payment.refunded","account":"x","amount":7}`)
	m := &Message{ID: "r1", Body: body}
	ctx := context.Background()
	for i, wantReplayed := range []bool{false, true, true} {
		replayed, err := c.Handle(ctx, m)
		if err != nil {
			t.Fatalf("delivery %d: %v", i+1, err)
		}
		if replayed != wantReplayed {
			t.Errorf("delivery %d: replayed = %v, want %v", i+1, replayed, wantReplayed)
		}
	}
	if b, _ := ledger.Snapshot(); b["x"] != -7 {
		t.Errorf("balance = %d, want -7 (one refund)", b["x"])
	}
	// A bad message fails and is not recorded, so a fixed redelivery could run.
	if _, err := c.Handle(ctx, &Message{ID: "bad", Body: []byte(`{"type":"payment.lost","account":"x","amount":1}`)}); err == nil {
		t.Error("an unknown event type was handled without error")
	}
}
