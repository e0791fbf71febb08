package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/idemgen/idemgen/runtime/idempotency"
)

// QueueOperation names the consumer's records in the idempotency store, apart
// from the webhook's: the same event id arriving by webhook and by queue is
// two records, because they are two different delivery channels of this
// example. (Give both the same operation name to deduplicate across them.)
const QueueOperation = "consumePaymentEvent"

// QueueEvent is a message of the payments queue.
type QueueEvent struct {
	Type    string `json:"type"`
	Account string `json:"account"`
	Amount  int64  `json:"amount"`
}

// retryPause is how long Run waits after a delivery failed.
const retryPause = 20 * time.Millisecond

// Consumer applies the queue's events to a ledger at most once per message id,
// with the idempotency runtime's Do: a redelivered or republished message
// replays the stored result and the ledger is not touched again.
type Consumer struct {
	mw     *idempotency.Middleware
	ledger *Ledger
	log    *slog.Logger
}

// NewConsumer returns a consumer that records its work in store.
func NewConsumer(store idempotency.Store, ledger *Ledger, log *slog.Logger) (*Consumer, error) {
	mw, err := idempotency.New(store, idempotency.Policy{
		Operation: QueueOperation,
		// Brokers redeliver for days at most; keep the records as long.
		TTL: 72 * time.Hour,
	}, idempotency.WithLogger(log))
	if err != nil {
		return nil, fmt.Errorf("events: consumer: %w", err)
	}
	return &Consumer{mw: mw, ledger: ledger, log: log}, nil
}

// Handle processes one delivery and reports whether it was a replay. It does
// not ack: Run does, after Handle succeeded.
func (c *Consumer) Handle(ctx context.Context, m *Message) (replayed bool, err error) {
	_, replayed, err = c.mw.Do(ctx, "", m.ID, m.Body, func(ctx context.Context) ([]byte, error) {
		var e QueueEvent
		if err := json.Unmarshal(m.Body, &e); err != nil {
			return nil, fmt.Errorf("events: message %q: %w", m.ID, err)
		}
		applied, err := c.ledger.Apply(m.ID, e.Type, e.Account, e.Amount)
		if err != nil {
			return nil, err
		}
		return json.Marshal(map[string]any{"eventId": m.ID, "applied": applied})
	})
	return replayed, err
}

// Run receives and handles deliveries until ctx ends. A delivery that fails
// (the store is down, another worker holds the claim) is given back for
// redelivery; a delivery that was handled is acked. ackLost, when not nil, is
// asked before every ack whether to lose it, to play a consumer that crashes
// between doing the work and acking it.
func (c *Consumer) Run(ctx context.Context, q *Queue, ackLost func(*Message) bool) error {
	for {
		m, err := q.Receive(ctx)
		if err != nil {
			if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				return nil
			}
			return err
		}
		replayed, err := c.Handle(ctx, m)
		if err != nil {
			c.log.WarnContext(ctx, "event not handled; redelivering", "id", m.ID, "delivery", m.Delivery, "err", err)
			m.Nak()
			// Do not spin while the store is down or another worker holds
			// the claim.
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(retryPause):
			}
			continue
		}
		c.log.DebugContext(ctx, "event handled", "id", m.ID, "delivery", m.Delivery, "replayed", replayed)
		if ackLost != nil && ackLost(m) {
			continue
		}
		m.Ack()
	}
}
