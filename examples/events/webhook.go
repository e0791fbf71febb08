package main

import (
	"context"
	"fmt"
	"net/http"

	"github.com/idemgen/idemgen/examples/events/api"
)

// Receiver implements the generated api.WebhookHandler (the webhook the spec
// declares) and api.Handler (the ledger): it applies webhook deliveries to the
// ledger. The generated receiver has already deduplicated them by webhook-id,
// so a redelivery never reaches ReceivePaymentEvent once the first delivery
// completed; it gets the first Ack replayed.
type Receiver struct {
	ledger *Ledger
}

var (
	_ api.Handler        = (*Receiver)(nil)
	_ api.WebhookHandler = (*Receiver)(nil)
)

// newHandler serves the API and the webhook on one mux: the webhook receiver
// at its default path (POST /webhooks/payments), the API everywhere else. Both
// share the options, so one store holds the webhook's records.
func newHandler(rc *Receiver, opts ...api.ServerOption) (http.Handler, error) {
	srv, err := api.NewServer(rc, opts...)
	if err != nil {
		return nil, err
	}
	hooks, err := api.NewWebhookHandler(rc, opts...)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/webhooks/", hooks)
	mux.Handle("/", srv)
	return mux, nil
}

// ReceivePaymentEvent applies one event.
func (rc *Receiver) ReceivePaymentEvent(ctx context.Context, req api.ReceivePaymentEventRequestObject) (api.ReceivePaymentEventResponseObject, error) {
	e := req.Body
	if !e.Type.Valid() || e.Account == "" || e.Amount < 1 {
		return api.ReceivePaymentEvent400JSONResponse{Body: problem(400, "invalid event",
			fmt.Sprintf("want a known type, an account and a positive amount; got type %q", e.Type))}, nil
	}
	// The generated server decodes the webhook-id header as the idempotency
	// runtime does: the bare form (evt_1) and the HTTP Structured Field string
	// form ("evt_1") that idempotency-aware clients, the generated one
	// included, send both give evt_1.
	id := req.WebhookID
	applied, err := rc.ledger.Apply(id, string(e.Type), e.Account, e.Amount)
	if err != nil {
		return nil, err
	}
	return api.ReceivePaymentEvent200JSONResponse{Body: api.Ack{EventId: id, Applied: applied}}, nil
}

// GetLedger returns the balances.
func (rc *Receiver) GetLedger(ctx context.Context, req api.GetLedgerRequestObject) (api.GetLedgerResponseObject, error) {
	balances, applied := rc.ledger.Snapshot()
	return api.GetLedger200JSONResponse{Body: api.Ledger{Balances: balances, Applied: applied}}, nil
}

func problem(status int, title, detail string) api.Problem {
	return api.Problem{Title: &title, Status: &status, Detail: &detail}
}
