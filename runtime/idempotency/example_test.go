package idempotency_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/idemgen/idemgen/runtime/idempotency"
	"github.com/idemgen/idemgen/runtime/store/memstore"
)

// The middleware with plain net/http: the second request with the same key
// is a replay of the first response; the handler runs once.
func Example() {
	store := memstore.New()
	defer store.Close()

	mw, err := idempotency.New(store, idempotency.Policy{
		Operation: "createPayment",
		TTL:       24 * time.Hour,
		Scope:     []string{"header:X-Tenant"},
	}, idempotency.WithProblemType("https://api.example.com/docs/errors"))
	if err != nil {
		log.Fatal(err)
	}

	charges := 0
	mux := http.NewServeMux()
	mux.Handle("POST /payments", mw.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		charges++
		body, _ := io.ReadAll(r.Body) // the body is still readable after fingerprinting
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"id":"pay_%d","request":%s}`, charges, body)
	})))
	mux.Handle("GET /payments/idempotency", mw.StatusHandler())
	srv := httptest.NewServer(mux)
	defer srv.Close()

	send := func(body string) {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/payments", strings.NewReader(body))
		req.Header.Set("Idempotency-Key", `"8e03978e-40d5-43e8-bc93-6894a57f9324"`)
		req.Header.Set("X-Tenant", "acme")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		fmt.Printf("%d replayed=%q %s\n", resp.StatusCode, resp.Header.Get("Idempotent-Replayed"), strings.TrimSpace(string(b)))
	}
	send(`{"amount":100,"currency":"EUR"}`)
	send(`{"currency": "EUR", "amount": 100}`) // same JSON, other key order: a replay
	send(`{"amount":999,"currency":"EUR"}`)    // same key, other payload: 422
	fmt.Println("charges:", charges)
	// Output:
	// 201 replayed="" {"id":"pay_1","request":{"amount":100,"currency":"EUR"}}
	// 201 replayed="true" {"id":"pay_1","request":{"amount":100,"currency":"EUR"}}
	// 422 replayed="" {"type":"https://api.example.com/docs/errors#idempotency-key-reused","title":"Unprocessable Entity","status":422,"detail":"this idempotency key was already used with a different request payload"}
	// charges: 1
}

// Do makes a message consumer with at-least-once delivery effectively
// exactly-once: a redelivered message returns the stored result.
func ExampleMiddleware_Do() {
	store := memstore.New()
	defer store.Close()
	mw, err := idempotency.New(store, idempotency.Policy{Operation: "shipOrder", TTL: 7 * 24 * time.Hour})
	if err != nil {
		log.Fatal(err)
	}
	ship := func(ctx context.Context, msgID string, payload []byte) {
		result, replayed, err := mw.Do(ctx, "tenant-42", msgID, payload, func(ctx context.Context) ([]byte, error) {
			fmt.Println("shipping", string(payload))
			return []byte("shipment-1"), nil
		})
		if err != nil {
			fmt.Println("error:", err) // ErrInFlight, ErrMismatch, ErrStoreUnavailable, or fn's error
			return
		}
		fmt.Printf("%s replayed=%v\n", result, replayed)
	}
	ctx := context.Background()
	ship(ctx, "msg-1", []byte(`{"order":"o-1"}`))
	ship(ctx, "msg-1", []byte(`{"order":"o-1"}`)) // redelivery
	// Output:
	// shipping {"order":"o-1"}
	// shipment-1 replayed=false
	// shipment-1 replayed=true
}

// An Observer sees every outcome, e.g. to count them in a metrics library.
func ExampleWithObserver() {
	store := memstore.New()
	defer store.Close()
	obs := idempotency.ObserverFunc(func(ctx context.Context, e idempotency.Event) {
		fmt.Println(e.Operation, e.Outcome, e.Status)
	})
	mw, _ := idempotency.New(store, idempotency.Policy{Operation: "createSong"}, idempotency.WithObserver(obs))
	h := mw.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusCreated) }))
	for _, key := range []string{"k1", "k1", ""} {
		r := httptest.NewRequest(http.MethodPost, "/songs", strings.NewReader(`{}`))
		if key != "" {
			r.Header.Set("Idempotency-Key", key)
		}
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	// Output:
	// createSong executed 201
	// createSong replayed 201
	// createSong rejected_key 400
}

// Policy.Validate reports every invalid field.
func ExamplePolicy_Validate() {
	err := idempotency.Policy{Operation: "createSong", TTL: time.Second, Lease: time.Minute, Concurrent: "queue"}.Validate()
	fmt.Println(err)
	// Output:
	// idempotency: invalid policy: ttl: want a ttl at least as long as the lease (1m0s), got 1s; concurrent: want reject or wait, got "queue"
}
