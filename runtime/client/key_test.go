package client_test

import (
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idemgen/idemgen/runtime/client"
)

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestNewKeyIsUniqueUUIDv4(t *testing.T) {
	const goroutines, each = 8, 2000
	keys := make(chan string, goroutines*each)
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for range each {
				keys <- client.NewKey()
			}
		})
	}
	wg.Wait()
	close(keys)
	seen := make(map[string]bool, goroutines*each)
	for k := range keys {
		if !uuidV4.MatchString(k) {
			t.Fatalf("key %q is not a canonical UUIDv4", k)
		}
		if seen[k] {
			t.Fatalf("key %q generated twice", k)
		}
		seen[k] = true
	}
}

var ulidRe = regexp.MustCompile(`^[0-7][0-9A-HJKMNP-TV-Z]{25}$`)

func TestNewULID(t *testing.T) {
	seen := map[string]bool{}
	prev := ""
	for i := range 2000 {
		k := client.NewULID()
		if !ulidRe.MatchString(k) || seen[k] {
			t.Fatalf("key %d %q: not a fresh ULID", i, k)
		}
		seen[k] = true
		// The first 10 characters are the millisecond time: never decreasing.
		if k[:10] < prev {
			t.Fatalf("time part went back: %q after %q", k[:10], prev)
		}
		prev = k[:10]
	}
	// The time part decodes to now.
	var ms uint64
	k := client.NewULID()
	for _, c := range k[:10] {
		ms = ms<<5 | uint64(strings.IndexRune("0123456789ABCDEFGHJKMNPQRSTVWXYZ", c))
	}
	if d := time.Since(time.UnixMilli(int64(ms))); d < 0 || d > time.Minute {
		t.Errorf("ULID %q encodes %v, %v from now", k, time.UnixMilli(int64(ms)), d)
	}
}

func TestKeyHeaderValue(t *testing.T) {
	for in, want := range map[string]string{
		"abc":   `"abc"`,
		`a"b\c`: `"a\"b\\c"`,
		"":      `""`,
	} {
		if got := client.KeyHeaderValue(in); got != want {
			t.Errorf("KeyHeaderValue(%q) = %s, want %s", in, got, want)
		}
	}
}

func BenchmarkNewKey(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		client.NewKey()
	}
}

func BenchmarkNewULID(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		client.NewULID()
	}
}
