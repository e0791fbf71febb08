package main

import (
	"bytes"
	"context"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"

	"github.com/idemgen/idemgen/examples/payments/api"
	"github.com/idemgen/idemgen/runtime/client"
)

// PaymentLink returns the path of a new payment link: the bill, who pays how
// much, and a key made now, once per link. Everyone who opens the link, in
// as many tabs as they like, pays with that one key, so the bill is paid once.
func PaymentLink(billID, payer string, amount int64, currency string) string {
	q := url.Values{"key": {client.NewKey()}, "payer": {payer}, "amount": {strconv.FormatInt(amount, 10)}, "currency": {currency}}
	return "/pay/" + url.PathEscape(billID) + "?" + q.Encode()
}

// payLinkTmpl is the page a payment link opens: what is paid, and a Pay
// button whose form posts to payByLink with the link's key in the query.
var payLinkTmpl = template.Must(template.New("pay").Parse(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Pay bill {{.Bill}}</title>
<style>body{font:16px system-ui;max-width:30em;margin:2em auto}</style>
</head>
<body>
<h1>Bill {{.Bill}}</h1>
<p>{{.Payer}} pays <b>{{.Money}}</b>.</p>
<form method="post" action="/bills/{{.Bill}}/link-payments?key={{.Key}}">
<input type="hidden" name="payerId" value="{{.Payer}}">
<input type="hidden" name="amount" value="{{.Amount}}">
<input type="hidden" name="currency" value="{{.Currency}}">
<button>Pay</button>
</form>
</body>
</html>
`))

// receiptTmpl is payByLink's answer: the receipt as a page. It declares no
// charset: the generated server sends text/html as UTF-8 in its Content-Type.
var receiptTmpl = template.Must(template.New("receipt").Funcs(template.FuncMap{"money": money}).Parse(`<!doctype html>
<html lang="en">
<head><title>Receipt {{.ID}}</title>
<style>body{font:16px system-ui;max-width:30em;margin:2em auto}</style>
</head>
<body>
<h1>Paid</h1>
<p>Bill {{.BillId}}: {{.PayerId}} paid <b>{{money .Amount .Currency}}</b>.</p>
<p>Receipt <code id="receipt">{{.ID}}</code>, {{.PaidAt.Format "2006-01-02 15:04:05 UTC"}}.</p>
</body>
</html>
`))

func money(amount int64, currency string) string {
	return fmt.Sprintf("%d.%02d %s", amount/100, amount%100, currency)
}

// payLinkPage serves GET /pay/{billId}?key=&payer=&amount=&currency=, the
// page of a payment link. The page only shows what will be paid; paying is
// the POST of its form. It is never cached: the link's key is in the form.
func payLinkPage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		amount, err := strconv.ParseInt(q.Get("amount"), 10, 64)
		if err != nil || q.Get("key") == "" || q.Get("payer") == "" || len(q.Get("currency")) != 3 {
			http.Error(w, "this payment link is incomplete", http.StatusBadRequest)
			return
		}
		var buf bytes.Buffer
		err = payLinkTmpl.Execute(&buf, map[string]any{
			"Bill": r.PathValue("billId"), "Payer": q.Get("payer"), "Key": q.Get("key"),
			"Amount": amount, "Currency": q.Get("currency"), "Money": money(amount, q.Get("currency")),
		})
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.Write(buf.Bytes())
	})
}

// PayByLink charges the bill of a payment link and answers with the receipt
// page. The runtime runs it once per link key: the other tabs of the link get
// this page replayed, the same receipt.
func (b *Bank) PayByLink(ctx context.Context, req api.PayByLinkRequestObject) (api.PayByLinkResponseObject, error) {
	if msg := checkMoney(req.Body.Amount, req.Body.Currency); msg != "" || req.Body.PayerId == "" {
		if msg == "" {
			msg = "payerId is empty"
		}
		return api.PayByLink400JSONResponse{Body: problem(400, "invalid payment", msg)}, nil
	}
	r := b.charge(req.BillId, req.Body.PayerId, req.Body.Amount, req.Body.Currency)
	var buf bytes.Buffer
	if err := receiptTmpl.Execute(&buf, r); err != nil {
		return nil, err
	}
	return api.PayByLink200TextResponse{Body: buf.String()}, nil
}
