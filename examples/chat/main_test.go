package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idemgen/idemgen/examples/chat/api"
	"github.com/idemgen/idemgen/runtime/client"
	"github.com/idemgen/idemgen/runtime/store/memstore"
)

func newTestServer(t *testing.T) (*Board, *api.Client, string) {
	t.Helper()
	store := memstore.New()
	t.Cleanup(func() { store.Close() })
	board := NewBoard()
	issuer, err := newIssuer()
	if err != nil {
		t.Fatal(err)
	}
	h, err := newServer(board, store, issuer, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c, err := api.NewClient(srv.URL, client.WithRetryPolicy(client.Policy{BaseDelay: time.Millisecond, MaxDelay: 10 * time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	return board, c, srv.URL
}

// TestResentMessagePostsOnce sends a message, then the same message again (a
// resend after a lost answer: same user, text and client time, so the same
// hash): one message. The same text typed later is a new message.
func TestResentMessagePostsOnce(t *testing.T) {
	board, c, _ := newTestServer(t)
	ctx := context.Background()
	at := time.Date(2026, 5, 1, 12, 0, 0, 123456789, time.UTC)
	msg := api.NewMessage{User: "ana", Text: "on my way", ClientTime: at, ClientKey: MessageKey("ana", "on my way", at)}

	resp, raw, err := c.PostMessage(ctx, api.PostMessageRequestObject{Room: "general", Body: msg})
	if err != nil {
		t.Fatal(err)
	}
	first := resp.(api.PostMessage201JSONResponse).Body
	if raw.Result.Key != msg.ClientKey {
		t.Errorf("the client sent key %q, want the body's clientKey %q", raw.Result.Key, msg.ClientKey)
	}
	resp, raw, err = c.PostMessage(ctx, api.PostMessageRequestObject{Room: "general", Body: msg})
	if err != nil {
		t.Fatal(err)
	}
	if again := resp.(api.PostMessage201JSONResponse).Body; !raw.Result.Replayed || again.ID != first.ID {
		t.Errorf("resend: replayed=%v id=%s, want %s replayed", raw.Result.Replayed, again.ID, first.ID)
	}

	later := at.Add(time.Minute)
	msg2 := api.NewMessage{User: "ana", Text: "on my way", ClientTime: later, ClientKey: MessageKey("ana", "on my way", later)}
	if _, raw, err := c.PostMessage(ctx, api.PostMessageRequestObject{Room: "general", Body: msg2}); err != nil || raw.Result.Replayed {
		t.Fatalf("same text later: err=%v replayed=%v, want a new message", err, raw.Result.Replayed)
	}
	if n := len(board.List("general")); n != 2 {
		t.Errorf("room has %d messages, want 2", n)
	}

	// A key that is not a hex SHA-256 is rejected by the runtime (pattern);
	// one that does not match the message is rejected by the handler.
	bad := msg
	bad.ClientKey = "not-a-hash"
	// The spec declares the 400: it comes back typed, with a nil error.
	resp, _, err = c.PostMessage(ctx, api.PostMessageRequestObject{Room: "general", Body: bad})
	if _, ok := resp.(api.PostMessage400JSONResponse); err != nil || !ok {
		t.Errorf("malformed key: %#v, %v; want the declared 400", resp, err)
	}
	bad.ClientKey = MessageKey("ana", "something else", at)
	resp, _, err = c.PostMessage(ctx, api.PostMessageRequestObject{Room: "general", Body: bad})
	if _, ok := resp.(api.PostMessage400JSONResponse); err != nil || !ok {
		t.Errorf("key of another message: %#v, %v; want the declared 400", resp, err)
	}
	if n := len(board.List("general")); n != 2 {
		t.Errorf("room has %d messages after the rejected ones, want 2", n)
	}
}

var hiddenKey = regexp.MustCompile(`<input type="hidden" name="key" value="([0-9a-f-]{36})">`)

// TestDoubleSubmittedFormPostsOnce loads the page, then submits its form twice
// at the same time (a double click) and once more afterwards (the browser's
// resubmit): one message, and every submit is redirected back to the room.
func TestDoubleSubmittedFormPostsOnce(t *testing.T) {
	board, _, base := newTestServer(t)
	// A browser follows the 303; here we look at it.
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	page := func() string {
		resp, err := hc.Get(base + "/?room=general")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		m := hiddenKey.FindSubmatch(b)
		if resp.StatusCode != http.StatusOK || m == nil {
			t.Fatalf("GET /: %d, hidden key field found: %v\n%s", resp.StatusCode, m != nil, b)
		}
		return string(m[1])
	}
	key := page()
	if key2 := page(); key2 == key {
		t.Fatalf("two page loads got the same key %q", key)
	}

	submit := func() (int, string) {
		form := url.Values{"user": {"ana"}, "text": {"hello"}, "key": {key}}
		resp, err := hc.Post(base+"/rooms/general/form", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
		if err != nil {
			t.Error(err)
			return 0, ""
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("Location")
	}
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if status, loc := submit(); status != http.StatusSeeOther || !strings.HasPrefix(loc, "/?") {
				t.Errorf("double submit: %d Location %q, want a 303 back to the room", status, loc)
			}
		}()
	}
	wg.Wait()
	if status, _ := submit(); status != http.StatusSeeOther {
		t.Errorf("resubmit: %d, want the 303 replayed", status)
	}
	if n := len(board.List("general")); n != 1 {
		t.Fatalf("three submits of one page load posted %d messages, want 1", n)
	}
	if !strings.Contains(pageHTML(t, hc, base), "hello") {
		t.Error("the room page does not show the message")
	}
}

// TestFormWithGeneratedClient submits the form body with the generated
// client: it fills the empty key field itself, one key per logical call. The
// client's default HTTP client does not follow the 303, so it comes back as the
// declared SubmitMessageForm303Response.
func TestFormWithGeneratedClient(t *testing.T) {
	board, _, base := newTestServer(t)
	c, err := api.NewClient(base)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	resp, raw, err := c.SubmitMessageForm(ctx, api.SubmitMessageFormRequestObject{Room: "r", Body: api.MessageForm{User: "bo", Text: "hi"}})
	if err != nil {
		t.Fatal(err)
	}
	if r, ok := resp.(api.SubmitMessageForm303Response); !ok || r.Headers.Location == "" || raw.Result.Key == "" {
		t.Fatalf("got %T key %q, want a 303 with Location and a generated key", resp, raw.Result.Key)
	}
	_, again, err := c.SubmitMessageForm(ctx, api.SubmitMessageFormRequestObject{Room: "r", Body: api.MessageForm{User: "bo", Text: "hi"}},
		client.WithIdempotencyKey(raw.Result.Key))
	if err != nil || !again.Result.Replayed {
		t.Fatalf("same key again: err=%v replayed=%v, want the 303 replayed", err, again != nil && again.Result.Replayed)
	}
	if n := len(board.List("r")); n != 1 {
		t.Errorf("room has %d messages, want 1", n)
	}
}

func pageHTML(t *testing.T, hc *http.Client, base string) string {
	t.Helper()
	resp, err := hc.Get(base + "/?room=general")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
