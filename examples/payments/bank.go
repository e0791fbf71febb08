package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/idemgen/idemgen/examples/payments/api"
)

// Bank implements the generated api.Handler in memory. It charges whatever it
// is asked to charge: paying a bill once however often the payer clicks is the
// idempotency runtime's job (the key derived from bill + payer), and Bank
// counts the charges so that tests can check it.
type Bank struct {
	now func() time.Time

	mu        sync.Mutex
	receipts  map[string][]api.Receipt  // by bill id
	transfers map[string][]api.Transfer // by source account id
	payments  map[string][]api.Payment  // by paying account id
	n         int
}

var _ api.Handler = (*Bank)(nil)

// NewBank returns a bank without payments or transfers.
func NewBank() *Bank {
	return &Bank{
		now:       time.Now,
		receipts:  make(map[string][]api.Receipt),
		transfers: make(map[string][]api.Transfer),
		payments:  make(map[string][]api.Payment),
	}
}

// PayBill charges the payer for the bill and returns the receipt.
func (b *Bank) PayBill(ctx context.Context, req api.PayBillRequestObject) (api.PayBillResponseObject, error) {
	if msg := checkMoney(req.Body.Amount, req.Body.Currency); msg != "" || req.Body.PayerId == "" {
		if msg == "" {
			msg = "payerId is empty"
		}
		return api.PayBill400JSONResponse{Body: problem(400, "invalid payment", msg)}, nil
	}
	return api.PayBill201JSONResponse{Body: b.charge(req.BillId, req.Body.PayerId, req.Body.Amount, req.Body.Currency)}, nil
}

// charge records one payment of the bill and returns its receipt.
func (b *Bank) charge(billID, payer string, amount int64, currency string) api.Receipt {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.n++
	r := api.Receipt{
		ID:       fmt.Sprintf("rcpt_%d", b.n),
		BillId:   billID,
		PayerId:  payer,
		Amount:   amount,
		Currency: strings.ToUpper(currency),
		PaidAt:   b.now().UTC().Truncate(time.Millisecond),
	}
	b.receipts[billID] = append(b.receipts[billID], r)
	return r
}

// ListBillPayments returns the receipts of one bill.
func (b *Bank) ListBillPayments(ctx context.Context, req api.ListBillPaymentsRequestObject) (api.ListBillPaymentsResponseObject, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return api.ListBillPayments200JSONResponse{Body: append([]api.Receipt{}, b.receipts[req.BillId]...)}, nil
}

// CreateTransfer moves money out of the account in the path.
func (b *Bank) CreateTransfer(ctx context.Context, req api.CreateTransferRequestObject) (api.CreateTransferResponseObject, error) {
	if msg := checkMoney(req.Body.Amount, req.Body.Currency); msg != "" || req.Body.To == "" {
		if msg == "" {
			msg = "to is empty"
		}
		return api.CreateTransfer400JSONResponse{Body: problem(400, "invalid transfer", msg)}, nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.n++
	t := api.Transfer{
		ID:        fmt.Sprintf("tr_%d", b.n),
		From:      req.AccountId,
		To:        req.Body.To,
		Amount:    req.Body.Amount,
		Currency:  strings.ToUpper(req.Body.Currency),
		CreatedAt: b.now().UTC().Truncate(time.Millisecond),
	}
	b.transfers[req.AccountId] = append(b.transfers[req.AccountId], t)
	return api.CreateTransfer201JSONResponse{Body: t}, nil
}

// ListTransfers returns an account's transfers.
func (b *Bank) ListTransfers(ctx context.Context, req api.ListTransfersRequestObject) (api.ListTransfersResponseObject, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return api.ListTransfers200JSONResponse{Body: append([]api.Transfer{}, b.transfers[req.AccountId]...)}, nil
}

// CreatePayment pays the payee. It does not look for a similar payment made
// in the last 5 minutes: the policy's derived key and 5-minute ttl do.
func (b *Bank) CreatePayment(ctx context.Context, req api.CreatePaymentRequestObject) (api.CreatePaymentResponseObject, error) {
	if msg := checkMoney(req.Body.Amount, req.Body.Currency); msg != "" || req.Body.PayeeId == "" {
		if msg == "" {
			msg = "payeeId is empty"
		}
		return api.CreatePayment400JSONResponse{Body: problem(400, "invalid payment", msg)}, nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.n++
	p := api.Payment{
		ID:        fmt.Sprintf("pay_%d", b.n),
		From:      req.AccountId,
		PayeeId:   req.Body.PayeeId,
		Amount:    req.Body.Amount,
		Currency:  strings.ToUpper(req.Body.Currency),
		Note:      req.Body.Note,
		CreatedAt: b.now().UTC().Truncate(time.Millisecond),
	}
	b.payments[req.AccountId] = append(b.payments[req.AccountId], p)
	return api.CreatePayment201JSONResponse{Body: p}, nil
}

// ListPayments returns an account's direct payments.
func (b *Bank) ListPayments(ctx context.Context, req api.ListPaymentsRequestObject) (api.ListPaymentsResponseObject, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return api.ListPayments200JSONResponse{Body: append([]api.Payment{}, b.payments[req.AccountId]...)}, nil
}

// Charges returns how many payments and transfers the handlers made.
func (b *Bank) Charges() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.n
}

func checkMoney(amount int64, currency string) string {
	switch {
	case amount < 1:
		return "amount is below 1"
	case len(currency) != 3:
		return fmt.Sprintf("currency %q is not a three-letter code", currency)
	}
	return ""
}

func problem(status int, title, detail string) api.Problem {
	return api.Problem{Title: &title, Status: &status, Detail: &detail}
}
