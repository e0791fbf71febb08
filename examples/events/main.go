package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/idemgen/idemgen/examples/internal/exampleserver"
	"github.com/idemgen/idemgen/runtime/serverkit"
)

func main() { exampleserver.Main("events", run) }

// run parses args, opens the store, starts the JetStream consumer (with -nats)
// and serves the webhook until ctx ends.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("events", flag.ContinueOnError)
	fs.SetOutput(stderr)
	flags := exampleserver.Register(fs, "events", "127.0.0.1:8083")
	natsURL := fs.String("nats", "", "consume the payments stream of this NATS JetStream server (e.g. nats://127.0.0.1:4222)")
	stream := fs.String("stream", "PAYMENTS", "the JetStream stream (subjects STREAM.>) and its durable consumer")
	queueDemo := fs.Int("queue-demo", 0, "with -nats: publish this many events, each twice, and lose the first ack of each")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *queueDemo > 0 && *natsURL == "" {
		return errors.New("-queue-demo needs -nats")
	}
	store, closer, err := exampleserver.OpenStore(ctx, flags.Store)
	if err != nil {
		return err
	}
	defer closer.Close()
	log := slog.New(slog.NewTextHandler(stderr, nil))
	ledger := NewLedger()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	if *natsURL != "" {
		consumer, err := NewConsumer(store, ledger, log)
		if err != nil {
			return err
		}
		nc, err := nats.Connect(*natsURL, nats.Name("idemgen events example"))
		if err != nil {
			return fmt.Errorf("events: nats at %s: %w", *natsURL, err)
		}
		defer nc.Close()
		js, err := jetstream.New(nc)
		if err != nil {
			return err
		}
		st, err := js.CreateOrUpdateStream(ctx, StreamConfig(*stream, *stream+".>"))
		if err != nil {
			return fmt.Errorf("events: stream %s: %w", *stream, err)
		}
		cons, err := st.CreateOrUpdateConsumer(ctx, ConsumerConfig(strings.ToLower(*stream)+"-ledger", 2*time.Second))
		if err != nil {
			return fmt.Errorf("events: consumer on %s: %w", *stream, err)
		}
		// The demo plays a consumer that dies between the work and the ack.
		var ackLost func(jetstream.Msg) bool
		if *queueDemo > 0 {
			ackLost = loseFirstAck()
			if err := publishDemo(ctx, js, *stream, *queueDemo); err != nil {
				return err
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := consumer.Run(ctx, cons, ackLost); err != nil {
				log.Error("queue consumer stopped", "err", err)
			}
		}()
		if *queueDemo > 0 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				reportWhenDrained(ctx, st, ledger, log)
			}()
		}
	}

	h, err := newHandler(&Receiver{ledger: ledger}, serverkit.WithStore(store), serverkit.WithLogger(log))
	if err != nil {
		return err
	}
	err = exampleserver.Serve(ctx, flags.Addr, h, stdout)
	cancel()
	wg.Wait()
	return err
}

// loseFirstAck returns an ackLost function for Consumer.Run that loses the
// first ack of every message: a consumer that died after the work and before
// the ack. JetStream redelivers the message after the ack wait.
func loseFirstAck() func(jetstream.Msg) bool {
	var mu sync.Mutex
	lost := make(map[string]bool)
	return func(m jetstream.Msg) bool {
		id, _ := MessageID(m)
		mu.Lock()
		defer mu.Unlock()
		if lost[id] {
			return false
		}
		lost[id] = true
		return true
	}
}

// publishDemo publishes n events, each twice with one Nats-Msg-Id (a producer
// that retried; JetStream drops the copy within its duplicate window).
func publishDemo(ctx context.Context, js jetstream.JetStream, stream string, n int) error {
	for i := range n {
		body, _ := json.Marshal(QueueEvent{Type: "payment.succeeded", Account: fmt.Sprintf("acct-%d", i%3), Amount: 100})
		id := fmt.Sprintf("msg-%d-%d", time.Now().UnixNano(), i)
		for range 2 {
			if _, err := js.Publish(ctx, stream+".succeeded", body, jetstream.WithMsgID(id)); err != nil {
				return fmt.Errorf("events: publish: %w", err)
			}
		}
	}
	return nil
}

// reportWhenDrained logs the ledger once the stream holds no unacked message.
func reportWhenDrained(ctx context.Context, st jetstream.Stream, ledger *Ledger, log *slog.Logger) {
	if drained(ctx, st) != nil {
		return
	}
	balances, applied := ledger.Snapshot()
	log.Info("queue drained", "events applied", applied, "balances", balances)
}

// drained waits until the stream holds no message: a work-queue stream
// deletes each message its consumer acked. It fails when ctx ends first.
func drained(ctx context.Context, st jetstream.Stream) error {
	for {
		info, err := st.Info(ctx)
		if err == nil && info.State.Msgs == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			if err == nil {
				err = fmt.Errorf("%d messages left", info.State.Msgs)
			}
			return fmt.Errorf("events: stream not drained: %w (%w)", ctx.Err(), err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}
