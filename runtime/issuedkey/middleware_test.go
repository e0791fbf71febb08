package issuedkey_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idemgen/idemgen/runtime/idempotency"
	"github.com/idemgen/idemgen/runtime/issuedkey"
	"github.com/idemgen/idemgen/runtime/store/memstore"
)

var secret = bytes.Repeat([]byte("s"), 32)

func user(r *http.Request) (string, error) {
	if u := r.Header.Get("X-User"); u != "" {
		return u, nil
	}
	return "", errors.New("anonymous")
}

// counting is an upstream handler that counts its executions.
func counting(n *atomic.Int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := n.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"n":%d}`, v)
	})
}

func TestNewNeedsVerifier(t *testing.T) {
	st := memstore.New()
	defer st.Close()
	p := idempotency.Policy{Operation: "pay", Issued: &idempotency.IssuedKeys{}}
	if _, err := idempotency.New(st, p); err == nil {
		t.Fatal("New accepted an issued-keys policy without a KeyVerifier")
	}
	p.Issued.BindPrincipal = true
	is, _ := issuedkey.New(issuedkey.Config{Secret: secret})
	if _, err := idempotency.New(st, p, is.Option()); err == nil {
		t.Fatal("New accepted bindPrincipal without WithPrincipal")
	}
	p.Key.Format = idempotency.FormatUUID
	var ve idempotency.ValidationError
	if _, err := idempotency.New(st, p, is.Option(), idempotency.WithPrincipal(user)); !errors.As(err, &ve) {
		t.Fatalf("issued keys with format uuid: %v, want a ValidationError", err)
	}
}

func TestMiddleware(t *testing.T) {
	st := memstore.New()
	defer st.Close()
	is, _ := issuedkey.New(issuedkey.Config{Secret: secret})
	p := idempotency.Policy{Operation: "pay", Scope: []string{"principal"}, Issued: &idempotency.IssuedKeys{MaxAge: time.Hour, BindPrincipal: true}}
	m, err := idempotency.New(st, p, is.Option(), idempotency.WithPrincipal(user))
	if err != nil {
		t.Fatal(err)
	}
	var runs atomic.Int64
	h := m.Wrap(counting(&runs))
	status := m.StatusHandler()

	do := func(h http.Handler, method, key, who string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, "/pay", strings.NewReader(`{"amount":1}`))
		if key != "" {
			r.Header.Set("Idempotency-Key", key)
		}
		if who != "" {
			r.Header.Set("X-User", who)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	k, _ := is.Issue(context.Background(), "alice")

	// Issued, not used yet: the status lookup says so.
	w := do(status, http.MethodGet, k.Key, "alice")
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"state":"issued"`) {
		t.Fatalf("status of an unused issued key: %d %s", w.Code, w.Body)
	}

	forged := k.Key[:10] + strings.Map(func(r rune) rune {
		if r == 'A' {
			return 'B'
		}
		return 'A'
	}, k.Key[10:11]) + k.Key[11:]
	other, _ := is.Issue(context.Background(), "bob")
	stranger, _ := issuedkey.New(issuedkey.Config{Secret: bytes.Repeat([]byte("x"), 32)})
	strangerKey, _ := stranger.Issue(context.Background(), "alice")
	for name, key := range map[string]string{
		"forged":          forged,
		"other principal": other.Key,
		"foreign secret":  strangerKey.Key,
		"client-made":     "7c1a4f7e-8a59-4d38-9d0b-4b8f4d1c7a10",
	} {
		w := do(h, http.MethodPost, key, "alice")
		if w.Code != http.StatusBadRequest || w.Header().Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s key: %d %s %s", name, w.Code, w.Header().Get("Content-Type"), w.Body)
		}
	}
	if w := do(h, http.MethodPost, k.Key, ""); w.Code != http.StatusUnauthorized {
		t.Errorf("no principal: %d, want 401", w.Code)
	}
	if runs.Load() != 0 {
		t.Fatalf("handler ran %d times for rejected keys", runs.Load())
	}

	// The issued key runs once, and is replayed after.
	first := do(h, http.MethodPost, k.Key, "alice")
	second := do(h, http.MethodPost, k.Key, "alice")
	if first.Code != http.StatusCreated || second.Code != http.StatusCreated || second.Header().Get("Idempotent-Replayed") != "true" || first.Body.String() != second.Body.String() {
		t.Fatalf("issued key: first %d %s, second %d %s", first.Code, first.Body, second.Code, second.Body)
	}
	if runs.Load() != 1 {
		t.Fatalf("handler ran %d times, want 1", runs.Load())
	}
	w = do(status, http.MethodGet, k.Key, "alice")
	if !strings.Contains(w.Body.String(), `"state":"completed"`) {
		t.Fatalf("status after use: %s", w.Body)
	}
	if w := do(status, http.MethodGet, forged, "alice"); w.Code != http.StatusBadRequest {
		t.Fatalf("status of a forged key: %d, want 400", w.Code)
	}
}

func TestDo(t *testing.T) {
	st := memstore.New()
	defer st.Close()
	is, _ := issuedkey.New(issuedkey.Config{Secret: secret})
	m, err := idempotency.New(st, idempotency.Policy{Operation: "consume", Issued: &idempotency.IssuedKeys{}}, is.Option())
	if err != nil {
		t.Fatal(err)
	}
	fn := func(context.Context) ([]byte, error) { return []byte("ok"), nil }
	if _, _, err := m.Do(context.Background(), "", "made-up", nil, fn); !errors.Is(err, idempotency.ErrInvalidKey) {
		t.Fatalf("Do with a client-made key: %v", err)
	}
	k, _ := is.Issue(context.Background(), "tenant-1")
	if _, _, err := m.Do(context.Background(), "tenant-2", k.Key, nil, fn); !errors.Is(err, issuedkey.ErrPrincipal) {
		t.Fatalf("Do with another scope: %v", err)
	}
	if res, _, err := m.Do(context.Background(), "tenant-1", k.Key, nil, fn); err != nil || string(res) != "ok" {
		t.Fatalf("Do: %q %v", res, err)
	}
}

// TestFormFlow is the browser case end to end over real HTTP: the page is
// rendered with a freshly issued key in a hidden field, the user submits the
// form twice at once (a double click) and once more later (the back button):
// one message is posted.
func TestFormFlow(t *testing.T) {
	st := memstore.New()
	defer st.Close()
	is, _ := issuedkey.New(issuedkey.Config{Secret: secret, MaxAge: 10 * time.Minute})
	p := idempotency.Policy{
		Operation: "postMessage",
		Key:       idempotency.Key{Field: "idempotency_key"},
		Issued:    &idempotency.IssuedKeys{MaxAge: 10 * time.Minute},
		// Post/Redirect/Get: the 303 is the outcome to replay.
		Cache: []string{"2xx", "3xx", "4xx"},
	}
	m, err := idempotency.New(st, p, is.Option())
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var messages []string
	page := template.Must(template.New("").Parse(`<form method="post" action="/messages">` +
		`<input type="hidden" name="idempotency_key" value="{{.}}"><input name="text"></form>`))
	mux := http.NewServeMux()
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		k, err := is.Issue(r.Context(), "")
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		_ = page.Execute(w, k.Key)
	})
	mux.Handle("POST /messages", m.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(20 * time.Millisecond) // a slow write makes the double submit overlap
		mu.Lock()
		messages = append(messages, r.PostFormValue("text"))
		mu.Unlock()
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	res, err := client.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	html, _ := io.ReadAll(res.Body)
	res.Body.Close()
	match := regexp.MustCompile(`name="idempotency_key" value="([^"]+)"`).FindSubmatch(html)
	if match == nil {
		t.Fatalf("no key in the page: %s", html)
	}
	form := url.Values{"idempotency_key": {string(match[1])}, "text": {"hello"}}
	submit := func() int {
		res, err := client.PostForm(srv.URL+"/messages", form)
		if err != nil {
			t.Error(err)
			return 0
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode
	}
	var wg sync.WaitGroup
	codes := make([]int, 2)
	for i := range codes {
		wg.Go(func() { codes[i] = submit() })
	}
	wg.Wait()
	for _, c := range codes {
		if c != http.StatusSeeOther && c != http.StatusConflict {
			t.Errorf("double submit answered %v, want 303 or 409", codes)
		}
	}
	if c := submit(); c != http.StatusSeeOther {
		t.Errorf("submit after the first completed: %d, want the replayed 303", c)
	}
	// A form whose hidden key was tampered with posts nothing.
	tampered := []byte(match[1])
	tampered[20] ^= 1 // another character: a forged or malformed key
	form.Set("idempotency_key", string(tampered))
	if c := submit(); c != http.StatusBadRequest {
		t.Errorf("tampered key %q: %d, want 400", tampered, c)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(messages) != 1 || messages[0] != "hello" {
		t.Fatalf("messages = %q, want one \"hello\"", messages)
	}
}
