package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idemgen/idemgen/examples/events/api"
	"github.com/idemgen/idemgen/runtime/client"
	"github.com/idemgen/idemgen/runtime/serverkit"
	"github.com/idemgen/idemgen/runtime/store/memstore"
)

// newWebhookServer serves the API and the generated webhook receiver over
// loopback with the memory store; a provider posts the deliveries and the
// generated client reads the ledger.
func newWebhookServer(t *testing.T) (*Ledger, *provider, *api.Client) {
	t.Helper()
	store := memstore.New()
	t.Cleanup(func() { store.Close() })
	ledger := NewLedger()
	h, err := newHandler(&Receiver{ledger: ledger}, serverkit.WithStore(store),
		serverkit.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c, err := api.NewClient(srv.URL, client.WithRetryPolicy(client.Policy{BaseDelay: time.Millisecond, MaxDelay: 10 * time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	send, err := api.NewWebhookSender(srv.URL, client.WithRetryPolicy(client.Policy{BaseDelay: time.Millisecond, MaxDelay: 10 * time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	return ledger, &provider{url: srv.URL + "/webhooks/payments", send: send}, c
}

// provider plays the webhook provider: deliver posts a delivery by hand as
// Standard Webhooks senders do (a webhook-id and a webhook-timestamp header
// per attempt); send is the generated typed sender, which does the same.
type provider struct {
	url  string
	send *api.WebhookSender
}

// attempt is delivery attempt number n of event id, with this attempt's
// timestamp, for the generated sender.
func attempt(id string, n int, e api.PaymentEvent) api.ReceivePaymentEventRequestObject {
	ts := strconv.FormatInt(time.Date(2026, 1, 1, 0, 0, n, 0, time.UTC).Unix(), 10)
	return api.ReceivePaymentEventRequestObject{WebhookID: id, WebhookTimestamp: &ts, Body: e}
}

// delivery is the answer to one delivery attempt.
type delivery struct {
	status   int
	replayed bool
	ack      api.Ack
}

// deliver posts attempt number attempt of event id.
func (p *provider) deliver(id string, attempt int, e api.PaymentEvent) (delivery, error) {
	body, err := json.Marshal(e)
	if err != nil {
		return delivery{}, err
	}
	req, err := http.NewRequest(http.MethodPost, p.url, bytes.NewReader(body))
	if err != nil {
		return delivery{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("webhook-id", id)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(time.Date(2026, 1, 1, 0, 0, attempt, 0, time.UTC).Unix(), 10))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return delivery{}, err
	}
	defer resp.Body.Close()
	d := delivery{status: resp.StatusCode, replayed: resp.Header.Get("Idempotent-Replayed") == "true"}
	if resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(&d.ack); err != nil {
			return d, err
		}
	}
	return d, nil
}

// TestRedeliveredWebhookReplays: a redelivery of an applied event gets the
// first ack replayed and does not run the handler again.
func TestRedeliveredWebhookReplays(t *testing.T) {
	ledger, p, _ := newWebhookServer(t)
	e := api.PaymentEvent{Type: api.PaymentEventTypePaymentSucceeded, Account: "acme", Amount: 5}
	first, err := p.deliver("evt_1", 0, e)
	if err != nil || first.status != http.StatusOK || first.replayed {
		t.Fatalf("first delivery: %+v, %v", first, err)
	}
	again, err := p.deliver("evt_1", 1, e)
	if err != nil || again.status != http.StatusOK || !again.replayed || again.ack != first.ack {
		t.Fatalf("redelivery: %+v, %v; want the first ack %+v replayed", again, err, first.ack)
	}
	if n := ledger.Times("evt_1"); n != 1 {
		t.Fatalf("evt_1 applied %d times, want 1", n)
	}
}

// TestRedeliveredWebhooksApplyOnce delivers 50 events 4 times each with the
// generated WebhookSender, the deliveries of an event racing each other, each
// with its own timestamp header: every event is applied once and every
// delivery gets the same ack.
func TestRedeliveredWebhooksApplyOnce(t *testing.T) {
	const events, deliveries = 50, 4
	ledger, p, c := newWebhookServer(t)
	ctx := context.Background()
	acks := make([][deliveries]int64, events)
	errs := make(chan error, events*deliveries)
	var wg sync.WaitGroup
	for i := range events {
		e := api.PaymentEvent{Type: api.PaymentEventTypePaymentSucceeded, Account: fmt.Sprintf("acct-%d", i%5), Amount: 100}
		for d := range deliveries {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, _, err := p.send.ReceivePaymentEvent(ctx, attempt(fmt.Sprintf("evt_%d", i), d, e))
				if err != nil {
					errs <- err
					return
				}
				acks[i][d] = resp.(api.ReceivePaymentEvent200JSONResponse).Body.Applied
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for i := range events {
		if n := ledger.Times(fmt.Sprintf("evt_%d", i)); n != 1 {
			t.Errorf("evt_%d applied %d times, want 1", i, n)
		}
		for d := 1; d < deliveries; d++ {
			if acks[i][d] != acks[i][0] {
				t.Errorf("evt_%d: delivery %d acked %d, delivery 0 acked %d: want the first ack replayed", i, d, acks[i][d], acks[i][0])
			}
		}
	}
	resp, _, err := c.GetLedger(ctx, api.GetLedgerRequestObject{})
	if err != nil {
		t.Fatal(err)
	}
	l := resp.(api.GetLedger200JSONResponse).Body
	if l.Applied != events {
		t.Errorf("ledger applied %d events, want %d", l.Applied, events)
	}
	for a := range 5 {
		if got := l.Balances[fmt.Sprintf("acct-%d", a)]; got != 100*events/5 {
			t.Errorf("balance of acct-%d = %d, want %d", a, got, 100*events/5)
		}
	}
}

// TestWebhookReusedIDWithAnotherBodyIs422 catches a provider bug: one event
// id for two different events.
func TestWebhookReusedIDWithAnotherBodyIs422(t *testing.T) {
	ledger, p, _ := newWebhookServer(t)
	e := api.PaymentEvent{Type: api.PaymentEventTypePaymentSucceeded, Account: "acme", Amount: 5}
	if _, err := p.deliver("evt_x", 0, e); err != nil {
		t.Fatal(err)
	}
	e.Amount = 6
	got, err := p.deliver("evt_x", 1, e)
	if err != nil || got.status != http.StatusUnprocessableEntity {
		t.Fatalf("same id, other body: %+v, %v; want 422", got, err)
	}
	if b, _ := ledger.Snapshot(); b["acme"] != 5 {
		t.Errorf("balance = %d, want 5", b["acme"])
	}
}

// TestWebhookIDForms: the handler gets the event id of a webhook-id header
// in either form, bare (evt_1) or an HTTP Structured Field string ("evt_1",
// escapes undone), and both forms name the same event; a value that is
// neither never reaches the handler.
func TestWebhookIDForms(t *testing.T) {
	store := memstore.New()
	t.Cleanup(func() { store.Close() })
	ledger := NewLedger()
	h, err := newHandler(&Receiver{ledger: ledger}, serverkit.WithStore(store),
		serverkit.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	post := func(header string) (int, api.Ack) {
		t.Helper()
		req, err := http.NewRequest("POST", srv.URL+"/webhooks/payments",
			strings.NewReader(`{"type": "payment.succeeded", "account": "acme", "amount": 1}`))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("webhook-id", header)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var ack api.Ack
		if resp.StatusCode == http.StatusOK {
			if err := json.NewDecoder(resp.Body).Decode(&ack); err != nil {
				t.Fatal(err)
			}
		}
		return resp.StatusCode, ack
	}
	for in, want := range map[string]string{
		`evt_1`:     "evt_1",
		`"evt_1"`:   "evt_1",
		`"a\"b\\c"`: `a"b\c`,
		`"sp ace"`:  "sp ace",
	} {
		if status, ack := post(in); status != http.StatusOK || ack.EventId != want {
			t.Errorf("webhook-id %s: %d, event id %q, want 200 and %q", in, status, ack.EventId, want)
		}
	}
	if n := ledger.Times("evt_1"); n != 1 {
		t.Errorf("evt_1 and \"evt_1\" applied %d times, want once", n)
	}
	for _, in := range []string{`"`, `""`, `evt"`, `"unclosed`, `"trailing\"`} {
		if status, _ := post(in); status != http.StatusBadRequest {
			t.Errorf("webhook-id %s: %d, want 400", in, status)
		}
	}
	if _, applied := ledger.Snapshot(); applied != 3 {
		t.Errorf("ledger applied %d events, want 3", applied)
	}
}
