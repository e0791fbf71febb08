package validation

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/idemgen/idemgen/runtime/serverkit"
	"github.com/idemgen/idemgen/runtime/validate"
)

// liar answers every order with a body its schema forbids: a quantity of 0
// and the writeOnly secret.
type liar struct{ shop }

func (l *liar) CreateOrder(ctx context.Context, req CreateOrderRequestObject) (CreateOrderResponseObject, error) {
	secret := "s3cret"
	body := req.Body
	body.Quantity, body.Secret, body.ID = 0, &secret, "o1"
	return CreateOrder201JSONResponse{Body: body}, nil
}

// TestResponseValidation: with serverkit.WithResponseValidation the server
// reports a response that breaks its schema (the response is still written);
// a correct response, with its readOnly id, is not reported; and without the
// option nothing is checked.
func TestResponseValidation(t *testing.T) {
	var mu sync.Mutex
	var reported []string
	report := func(ctx context.Context, op string, err error) {
		mu.Lock()
		defer mu.Unlock()
		var ve *validate.Error
		if !errors.As(err, &ve) {
			t.Errorf("reported %T: %v", err, err)
			return
		}
		for _, v := range ve.Violations {
			reported = append(reported, op+" "+v.Pointer+" "+v.Detail)
		}
	}
	post := func(h Handler, opts ...serverkit.Option) int {
		srv, err := NewServer(h, opts...)
		if err != nil {
			t.Fatal(err)
		}
		r := httptest.NewRequest("POST", "/orders", strings.NewReader(valid))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Idempotency-Key", "k-resp")
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, r)
		return w.Code
	}
	if code := post(&liar{}, serverkit.WithResponseValidation(report)); code != http.StatusCreated {
		t.Fatalf("status %d", code)
	}
	want := "createOrder /secret is write-only: a response must not carry it\ncreateOrder /quantity must be >= 1"
	if got := strings.Join(reported, "\n"); got != want {
		t.Fatalf("reported:\n%s\nwant:\n%s", got, want)
	}
	reported = nil
	post(&shop{}, serverkit.WithResponseValidation(report)) // echoes the valid request
	post(&liar{})                                           // not validated
	if len(reported) != 0 {
		t.Fatalf("reported %q", reported)
	}
}
