package idempotency

import (
	"encoding/binary"
	"errors"
	"net/http"
	"net/textproto"
	"slices"
)

// Stored results are opaque to stores. Their encoding, version 1:
//
//	HTTP response: 'H' 0x01 uvarint(status) uvarint(#headers)
//	               { uvarint(len) name uvarint(#values) { uvarint(len) value } }
//	               uvarint(len) body
//	Do result:     'D' 0x01 payload (the rest)
//
// Lengths are bounded by the input when decoding, so a corrupt record cannot
// make the decoder allocate more than the record's size.
const (
	resultHTTP = 'H'
	resultDo   = 'D'
	resultV1   = 1
)

var errCorruptResult = errors.New("idempotency: corrupt stored result")

// encodeResponse encodes status, the replayable headers of h (less those in
// private) and body, reusing dst's storage. It walks h once: the header count
// is written as one byte and widened afterwards in the rare case it needs more.
func (c *compiled) encodeResponse(dst []byte, status int, h http.Header, body []byte, private map[string]bool) []byte {
	b := append(dst[:0], resultHTTP, resultV1)
	b = binary.AppendUvarint(b, uint64(status))
	at := len(b)
	b = append(b, 0)
	n := 0
	for name, vals := range h {
		if !c.replayable(name) || (private != nil && private[textproto.CanonicalMIMEHeaderKey(name)]) {
			continue
		}
		n++
		b = binary.AppendUvarint(b, uint64(len(name)))
		b = append(b, name...)
		b = binary.AppendUvarint(b, uint64(len(vals)))
		for _, v := range vals {
			b = binary.AppendUvarint(b, uint64(len(v)))
			b = append(b, v...)
		}
	}
	if n < 0x80 {
		b[at] = byte(n)
	} else {
		var u [binary.MaxVarintLen64]byte
		k := binary.PutUvarint(u[:], uint64(n))
		b = slices.Insert(b, at+1, u[1:k]...)
		copy(b[at:], u[:k])
	}
	b = slices.Grow(b, binary.MaxVarintLen64+len(body))
	b = binary.AppendUvarint(b, uint64(len(body)))
	return append(b, body...)
}

// replayable reports whether response header name (canonical) is stored:
// never a hop-by-hop header, Date, Content-Length or one of the per-user
// headers (cookies and authentication challenges or results, which belong to
// the first caller's session), whatever ReplayHeaders says.
func (c *compiled) replayable(name string) bool {
	switch name {
	case "Connection", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding", "Upgrade", "Te",
		"Trailer", "Proxy-Authorization", "Date", "Content-Length", replayedHeader,
		// Per-user headers (see WithPrivateHeaders for more).
		"Set-Cookie", "Set-Cookie2", "Www-Authenticate", "Authentication-Info",
		"Proxy-Authenticate", "Proxy-Authentication-Info":
		return false
	}
	if cn := textproto.CanonicalMIMEHeaderKey(name); cn != name {
		return c.replayable(cn) // a handler that set h["WWW-Authenticate"] directly
	}
	if c.replayAll {
		return true
	}
	return c.replayAllow[name]
}

// decodedResponse is a stored HTTP response. body aliases the record.
type decodedResponse struct {
	status int
	raw    []byte // the encoded header block, walked again by writeHeaders
	nhdr   int
	body   []byte
}

func decodeResponse(b []byte) (decodedResponse, error) {
	var d decodedResponse
	if len(b) < 2 || b[0] != resultHTTP || b[1] != resultV1 {
		return d, errCorruptResult
	}
	r := reader{b: b[2:]}
	d.status = int(r.uvarint())
	d.nhdr = int(r.uvarint())
	start := r.off
	for i := 0; i < d.nhdr && r.err == nil; i++ {
		r.bytes()
		nv := int(r.uvarint())
		for j := 0; j < nv && r.err == nil; j++ {
			r.bytes()
		}
	}
	d.raw = r.b[start:r.off]
	d.body = r.bytes()
	if r.err != nil || r.off != len(r.b) || d.status < 100 || d.status > 999 {
		return d, errCorruptResult
	}
	return d, nil
}

// setHeaders sets the stored headers on h, replacing values already there.
// Every name and value is a substring of one string and every value list a
// window of one slice: two allocations per replay whatever the header count.
func (d decodedResponse) setHeaders(h http.Header) {
	if d.nhdr == 0 {
		return
	}
	r := reader{b: d.raw}
	total := 0
	for i := 0; i < d.nhdr; i++ {
		r.bytes()
		nv := int(r.uvarint())
		total += nv
		for j := 0; j < nv; j++ {
			r.bytes()
		}
	}
	raw := string(d.raw)
	all := make([]string, total)
	r = reader{b: d.raw}
	for i := 0; i < d.nhdr; i++ {
		n := len(r.bytes())
		name := raw[r.off-n : r.off]
		nv := int(r.uvarint())
		vals := all[:nv:nv] // full slice: an Add appends to a copy, not to the next header's values
		all = all[nv:]
		for j := range vals {
			n := len(r.bytes())
			vals[j] = raw[r.off-n : r.off]
		}
		h[name] = vals
	}
}

// header returns the stored headers as a new http.Header.
func (d decodedResponse) header() http.Header {
	h := make(http.Header, d.nhdr)
	d.setHeaders(h)
	return h
}

func encodeDo(result []byte) []byte {
	b := make([]byte, 0, 2+len(result))
	b = append(b, resultDo, resultV1)
	return append(b, result...)
}

func decodeDo(b []byte) ([]byte, error) {
	if len(b) < 2 || b[0] != resultDo || b[1] != resultV1 {
		return nil, errCorruptResult
	}
	return b[2:], nil
}

type reader struct {
	b   []byte
	off int
	err error
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b[r.off:])
	if n <= 0 {
		r.err = errCorruptResult
		return 0
	}
	r.off += n
	return v
}

func (r *reader) bytes() []byte {
	n := r.uvarint()
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b)-r.off) {
		r.err = errCorruptResult
		return nil
	}
	s := r.b[r.off : r.off+int(n)]
	r.off += int(n)
	return s
}
