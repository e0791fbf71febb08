package idempotency_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/idemgen/idemgen/runtime/idempotency"
	"github.com/idemgen/idemgen/runtime/store/memstore"
)

func TestPrefersHTML(t *testing.T) {
	for _, c := range []struct {
		accept []string
		html   bool
	}{
		{nil, false},
		{[]string{"*/*"}, false},
		{[]string{"application/json"}, false},
		{[]string{"application/problem+json, application/json;q=0.9"}, false},
		// Chromium's navigation and form submission.
		{[]string{"text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7"}, true},
		// Firefox's.
		{[]string{"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}, true},
		{[]string{"text/html, application/json"}, false}, // a tie keeps JSON
		{[]string{"text/html;q=0.5, application/json;q=0.4"}, true},
		{[]string{"text/html;q=0", "*/*"}, false},
		{[]string{"text/*", "application/json;q=0.5"}, true},
		{[]string{"text/html", "application/*"}, false}, // two header lines
		{[]string{"garbage, text/html;q=x"}, true},      // an unreadable q counts as 1
	} {
		if got := idempotency.PrefersHTML(c.accept); got != c.html {
			t.Errorf("PrefersHTML(%q) = %v, want %v", c.accept, got, c.html)
		}
	}
}

const browserAccept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"

func TestWriteProblemForBrowser(t *testing.T) {
	r := httptest.NewRequest("POST", "http://shop.example/rooms/a/form", nil)
	r.Header.Set("Accept", browserAccept)
	r.Header.Set("Referer", "http://shop.example/issued?room=a&x=<b>")
	w := httptest.NewRecorder()
	idempotency.WriteProblemFor(w, r, idempotency.Problem{Type: "https://docs.example/p#k", Status: 400, Detail: `key "<script>" is invalid`})

	body := w.Body.String()
	if w.Code != 400 || w.Header().Get("Content-Type") != "text/html; charset=utf-8" || w.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("got %d %q %q", w.Code, w.Header().Get("Content-Type"), w.Header().Get("Cache-Control"))
	}
	if w.Header().Get("Link") != `<https://docs.example/p#k>; rel="describedby"` {
		t.Errorf("Link %q", w.Header().Get("Link"))
	}
	for _, want := range []string{
		"<title>400 Bad Request</title>",
		"Nothing was done",
		"key &#34;&lt;script&gt;&#34; is invalid",   // the detail, escaped
		`<a href="/issued?room=a&amp;x=&lt;b&gt;">`, // back to the same-site referer, escaped
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "<script>") {
		t.Errorf("unescaped detail:\n%s", body)
	}

	// A referer of another site gets no link.
	r.Header.Set("Referer", "http://evil.example/form")
	w = httptest.NewRecorder()
	idempotency.WriteProblemFor(w, r, idempotency.Problem{Status: 409})
	if strings.Contains(w.Body.String(), "<a ") || !strings.Contains(w.Body.String(), "still being processed") {
		t.Errorf("409 page:\n%s", w.Body.String())
	}
}

// TestMiddlewareProblemNegotiated: the runtime's own 400 for a bad key is an
// HTML page for a browser's form submission, and problem+json for an API
// client, from the same middleware.
func TestMiddlewareProblemNegotiated(t *testing.T) {
	store := memstore.New()
	defer store.Close()
	m, err := idempotency.New(store, idempotency.Policy{Operation: "submit", Key: idempotency.Key{Field: "key", Format: idempotency.FormatUUID}})
	if err != nil {
		t.Fatal(err)
	}
	h := m.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { t.Error("handler ran for a bad key") }))
	post := func(accept string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", "/form", strings.NewReader("key=not-a-uuid&text=hi"))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if accept != "" {
			r.Header.Set("Accept", accept)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	if w := post(browserAccept); w.Code != 400 || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") || !strings.Contains(w.Body.String(), "<h1>Bad Request</h1>") {
		t.Errorf("browser: %d %q\n%s", w.Code, w.Header().Get("Content-Type"), w.Body)
	}
	for _, accept := range []string{"", "*/*", "application/json"} {
		w := post(accept)
		var p idempotency.Problem
		if w.Code != 400 || w.Header().Get("Content-Type") != "application/problem+json" || json.Unmarshal(w.Body.Bytes(), &p) != nil || p.Status != 400 {
			t.Errorf("Accept %q: %d %q\n%s", accept, w.Code, w.Header().Get("Content-Type"), w.Body)
		}
	}
}
