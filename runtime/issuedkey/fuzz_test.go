package issuedkey

import (
	"testing"
	"time"
)

// FuzzDecode feeds arbitrary strings to Decode and Verify: neither panics, a
// key that decodes re-encodes to itself, and nothing but an issued key verifies.
func FuzzDecode(f *testing.F) {
	// Fixed clock and nonces: every fuzz worker process knows the same valid keys.
	at := time.Unix(1_800_000_000, 0)
	is, err := New(Config{Secret: secretA, Previous: [][]byte{secretB}, Now: func() time.Time { return at }})
	if err != nil {
		f.Fatal(err)
	}
	valid := map[string]bool{}
	for i, p := range []string{"", "alice"} {
		for _, sc := range is.verify {
			key := sc.key1(at, [nonceLen]byte{byte(i)}, p)
			valid[key] = true
			f.Add(key, p)
			f.Add(key[:len(key)-1]+"A", p)
			f.Add(key+"=", p)
		}
	}
	for _, s := range []string{"", "x", "00000000-0000-4000-8000-000000000000", "AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "////////////////////////////////////////////////////////////////"} {
		f.Add(s, "")
	}
	f.Fuzz(func(t *testing.T, key, principal string) {
		d, err := Decode(key)
		if err == nil {
			if got := enc.EncodeToString(d.raw[:]); got != key {
				t.Fatalf("Decode(%q) re-encodes to %q", key, got)
			}
		}
		if _, err := is.Verify(key, principal, time.Hour, false); err == nil && !valid[key] {
			t.Fatalf("Verify accepted a key it never issued: %q (principal %q)", key, principal)
		}
	})
}
