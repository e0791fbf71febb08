package issuedkey

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idemgen/idemgen/runtime/idempotency"
)

var (
	secretA = bytes.Repeat([]byte("a"), 32)
	secretB = bytes.Repeat([]byte("b"), 32)
	secretC = bytes.Repeat([]byte("c"), 32)
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func newIssuer(t *testing.T, cfg Config) *Issuer {
	t.Helper()
	is, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return is
}

func TestNewRejectsBadConfig(t *testing.T) {
	for name, cfg := range map[string]Config{
		"short secret":   {Secret: []byte("short")},
		"no secret":      {},
		"short previous": {Secret: secretA, Previous: [][]byte{[]byte("x")}},
		"same twice":     {Secret: secretA, Previous: [][]byte{secretA}},
		"negative age":   {Secret: secretA, MaxAge: -time.Second},
	} {
		if _, err := New(cfg); err == nil || !strings.HasPrefix(err.Error(), "issuedkey: ") {
			t.Errorf("%s: New = %v, want an issuedkey error", name, err)
		}
	}
}

func TestIssueVerify(t *testing.T) {
	ck := &clock{t: time.Unix(1_800_000_000, 0)}
	is := newIssuer(t, Config{Secret: secretA, Now: ck.now, MaxAge: time.Hour})
	k, err := is.Issue(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(k.Key) != KeyLen {
		t.Fatalf("key %q: length %d, want %d", k.Key, len(k.Key), KeyLen)
	}
	if !k.ExpiresAt.Equal(k.IssuedAt.Add(time.Hour)) {
		t.Errorf("ExpiresAt = %v, want IssuedAt+1h", k.ExpiresAt)
	}
	exp, err := is.Verify(k.Key, "", time.Hour, false)
	if err != nil {
		t.Fatal(err)
	}
	if !exp.Equal(k.IssuedAt.Add(time.Hour)) {
		t.Errorf("Verify expiry = %v, want %v", exp, k.IssuedAt.Add(time.Hour))
	}
	// A principal sent along with an unbound key does not matter.
	if _, err := is.Verify(k.Key, "alice", time.Hour, false); err != nil {
		t.Errorf("unbound key with a principal: %v", err)
	}
	k2, _ := is.Issue(context.Background(), "")
	if k2.Key == k.Key {
		t.Error("two issued keys are equal")
	}
}

func TestExpiry(t *testing.T) {
	ck := &clock{t: time.Unix(1_800_000_000, 0)}
	is := newIssuer(t, Config{Secret: secretA, Now: ck.now})
	k, _ := is.Issue(context.Background(), "")
	ck.add(time.Hour)
	if _, err := is.Verify(k.Key, "", time.Hour, false); err != nil {
		t.Fatalf("at exactly maxAge: %v, want valid", err)
	}
	ck.add(time.Second)
	if _, err := is.Verify(k.Key, "", time.Hour, false); !errors.Is(err, ErrExpired) {
		t.Fatalf("one second past maxAge: %v, want ErrExpired", err)
	}
	// A longer policy maxAge still accepts it; zero means 24h.
	if _, err := is.Verify(k.Key, "", 0, false); err != nil {
		t.Fatalf("maxAge 0 (24h): %v", err)
	}
	ck.add(DefaultMaxAge)
	if _, err := is.Verify(k.Key, "", 0, false); !errors.Is(err, ErrExpired) {
		t.Fatalf("past 24h: %v, want ErrExpired", err)
	}
}

func TestFutureIssueTime(t *testing.T) {
	ck := &clock{t: time.Unix(1_800_000_000, 0)}
	ahead := &clock{t: ck.t.Add(MaxSkew)}
	far := &clock{t: ck.t.Add(MaxSkew + time.Second)}
	verifier := newIssuer(t, Config{Secret: secretA, Now: ck.now})
	for _, c := range []struct {
		clock *clock
		ok    bool
	}{{ahead, true}, {far, false}} {
		k, _ := newIssuer(t, Config{Secret: secretA, Now: c.clock.now}).Issue(context.Background(), "")
		_, err := verifier.Verify(k.Key, "", time.Hour, false)
		if c.ok != (err == nil) || (!c.ok && !errors.Is(err, ErrExpired)) {
			t.Errorf("issued %v ahead: %v", c.clock.t.Sub(ck.t), err)
		}
	}
}

func TestPrincipal(t *testing.T) {
	is := newIssuer(t, Config{Secret: secretA})
	bound, _ := is.Issue(context.Background(), "alice")
	unbound, _ := is.Issue(context.Background(), "")
	for _, c := range []struct {
		name, key, principal string
		bind                 bool
		want                 error
	}{
		{"bound, same principal", bound.Key, "alice", true, nil},
		{"bound, same principal, policy unbound", bound.Key, "alice", false, nil},
		{"bound, other principal", bound.Key, "bob", true, ErrPrincipal},
		{"bound, other principal, policy unbound", bound.Key, "bob", false, ErrPrincipal},
		{"bound, no principal", bound.Key, "", false, ErrPrincipal},
		{"unbound, policy binds", unbound.Key, "alice", true, ErrPrincipal},
	} {
		_, err := is.Verify(c.key, c.principal, time.Hour, c.bind)
		if (c.want == nil && err != nil) || (c.want != nil && !errors.Is(err, c.want)) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
		if err != nil && !errors.Is(err, idempotency.ErrInvalidKey) {
			t.Errorf("%s: %v does not wrap idempotency.ErrInvalidKey", c.name, err)
		}
	}
}

// TestForgery flips every bit of a valid key: no variant verifies.
func TestForgery(t *testing.T) {
	is := newIssuer(t, Config{Secret: secretA})
	for _, principal := range []string{"", "alice"} {
		k, _ := is.Issue(context.Background(), principal)
		raw, err := enc.DecodeString(k.Key)
		if err != nil {
			t.Fatal(err)
		}
		for i := range raw {
			for bit := range 8 {
				f := bytes.Clone(raw)
				f[i] ^= 1 << bit
				if _, err := is.Verify(enc.EncodeToString(f), principal, time.Hour, false); err == nil {
					t.Fatalf("principal %q: byte %d bit %d flipped still verifies", principal, i, bit)
				}
			}
		}
		// Signed by a secret the issuer does not know.
		other := newIssuer(t, Config{Secret: secretB})
		if _, err := other.Verify(k.Key, principal, time.Hour, false); !errors.Is(err, ErrSignature) && !errors.Is(err, ErrPrincipal) {
			t.Errorf("principal %q: foreign secret: %v", principal, err)
		}
	}
	for _, bad := range []string{"", "abc", strings.Repeat("A", KeyLen), strings.Repeat("!", KeyLen), "00000000-0000-4000-8000-000000000000"} {
		if _, err := is.Verify(bad, "", time.Hour, false); err == nil {
			t.Errorf("Verify(%q) = nil", bad)
		}
	}
}

func TestRotation(t *testing.T) {
	old := newIssuer(t, Config{Secret: secretA})
	oldKey, _ := old.Issue(context.Background(), "alice")
	rotated := newIssuer(t, Config{Secret: secretB, Previous: [][]byte{secretA}})
	if _, err := rotated.Verify(oldKey.Key, "alice", time.Hour, true); err != nil {
		t.Fatalf("key of the previous secret after rotation: %v", err)
	}
	newKey, _ := rotated.Issue(context.Background(), "alice")
	if _, err := old.Verify(newKey.Key, "alice", time.Hour, true); err == nil {
		t.Fatal("a key of the new secret verifies with the old secret only")
	}
	if _, err := rotated.Verify(newKey.Key, "alice", time.Hour, true); err != nil {
		t.Fatal(err)
	}
	retired := newIssuer(t, Config{Secret: secretC, Previous: [][]byte{secretB}})
	if _, err := retired.Verify(oldKey.Key, "alice", time.Hour, true); !errors.Is(err, ErrSignature) {
		t.Fatalf("key of a retired secret: %v, want ErrSignature", err)
	}
}

// TestConcurrentIssue issues and verifies from many goroutines (run with -race)
// and checks that every key is distinct.
func TestConcurrentIssue(t *testing.T) {
	is := newIssuer(t, Config{Secret: secretA, Previous: [][]byte{secretB}})
	const workers, each = 16, 200
	keys := make(chan string, workers*each)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for range each {
				k, err := is.Issue(context.Background(), string(rune('a'+w)))
				if err != nil {
					t.Error(err)
					return
				}
				if _, err := is.Verify(k.Key, string(rune('a'+w)), time.Hour, true); err != nil {
					t.Error(err)
					return
				}
				keys <- k.Key
			}
		})
	}
	wg.Wait()
	close(keys)
	seen := map[string]bool{}
	for k := range keys {
		if seen[k] {
			t.Fatalf("key %q issued twice", k)
		}
		seen[k] = true
	}
	if len(seen) != workers*each {
		t.Fatalf("%d keys, want %d", len(seen), workers*each)
	}
}

func TestIssueCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := newIssuer(t, Config{Secret: secretA}).Issue(ctx, ""); !errors.Is(err, context.Canceled) {
		t.Fatalf("Issue on a canceled context: %v", err)
	}
}

func TestHandler(t *testing.T) {
	is := newIssuer(t, Config{Secret: secretA, MaxAge: time.Hour})
	principal := func(r *http.Request) (string, error) {
		if u := r.Header.Get("X-User"); u != "" {
			return u, nil
		}
		return "", errors.New("no user")
	}
	h := is.Handler(principal)

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/idempotency-keys", nil).WithContext(context.Background()))
	if rec.Code != http.StatusUnauthorized || rec.Header().Get("Content-Type") != "application/problem+json" {
		t.Fatalf("without a principal: %d %s", rec.Code, rec.Header().Get("Content-Type"))
	}

	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/idempotency-keys", nil))
	if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "POST" {
		t.Fatalf("GET: %d Allow=%q", rec.Code, rec.Header().Get("Allow"))
	}

	req := httptest.NewRequest(http.MethodPost, "/idempotency-keys", nil)
	req.Header.Set("X-User", "alice")
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusCreated || rec.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("POST: %d %v", rec.Code, rec.Header())
	}
	var body response
	if err := json.NewDecoder(rec.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if body.ExpiresAt.Sub(body.IssuedAt) != time.Hour {
		t.Errorf("issuedAt %v expiresAt %v: want one hour apart", body.IssuedAt, body.ExpiresAt)
	}
	if _, err := is.Verify(body.Key, "alice", time.Hour, true); err != nil {
		t.Fatalf("issued key: %v", err)
	}
	if _, err := is.Verify(body.Key, "bob", time.Hour, true); !errors.Is(err, ErrPrincipal) {
		t.Fatalf("issued key, other principal: %v", err)
	}
}
