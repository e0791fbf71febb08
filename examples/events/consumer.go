package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/idemgen/idemgen/runtime/idempotency"
)

// QueueOperation names the consumer's records in the idempotency store, apart
// from the webhook's: the same event id arriving by webhook and by queue is
// two records, because they are two different delivery channels of this
// example. (Give both the same operation name to deduplicate across them.)
const QueueOperation = "consumePaymentEvent"

// QueueEvent is a message of the payments stream.
type QueueEvent struct {
	Type    string `json:"type"`
	Account string `json:"account"`
	Amount  int64  `json:"amount"`
}

// retryPause is how long a delivery that failed waits before it is redelivered.
const retryPause = 20 * time.Millisecond

// Consumer applies a JetStream stream's events to a ledger at most once per
// message id, with the idempotency runtime's Do: a message that JetStream
// redelivers (its ack was lost, or the consumer died before acking) or that
// the producer published again replays the stored result, and the ledger is
// not touched again.
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

// MessageID is the idempotency key of a JetStream message: the producer's
// Nats-Msg-Id header, which stays the same when the producer publishes again.
// JetStream itself drops such a copy only within the stream's duplicate window
// (2 minutes by default); the idempotency record lasts the policy's TTL. A
// message without the header is keyed by its stream and sequence, which a
// redelivery keeps (a second publish does not).
func MessageID(m jetstream.Msg) (string, error) {
	if id := m.Headers().Get(jetstream.MsgIDHeader); id != "" {
		return id, nil
	}
	md, err := m.Metadata()
	if err != nil {
		return "", fmt.Errorf("events: a message without %s or JetStream metadata: %w", jetstream.MsgIDHeader, err)
	}
	return md.Stream + ":" + strconv.FormatUint(md.Sequence.Stream, 10), nil
}

// Handle processes one delivery and reports whether it was a replay. It does
// not ack: Run does, after Handle succeeded.
func (c *Consumer) Handle(ctx context.Context, m jetstream.Msg) (replayed bool, err error) {
	id, err := MessageID(m)
	if err != nil {
		return false, err
	}
	body := m.Data()
	_, replayed, err = c.mw.Do(ctx, "", id, body, func(ctx context.Context) ([]byte, error) {
		var e QueueEvent
		if err := json.Unmarshal(body, &e); err != nil {
			return nil, fmt.Errorf("events: message %q: %w", id, err)
		}
		applied, err := c.ledger.Apply(id, e.Type, e.Account, e.Amount)
		if err != nil {
			return nil, err
		}
		return json.Marshal(map[string]any{"eventId": id, "applied": applied})
	})
	return replayed, err
}

// Run pulls deliveries from cons and handles them until ctx ends. A delivery
// that was handled is acked; one that failed (the store is down, another
// worker holds the claim) is naked for redelivery after retryPause. ackLost,
// when not nil, is asked before every ack whether to lose it, to play a
// consumer that dies between doing the work and acking it.
func (c *Consumer) Run(ctx context.Context, cons jetstream.Consumer, ackLost func(jetstream.Msg) bool) error {
	it, err := cons.Messages()
	if err != nil {
		return fmt.Errorf("events: consume: %w", err)
	}
	stopped := make(chan struct{})
	defer close(stopped)
	go func() {
		select {
		case <-ctx.Done():
		case <-stopped:
		}
		it.Stop()
	}()
	for {
		m, err := it.Next()
		if err != nil {
			if errors.Is(err, jetstream.ErrMsgIteratorClosed) || ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("events: consume: %w", err)
		}
		replayed, err := c.Handle(ctx, m)
		if err != nil {
			c.log.WarnContext(ctx, "event not handled; redelivering", "subject", m.Subject(), "err", err)
			m.NakWithDelay(retryPause)
			continue
		}
		c.log.DebugContext(ctx, "event handled", "subject", m.Subject(), "replayed", replayed)
		if ackLost != nil && ackLost(m) {
			continue
		}
		if err := m.Ack(); err != nil {
			c.log.WarnContext(ctx, "ack failed; the message will be redelivered and replayed", "err", err)
		}
	}
}

// StreamConfig is the payments stream of the example: every subject under
// subjects, kept until acked by the consumer.
func StreamConfig(name, subjects string) jetstream.StreamConfig {
	return jetstream.StreamConfig{Name: name, Subjects: []string{subjects}, Retention: jetstream.WorkQueuePolicy}
}

// ConsumerConfig is a durable pull consumer with explicit acks: a message
// not acked within ackWait is redelivered, without limit.
func ConsumerConfig(durable string, ackWait time.Duration) jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Durable:    durable,
		AckPolicy:  jetstream.AckExplicitPolicy,
		AckWait:    ackWait,
		MaxDeliver: -1,
	}
}
