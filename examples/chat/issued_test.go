package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/idemgen/idemgen/runtime/issuedkey"
)

var issuedKeyField = regexp.MustCompile(`<form method="post" action="/rooms/general/issued-form">\s*<input type="hidden" name="key" value="([A-Za-z0-9_-]+)">`)

// TestIssuedFormPostsOnce is the server-issued key flow end to end: the
// /issued page is rendered with a key the server signs on page load; a double
// submit and a resubmit post one message; a key the server did not issue (a
// client-made UUID, a tampered key) posts nothing.
func TestIssuedFormPostsOnce(t *testing.T) {
	board, _, base := newTestServer(t)
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	page := func() string {
		resp, err := hc.Get(base + "/issued?room=general")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		m := issuedKeyField.FindSubmatch(b)
		if resp.StatusCode != http.StatusOK || m == nil || resp.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("GET /issued: %d, issued key field found: %v\n%s", resp.StatusCode, m != nil, b)
		}
		return string(m[1])
	}
	key := page()
	if len(key) != issuedkey.KeyLen {
		t.Fatalf("page key %q: want an issued key of %d characters", key, issuedkey.KeyLen)
	}
	submit := func(key, text string) (int, string) {
		form := url.Values{"user": {"ana"}, "text": {text}, "key": {key}}
		resp, err := hc.Post(base+"/rooms/general/issued-form", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
		if err != nil {
			t.Error(err)
			return 0, ""
		}
		defer resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("Location")
	}

	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			if status, loc := submit(key, "hello"); status != http.StatusSeeOther || !strings.HasPrefix(loc, "/issued?") {
				t.Errorf("double submit: %d Location %q, want a 303 back to /issued", status, loc)
			}
		})
	}
	wg.Wait()
	if status, _ := submit(key, "hello"); status != http.StatusSeeOther {
		t.Errorf("resubmit: %d, want the 303 replayed", status)
	}

	tampered := []byte(key)
	tampered[30] ^= 1
	for name, k := range map[string]string{
		"client-made UUID": "7c1a4f7e-8a59-4d38-9d0b-4b8f4d1c7a10",
		"tampered":         string(tampered),
	} {
		if status, _ := submit(k, "forged"); status != http.StatusBadRequest {
			t.Errorf("%s key: %d, want 400", name, status)
		}
	}
	if n := len(board.List("general")); n != 1 {
		t.Fatalf("posted %d messages, want 1", n)
	}

	// An API client gets its key from the issuing endpoint instead of a page.
	resp, err := hc.Post(base+"/idempotency-keys", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	var issued struct{ Key string }
	err = json.NewDecoder(resp.Body).Decode(&issued)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /idempotency-keys: %d %v", resp.StatusCode, err)
	}
	if status, _ := submit(issued.Key, "second"); status != http.StatusSeeOther {
		t.Fatalf("issued by the endpoint: %d", status)
	}
	if n := len(board.List("general")); n != 2 {
		t.Fatalf("posted %d messages, want 2", n)
	}
}
