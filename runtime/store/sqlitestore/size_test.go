package sqlitestore_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// TestBytesPerRecord measures the file size of completed records with the
// middleware's id, fingerprint and token sizes (64, 64 and 32 hex characters)
// and a 256-byte result, for the sizing advice in docs/stores.md.
func TestBytesPerRecord(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "idem.db")
	s := open(t, path)
	const n, resultSize = 500, 256
	empty := pages(t, path)
	for i := range n {
		id, tok := hexOf("id", i), hexOf("tok", i)[:32]
		if _, err := s.Claim(ctx, id, hexOf("fp", i), tok, time.Minute); err != nil {
			t.Fatal(err)
		}
		if err := s.Complete(ctx, id, tok, make([]byte, resultSize), time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	per := (pages(t, path) - empty) / n
	t.Logf("sqlite: %d bytes per completed record in the file with a %d-byte result", per, resultSize)
	if per < resultSize || per > resultSize+1024 {
		t.Errorf("%d bytes per record with a %d-byte result: outside [result, result+1KiB]", per, resultSize)
	}
}

// pages is the database's size in bytes (page_count × page_size), WAL included
// by a checkpoint first.
func pages(t *testing.T, path string) int64 {
	t.Helper()
	db := rawDB(t, path)
	defer db.Close()
	if _, err := db.Exec("PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		t.Fatal(err)
	}
	var count, size int64
	if err := db.QueryRow("PRAGMA page_count").Scan(&count); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow("PRAGMA page_size").Scan(&size); err != nil {
		t.Fatal(err)
	}
	return count * size
}

func hexOf(kind string, i int) string {
	sum := sha256.Sum256([]byte(fmt.Sprint(kind, i)))
	return hex.EncodeToString(sum[:])
}
