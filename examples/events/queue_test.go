package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

func TestQueueRedeliversUnackedMessages(t *testing.T) {
	q := NewQueue(20 * time.Millisecond)
	q.Publish("e1", []byte("one"))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	m, err := q.Receive(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if m.ID != "e1" || m.Delivery != 1 {
		t.Fatalf("first delivery = %q #%d, want e1 #1", m.ID, m.Delivery)
	}
	// Not acked: it comes back after the ack wait.
	m2, err := q.Receive(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if m2.ID != "e1" || m2.Delivery != 2 {
		t.Fatalf("redelivery = %q #%d, want e1 #2", m2.ID, m2.Delivery)
	}
	m2.Nak()
	m3, err := q.Receive(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if m3.Delivery != 3 {
		t.Fatalf("after Nak: delivery #%d, want #3", m3.Delivery)
	}
	m3.Ack()
	if n := q.Len(); n != 0 {
		t.Fatalf("Len after Ack = %d, want 0", n)
	}
	short, cancelShort := context.WithTimeout(ctx, 60*time.Millisecond)
	defer cancelShort()
	if _, err := q.Receive(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Receive on an empty queue = %v, want the context's deadline", err)
	}
}

// TestQueueConcurrentConsumers checks, under -race, that every published
// message is delivered to some consumer and that acked ones stop coming.
func TestQueueConcurrentConsumers(t *testing.T) {
	const n = 200
	q := NewQueue(time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var mu sync.Mutex
	seen := make(map[string]int)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				m, err := q.Receive(ctx)
				if err != nil {
					return
				}
				mu.Lock()
				seen[m.ID]++
				done := len(seen) == n
				mu.Unlock()
				m.Ack()
				if done {
					cancel()
				}
			}
		}()
	}
	for i := range n {
		q.Publish(fmt.Sprintf("e%d", i), nil)
	}
	wg.Wait()
	if len(seen) != n {
		t.Fatalf("delivered %d distinct messages, want %d", len(seen), n)
	}
	for id, c := range seen {
		if c != 1 {
			t.Errorf("%s delivered %d times with an ack wait of an hour, want 1", id, c)
		}
	}
}
