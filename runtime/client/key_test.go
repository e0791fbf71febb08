package client_test

import (
	"regexp"
	"sync"
	"testing"

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
