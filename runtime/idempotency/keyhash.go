package idempotency

import (
	"crypto/sha256"
	"encoding/hex"
)

// KeyHash returns the first 16 hex digits (64 bits) of the SHA-256 of an
// idempotency key: what logs and traces record instead of the key. It tells
// keys apart and matches a client's records with a server's, but does not
// recover a random key (a UUID, a ULID). A guessable key (an order number) is
// found by hashing guesses: record nothing for those.
func KeyHash(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:8])
}
