package client

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"strings"
	"time"
)

// NewKey returns a fresh random UUID (version 4, RFC 9562) in its canonical
// lower-case 36-character form, read from crypto/rand. It is the key of one
// logical call: reuse it for every retry of that call and never for another call.
func NewKey() string {
	var u [16]byte
	// crypto/rand.Read never returns an error (it crashes the program when the
	// system's random source fails), so the error is not checked.
	_, _ = rand.Read(u[:])
	u[6] = u[6]&0x0f | 0x40 // version 4
	u[8] = u[8]&0x3f | 0x80 // variant 10 (RFC 9562)
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:36], u[10:16])
	return string(b[:])
}

// crockford is the alphabet of ULIDs (Crockford's base32).
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// NewULID returns a fresh ULID, for operations whose spec says key.format: ulid:
// the current Unix time in milliseconds (48 bits) then 80 bits from crypto/rand,
// as 26 upper-case Crockford base32 characters. Keys made in later milliseconds
// sort after earlier ones.
func NewULID() string {
	var u [16]byte
	ms := uint64(time.Now().UnixMilli())
	binary.BigEndian.PutUint64(u[0:8], ms<<16)
	_, _ = rand.Read(u[6:]) // never fails; see NewKey
	hi := binary.BigEndian.Uint64(u[0:8])
	lo := binary.BigEndian.Uint64(u[8:16])
	var b [26]byte
	// 130 bits of output for 128 bits of value: the first character holds the top 3.
	for i := 25; i >= 0; i-- {
		b[i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(b[:])
}

// KeyHeaderValue formats key as the value of an Idempotency-Key header: a
// Structured Field string (RFC 8941), as draft-ietf-httpapi-idempotency-key-header
// defines it, i.e. the key in double quotes with '"' and '\' escaped.
func KeyHeaderValue(key string) string {
	if !strings.ContainsAny(key, `"\`) {
		return `"` + key + `"`
	}
	var b strings.Builder
	b.Grow(len(key) + 4)
	b.WriteByte('"')
	for i := 0; i < len(key); i++ {
		if c := key[i]; c == '"' || c == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(key[i])
	}
	b.WriteByte('"')
	return b.String()
}
