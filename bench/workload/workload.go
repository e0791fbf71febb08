// Package workload defines the request every benchmark sends and the handler
// work every contender does with it, so that contenders differ only in what
// wraps the handler (nothing, idemgen's runtime, Fiber's middleware).
package workload

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// KeyHeader is the idempotency key header every contender reads.
const KeyHeader = "Idempotency-Key"

// Payment is the JSON request body.
type Payment struct {
	ID          string `json:"id"`
	Amount      int64  `json:"amount"`
	Currency    string `json:"currency"`
	Description string `json:"description"`
	Items       []Item `json:"items"`
}

// Item is one line of a Payment.
type Item struct {
	SKU      string `json:"sku"`
	Quantity int    `json:"quantity"`
	Price    int64  `json:"price"`
}

// Receipt is the JSON response body, about as large as the request (the
// description and items are echoed). Execution identifies the handler execution that
// produced it, so a client that gets two receipts for one key with other
// executions has seen the handler run twice.
type Receipt struct {
	Execution   string `json:"execution"`
	Payment     string `json:"payment"`
	Total       int64  `json:"total"`
	Description string `json:"description"`
	Items       []Item `json:"items"`
}

// Body returns a JSON Payment document of exactly size bytes (size must be at
// least 256), padded through its description.
func Body(size int) ([]byte, error) {
	p := Payment{ID: "pay_0001", Amount: 4200, Currency: "EUR"}
	for i := range 4 {
		p.Items = append(p.Items, Item{SKU: "sku-" + strconv.Itoa(i), Quantity: i + 1, Price: int64(1000 + i)})
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("workload: %w", err)
	}
	pad := size - len(b)
	if pad < 0 {
		return nil, fmt.Errorf("workload: body size %d is below the minimum %d", size, len(b))
	}
	desc := make([]byte, pad)
	for i := range desc {
		desc[i] = 'a' + byte(i%26)
	}
	p.Description = string(desc)
	return json.Marshal(p)
}

// Work is the handler's work, the plainest a JSON API does: decode the
// payment, total its items and encode a receipt (~1 KiB for a 1 KiB payment)
// tagged with execution; nothing more, so that what wraps the handler is not
// diluted by work of its own. It fails only on a body that is not a Payment.
func Work(body []byte, execution string) ([]byte, error) {
	var p Payment
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, fmt.Errorf("workload: decode payment: %w", err)
	}
	var total int64
	for _, it := range p.Items {
		total += int64(it.Quantity) * it.Price
	}
	return json.Marshal(Receipt{Execution: execution, Payment: p.ID, Total: total, Description: p.Description, Items: p.Items})
}
