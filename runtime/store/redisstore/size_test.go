package redisstore_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"testing"
	"time"
)

// TestBytesPerRecord measures the server memory of a completed record with the
// middleware's id, fingerprint and token sizes (64, 64 and 32 hex characters)
// and a 256-byte result (a small JSON response with its headers), for the
// sizing advice in docs/stores.md.
func TestBytesPerRecord(t *testing.T) {
	ctx := context.Background()
	s, c := newStore(t)
	const n, resultSize = 200, 256
	var total int64
	for i := range n {
		id := hexOf("id", i)
		if _, err := s.Claim(ctx, id, hexOf("fp", i), hexOf("tok", i)[:32], time.Minute); err != nil {
			t.Fatal(err)
		}
		if err := s.Complete(ctx, id, hexOf("tok", i)[:32], make([]byte, resultSize), time.Hour); err != nil {
			t.Fatal(err)
		}
		used, err := c.MemoryUsage(ctx, s.Key(id)).Result()
		if err != nil {
			t.Fatal(err)
		}
		total += used
	}
	per := total / n
	t.Logf("redis: %d bytes per completed record (%d-byte result, %d bytes of overhead)", per, resultSize, per-resultSize)
	if per < resultSize || per > resultSize+1024 {
		t.Errorf("%d bytes per record with a %d-byte result: outside [result, result+1KiB]", per, resultSize)
	}
}

func hexOf(kind string, i int) string {
	sum := sha256.Sum256([]byte(fmt.Sprint(kind, i)))
	return hex.EncodeToString(sum[:])
}
