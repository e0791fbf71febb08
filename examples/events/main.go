package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/idemgen/idemgen/examples/events/api"
	"github.com/idemgen/idemgen/examples/internal/exampleserver"
)

func main() { exampleserver.Main("events", run) }

// run parses args, opens the store, starts the queue consumer and serves the
// webhook until ctx ends.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("events", flag.ContinueOnError)
	fs.SetOutput(stderr)
	flags := exampleserver.Register(fs, "events", "127.0.0.1:8083")
	queueDemo := fs.Int("queue-demo", 0, "publish this many events to the queue, each twice, and lose the first ack of each")
	if err := fs.Parse(args); err != nil {
		return err
	}
	store, closer, err := exampleserver.OpenStore(ctx, flags.Store)
	if err != nil {
		return err
	}
	defer closer.Close()
	log := slog.New(slog.NewTextHandler(stderr, nil))
	ledger := NewLedger()

	consumer, err := NewConsumer(store, ledger, log)
	if err != nil {
		return err
	}
	q := NewQueue(200 * time.Millisecond)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// The demo plays a consumer that crashes between the work and the ack.
	var ackLost func(*Message) bool
	if *queueDemo > 0 {
		ackLost = loseFirstAck()
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := consumer.Run(ctx, q, ackLost); err != nil {
			log.Error("queue consumer stopped", "err", err)
		}
	}()
	if *queueDemo > 0 {
		publishDemo(q, *queueDemo)
		wg.Add(1)
		go func() {
			defer wg.Done()
			reportWhenDrained(ctx, q, ledger, log)
		}()
	}

	h, err := api.NewServer(&Receiver{ledger: ledger}, api.WithStore(store), api.WithLogger(log))
	if err != nil {
		return err
	}
	err = exampleserver.Serve(ctx, flags.Addr, h, stdout)
	cancel()
	wg.Wait()
	return err
}

// loseFirstAck returns an ackLost function for Consumer.Run that loses the
// first ack of every message: a consumer that crashed after the work and
// before the ack. The message comes back after the ack wait.
func loseFirstAck() func(*Message) bool {
	var mu sync.Mutex
	lost := make(map[string]bool)
	return func(m *Message) bool {
		mu.Lock()
		defer mu.Unlock()
		if lost[m.ID] {
			return false
		}
		lost[m.ID] = true
		return true
	}
}

// publishDemo publishes n events, each twice (a producer that retried).
func publishDemo(q *Queue, n int) {
	for i := range n {
		body, _ := json.Marshal(QueueEvent{Type: "payment.succeeded", Account: fmt.Sprintf("acct-%d", i%3), Amount: 100})
		id := fmt.Sprintf("msg-%d", i)
		q.Publish(id, body)
		q.Publish(id, body)
	}
}

// reportWhenDrained logs the ledger once every queued message is acked.
func reportWhenDrained(ctx context.Context, q *Queue, ledger *Ledger, log *slog.Logger) {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for q.Len() > 0 {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
	balances, applied := ledger.Snapshot()
	log.Info("queue drained", "events applied", applied, "balances", balances)
}
