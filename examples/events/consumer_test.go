package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/idemgen/idemgen/runtime/store/memstore"
)

// natsURL is the JetStream server the tests use: IDEMGEN_NATS_URL or the
// machine's nats://127.0.0.1:4222.
func natsURL() string { return cmp.Or(os.Getenv("IDEMGEN_NATS_URL"), "nats://127.0.0.1:4222") }

// connect opens a connection to the test NATS server, closed when t ends.
// Without a server the test is skipped, except under CI=true.
func connect(t *testing.T) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := nats.Connect(natsURL(), nats.Timeout(2*time.Second))
	var js jetstream.JetStream
	if err == nil {
		js, err = jetstream.New(nc)
	}
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err = js.AccountInfo(ctx) // JetStream enabled?
		cancel()
	}
	if err != nil {
		if nc != nil {
			nc.Close()
		}
		if os.Getenv("CI") == "true" {
			t.Fatalf("NATS JetStream at %s unreachable under CI=true: %v", natsURL(), err)
		}
		t.Skipf("skipping: NATS JetStream at %s unreachable (%v); CI=true makes this a failure", natsURL(), err)
	}
	t.Cleanup(nc.Close)
	return nc, js
}

// testStream creates a stream of the test's own (deleted when t ends) with a
// duplicate window of dupWindow, and a durable consumer on it.
func testStream(t *testing.T, js jetstream.JetStream, dupWindow, ackWait time.Duration) (name string, st jetstream.Stream) {
	t.Helper()
	var b [6]byte
	rand.Read(b[:])
	name = "IDEMTEST_" + strings.ToUpper(hex.EncodeToString(b[:]))
	ctx := context.Background()
	cfg := StreamConfig(name, name+".>")
	cfg.Duplicates = dupWindow
	st, err := js.CreateOrUpdateStream(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { js.DeleteStream(context.Background(), name) })
	if _, err := st.CreateOrUpdateConsumer(ctx, ConsumerConfig("ledger", ackWait)); err != nil {
		t.Fatal(err)
	}
	return name, st
}

// publish publishes every id times times in a row (a producer that retried at
// once) and returns how many messages JetStream stored.
func publish(t *testing.T, js jetstream.JetStream, stream string, ids []string, times int) (stored int) {
	t.Helper()
	for i, id := range ids {
		body, _ := json.Marshal(QueueEvent{Type: "payment.succeeded", Account: fmt.Sprintf("a%d", i%4), Amount: 10})
		for range times {
			ack, err := js.Publish(context.Background(), stream+".succeeded", body, jetstream.WithMsgID(id))
			if err != nil {
				t.Fatal(err)
			}
			if !ack.Duplicate {
				stored++
			}
		}
	}
	return stored
}

// drain waits until the work-queue stream holds no message (every one acked).
func drain(t *testing.T, ctx context.Context, st jetstream.Stream) {
	t.Helper()
	if err := drained(ctx, st); err != nil {
		t.Fatal(err)
	}
}

// deliveries counts what the consumers saw: every handled delivery, and
// those that JetStream had delivered before.
type deliveries struct {
	handled, redelivered atomic.Int64
}

func (d *deliveries) wrap(lose func(jetstream.Msg) bool) func(jetstream.Msg) bool {
	return func(m jetstream.Msg) bool {
		d.handled.Add(1)
		if md, err := m.Metadata(); err == nil && md.NumDelivered > 1 {
			d.redelivered.Add(1)
		}
		return lose != nil && lose(m)
	}
}

func checkLedger(t *testing.T, ledger *Ledger, ids []string) {
	t.Helper()
	_, applied := ledger.Snapshot()
	if applied != int64(len(ids)) {
		t.Errorf("ledger applied %d events, want %d", applied, len(ids))
	}
	for _, id := range ids {
		if got := ledger.Times(id); got != 1 {
			t.Errorf("%s applied %d times, want 1", id, got)
		}
	}
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// TestJetStreamRedeliveryRunsOnce publishes 100 events to a real JetStream
// stream, each twice in a row (a producer retry, which JetStream drops within
// its 500ms duplicate window), has four consumers lose the first ack of every
// message (JetStream redelivers it after the ack wait), then publishes ten of
// them again after the duplicate window (JetStream stores the copies): every
// event must change the ledger exactly once.
func TestJetStreamRedeliveryRunsOnce(t *testing.T) {
	_, js := connect(t)
	const dupWindow = 500 * time.Millisecond
	stream, st := testStream(t, js, dupWindow, 300*time.Millisecond)
	cons, err := st.Consumer(context.Background(), "ledger")
	if err != nil {
		t.Fatal(err)
	}
	store := memstore.New()
	defer store.Close()
	ledger := NewLedger()
	c, err := NewConsumer(store, ledger, quiet())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := range 100 {
		ids = append(ids, fmt.Sprintf("m%d", i))
	}
	stored := publish(t, js, stream, ids, 2) // the copy comes within the window: dropped by JetStream

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var seen deliveries
	lose := seen.wrap(loseFirstAck())
	var wg sync.WaitGroup
	run, stop := context.WithCancel(ctx)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.Run(run, cons, lose); err != nil {
				t.Error(err)
			}
		}()
	}
	drain(t, ctx, st)
	time.Sleep(dupWindow + 100*time.Millisecond) // JetStream forgets the message ids
	again := publish(t, js, stream, ids[:10], 1)
	drain(t, ctx, st)
	stop()
	wg.Wait()

	if stored != len(ids) || again != 10 {
		t.Errorf("JetStream stored %d of 200 first publishes (want 100) and %d of 10 late ones (want 10)", stored, again)
	}
	checkLedger(t, ledger, ids)
	t.Logf("jetstream: %d messages stored (+%d after the duplicate window); %d deliveries handled, %d of them redeliveries; ledger changes %d",
		stored, again, seen.handled.Load(), seen.redelivered.Load(), len(ids))
	if seen.redelivered.Load() < int64(len(ids)) {
		t.Errorf("%d redeliveries, want at least %d (every first ack was lost)", seen.redelivered.Load(), len(ids))
	}
}

// TestJetStreamConsumerKilled: a consumer applies every message and dies
// before acking any (its connection closes, as when its process is killed);
// a new consumer on another connection gets every message again from
// JetStream and replays each one instead of applying it a second time.
func TestJetStreamConsumerKilled(t *testing.T) {
	_, js := connect(t)
	stream, st := testStream(t, js, time.Minute, 300*time.Millisecond)
	store := memstore.New()
	defer store.Close()
	ledger := NewLedger()
	var ids []string
	for i := range 50 {
		ids = append(ids, fmt.Sprintf("k%d", i))
	}
	publish(t, js, stream, ids, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// The first process: handles, never acks, dies.
	nc1, js1 := connect(t)
	cons1, err := js1.Consumer(ctx, stream, "ledger")
	if err != nil {
		t.Fatal(err)
	}
	c1, err := NewConsumer(store, ledger, quiet())
	if err != nil {
		t.Fatal(err)
	}
	var first deliveries
	run1, stop1 := context.WithCancel(ctx)
	done1 := make(chan error, 1)
	go func() { done1 <- c1.Run(run1, cons1, first.wrap(func(jetstream.Msg) bool { return true })) }()
	for first.handled.Load() < int64(len(ids)) && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
	}
	nc1.Close()
	stop1()
	<-done1

	// The second process: JetStream redelivers everything after the ack wait.
	_, js2 := connect(t)
	cons2, err := js2.Consumer(ctx, stream, "ledger")
	if err != nil {
		t.Fatal(err)
	}
	c2, err := NewConsumer(store, ledger, quiet())
	if err != nil {
		t.Fatal(err)
	}
	var second deliveries
	run2, stop2 := context.WithCancel(ctx)
	done2 := make(chan error, 1)
	go func() { done2 <- c2.Run(run2, cons2, second.wrap(nil)) }()
	drain(t, ctx, st)
	stop2()
	if err := <-done2; err != nil {
		t.Error(err)
	}
	checkLedger(t, ledger, ids)
	t.Logf("jetstream, consumer killed: first process handled %d (acked none), second handled %d (%d redeliveries); ledger changes %d",
		first.handled.Load(), second.handled.Load(), second.redelivered.Load(), len(ids))
	if second.redelivered.Load() < int64(len(ids)) {
		t.Errorf("the second consumer saw %d redeliveries, want %d", second.redelivered.Load(), len(ids))
	}
}
