package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/idemgen/idemgen/runtime/idempotency"
	"github.com/idemgen/idemgen/runtime/nullable"
	"github.com/idemgen/idemgen/runtime/serverkit"
	"github.com/idemgen/idemgen/runtime/store/memstore"
)

// payments implements the generated Handler and counts how often each
// operation really ran, so the tests can tell a replay from a second run.
type payments struct {
	UnimplementedHandler
	created, orders, bills, donations, audits, transfers, billPayments, refunds atomic.Int64
	// gate, when set, makes CreatePayment signal started and block until gate
	// is closed (for the concurrency test).
	gate    chan struct{}
	started chan struct{}
}

func (p *payments) CreatePayment(ctx context.Context, req CreatePaymentRequestObject) (CreatePaymentResponseObject, error) {
	if req.Body.Amount <= 0 {
		detail := "amount must be positive"
		return CreatePayment400JSONResponse{Body: Problem{Detail: &detail}}, nil
	}
	if p.gate != nil {
		p.started <- struct{}{}
		<-p.gate
	}
	n := p.created.Add(1)
	return CreatePayment201JSONResponse{
		Headers: CreatePayment201ResponseHeaders{Location: fmt.Sprintf("/payments/%d", n)},
		Body:    Payment{ID: n, Amount: req.Body.Amount, Currency: req.Body.Currency, Note: req.Body.Note, Metadata: req.Body.Metadata, Status: StatusPending},
	}, nil
}

func (p *payments) CreateOrder(ctx context.Context, req CreateOrderRequestObject) (CreateOrderResponseObject, error) {
	n := p.orders.Add(1)
	return CreateOrder201TextResponse{Body: fmt.Sprintf("order %d: %s", n, req.Body.Item)}, nil
}

func (p *payments) GenerateBill(ctx context.Context, req GenerateBillRequestObject) (GenerateBillResponseObject, error) {
	return GenerateBill201JSONResponse{Body: GenerateBill201Response{Number: int(p.bills.Add(1))}}, nil
}

func (p *payments) Donate(ctx context.Context, req DonateRequestObject) (DonateResponseObject, error) {
	n := p.donations.Add(1)
	return Donate303Response{Headers: Donate303ResponseHeaders{Location: fmt.Sprintf("/receipts/%d?amount=%d", n, req.Body.Amount)}}, nil
}

func (p *payments) CreateTransfer(ctx context.Context, req CreateTransferRequestObject) (CreateTransferResponseObject, error) {
	return CreateTransfer201TextResponse{Body: fmt.Sprintf("transfer %d", p.transfers.Add(1))}, nil
}

func (p *payments) PayBill(ctx context.Context, req PayBillRequestObject) (PayBillResponseObject, error) {
	return PayBill201TextResponse{Body: fmt.Sprintf("receipt %d: bill %s by %s", p.billPayments.Add(1), req.BillId, req.Body.PayerId)}, nil
}

func (p *payments) GetReceipt(ctx context.Context, req GetReceiptRequestObject) (GetReceiptResponseObject, error) {
	return GetReceipt200TextResponse{Body: fmt.Sprintf("receipt %d as %s", req.ReceiptID, req.Format)}, nil
}

func (p *payments) CreateRefund(ctx context.Context, req CreateRefundRequestObject) (CreateRefundResponseObject, error) {
	return CreateRefund201TextResponse{Body: fmt.Sprintf("refund %d of %d under key %s", p.refunds.Add(1), req.Body.Amount, req.IdempotencyKey)}, nil
}

func (p *payments) AppendAudit(ctx context.Context, req AppendAuditRequestObject) (AppendAuditResponseObject, error) {
	p.audits.Add(1)
	return AppendAudit204Response{}, nil
}

func (p *payments) GetPayment(ctx context.Context, req GetPaymentRequestObject) (GetPaymentResponseObject, error) {
	if req.ID != 7 {
		return GetPayment404Response{}, nil
	}
	note := "trace " + deref(req.XTrace)
	return GetPayment200JSONResponse{Body: Payment{ID: 7, Amount: 100, Currency: "EUR", Note: nullable.Value(note), Status: StatusSettled}}, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func serve(t *testing.T, h Handler, opts ...ServerOption) *httptest.Server {
	t.Helper()
	store := memstore.New()
	t.Cleanup(func() { store.Close() })
	srv, err := NewServer(h, accounts{}, append([]ServerOption{serverkit.WithStore(store)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return ts
}

// accounts authenticates the account scheme: the X-Account header names the
// account, which is the principal that scopes createTransfer's keys.
type accounts struct{}

func (accounts) HandleAccount(ctx context.Context, key string, info serverkit.AuthInfo) (string, error) {
	return key, nil
}

type reply struct {
	status int
	header http.Header
	body   string
}

// do sends one request; headers are name/value pairs.
func do(t *testing.T, ts *httptest.Server, method, path, contentType, body string, headers ...string) reply {
	t.Helper()
	req, err := http.NewRequest(method, ts.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	// Do not follow the donation's 303.
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

func wantProblem(t *testing.T, r reply, status int, detailHas string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d (body %s)", r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type %q, want application/problem+json", ct)
	}
	var p idempotency.Problem
	if err := json.Unmarshal([]byte(r.body), &p); err != nil {
		t.Fatalf("problem body %q: %v", r.body, err)
	}
	// A schema violation is listed in the problem's errors member.
	if !strings.Contains(p.Detail, detailHas) && !strings.Contains(r.body, `"errors":[`+detailHas) {
		t.Fatalf("problem %s does not mention %q", r.body, detailHas)
	}
}

func TestDuplicateIsReplayed(t *testing.T) {
	h := &payments{}
	ts := serve(t, h)
	body := `{"amount": 250, "currency": "EUR", "note": null}`
	first := do(t, ts, "POST", "/payments", "application/json", body, "Idempotency-Key", "pay-1")
	if first.status != http.StatusCreated {
		t.Fatalf("first: status %d: %s", first.status, first.body)
	}
	if got := first.header.Get("Location"); got != "/payments/1" {
		t.Errorf("Location %q, want /payments/1", got)
	}
	// Same key, same payload with other key order and spacing: a replay.
	second := do(t, ts, "POST", "/payments", "application/json", `{"currency":"EUR","note":null,"amount":250}`, "Idempotency-Key", "pay-1")
	if second.status != first.status || second.body != first.body || second.header.Get("Location") != "/payments/1" {
		t.Errorf("replay differs: %d %q %q, first %d %q", second.status, second.body, second.header.Get("Location"), first.status, first.body)
	}
	if second.header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("replay lacks Idempotent-Replayed: true (headers %v)", second.header)
	}
	if n := h.created.Load(); n != 1 {
		t.Errorf("handler ran %d times, want 1", n)
	}
	// Another key is another payment.
	if r := do(t, ts, "POST", "/payments", "application/json", body, "Idempotency-Key", "pay-2"); r.status != http.StatusCreated || h.created.Load() != 2 {
		t.Errorf("second key: status %d, handler runs %d", r.status, h.created.Load())
	}
	// A 4xx the handler chose is stored too: its replay does not run it again.
	bad := `{"amount": -1, "currency": "EUR"}`
	r1 := do(t, ts, "POST", "/payments", "application/json", bad, "Idempotency-Key", "pay-3")
	r2 := do(t, ts, "POST", "/payments", "application/json", bad, "Idempotency-Key", "pay-3")
	if r1.status != http.StatusBadRequest || r2.status != http.StatusBadRequest || r2.header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("handler's 400: %d then %d (replayed %q)", r1.status, r2.status, r2.header.Get("Idempotent-Replayed"))
	}
}

// TestAdditionalProperties round-trips an object with declared and undeclared
// properties through the generated (un)marshalling.
func TestAdditionalProperties(t *testing.T) {
	ts := serve(t, &payments{})
	r := do(t, ts, "POST", "/payments", "application/json", `{"amount": 1, "currency": "EUR", "metadata": {"source": "web", "campaign": "fall"}}`, "Idempotency-Key", "meta")
	var p Payment
	if err := json.Unmarshal([]byte(r.body), &p); err != nil || p.Metadata == nil {
		t.Fatalf("%d %s (%v)", r.status, r.body, err)
	}
	if p.Metadata.Source == nil || *p.Metadata.Source != "web" || p.Metadata.AdditionalProperties["campaign"] != "fall" || len(p.Metadata.AdditionalProperties) != 1 {
		t.Errorf("metadata %+v from %s", p.Metadata, r.body)
	}
	if !strings.Contains(r.body, `"metadata":{"source":"web","campaign":"fall"}`) {
		t.Errorf("response body %s does not carry both kinds of property", r.body)
	}
}

// TestPrincipalScopeAndObserver checks the WithPrincipal and WithObserver
// options: the same key from two accounts is two records, and the observer
// hears every outcome.
func TestPrincipalScopeAndObserver(t *testing.T) {
	h := &payments{}
	var mu sync.Mutex
	outcomes := map[string]int{}
	ts := serve(t, h,
		serverkit.WithPrincipal(func(r *http.Request) (string, error) {
			if a := r.Header.Get("X-Account"); a != "" {
				return a, nil
			}
			return "", errors.New("no account")
		}),
		serverkit.WithObserver(idempotency.ObserverFunc(func(ctx context.Context, e idempotency.Event) {
			mu.Lock()
			outcomes[e.Operation+" "+e.Outcome.String()]++
			mu.Unlock()
		})))
	body := `{"amount": 10}`
	a1 := do(t, ts, "POST", "/transfers", "application/json", body, "Idempotency-Key", "t-1", "X-Account", "alice")
	b1 := do(t, ts, "POST", "/transfers", "application/json", body, "Idempotency-Key", "t-1", "X-Account", "bob")
	a2 := do(t, ts, "POST", "/transfers", "application/json", body, "Idempotency-Key", "t-1", "X-Account", "alice")
	if a1.body != "transfer 1" || b1.body != "transfer 2" || a2.body != "transfer 1" || a2.header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("alice %q, bob %q, alice again %q (replayed %q)", a1.body, b1.body, a2.body, a2.header.Get("Idempotent-Replayed"))
	}
	if n := h.transfers.Load(); n != 2 {
		t.Errorf("handler ran %d times, want 2", n)
	}
	mu.Lock()
	defer mu.Unlock()
	if outcomes["createTransfer executed"] != 2 || outcomes["createTransfer replayed"] != 1 {
		t.Errorf("observed %v", outcomes)
	}
}

// TestPathScopeAndSegments checks that path parameters reach the runtime under
// their spec names (scope path:billId) and that a segment holding two
// parameters is split.
func TestPathScopeAndSegments(t *testing.T) {
	h := &payments{}
	ts := serve(t, h)
	a1 := do(t, ts, "POST", "/bills/A/payments", "application/json", `{"payerId": "p"}`)
	b1 := do(t, ts, "POST", "/bills/B/payments", "application/json", `{"payerId": "p"}`)
	a2 := do(t, ts, "POST", "/bills/A/payments", "application/json", `{"payerId": "p"}`)
	if a1.body != "receipt 1: bill A by p" || b1.body != "receipt 2: bill B by p" || a2.body != a1.body || a2.header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("bill A %q, bill B %q, bill A again %q (replayed %q)", a1.body, b1.body, a2.body, a2.header.Get("Idempotent-Replayed"))
	}
	if n := h.billPayments.Load(); n != 2 {
		t.Errorf("handler ran %d times, want 2 (one per bill)", n)
	}
	if r := do(t, ts, "GET", "/receipts/42.json", "", ""); r.status != 200 || r.body != "receipt 42 as json" {
		t.Errorf("receipt: %d %q", r.status, r.body)
	}
	wantProblem(t, do(t, ts, "GET", "/receipts/42.pdf", "", ""), http.StatusBadRequest, `path parameter "format"`)
	if r := do(t, ts, "GET", "/receipts/42", "", ""); r.status != http.StatusNotFound {
		t.Errorf("receipt without a format: %d, want 404", r.status)
	}
}

func TestMismatchIs422(t *testing.T) {
	h := &payments{}
	ts := serve(t, h)
	do(t, ts, "POST", "/payments", "application/json", `{"amount": 1, "currency": "EUR"}`, "Idempotency-Key", "k")
	r := do(t, ts, "POST", "/payments", "application/json", `{"amount": 2, "currency": "EUR"}`, "Idempotency-Key", "k")
	if r.status != http.StatusUnprocessableEntity {
		t.Fatalf("status %d, want 422: %s", r.status, r.body)
	}
	if n := h.created.Load(); n != 1 {
		t.Errorf("handler ran %d times, want 1", n)
	}
}

func TestMissingKeyIs400(t *testing.T) {
	h := &payments{}
	ts := serve(t, h)
	r := do(t, ts, "POST", "/payments", "application/json", `{"amount": 1, "currency": "EUR"}`)
	wantProblem(t, r, http.StatusBadRequest, "")
	if n := h.created.Load(); n != 0 {
		t.Errorf("handler ran %d times without a key", n)
	}
}

// TestConcurrentDuplicates sends many requests with one key while the first is
// in flight: the handler runs once, every other caller gets 409, and afterwards
// the key replays.
func TestConcurrentDuplicates(t *testing.T) {
	const n = 32
	h := &payments{gate: make(chan struct{}), started: make(chan struct{}, n)}
	ts := serve(t, h)
	body := `{"amount": 5, "currency": "EUR"}`
	statuses := make(chan int, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			statuses <- do(t, ts, "POST", "/payments", "application/json", body, "Idempotency-Key", "same").status
		})
	}
	<-h.started // one request holds the claim and is blocked in the handler
	conflicts := 0
	for conflicts < n-1 {
		switch s := <-statuses; s {
		case http.StatusConflict:
			conflicts++
		default:
			t.Fatalf("a duplicate got %d while the first was in flight, want 409", s)
		}
	}
	close(h.gate)
	wg.Wait()
	if s := <-statuses; s != http.StatusCreated {
		t.Fatalf("the first request got %d, want 201", s)
	}
	if got := h.created.Load(); got != 1 {
		t.Fatalf("handler ran %d times, want exactly 1", got)
	}
	if r := do(t, ts, "POST", "/payments", "application/json", body, "Idempotency-Key", "same"); r.header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("after completion: status %d, not a replay", r.status)
	}
}

func TestBodyFieldKey(t *testing.T) {
	h := &payments{}
	ts := serve(t, h)
	a := do(t, ts, "POST", "/orders", "application/json", `{"request_id": "r-1", "item": "book"}`)
	b := do(t, ts, "POST", "/orders", "application/json", `{"item": "book", "request_id": "r-1"}`)
	if a.status != http.StatusCreated || b.body != a.body || b.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("field key: %d %q then %d %q", a.status, a.body, b.status, b.body)
	}
	if n := h.orders.Load(); n != 1 {
		t.Errorf("handler ran %d times, want 1", n)
	}
	// Without the field the request has no key: 400.
	wantProblem(t, do(t, ts, "POST", "/orders", "application/json", `{"item": "book"}`), http.StatusBadRequest, "")
}

func TestDerivedKey(t *testing.T) {
	h := &payments{}
	ts := serve(t, h)
	a := do(t, ts, "POST", "/bills", "application/json", `{"user_id": "u1", "bill_date": "2026-11-01"}`)
	b := do(t, ts, "POST", "/bills", "application/json", `{"bill_date": "2026-11-01", "user_id": "u1"}`)
	if a.status != http.StatusCreated || a.body != b.body || b.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("derived key: %d %q then %d %q", a.status, a.body, b.status, b.body)
	}
	c := do(t, ts, "POST", "/bills", "application/json", `{"user_id": "u1", "bill_date": "2026-12-01"}`)
	if c.status != http.StatusCreated || c.body == a.body {
		t.Fatalf("another date: %d %q, want a new bill", c.status, c.body)
	}
	if n := h.bills.Load(); n != 2 {
		t.Errorf("handler ran %d times, want 2", n)
	}
}

func TestFormBodyKey(t *testing.T) {
	h := &payments{}
	ts := serve(t, h)
	form := url.Values{"token": {"tok-9"}, "amount": {"42"}}.Encode()
	a := do(t, ts, "POST", "/donations", "application/x-www-form-urlencoded", form)
	b := do(t, ts, "POST", "/donations", "application/x-www-form-urlencoded", form)
	if a.status != http.StatusSeeOther || a.header.Get("Location") != "/receipts/1?amount=42" {
		t.Fatalf("donation: %d Location %q", a.status, a.header.Get("Location"))
	}
	if b.status != http.StatusSeeOther || b.header.Get("Location") != a.header.Get("Location") || b.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("resubmitted form: %d Location %q replayed %q", b.status, b.header.Get("Location"), b.header.Get("Idempotent-Replayed"))
	}
	if n := h.donations.Load(); n != 1 {
		t.Errorf("handler ran %d times, want 1", n)
	}
	// A form field of the wrong type is a 400 naming it by pointer.
	bad := url.Values{"token": {"tok-10"}, "amount": {"lots"}}.Encode()
	wantProblem(t, do(t, ts, "POST", "/donations", "application/x-www-form-urlencoded", bad), http.StatusBadRequest, `{"pointer":"/amount"`)
}

// TestKeyHeaderParamIsDecoded: when the policy's key header is also a declared
// parameter, the handler gets the key the request was deduplicated by, not the
// header's raw value: the structured-field string form ("rf_2", which the
// generated clients send) reaches it without its quotes and escapes, and names
// the same key as the bare form.
func TestKeyHeaderParamIsDecoded(t *testing.T) {
	h := &payments{}
	ts := serve(t, h)
	for _, tc := range []struct{ header, key string }{
		{"rf_1", "rf_1"},
		{`"rf_2"`, "rf_2"},
		{`"a\"b\\c"`, `a"b\c`},
		{`"sp ace"`, "sp ace"},
	} {
		r := do(t, ts, "POST", "/refunds", "application/json", `{"amount": 5}`, "Idempotency-Key", tc.header)
		if r.status != http.StatusCreated || !strings.HasSuffix(r.body, " under key "+tc.key) {
			t.Errorf("key header %s: %d %q, want 201 naming key %s", tc.header, r.status, r.body, tc.key)
		}
	}
	// The bare and the quoted form are one key: the second is a replay.
	first := do(t, ts, "POST", "/refunds", "application/json", `{"amount": 7}`, "Idempotency-Key", "rf_3")
	again := do(t, ts, "POST", "/refunds", "application/json", `{"amount": 7}`, "Idempotency-Key", `"rf_3"`)
	if again.status != http.StatusCreated || again.body != first.body || again.header.Get("Idempotent-Replayed") != "true" {
		t.Errorf(`"rf_3" after rf_3: %d %q replayed %q, want the replay of %q`, again.status, again.body, again.header.Get("Idempotent-Replayed"), first.body)
	}
	if n := h.refunds.Load(); n != 5 {
		t.Errorf("createRefund ran %d times, want 5", n)
	}
	// A value that is not a key never reaches the handler.
	wantProblem(t, do(t, ts, "POST", "/refunds", "application/json", `{"amount": 5}`, "Idempotency-Key", `"unclosed`), http.StatusBadRequest, "unterminated")
	if n := h.refunds.Load(); n != 5 {
		t.Errorf("createRefund ran %d times after a malformed key, want 5", n)
	}
}

func TestWaivedOperationIsNotWrapped(t *testing.T) {
	h := &payments{}
	ts := serve(t, h)
	for range 2 {
		if r := do(t, ts, "POST", "/audit", "text/plain", "line", "Idempotency-Key", "k"); r.status != http.StatusNoContent || r.header.Get("Idempotent-Replayed") != "" {
			t.Fatalf("audit: %d replayed %q", r.status, r.header.Get("Idempotent-Replayed"))
		}
	}
	if n := h.audits.Load(); n != 2 {
		t.Errorf("waived operation ran %d times, want 2", n)
	}
	if _, ok := Policies["appendAudit"]; ok {
		t.Error("the waived operation has a policy")
	}
	if Waivers["appendAudit"] == "" {
		t.Error("the waiver is not in Waivers")
	}
}

func TestDecodeFailuresName400Field(t *testing.T) {
	ts := serve(t, &payments{}, serverkit.WithMaxBodyBytes(1024))
	for _, tc := range []struct {
		name, method, path, ct, body, field string
		status                              int
	}{
		{"path int", "GET", "/payments/abc", "", "", `path parameter "id"`, 400},
		{"query int", "GET", "/payments?limit=x", "", "", `query parameter "limit"`, 400},
		{"json enum", "POST", "/batches", "application/json", `{"items": [{"status": "pending"}, {"status": "lost"}]}`, `{"pointer":"/items/1/status","detail":"must be one of`, 400},
		{"query enum", "GET", "/payments?status=lost", "", "", `query parameter "status"`, 400},
		{"json type", "POST", "/payments", "application/json", `{"amount": "ten", "currency": "EUR"}`, `field "amount"`, 400},
		{"json required", "POST", "/payments", "application/json", `{"amount": 10}`, `{"pointer":"/currency","detail":"is required"}`, 400},
		{"json syntax", "POST", "/payments", "application/json", `{"amount": `, "invalid JSON", 400},
		{"media type", "POST", "/payments", "text/csv", `a,b`, "Content-Type", 415},
		{"too large", "POST", "/audit", "text/plain", strings.Repeat("x", 2048), "larger than 1024 bytes", 413},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantProblem(t, do(t, ts, tc.method, tc.path, tc.ct, tc.body, "Idempotency-Key", "k-"+strings.ReplaceAll(tc.name, " ", "-")), tc.status, tc.field)
		})
	}
}

func TestParamsAndUnimplemented(t *testing.T) {
	ts := serve(t, &payments{})
	r := do(t, ts, "GET", "/payments/7", "", "", "X-Trace", "abc")
	var p Payment
	if err := json.Unmarshal([]byte(r.body), &p); err != nil || r.status != 200 || p.Note.Or("") != "trace abc" || p.Status != StatusSettled {
		t.Fatalf("getPayment: %d %s (%v)", r.status, r.body, err)
	}
	if r := do(t, ts, "GET", "/payments/8", "", ""); r.status != http.StatusNotFound {
		t.Errorf("unknown payment: %d, want 404", r.status)
	}
	// listPayments is left to UnimplementedHandler: 501 problem+json.
	wantProblem(t, do(t, ts, "GET", "/payments?limit=3&status=pending&status=settled", "", ""), http.StatusNotImplemented, "")
}

func TestErrorHandlerAndMiddleware(t *testing.T) {
	var seen []string
	var mu sync.Mutex
	mw := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			seen = append(seen, r.Method+" "+r.URL.Path)
			mu.Unlock()
			next.ServeHTTP(w, r)
		})
	}
	var handled error
	ts := serve(t, &payments{}, serverkit.WithMiddleware(mw), serverkit.WithErrorHandler(func(w http.ResponseWriter, r *http.Request, err error) {
		handled = err
		w.WriteHeader(http.StatusTeapot)
	}), serverkit.WithProblemType("https://example.com/problems"))
	if r := do(t, ts, "GET", "/payments", "", ""); r.status != http.StatusTeapot || !errors.Is(handled, ErrNotImplemented) {
		t.Errorf("error handler: status %d, error %v", r.status, handled)
	}
	r := do(t, ts, "GET", "/payments/x", "", "")
	var p idempotency.Problem
	if err := json.Unmarshal([]byte(r.body), &p); err != nil || p.Type != "https://example.com/problems#request-invalid" {
		t.Errorf("problem type %q (%v), want the configured base", p.Type, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 2 || seen[0] != "GET /payments" {
		t.Errorf("middleware saw %v", seen)
	}
}

func TestPoliciesTable(t *testing.T) {
	for op, want := range map[string]string{
		"createPayment": "", "createOrder": "/request_id", "donate": "token", "generateBill": "",
	} {
		p, ok := Policies[op]
		if !ok {
			t.Fatalf("no policy for %s", op)
		}
		if p.Operation != op || p.Key.Field != want || p.TTL.String() != "1h0m0s" {
			t.Errorf("%s: %+v", op, p)
		}
		if err := p.Validate(); err != nil {
			t.Errorf("%s: %v", op, err)
		}
	}
	if got := strconv.Itoa(len(Policies["generateBill"].Key.Derive)); got != "2" {
		t.Errorf("generateBill derives from %s values, want 2", got)
	}
}

// TestUnroutedIsProblem: a path no operation has is a 404 and a method its
// path does not accept a 405 with Allow, both problem+json (an HTML page for
// a browser), as every other error of the server.
func TestUnroutedIsProblem(t *testing.T) {
	ts := serve(t, &payments{}, serverkit.WithProblemType("https://example.com/problems"))
	for _, c := range []struct {
		method, path, allow, typ string
		status                   int
	}{
		{"GET", "/nope", "", "route-not-found", http.StatusNotFound},
		{"GET", "/receipts/42", "", "route-not-found", http.StatusNotFound}, // the pattern matches, no operation behind it does
		{"DELETE", "/payments", "GET, HEAD, POST", "method-not-allowed", http.StatusMethodNotAllowed},
		{"GET", "/orders", "POST", "method-not-allowed", http.StatusMethodNotAllowed},
		{"PUT", "/receipts/42.txt", "GET, HEAD", "method-not-allowed", http.StatusMethodNotAllowed},
	} {
		r := do(t, ts, c.method, c.path, "", "")
		wantProblem(t, r, c.status, "")
		var p idempotency.Problem
		if err := json.Unmarshal([]byte(r.body), &p); err != nil || p.Type != "https://example.com/problems#"+c.typ || p.Status != c.status {
			t.Errorf("%s %s: problem %+v (%v)", c.method, c.path, p, err)
		}
		if got := r.header.Get("Allow"); got != c.allow {
			t.Errorf("%s %s: Allow %q, want %q", c.method, c.path, got, c.allow)
		}
	}
	r := do(t, ts, "GET", "/nope", "", "", "Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
	if r.status != http.StatusNotFound || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
		t.Errorf("browser: %d %s", r.status, r.header.Get("Content-Type"))
	}
	custom := serve(t, &payments{}, serverkit.WithMethodNotAllowed(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
	})))
	if r := do(t, custom, "GET", "/orders", "", ""); r.status != http.StatusTeapot || r.header.Get("Allow") != "POST" {
		t.Errorf("WithMethodNotAllowed: %d Allow %q", r.status, r.header.Get("Allow"))
	}
}

// TestOperationMiddleware: the per-operation middleware runs for every
// operation, idempotent or not, with its operationId, method and route
// template, sees the path parameters under their spec names, and runs outside
// the idempotency middleware (a replay passes through it; the handler does not
// run again).
func TestOperationMiddleware(t *testing.T) {
	type call struct {
		op     serverkit.OperationInfo
		params string
	}
	var (
		mu    sync.Mutex
		calls []call
	)
	record := func(op serverkit.OperationInfo, next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var params []string
			for _, n := range []string{"id", "billId", "receipt-id", "format"} {
				if v := r.PathValue(n); v != "" {
					params = append(params, n+"="+v)
				}
			}
			mu.Lock()
			calls = append(calls, call{op, strings.Join(params, " ")})
			mu.Unlock()
			next.ServeHTTP(w, r)
		})
	}
	h := &payments{}
	ts := serve(t, h, serverkit.WithOperationMiddleware(record))
	var wg sync.WaitGroup
	for range 4 { // concurrently, for -race
		wg.Go(func() {
			// 201, a replay of it, or 409 while the first is in flight.
			if r := do(t, ts, "POST", "/bills/B-1/payments", "application/json", `{"payerId": "p"}`); r.status != http.StatusCreated && r.status != http.StatusConflict {
				t.Errorf("payBill: %d %s", r.status, r.body)
			}
		})
	}
	wg.Wait()
	if r := do(t, ts, "GET", "/receipts/42.txt", "", ""); r.status != 200 || r.body != "receipt 42 as txt" {
		t.Errorf("getReceipt: %d %q", r.status, r.body)
	}
	do(t, ts, "GET", "/payments/7", "", "")
	do(t, ts, "GET", "/nope", "", "")
	do(t, ts, "DELETE", "/payments", "", "")

	if n := h.billPayments.Load(); n != 1 {
		t.Errorf("payBill ran %d times, want 1 (the others were replays or refused in flight)", n)
	}
	payBill := call{serverkit.OperationInfo{ID: "payBill", Method: "POST", Route: "/bills/{billId}/payments"}, "billId=B-1"}
	want := []call{payBill, payBill, payBill, payBill,
		{serverkit.OperationInfo{ID: "getReceipt", Method: "GET", Route: "/receipts/{receipt-id}.{format}"}, "receipt-id=42 format=txt"},
		{serverkit.OperationInfo{ID: "getPayment", Method: "GET", Route: "/payments/{id}"}, "id=7"},
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(calls, want) {
		t.Errorf("middleware saw\n%+v\nwant\n%+v", calls, want)
	}
}
