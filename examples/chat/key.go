package main

import (
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// MessageKey is the idempotency key a chat client computes for a message: the
// hex SHA-256 of user, text and the client's timestamp (RFC 3339 with
// nanoseconds, UTC), separated by NUL bytes. Resending the same message after
// a lost answer yields the same key; typing the same text again later does not.
func MessageKey(user, text string, clientTime time.Time) string {
	h := sha256.New()
	h.Write([]byte(user))
	h.Write([]byte{0})
	h.Write([]byte(text))
	h.Write([]byte{0})
	h.Write([]byte(clientTime.UTC().Format(time.RFC3339Nano)))
	return hex.EncodeToString(h.Sum(nil))
}
