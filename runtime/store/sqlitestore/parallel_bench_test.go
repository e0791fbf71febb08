package sqlitestore_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/idemgen/idemgen/runtime/store/sqlitestore"
	"github.com/idemgen/idemgen/runtime/store/storetest"
)

// BenchmarkFirstRequestParallel is a first request's store work (claim and
// complete with a ~1 KiB result) from 32 concurrent callers, as a loaded
// server makes it: concurrent writes share transactions. cpu-ns/op is the
// process's CPU time per request.
func BenchmarkFirstRequestParallel(b *testing.B) {
	benchFirstParallel(b, func(n int64) (id, fp, tok string) { return strconv.FormatInt(n, 10), "fp", "t" })
}

// BenchmarkFirstRequestParallelHex is BenchmarkFirstRequestParallel with the
// middleware's strings: a 64-hex record id (a SHA-256, so ids arrive in random
// order), a 64-hex fingerprint and a 32-hex token.
func BenchmarkFirstRequestParallelHex(b *testing.B) {
	benchFirstParallel(b, func(n int64) (id, fp, tok string) {
		sum := sha256.Sum256(strconv.AppendInt(nil, n, 10))
		h := hex.EncodeToString(sum[:])
		return h, h, h[:32]
	})
}

func benchFirstParallel(b *testing.B, strs func(n int64) (id, fp, tok string)) {
	ctx := context.Background()
	s, err := sqlitestore.Open(ctx, filepath.Join(b.TempDir(), "idem.db"), sqlitestore.WithPurgeInterval(0))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	storetest.BenchFirstRequestParallel(b, s, 16, strs)
}
