package main

import (
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/idemgen/idemgen/examples/internal/browsertest"
	"github.com/idemgen/idemgen/runtime/issuedkey"
	"github.com/idemgen/idemgen/runtime/store/memstore"
)

// The browser tests drive the pages in headless Chromium, as a person does:
// the browser decides what it resends, with which headers and body encoding.
// Each asserts what the person sees and how many times the handler ran (the
// board's messages), and, where it matters, how many requests the browser
// actually sent, so that a case cannot pass because the browser sent nothing.

// docImages is where the screenshots that the docs show are also saved:
// go test -run Browser -args -doc-images=../../docs/images refreshes them.
var docImages = flag.String("doc-images", "", "also save the screenshots the docs show into this directory (../../docs/images)")

// browser is the package's one Chromium, shared by its tests.
var browser browsertest.Browser

func TestMain(m *testing.M) { browser.Main(m) }

// site is the chat server as a browser test sees it.
type site struct {
	URL   string
	board *Board
	*browsertest.Recorder

	mu  sync.Mutex
	now time.Time // the issuer's clock
}

func newSite(t *testing.T) *site {
	t.Helper()
	store := memstore.New()
	t.Cleanup(func() { store.Close() })
	s := &site{board: NewBoard(), now: time.Now()}
	issuer, err := issuedkey.New(issuedkey.Config{Secret: []byte(rand.Text() + rand.Text()), Now: s.clock})
	if err != nil {
		t.Fatal(err)
	}
	h, err := newServer(s.board, store, issuer, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	s.Recorder = browsertest.Record(h)
	srv := httptest.NewServer(s.Recorder)
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

func (s *site) clock() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now
}

func (s *site) advance(d time.Duration) {
	s.mu.Lock()
	s.now = s.now.Add(d)
	s.mu.Unlock()
}

// messages returns the room's messages as the page lists them ("ana: hi").
func (s *site) messages(room string) []string {
	var out []string
	for _, p := range s.board.List(room) {
		out = append(out, p.User+": "+p.Text)
	}
	return out
}

// shown returns the messages the page in ctx lists, as "user: text".
func shown(t *testing.T, ctx context.Context) []string {
	t.Helper()
	items, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](
		`[...document.querySelectorAll("ol li b")].map(b => b.textContent + ": " + b.nextSibling.textContent.replace(/^:/, "").trim())`))
	if err != nil {
		t.Fatalf("reading the page's messages: %v", err)
	}
	return items
}

// pageKey returns the value of the page's hidden key field.
func pageKey(t *testing.T, ctx context.Context) string {
	t.Helper()
	k, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("input[name=key]").value`))
	if err != nil || k == "" {
		t.Fatalf("reading the hidden key: %q %v", k, err)
	}
	return k
}

// fill types user and text into the page's form, as a person does.
func fill(user, text string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.SendKeys(chromedp.CSS(`input[name=user]`), user),
		chromedp.SendKeys(chromedp.CSS(`input[name=text]`), text),
	)
}

// expect checks that the room holds the messages want (the handler ran once
// for each) and that the page in ctx lists the same.
func (s *site) expect(t *testing.T, ctx context.Context, room string, want ...string) {
	t.Helper()
	if got := s.messages(room); !slices.Equal(got, want) {
		t.Errorf("board: %q, want %q (the handler runs once per message)", got, want)
	}
	if got := shown(t, ctx); !slices.Equal(got, want) {
		t.Errorf("page shows %q, want %q", got, want)
	}
}

// TestBrowserDoubleClick double-clicks Send: two real clicks, 80 ms apart
// (a quick double click), while the first submit is still on its way. The
// browser sends the form twice with the same hidden key; one message is
// posted and the page shows it once.
func TestBrowserDoubleClick(t *testing.T) {
	s := newSite(t)
	ctx := browser.Tab(t)
	s.HoldPosts(2, 5*time.Second) // the first POST is still in flight when the second click lands

	browsertest.Do(t, ctx, "open the room", chromedp.Navigate(s.URL+"/?room=dbl"), fill("ana", "hello ☕"))
	browsertest.Do(t, ctx, "double click", clickSend(2, 80*time.Millisecond))
	browsertest.Wait(t, ctx, `location.search.includes("user=ana") && document.readyState === "complete"`)

	if n := s.Count("POST /rooms/dbl/form"); n != 2 {
		t.Errorf("the browser sent the form %d times, want 2 (one per click)", n)
	}
	s.expect(t, ctx, "dbl", "ana: hello ☕")
	browsertest.Screenshot(t, ctx, "chat-double-click.png", *docImages)
}

// TestBrowserReloadAfterPost submits the /plain form, whose answer is a 200
// HTML page (no redirect), then reloads that page: the browser sends the
// same form again, hidden key included. One message; the reload shows the
// stored page again, byte for byte (the same next-message key in its form).
func TestBrowserReloadAfterPost(t *testing.T) {
	s := newSite(t)
	ctx := browser.Tab(t)

	browsertest.Do(t, ctx, "open /plain", chromedp.Navigate(s.URL+"/plain?room=reload"), fill("ana", "hello"),
		chromedp.Click(chromedp.CSS("button")))
	browsertest.Wait(t, ctx, `document.getElementById("notice") !== null && document.readyState === "complete"`)
	notice, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#notice")))
	if err != nil {
		t.Fatal(err)
	}
	next := pageKey(t, ctx)

	browsertest.Do(t, ctx, "reload", chromedp.Reload())
	if n := s.Count("POST /rooms/reload/plain-form"); n != 2 {
		t.Errorf("the browser sent the form %d times, want 2 (the submit and the reload)", n)
	}
	s.expect(t, ctx, "reload", "ana: hello")
	again, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#notice")))
	if err != nil || again != notice || pageKey(t, ctx) != next {
		t.Errorf("reloaded page: notice %q (%v), want the replayed %q with the same next key", again, err, notice)
	}
	browsertest.Screenshot(t, ctx, "chat-reload.png", "")
}

// TestBrowserPostRedirectGet submits the / form (303 back to the room), then
// reloads, goes back and forward: none of these posts again.
func TestBrowserPostRedirectGet(t *testing.T) {
	s := newSite(t)
	ctx := browser.Tab(t)

	browsertest.Do(t, ctx, "open", chromedp.Navigate(s.URL+"/?room=prg"), fill("ana", "hello"), chromedp.Click(chromedp.CSS("button")))
	browsertest.Wait(t, ctx, onRoom)
	want := []string{"ana: hello"}
	steps := []struct {
		name  string
		step  chromedp.Action[chromedp.Void]
		where string
		shows []string
	}{
		{"reload", chromedp.Reload(), onRoom, want},
		{"back", history(-1), onForm, nil},
		{"forward", history(+1), onRoom, want},
	}
	for _, st := range steps {
		browsertest.Do(t, ctx, st.name, st.step)
		browsertest.Wait(t, ctx, st.where)
		if got := shown(t, ctx); st.shows != nil && !slices.Equal(got, st.shows) {
			t.Errorf("after %s the page shows %q, want %q", st.name, got, st.shows)
		}
	}
	if n := s.Count("POST /rooms/prg/form"); n != 1 {
		t.Errorf("reload, back and forward: the browser sent the form %d times, want 1", n)
	}
	s.expect(t, ctx, "prg", want...)
	browsertest.Screenshot(t, ctx, "chat-post-redirect-get.png", "")
}

// Where a test waits: the room page after a post (its URL names the user),
// and the form page before it.
const (
	onRoom = `location.search.includes("user=ana") && document.readyState === "complete"`
	onForm = `!location.search.includes("user=ana") && document.readyState === "complete"`
)

// TestBrowserBackAndResend sends a message, goes back to the form and presses
// Send again. Chromium restores the form page from its back/forward cache,
// first key and typed text included: the browser posts the same form again
// and gets the first answer replayed. A page that cannot be cached (here: it
// has an unload handler) is fetched again, with a new key, and without
// autocomplete="off" the browser would put the sent text back next to that
// key; with it the field is empty and there is nothing to send. Either way,
// one message.
func TestBrowserBackAndResend(t *testing.T) {
	for _, c := range []struct {
		name    string
		setup   string // JavaScript run on the form page before sending
		fetched bool   // the back navigation must fetch the page again
	}{
		{"back-forward cache", "", false},
		{"fetched again", `addEventListener("unload", () => {})`, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := newSite(t)
			ctx := browser.Tab(t)
			browsertest.Do(t, ctx, "open", chromedp.Navigate(s.URL+"/?room=back"), fill("ana", "hello"))
			if c.setup != "" {
				if _, err := chromedp.Run(ctx, chromedp.Evaluate[any](c.setup)); err != nil {
					t.Fatal(err)
				}
			}
			browsertest.Do(t, ctx, "send", chromedp.Click(chromedp.CSS("button")))
			browsertest.Wait(t, ctx, onRoom)
			loads := s.Count("GET /")
			browsertest.Do(t, ctx, "back", history(-1))
			browsertest.Wait(t, ctx, onForm)
			fetched := s.Count("GET /") > loads
			if c.fetched && !fetched {
				t.Fatal("the back navigation did not fetch the form page again; this case needs another way to keep it out of the back/forward cache")
			}
			text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("input[name=text]").value`))
			if err != nil {
				t.Fatal(err)
			}
			browsertest.Do(t, ctx, "send again", clickSend(1, 0))
			posts := 1
			if fetched {
				if text != "" {
					t.Errorf("the fetched-again form holds the sent text %q next to a new key", text)
				}
			} else {
				if text != "hello" {
					t.Errorf("the cached form holds %q, want the typed %q", text, "hello")
				}
				browsertest.Wait(t, ctx, onRoom)
				posts = 2 // the same form again: a replay
			}
			if n := s.Count("POST /rooms/back/form"); n != posts {
				t.Errorf("the browser sent the form %d times, want %d", n, posts)
			}
			// Fetched again, the form page lists the message already sent.
			s.expect(t, ctx, "back", "ana: hello")
			browsertest.Screenshot(t, ctx, "chat-back-"+strings.ReplaceAll(c.name, " ", "-")+".png", "")
		})
	}
}

// clickSend clicks the page's Send button n times, gap apart (n = 2 with a
// short gap is a double click: the second press has click count 2). It finds
// the button with JavaScript, not a DOM query, so it works on a page restored
// from the back/forward cache too, and only once: once the first click
// submitted the form, the page is navigating and the clicks must not wait.
func clickSend(n int, gap time.Duration) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		c, err := chromedp.Run(ctx, chromedp.Evaluate[[]float64](
			`(() => { const r = document.querySelector("button").getBoundingClientRect(); return [r.x + r.width/2, r.y + r.height/2] })()`))
		if err != nil {
			return err
		}
		for i := 1; i <= n; i++ {
			if i > 1 {
				time.Sleep(gap)
			}
			err := chromedp.Do(ctx,
				chromedp.MouseEvent(chromedp.MousePressed, c[0], c[1], chromedp.ButtonLeft, chromedp.ClickCount(i)),
				chromedp.MouseEvent(chromedp.MouseReleased, c[0], c[1], chromedp.ButtonLeft, chromedp.ClickCount(i)),
			)
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// history goes delta entries back (-1) or forward (+1) in the tab's history,
// as the browser's buttons do. It does not wait for a load event: a page
// restored from the back/forward cache fires none.
func history(delta int) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		h, err := chromedp.Run(ctx, chromedp.NavigationEntries())
		if err != nil {
			return err
		}
		i := int(h.CurrentIndex) + delta
		if i < 0 || i >= len(h.Entries) {
			return fmt.Errorf("no history entry %d of %d", i, len(h.Entries))
		}
		_, err = cdp.Call(ctx, t, cdppage.NavigateToHistoryEntry, cdppage.NavigateToHistoryEntryParams{EntryID: h.Entries[i].ID})
		return err
	})
}

// TestBrowserNewPageNewKey posts a message, then opens the room page again
// (a new page load) and sends the same text deliberately: a new key, so a
// second message.
func TestBrowserNewPageNewKey(t *testing.T) {
	s := newSite(t)
	ctx := browser.Tab(t)

	var keys []string
	for i := range 2 {
		browsertest.Do(t, ctx, "open the room", chromedp.Navigate(s.URL+"/?room=again"))
		keys = append(keys, pageKey(t, ctx))
		browsertest.Do(t, ctx, "submit", fill("ana", "hello"), chromedp.Click(chromedp.CSS("button")))
		browsertest.Wait(t, ctx, `location.search.includes("user=ana") && document.readyState === "complete" && document.querySelectorAll("ol li b").length === `+strconv.Itoa(i+1))
	}
	if keys[0] == keys[1] {
		t.Errorf("two page loads carried the same key %s", keys[0])
	}
	s.expect(t, ctx, "again", "ana: hello", "ana: hello")
	browsertest.Screenshot(t, ctx, "chat-new-page.png", "")
}

// TestBrowserIssuedKeyRefused submits the /issued form with a key the server
// did not issue (changed in the page) and with a key that expired while the
// page stayed open: each is refused with an HTML page a person can read, not
// a problem+json dump, and nothing is posted.
func TestBrowserIssuedKeyRefused(t *testing.T) {
	s := newSite(t)
	ctx := browser.Tab(t)

	cases := []struct {
		name    string
		tamper  chromedp.Action[chromedp.Void]
		explain string // what the error page must say
	}{
		{"forged", chromedp.SetValue(chromedp.CSS(`input[name=key]`), "7c1a4f7e-8a59-4d38-9d0b-4b8f4d1c7a10"), "not a server-issued key"},
		{"expired", chromedp.Func(func(context.Context, *chromedp.Target) error { s.advance(2 * time.Hour); return nil }), "expired"},
	}
	for _, c := range cases {
		browsertest.Do(t, ctx, c.name, chromedp.Navigate(s.URL+"/issued?room=issued"), fill("ana", "hello"), c.tamper, chromedp.Click(chromedp.CSS("button")))
		browsertest.Wait(t, ctx, `location.pathname.endsWith("/issued-form") && document.readyState === "complete"`)
		page, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]string](
			`({type: document.contentType, title: document.title, text: document.body.innerText})`))
		if err != nil {
			t.Fatal(err)
		}
		if page["type"] != "text/html" || strings.HasPrefix(strings.TrimSpace(page["text"]), "{") {
			t.Errorf("%s key: the person sees a %s page:\n%s", c.name, page["type"], page["text"])
		}
		if !strings.Contains(page["title"], "400") || !strings.Contains(page["text"], c.explain) || !strings.Contains(page["text"], "Nothing was done") {
			t.Errorf("%s key: error page titled %q says\n%s\nwant 400 and %q", c.name, page["title"], page["text"], c.explain)
		}
		dir := ""
		if c.name == "expired" {
			dir = *docImages // docs/runtime.md shows it
		}
		browsertest.Screenshot(t, ctx, "chat-issued-"+c.name+".png", dir)
	}
	if got := s.messages("issued"); len(got) != 0 {
		t.Errorf("board: %q, want nothing posted", got)
	}

	// The error page links back to the form; that page load issues a new
	// key, and the message goes through.
	browsertest.Do(t, ctx, "back to the form", chromedp.Click(chromedp.CSS("a")))
	browsertest.Wait(t, ctx, `location.pathname === "/issued" && document.readyState === "complete"`)
	browsertest.Do(t, ctx, "send", fill("ana", "hello"), chromedp.Click(chromedp.CSS("button")))
	browsertest.Wait(t, ctx, `location.search.includes("user=ana") && document.readyState === "complete"`)
	s.expect(t, ctx, "issued", "ana: hello")
}
