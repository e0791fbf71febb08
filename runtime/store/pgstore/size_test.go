package pgstore_test

import (
	"context"
	"testing"
)

// TestBytesPerRecord measures the on-disk size (table, TOAST and indexes) of
// completed records with the middleware's id, fingerprint and token sizes
// (64, 64 and 32 hex characters) and a 256-byte result, for the sizing advice
// in docs/stores.md. The rows are written with one INSERT … SELECT, the shape
// the store writes.
func TestBytesPerRecord(t *testing.T) {
	ctx := context.Background()
	_, pool, table := newStore(t)
	const n, resultSize = 10000, 256
	_, err := pool.Exec(ctx, `INSERT INTO `+table+` (id, state, fingerprint, token, lease_until, expires_at, result)
SELECT encode(sha256(('id' || i)::bytea), 'hex'), 2, encode(sha256(('fp' || i)::bytea), 'hex'),
       left(encode(sha256(('tok' || i)::bytea), 'hex'), 32), now(), now() + interval '1 hour',
       decode(repeat(md5(i::text), $1 / 32), 'hex') || decode(repeat(md5(i::text), $1 / 32), 'hex')
FROM generate_series(1, $2) AS i`, resultSize, n)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, "VACUUM ANALYZE "+table); err != nil {
		t.Fatal(err)
	}
	var total, heap int64
	if err := pool.QueryRow(ctx, "SELECT pg_total_relation_size($1::regclass), pg_relation_size($1::regclass)", table).Scan(&total, &heap); err != nil {
		t.Fatal(err)
	}
	per := total / n
	t.Logf("postgres: %d bytes per completed record on disk (%d in the heap, the rest in indexes) with a %d-byte result", per, heap/n, resultSize)
	if per < resultSize || per > resultSize+1024 {
		t.Errorf("%d bytes per record with a %d-byte result: outside [result, result+1KiB]", per, resultSize)
	}
}
