package main

import (
	"context"
	"sync"
	"time"
)

// Queue is an in-process message queue with at-least-once delivery, the
// contract of JetStream, SQS or Pub/Sub reduced to what this example needs: a
// message delivered to a consumer and not acknowledged within the ack wait (the
// consumer crashed, or its ack was lost) is delivered again, and a message
// published twice (a producer's own retry) is delivered twice. The consumer must
// therefore deduplicate, which is what it uses the idempotency runtime's Do for.
//
// It is safe for concurrent use.
type Queue struct {
	ackWait time.Duration

	mu      sync.Mutex
	ready   []*entry             // waiting for a consumer, oldest first
	pending map[*entry]time.Time // delivered, not acked yet: redelivery deadline
	wake    chan struct{}        // closed and replaced when ready grows
}

// entry is a published message as the queue keeps it.
type entry struct {
	id         string
	body       []byte
	deliveries int
}

// Message is one delivery of a published message. Each delivery is its own
// value, so a consumer still holding an earlier delivery never races with the
// redelivery of the same message to another consumer.
type Message struct {
	// ID is the message's id, set by the producer and identical on every
	// delivery and every republish: the deduplication key.
	ID string
	// Body is the message's payload.
	Body []byte
	// Delivery counts the deliveries of this message, from 1.
	Delivery int

	q *Queue
	e *entry
}

// NewQueue returns an empty queue that redelivers a message when it is not
// acknowledged within ackWait.
func NewQueue(ackWait time.Duration) *Queue {
	return &Queue{ackWait: ackWait, pending: make(map[*entry]time.Time), wake: make(chan struct{})}
}

// Publish adds a message with the producer's id and body.
func (q *Queue) Publish(id string, body []byte) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.pushLocked(&entry{id: id, body: body})
}

func (q *Queue) pushLocked(e *entry) {
	q.ready = append(q.ready, e)
	close(q.wake)
	q.wake = make(chan struct{})
}

// Receive returns the next delivery, waiting until one is ready or ctx ends.
// The caller must Ack the message once it is processed, or Nak it to have it
// redelivered at once; otherwise it is redelivered after the ack wait.
func (q *Queue) Receive(ctx context.Context) (*Message, error) {
	for {
		q.mu.Lock()
		now := time.Now()
		next := time.Time{}
		for e, deadline := range q.pending {
			if !deadline.After(now) {
				delete(q.pending, e)
				q.ready = append(q.ready, e)
			} else if next.IsZero() || deadline.Before(next) {
				next = deadline
			}
		}
		if len(q.ready) > 0 {
			e := q.ready[0]
			q.ready = q.ready[1:]
			e.deliveries++
			q.pending[e] = now.Add(q.ackWait)
			q.mu.Unlock()
			return &Message{ID: e.id, Body: e.body, Delivery: e.deliveries, q: q, e: e}, nil
		}
		wake := q.wake
		q.mu.Unlock()

		var timer *time.Timer
		var timeout <-chan time.Time
		if !next.IsZero() {
			timer = time.NewTimer(time.Until(next))
			timeout = timer.C
		}
		select {
		case <-ctx.Done():
		case <-wake:
		case <-timeout:
		}
		if timer != nil {
			timer.Stop()
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
}

// Ack acknowledges the delivery: the message is never delivered again.
func (m *Message) Ack() {
	m.q.mu.Lock()
	defer m.q.mu.Unlock()
	delete(m.q.pending, m.e)
}

// Nak gives the delivery back for immediate redelivery.
func (m *Message) Nak() {
	m.q.mu.Lock()
	defer m.q.mu.Unlock()
	if _, ok := m.q.pending[m.e]; ok {
		delete(m.q.pending, m.e)
		m.q.pushLocked(m.e)
	}
}

// Len returns how many messages are not acknowledged yet (ready or delivered).
func (q *Queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.ready) + len(q.pending)
}
