package main

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/idemgen/idemgen/examples/internal/browsertest"
	"github.com/idemgen/idemgen/runtime/store/memstore"
)

// browser is the package's one Chromium, shared by its tests.
var browser browsertest.Browser

func TestMain(m *testing.M) { browser.Main(m) }

// TestBrowserPaymentLinkTwoTabs opens one payment link in two tabs and pays
// in both, the second while the first payment is still on its way: one
// charge, and both tabs show the same receipt. Reloading the receipt (the
// browser posts the form again) shows it again and charges nothing.
func TestBrowserPaymentLinkTwoTabs(t *testing.T) {
	store := memstore.New()
	defer store.Close()
	bank := NewBank()
	h, err := newServer(bank, DemoTokens(), store, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	rec := browsertest.Record(h)
	srv := httptest.NewServer(rec)
	defer srv.Close()
	link := srv.URL + PaymentLink("b-7", "Zoë", 4200, "EUR")

	tab1 := browser.Tab(t)
	tab2 := browsertest.NewTab(t, tab1)
	for _, tab := range []context.Context{tab1, tab2} {
		browsertest.Do(t, tab, "open the link", chromedp.Navigate(link))
	}
	// Both payments are in flight at once (concurrent: wait makes the
	// second wait for the first and replay its receipt).
	rec.HoldPosts(2, 5*time.Second)
	var wg sync.WaitGroup
	for _, tab := range []context.Context{tab1, tab2} {
		wg.Go(func() {
			if err := chromedp.Do(tab, chromedp.Click(chromedp.CSS("button"))); err != nil {
				t.Errorf("pay: %v", err)
			}
		})
	}
	wg.Wait()
	receipt := func(tab context.Context) string {
		browsertest.Wait(t, tab, `document.getElementById("receipt") !== null && document.readyState === "complete"`)
		id, err := chromedp.Run(tab, chromedp.Text(chromedp.CSS("#receipt")))
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	r1, r2 := receipt(tab1), receipt(tab2)
	if text, err := chromedp.Run(tab1, chromedp.Text(chromedp.CSS("p"))); err != nil || text != "Bill b-7: Zoë paid 42.00 EUR." {
		t.Errorf("receipt says %q (%v), want %q", text, err, "Bill b-7: Zoë paid 42.00 EUR.")
	}
	if r1 != r2 {
		t.Errorf("tab 1 shows receipt %s, tab 2 shows %s: want the same receipt", r1, r2)
	}
	browsertest.Do(t, tab2, "reload the receipt", chromedp.Reload())
	if r := receipt(tab2); r != r1 {
		t.Errorf("reloaded receipt %s, want %s", r, r1)
	}
	if n := rec.Count("POST /bills/b-7/link-payments"); n != 3 {
		t.Errorf("the browser sent the payment %d times, want 3 (two tabs and a reload)", n)
	}
	if n := bank.Charges(); n != 1 {
		t.Errorf("%d charges, want 1", n)
	}
	browsertest.Screenshot(t, tab2, "payments-link-second-tab.png", "")
}
