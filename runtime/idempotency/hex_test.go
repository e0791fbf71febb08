package idempotency

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"
)

// encodeHex agrees with encoding/hex for every length and byte value.
func TestEncodeHex(t *testing.T) {
	src := make([]byte, 0, 300)
	for i := range 256 {
		src = append(src, byte(i))
	}
	src = append(src, 0xff, 0x00, 0x7f, 0x80, 0x0a)
	for n := 0; n <= len(src); n++ {
		dst := bytes.Repeat([]byte{'#'}, 2*n+1)
		if got := encodeHex(dst, src[:n]); got != 2*n {
			t.Fatalf("encodeHex of %d bytes = %d", n, got)
		}
		if want := hex.EncodeToString(src[:n]); string(dst[:2*n]) != want || dst[2*n] != '#' {
			t.Fatalf("encodeHex of %d bytes = %q, want %q", n, dst, want)
		}
	}
	if tok := newToken(); len(tok) != 32 || strings.Trim(tok, "0123456789abcdef") != "" {
		t.Fatalf("newToken() = %q", tok)
	}
}
