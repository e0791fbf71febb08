package memstore

import (
	"encoding/binary"
	"time"
	"unsafe"

	"github.com/idemgen/idemgen/runtime/idempotency"
)

// A record in its slab slot: a fixed header, then the id, fingerprint, token
// and result bytes back to back. Times are Unix nanoseconds of the store's
// clock. The slot's first 4 bytes are its size (the slab's).
const (
	offIDLen  = 4
	offFPLen  = 8
	offTokLen = 12
	offResLen = 16
	offState  = 20
	offLease  = 24
	offExpiry = 32
	hdrLen    = 40
)

var le = binary.LittleEndian

// recordSize is the slot size a record with these fields needs.
func recordSize(id, fp, tok string, res []byte) int {
	return hdrLen + len(id) + len(fp) + len(tok) + len(res)
}

// putRecord writes a record into slot (at least recordSize bytes).
func putRecord(slot []byte, id, fp, tok string, res []byte, state idempotency.State, leaseUntil, expiresAt int64) {
	le.PutUint32(slot[offIDLen:], uint32(len(id)))
	le.PutUint32(slot[offFPLen:], uint32(len(fp)))
	le.PutUint32(slot[offTokLen:], uint32(len(tok)))
	le.PutUint32(slot[offResLen:], uint32(len(res)))
	slot[offState] = byte(state)
	le.PutUint64(slot[offLease:], uint64(leaseUntil))
	le.PutUint64(slot[offExpiry:], uint64(expiresAt))
	n := hdrLen
	n += copy(slot[n:], id)
	n += copy(slot[n:], tok)
	n += copy(slot[n:], fp)
	copy(slot[n:], res)
}

// rec is a view of a record in its slot, valid while the shard lock is held.
type rec []byte

func (r rec) state() idempotency.State { return idempotency.State(r[offState]) }
func (r rec) leaseUntil() int64        { return int64(le.Uint64(r[offLease:])) }
func (r rec) expiresAt() int64         { return int64(le.Uint64(r[offExpiry:])) }

func (r rec) setTimes(leaseUntil, expiresAt int64) {
	le.PutUint64(r[offLease:], uint64(leaseUntil))
	le.PutUint64(r[offExpiry:], uint64(expiresAt))
}

func (r rec) lens() (id, fp, tok, res int) {
	return int(le.Uint32(r[offIDLen:])), int(le.Uint32(r[offFPLen:])), int(le.Uint32(r[offTokLen:])), int(le.Uint32(r[offResLen:]))
}

func (r rec) id() []byte {
	n := int(le.Uint32(r[offIDLen:]))
	return r[hdrLen : hdrLen+n]
}

func (r rec) token() []byte {
	id, _, tok, _ := r.lens()
	return r[hdrLen+id : hdrLen+id+tok]
}

func (r rec) fingerprint() []byte {
	id, fp, tok, _ := r.lens()
	return r[hdrLen+id+tok : hdrLen+id+tok+fp]
}

// printAndResult is the fingerprint and the result, adjacent.
func (r rec) printAndResult() []byte {
	id, fp, tok, res := r.lens()
	return r[hdrLen+id+tok : hdrLen+id+tok+fp+res]
}

func (r rec) result() []byte {
	id, fp, tok, res := r.lens()
	off := hdrLen + id + fp + tok
	return r[off : off+res]
}

// sameFingerprint is idempotency.SameFingerprint on the stored fingerprint,
// without copying it out (the string it builds does not outlive the call).
func (r rec) sameFingerprint(fp string) bool {
	b := r.fingerprint()
	return idempotency.SameFingerprint(unsafe.String(unsafe.SliceData(b), len(b)), fp)
}

// record copies the record out as an idempotency.Record, in one allocation:
// the slot is reused once the record is deleted, so nothing handed out may
// alias it. id is the caller's (equal to the stored one).
func (r rec) record(id string) idempotency.Record {
	idLen, fp, tok, res := r.lens()
	buf := copyOut(r[hdrLen+idLen : hdrLen+idLen+tok+fp+res])
	out := idempotency.Record{
		ID:          id,
		State:       r.state(),
		Token:       str(buf[:tok]),
		Fingerprint: str(buf[tok : tok+fp]),
		LeaseUntil:  time.Unix(0, r.leaseUntil()),
		ExpiresAt:   time.Unix(0, r.expiresAt()),
	}
	if out.State == idempotency.StateCompleted {
		out.Result = buf[tok+fp:]
	}
	return out
}

// copyOut copies b into one heap allocation (nil when empty). append, unlike
// make and copy, does not clear the memory it is about to overwrite.
func copyOut(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return append([]byte(nil), b...)
}

// str is b as a string without a copy; b must never be modified afterwards.
func str(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(unsafe.SliceData(b), len(b))
}
