package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/idemgen/idemgen/examples/payments/api"
	"github.com/idemgen/idemgen/runtime/client"
	"github.com/idemgen/idemgen/runtime/store/memstore"
)

// testTokens are the test's access tokens: "tok_<account>" with every
// scope, and tok_ana_readonly.
func testTokens() Tokens {
	t := DemoTokens()
	for _, a := range []string{"acct-a", "acct-b"} {
		t["tok_"+a] = Grant{Account: a, Scopes: allScopes}
	}
	return t
}

// newTestServer serves a bank; its client sends no token (paying bills needs
// none), clientAs(token) one that sends token.
func newTestServer(t *testing.T) (bank *Bank, c *api.Client, clientAs func(token string) *api.Client) {
	t.Helper()
	store := memstore.New()
	t.Cleanup(func() { store.Close() })
	bank = NewBank()
	h, err := newServer(bank, testTokens(), store, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	clientAs = func(token string) *api.Client {
		opts := []client.ClientOption{client.WithRetryPolicy(client.Policy{BaseDelay: time.Millisecond, MaxDelay: 10 * time.Millisecond})}
		if token != "" {
			opts = append(opts, client.WithBearerToken("bearerAuth", token))
		}
		c, err := api.NewClient(srv.URL, opts...)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	return bank, clientAs(""), clientAs
}

func ptr[T any](v T) *T { return &v }

// TestBillIsPaidOnce pays one bill from several "tabs" at once, then again
// with another card: one charge, every answer the same receipt. No client key
// is involved: the server derives it from the bill and the payer.
func TestBillIsPaidOnce(t *testing.T) {
	bank, c, _ := newTestServer(t)
	ctx := context.Background()
	pay := api.BillPayment{PayerId: "ana", Amount: 4200, Currency: "EUR", Card: ptr("4242")}

	const tabs = 8
	receipts := make([]string, tabs)
	errs := make([]error, tabs)
	var wg sync.WaitGroup
	for i := range tabs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, raw, err := c.PayBill(ctx, api.PayBillRequestObject{BillId: "b-7", Body: pay})
			if err != nil {
				errs[i] = err
				return
			}
			if raw.Result.Key != "" {
				errs[i] = errors.New("the client sent a key for a derived-key operation")
			}
			receipts[i] = resp.(api.PayBill201JSONResponse).Body.ID
		}()
	}
	wg.Wait()
	for i := range tabs {
		if errs[i] != nil {
			t.Fatalf("tab %d: %v", i, errs[i])
		}
		if receipts[i] != receipts[0] {
			t.Fatalf("tab %d got receipt %s, tab 0 got %s", i, receipts[i], receipts[0])
		}
	}

	// Another card is not part of the fingerprint: the same payment, replayed.
	other := pay
	other.Card = ptr("0005")
	resp, raw, err := c.PayBill(ctx, api.PayBillRequestObject{BillId: "b-7", Body: other})
	if err != nil {
		t.Fatal(err)
	}
	if !raw.Result.Replayed || resp.(api.PayBill201JSONResponse).Body.ID != receipts[0] {
		t.Errorf("retry with another card: replayed=%v, want the first receipt replayed", raw.Result.Replayed)
	}

	// Another amount for the same bill and payer is a client bug: 422.
	wrong := pay
	wrong.Amount = 9900
	// The spec declares the 422: it comes back typed, with a nil error.
	resp, _, err = c.PayBill(ctx, api.PayBillRequestObject{BillId: "b-7", Body: wrong})
	if _, ok := resp.(api.PayBill422JSONResponse); err != nil || !ok {
		t.Errorf("another amount: %#v, %v; want the declared 422", resp, err)
	}

	// Another payer, or another bill, is another payment.
	bob := pay
	bob.PayerId = "bob"
	if _, raw, err := c.PayBill(ctx, api.PayBillRequestObject{BillId: "b-7", Body: bob}); err != nil || raw.Result.Replayed {
		t.Errorf("another payer: err=%v replayed=%v, want a new payment", err, raw.Result.Replayed)
	}
	if _, raw, err := c.PayBill(ctx, api.PayBillRequestObject{BillId: "b-8", Body: pay}); err != nil || raw.Result.Replayed {
		// A replay here is another bill's receipt: scope path:billId did not
		// reach the runtime (it reads r.PathValue("billId")).
		t.Errorf("another bill: err=%v replayed=%v, want a new payment", err, raw.Result.Replayed)
	}
	if n := bank.Charges(); n != 3 {
		t.Errorf("the bank charged %d times, want 3 (ana/b-7, bob/b-7, ana/b-8)", n)
	}
	list, _, err := c.ListBillPayments(ctx, api.ListBillPaymentsRequestObject{BillId: "b-7"})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(list.(api.ListBillPayments200JSONResponse).Body); n != 2 {
		t.Errorf("bill b-7 has %d payments, want 2", n)
	}
}

// TestTransferKeysAreScopedPerAccount sends one key for two accounts, each
// with its own token: two transfers, and each account's retry replays its
// own. The principal the token authenticates scopes the key; neither Bank nor
// the server setup has code for it.
func TestTransferKeysAreScopedPerAccount(t *testing.T) {
	bank, _, clientAs := newTestServer(t)
	ctx := context.Background()
	key := client.NewKey()
	body := api.NewTransfer{To: "carol", Amount: 1500, Currency: "usd"}

	ids := map[string]string{}
	for _, acct := range []string{"acct-a", "acct-b"} {
		c := clientAs("tok_" + acct)
		resp, raw, err := c.CreateTransfer(ctx, api.CreateTransferRequestObject{AccountId: acct, Body: body}, client.WithIdempotencyKey(key))
		if err != nil {
			// A 422 here means both accounts landed on one record: the
			// principal did not reach the idempotency middleware.
			t.Fatalf("%s: %v (is the principal scoping the key?)", acct, err)
		}
		if raw.Result.Replayed {
			t.Errorf("%s: the first transfer with this key was a replay: scope principal did not separate the accounts", acct)
		}
		tr := resp.(api.CreateTransfer201JSONResponse).Body
		if tr.From != acct {
			t.Errorf("%s: transfer from %s", acct, tr.From)
		}
		ids[acct] = tr.ID
	}
	for _, acct := range []string{"acct-a", "acct-b"} {
		resp, raw, err := clientAs("tok_"+acct).CreateTransfer(ctx, api.CreateTransferRequestObject{AccountId: acct, Body: body}, client.WithIdempotencyKey(key))
		if err != nil {
			t.Fatalf("%s retry: %v", acct, err)
		}
		if got := resp.(api.CreateTransfer201JSONResponse).Body.ID; !raw.Result.Replayed || got != ids[acct] {
			t.Errorf("%s retry: replayed=%v transfer %s, want %s replayed", acct, raw.Result.Replayed, got, ids[acct])
		}
	}
	if n := bank.Charges(); n != 2 {
		t.Errorf("%d transfers made, want 2", n)
	}

	// The key must be a UUID (format: uuid).
	resp, _, err := clientAs("tok_acct-a").CreateTransfer(ctx, api.CreateTransferRequestObject{AccountId: "acct-a", Body: body}, client.WithIdempotencyKey("not-a-uuid"))
	if _, ok := resp.(api.CreateTransfer400JSONResponse); err != nil || !ok {
		t.Errorf("a key that is not a UUID: %#v, %v; want the declared 400", resp, err)
	}
}

// clock is a settable time for the store and the bank.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// TestPaymentBusinessWindow is the seeds' case: a payment retried by the user
// without a key. The same account paying the same payee, amount and currency
// within 5 minutes is the same payment (replayed, charged once), whatever the
// note says; another amount, or another account, is another payment; after
// the 5 minutes the same payment runs again.
func TestPaymentBusinessWindow(t *testing.T) {
	clk := &clock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	store := memstore.New(memstore.WithClock(clk.Now))
	t.Cleanup(func() { store.Close() })
	bank := NewBank()
	bank.now = clk.Now
	h, err := newServer(bank, testTokens(), store, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c, err := api.NewClient(srv.URL, client.WithBearerToken("bearerAuth", "tok_ana"))
	if err != nil {
		t.Fatal(err)
	}
	cy, err := api.NewClient(srv.URL, client.WithBearerToken("bearerAuth", "tok_cy"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	pay := func(amount int64, note string) (string, bool) {
		t.Helper()
		resp, raw, err := c.CreatePayment(ctx, api.CreatePaymentRequestObject{AccountId: "ana", Body: api.NewPayment{
			PayeeId: "bo", Amount: amount, Currency: "EUR", Note: ptr(note)}})
		if err != nil {
			t.Fatal(err)
		}
		ok, isOK := resp.(api.CreatePayment201JSONResponse)
		if !isOK {
			t.Fatalf("CreatePayment: %T %+v, want a 201", resp, resp)
		}
		return ok.Body.ID, raw.Result.Replayed
	}

	first, replayed := pay(1500, "lunch")
	if replayed {
		t.Fatal("the first payment was a replay")
	}
	clk.Add(4*time.Minute + 59*time.Second)
	if id, replayed := pay(1500, "lunch, again"); id != first || !replayed {
		t.Errorf("the same payment 4m59s later: %s (replayed %v), want the replay of %s", id, replayed, first)
	}
	if id, replayed := pay(1600, "lunch"); id == first || replayed {
		t.Errorf("another amount: %s (replayed %v), want a new payment", id, replayed)
	}
	clk.Add(2 * time.Second) // 5m01s after the first
	if id, replayed := pay(1500, "lunch"); id == first || replayed {
		t.Errorf("the same payment 5m01s later: %s (replayed %v), want a new payment", id, replayed)
	}
	// Another account paying the same within the window is its own payment.
	if _, raw, err := cy.CreatePayment(ctx, api.CreatePaymentRequestObject{AccountId: "cy", Body: api.NewPayment{
		PayeeId: "bo", Amount: 1500, Currency: "EUR"}}); err != nil || raw.Result.Replayed {
		t.Errorf("account cy paying the same: replayed %v, %v; want a payment of its own", raw.Result.Replayed, err)
	}
	resp, _, err := c.ListPayments(ctx, api.ListPaymentsRequestObject{AccountId: "ana"})
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.(api.ListPayments200JSONResponse).Body; len(got) != 3 || bank.Charges() != 4 {
		t.Errorf("ana: %d payments, %d charges in all; want 3 (1500, 1600, and 1500 after the window) and 4 (cy's)", len(got), bank.Charges())
	}
}

// TestAccountsNeedTheirToken: the account operations answer 401 without a
// token or with an unknown one, and 403 for a token without the operation's
// scope or for another account; nothing is charged.
func TestAccountsNeedTheirToken(t *testing.T) {
	bank, anon, clientAs := newTestServer(t)
	ctx := context.Background()
	body := api.NewTransfer{To: "carol", Amount: 1500, Currency: "EUR"}
	for _, tc := range []struct {
		name   string
		c      *api.Client
		status int
	}{
		{"no token", anon, 401},
		{"unknown token", clientAs("tok_nobody"), 401},
		{"read-only token", clientAs("tok_ana_readonly"), 403},
		{"another account's token", clientAs("tok_bo"), 403},
	} {
		resp, _, err := tc.c.CreateTransfer(ctx, api.CreateTransferRequestObject{AccountId: "ana", Body: body})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		var status int
		switch r := resp.(type) {
		case api.CreateTransfer401JSONResponse:
			status = *r.Body.Status
		case api.CreateTransfer403JSONResponse:
			status = *r.Body.Status
		}
		if status != tc.status {
			t.Errorf("%s: %T, want a %d problem", tc.name, resp, tc.status)
		}
	}
	if _, ok := mustList(t, clientAs("tok_ana_readonly"), "ana"); !ok {
		t.Error("the read-only token cannot list ana's transfers")
	}
	if n := bank.Charges(); n != 0 {
		t.Errorf("%d transfers made without a valid token", n)
	}
}

func mustList(t *testing.T, c *api.Client, acct string) ([]api.Transfer, bool) {
	t.Helper()
	resp, _, err := c.ListTransfers(context.Background(), api.ListTransfersRequestObject{AccountId: acct})
	if err != nil {
		t.Fatal(err)
	}
	r, ok := resp.(api.ListTransfers200JSONResponse)
	return r.Body, ok
}
