package idempotency

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"math/rand/v2"
	"mime"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
)

var errBodyTooLarge = errors.New("idempotency: request body too large")

// reqState is the per-request scratch space, pooled so a request costs few
// allocations: the request body copy, the fingerprint pre-image and the
// response capture.
type reqState struct {
	buf  []byte     // request body
	body bodyReader // replaces r.Body after fingerprinting
	pre  canon      // fingerprint / record id pre-image
	cw   capture
	// attempt holds the hex record id (looked up by a Peeker before the
	// rest is known), then the fingerprint and token (attemptStrings).
	attempt [attemptLen]byte
	// replay holds a PeekAppender's copy of a record being replayed.
	replay []byte
}

var statePool = sync.Pool{New: func() any { return new(reqState) }}

func getState() *reqState { return statePool.Get().(*reqState) }

func putState(st *reqState) {
	st.cw.reset(nil, 0)
	st.body.Reset(nil)
	if cap(st.buf) > 64<<10 || cap(st.cw.buf) > 64<<10 || cap(st.cw.enc) > 64<<10 || cap(st.replay) > 64<<10 || cap(st.pre.out) > 64<<10 {
		return // let large buffers go rather than pin them in the pool
	}
	statePool.Put(st)
}

// readBody reads all of body (at most limit bytes) into st.buf.
func (st *reqState) readBody(body io.Reader, limit int64) ([]byte, error) {
	b := st.buf[:0]
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := body.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if int64(len(b)) > limit {
			st.buf = b[:0]
			return nil, errBodyTooLarge
		}
		if err == io.EOF {
			st.buf = b
			return b, nil
		}
		if err != nil {
			st.buf = b[:0]
			return nil, err
		}
	}
}

// bodyReader gives the handler the request body again after fingerprinting.
type bodyReader struct{ bytes.Reader }

// Close does nothing; the original body is already closed.
func (*bodyReader) Close() error { return nil }

const (
	reasonTooLarge = "response body over maxBodyBytes"
	reasonStreamed = "streamed (flushed) response"
	reasonHijacked = "hijacked connection"
	reasonUpgrade  = "protocol switch"
)

// capture records a handler's response (status, headers, body up to max bytes)
// before sending it, so the outcome is stored before the client sees it. It
// never buffers more than max bytes: a larger body, a Flush or a Hijack switch
// it to pass-through (the response is then not stored).
type capture struct {
	rw          http.ResponseWriter
	max         int64
	status      int
	wroteHeader bool
	buf         []byte
	enc         []byte // the encoded result, reused across requests
	pass        bool   // passing through: nothing more is recorded
	reason      string // why pass is set
	sent        bool   // flushBuffered done
}

func (c *capture) reset(w http.ResponseWriter, max int64) {
	*c = capture{rw: w, max: max, buf: c.buf[:0], enc: c.enc[:0]}
}

func (c *capture) statusOrOK() int {
	if c.status == 0 {
		return http.StatusOK
	}
	return c.status
}

// Header returns the underlying writer's header map: what the handler sets is
// what is both stored and sent.
func (c *capture) Header() http.Header { return c.rw.Header() }

// WriteHeader records the status. Informational (1xx) headers go straight
// through; 101 switches to pass-through.
func (c *capture) WriteHeader(code int) {
	if c.pass {
		c.rw.WriteHeader(code)
		return
	}
	if c.wroteHeader {
		return // superfluous, as net/http would ignore it
	}
	if code < 100 || code > 999 {
		// As net/http does, but before anything is stored or sent.
		panic(fmt.Sprintf("invalid WriteHeader code %v", code))
	}
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		c.rw.WriteHeader(code)
		return
	}
	c.status, c.wroteHeader = code, true
	if code == http.StatusSwitchingProtocols {
		c.startPass(reasonUpgrade)
	}
}

// Write buffers p, or passes it through once the body outgrows max.
func (c *capture) Write(p []byte) (int, error) {
	if c.pass {
		return c.rw.Write(p)
	}
	if !c.wroteHeader {
		c.WriteHeader(http.StatusOK)
	}
	if c.status == http.StatusNoContent || c.status == http.StatusNotModified {
		return 0, http.ErrBodyNotAllowed // what net/http answers; nothing to store
	}
	if int64(len(c.buf)+len(p)) > c.max {
		if err := c.startPass(reasonTooLarge); err != nil {
			return 0, err
		}
		return c.rw.Write(p)
	}
	c.buf = append(c.buf, p...)
	return len(p), nil
}

// Flush sends what is buffered and everything after it unrecorded: a streamed
// response is never stored, so its claim is released when the handler returns.
func (c *capture) Flush() {
	if !c.pass {
		_ = c.startPass(reasonStreamed)
	}
	_ = http.NewResponseController(c.rw).Flush()
}

// Hijack hands the connection to the handler; the outcome is not stored.
func (c *capture) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c.pass, c.reason, c.sent = true, reasonHijacked, true
	return http.NewResponseController(c.rw).Hijack()
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (c *capture) Unwrap() http.ResponseWriter { return c.rw }

func (c *capture) startPass(reason string) error {
	c.pass, c.reason = true, reason
	return c.send()
}

// discard drops the buffered response and the headers the handler set, so
// the middleware can answer with a problem instead.
func (c *capture) discard() {
	c.buf = c.buf[:0]
	h := c.rw.Header()
	for k := range h {
		delete(h, k)
	}
	c.sent = true
}

// flushBuffered sends the buffered response (once).
func (c *capture) flushBuffered() {
	if !c.pass {
		_ = c.send()
	}
}

func (c *capture) send() error {
	if c.sent {
		return nil
	}
	c.sent = true
	c.rw.WriteHeader(c.statusOrOK())
	if len(c.buf) > 0 {
		_, err := c.rw.Write(c.buf)
		c.buf = c.buf[:0]
		return err
	}
	return nil
}

// requestKey extracts the idempotency key. present=false means no key was
// sent; err (wrapping ErrInvalidKey) means a key was sent but is unusable.
// lookup selects the status-lookup variant, where body-field keys are read
// from the Idempotency-Key header (a GET has no body).
func (m *Middleware) requestKey(r *http.Request, body []byte, st *reqState, lookup bool) (key string, present bool, err error) {
	c := m.c
	src := c.keySrc
	name := c.keyName
	if lookup && src == keyField {
		src, name = keyHeader, DefaultHeader
	}
	switch src {
	case keyHeader:
		vals := r.Header[name]
		if len(vals) == 0 {
			return "", false, nil
		}
		if len(vals) > 1 {
			return "", true, fmt.Errorf("%w: %d %s headers, want one", ErrInvalidKey, len(vals), name)
		}
		key, err = ParseKeyHeader(vals[0], c.maxKeyLen)
	case keyQuery:
		var n int
		key, n, err = queryValue(r.URL.RawQuery, name)
		if n == 0 {
			return "", false, nil
		}
		if n > 1 {
			return "", true, fmt.Errorf("%w: %d %s query parameters, want one", ErrInvalidKey, n, name)
		}
		if err == nil {
			err = checkKey(key, c.maxKeyLen)
		}
	case keyField:
		var ok bool
		key, ok, err = c.fieldKey(r, body)
		if !ok && err == nil {
			return "", false, nil
		}
		if err == nil {
			err = checkKey(key, c.maxKeyLen)
		}
	case keyDerive:
		return m.deriveKey(r, body, st)
	}
	if err != nil {
		return "", true, err
	}
	if err := c.checkFormat(key); err != nil {
		return "", true, err
	}
	return key, true, nil
}

// fieldKey reads key.field from a form body or a JSON body.
func (c *compiled) fieldKey(r *http.Request, body []byte) (string, bool, error) {
	if len(body) == 0 {
		return "", false, nil
	}
	if isForm(r) {
		if c.keyField.name == "" {
			return "", false, nil
		}
		v, n, err := queryValue(string(body), c.keyField.name)
		if n > 1 {
			return "", true, fmt.Errorf("%w: %d %s form fields, want one", ErrInvalidKey, n, c.keyField.name)
		}
		return v, n == 1, err
	}
	if v, n, ok, err := multipartField(r, body, c.keyField.name); ok { // formprint.go
		if n > 1 {
			return "", true, fmt.Errorf("%w: %d %s multipart parts, want one", ErrInvalidKey, n, c.keyField.name)
		}
		return v, n == 1, err
	}
	raw, ok := lookupPointer(body, c.keyField.ptr)
	if !ok {
		return "", false, nil
	}
	if s, ok := stringValue(raw); ok {
		return s, true, nil
	}
	if len(raw) > 0 && (raw[0] == '-' || ('0' <= raw[0] && raw[0] <= '9')) {
		return string(raw), true, nil // a numeric key, as written
	}
	if string(raw) == "null" {
		return "", false, nil
	}
	return "", true, fmt.Errorf("%w: body field %s is not a string", ErrInvalidKey, c.keyField.raw)
}

func isForm(r *http.Request) bool {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return false
	}
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == "application/x-www-form-urlencoded"
}

// deriveKey hashes the key.derive values; any missing value means no key.
func (m *Middleware) deriveKey(r *http.Request, body []byte, st *reqState) (string, bool, error) {
	b := append(st.pre.out[:0], "idemgen/derive/v1\x00"...)
	for _, ref := range m.c.derive {
		var ok bool
		b, ok = m.appendRef(b, r, body, ref)
		if !ok {
			st.pre.out = b[:0]
			return "", false, nil
		}
	}
	st.pre.out = b[:0]
	return hexSum(b), true, nil
}

// appendRef appends one request value (length-prefixed, with a value count)
// to b; ok=false when the value is absent.
func (m *Middleware) appendRef(b []byte, r *http.Request, body []byte, ref valueRef) ([]byte, bool) {
	switch ref.kind {
	case refHeader:
		vals := r.Header[ref.name]
		b = binary.AppendUvarint(b, uint64(len(vals)))
		for _, v := range vals {
			b = appendString(b, v)
		}
		return b, len(vals) > 0
	case refQuery:
		n := 0
		for range queryValues(r.URL.RawQuery, ref.name) {
			n++
		}
		b = binary.AppendUvarint(b, uint64(n))
		for v := range queryValues(r.URL.RawQuery, ref.name) {
			b = appendString(b, v)
		}
		return b, n > 0
	case refPath:
		v := r.PathValue(ref.name)
		b = append(b, 1)
		return appendString(b, v), v != ""
	case refPrincipal:
		p, err := m.principal(r)
		b = append(b, 1)
		return appendString(b, p), err == nil && p != ""
	case refPointer:
		if out, present, ok := appendFormField(b, r, body, ref.ptr); ok { // formprint.go
			return out, present
		}
		raw, ok := lookupPointer(body, ref.ptr)
		b = append(b, 1)
		if !ok || string(raw) == "null" {
			return b, false
		}
		mark := len(b)
		b = append(b, 0, 0, 0, 0)
		c := &canon{out: b}
		if !c.appendCanonical(raw) {
			c.out = append(c.out, raw...)
		}
		b = c.out
		binary.BigEndian.PutUint32(b[mark:], uint32(len(b)-mark-4))
		return b, true
	}
	return b, false
}

var (
	errNoPrincipal = errors.New("idempotency: no principal for the request")
	// errNoPathValue: a path scope has no value, so the route is misconfigured.
	errNoPathValue = errors.New("idempotency: the route gives no value for the path scope")
)

// requestID is the record id: a hash of the operation, the scope values and
// the key, so no user bytes reach the store's key space raw.
func (m *Middleware) requestID(r *http.Request, key string, st *reqState) (string, error) {
	sum, err := m.requestIDSum(r, key, st)
	if err != nil {
		return "", err
	}
	return hexString(&sum), nil
}

// requestIDSum is requestID's SHA-256, before hex encoding.
func (m *Middleware) requestIDSum(r *http.Request, key string, st *reqState) ([32]byte, error) {
	b := appendIDPrefix(st.pre.out[:0], m.c.op)
	for _, ref := range m.c.scope {
		if ref.kind == refPrincipal {
			p, err := m.principal(r)
			if err != nil {
				st.pre.out = b[:0]
				return [32]byte{}, fmt.Errorf("%w: %w", errNoPrincipal, err)
			}
			if p == "" {
				st.pre.out = b[:0]
				return [32]byte{}, errNoPrincipal
			}
			b = append(b, 1)
			b = appendString(b, p)
			continue
		}
		var ok bool
		b, ok = m.appendRef(b, r, nil, ref)
		if !ok && ref.kind == refPath {
			// A matched route never has an empty path value: the handler was
			// mounted on a pattern without {NAME}. Scoping every request into
			// one shared partition would let tenants read each other's replays.
			st.pre.out = b[:0]
			return [32]byte{}, fmt.Errorf("%w: path:%s", errNoPathValue, ref.name)
		}
	}
	b = appendString(b, key)
	st.pre.out = b[:0]
	return sha256.Sum256(b), nil
}

// doID is the record id of a Do call: as requestID with one scope value
// (none when scope is empty), so an HTTP record with one scope value can be
// looked up by StatusKey with that value.
func doID(b []byte, op, scope, key string) ([]byte, string) {
	b = appendIDPrefix(b[:0], op)
	if scope != "" {
		b = append(b, 1)
		b = appendString(b, scope)
	}
	b = appendString(b, key)
	return b, hexSum(b)
}

func appendIDPrefix(b []byte, op string) []byte {
	b = append(b, "idemgen/record/v1\x00"...)
	return appendString(b, op)
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// hexSum is the hex SHA-256 of b.
func hexSum(b []byte) string {
	sum := sha256.Sum256(b)
	return hexString(&sum)
}

func hexString(sum *[32]byte) string {
	var h [64]byte
	encodeHex(h[:], sum[:])
	return string(h[:])
}

// hexDigits[b] is byte b's two lower-case hex digits, little-endian.
var hexDigits = func() (t [256]uint16) {
	const d = "0123456789abcdef"
	for i := range t {
		t[i] = uint16(d[i>>4]) | uint16(d[i&15])<<8
	}
	return t
}()

// encodeHex is hex.Encode (dst holds at least 2*len(src) bytes) with one
// table load per byte and one store per 4 bytes: the record id, the
// fingerprint and the token of every request are hex encoded, and this
// takes half the time of hex.Encode's two lookups and stores per byte.
func encodeHex(dst, src []byte) int {
	n := 2 * len(src)
	dst = dst[:n]
	for len(src) >= 4 {
		binary.LittleEndian.PutUint64(dst, uint64(hexDigits[src[0]])|uint64(hexDigits[src[1]])<<16|
			uint64(hexDigits[src[2]])<<32|uint64(hexDigits[src[3]])<<48)
		src, dst = src[4:], dst[8:]
	}
	for i, v := range src {
		binary.LittleEndian.PutUint16(dst[2*i:], hexDigits[v])
	}
	return n
}

// attemptLen is the most one attempt's strings take: the hex record id, the
// hex fingerprint (SHA-256, or 128 bits with an InProcess store) with its
// raw-hash suffix (rawSuffixLen, with a Peeker store only) and the token.
const (
	// "." and the 64-bit raw hash in unpadded base64url (11 characters, not
	// 16 hex digits: the three strings then fit a 176-byte allocation, 144
	// with an InProcess store's fingerprint).
	rawSuffixLen = 1 + 11
	attemptLen   = 64 + 64 + rawSuffixLen + 32
)

// fpSum is a fingerprint before it is hex encoded: the SHA-256 of its
// pre-image (n 32), or with an InProcess store two 64-bit seeded hashes of it
// (n 16; see sumFingerprint).
type fpSum struct {
	b [32]byte
	n int
}

// attemptStrings returns the hex record id (already in b[:64]), the hex
// fingerprint (with ".<raw hash>" when withRaw) and a new fencing token (see
// newToken) of one attempt, sliced from one string: one allocation instead
// of three on every request, and one object instead of three for a store
// that keeps them.
func attemptStrings(b *[attemptLen]byte, fp *fpSum, withRaw bool, raw uint64) (idHex, fpHex, token string) {
	n := 64 + putFingerprint(b[64:], fp, withRaw, raw)
	appendTokenHex(b[n:n])
	s := string(b[:n+32])
	return s[:64], s[64:n], s[n:]
}

// putFingerprint writes the hex fingerprint sum, and ".<raw hash>" when
// withRaw, to dst and returns how many bytes it wrote.
func putFingerprint(dst []byte, sum *fpSum, withRaw bool, raw uint64) int {
	n := encodeHex(dst, sum.b[:sum.n])
	if !withRaw {
		return n
	}
	dst[n] = '.'
	putRaw(dst[n+1:n+rawSuffixLen], raw)
	return n + rawSuffixLen
}

func putRaw(dst []byte, raw uint64) {
	var v [8]byte
	binary.BigEndian.PutUint64(v[:], raw)
	base64.RawURLEncoding.Encode(dst, v[:])
}

// rawMatches reports whether fp carries the raw-hash suffix raw.
func rawMatches[T string | []byte](fp T, raw uint64) bool {
	n := len(fp) - rawSuffixLen
	if n < 0 || fp[n] != '.' {
		return false // no suffix: a record stored without one
	}
	var h [rawSuffixLen - 1]byte
	putRaw(h[:], raw)
	return string(fp[n+1:]) == string(h[:])
}

// rawPrint hashes, with the middleware's secret seed, everything of r that
// the fingerprint reads, as sent: the items fingerprintItems left in pre.out
// (which it leaves there), the Content-Type (which decides how a body is
// read) and the body bytes. Equal rawPrints mean byte-identical inputs, hence
// equal fingerprints, without canonicalising; see docs/runtime.md for the
// chance that they do not.
func (m *Middleware) rawPrint(r *http.Request, body []byte, pre *canon) uint64 {
	b := pre.out
	n := len(b)
	for _, v := range r.Header["Content-Type"] {
		b = append(b, 't')
		b = appendString(b, v)
	}
	b = append(b, 'b')
	b = binary.BigEndian.AppendUint64(b, uint64(len(body)))
	b = binary.BigEndian.AppendUint64(b, maphash.Bytes(m.rawSeed, body))
	raw := maphash.Bytes(m.rawSeed, b)
	pre.out = b[:n]
	return raw
}

// requestFingerprintSum is the sum of the policy's fingerprint items of r
// (hex encoded, the record's fingerprint).
func (m *Middleware) requestFingerprintSum(r *http.Request, body []byte, st *reqState) fpSum {
	m.fingerprintItems(r, &st.pre)
	return m.fingerprintSum(r, body, st)
}

// fingerprintItems sets pre.out to the start of the fingerprint pre-image:
// the policy's method, path, query and header items.
func (m *Middleware) fingerprintItems(r *http.Request, pre *canon) {
	c := m.c
	b := append(pre.out[:0], fingerprintTag...)
	if c.fpMethod {
		b = append(b, 'm')
		b = appendString(b, r.Method)
	}
	if c.fpPath {
		b = append(b, 'p')
		b = appendString(b, r.URL.EscapedPath())
	}
	if c.fpQuery {
		b = append(b, 'q')
		b = appendString(b, r.URL.RawQuery)
	}
	for _, name := range c.fpHeaders {
		b = append(b, 'h')
		b = appendString(b, name)
		vals := r.Header[name]
		b = binary.AppendUvarint(b, uint64(len(vals)))
		for _, v := range vals {
			b = appendString(b, v)
		}
	}
	pre.out = b
}

// fingerprintSum completes the pre-image fingerprintItems started with the
// body items and returns its sum.
func (m *Middleware) fingerprintSum(r *http.Request, body []byte, st *reqState) fpSum {
	c := m.c
	pre := &st.pre
	if c.fpBody && !appendFormFingerprint(pre, r, body) { // formprint.go
		appendBodyFingerprint(pre, body)
	}
	for _, ref := range c.fpPointers {
		pre.out = append(pre.out, '/')
		pre.out = appendString(pre.out, ref.raw)
		if appendFormPointer(pre, r, body, ref.ptr) { // formprint.go
			continue
		}
		raw, ok := lookupPointer(body, ref.ptr)
		if !ok {
			pre.out = append(pre.out, 'a') // absent
			continue
		}
		appendBodyFingerprint(pre, raw)
	}
	sum := m.sumFingerprint(pre.out)
	pre.out = pre.out[:0]
	return sum
}

// sumFingerprint hashes a fingerprint pre-image (which starts with
// fingerprintTag). With an InProcess store the fingerprint never leaves this
// process, so instead of SHA-256 (about 0.7 µs for a 1 KiB body) it is two
// 64-bit hash/maphash sums under the store's secret seed (about 0.1 µs): of
// the pre-image, and of the pre-image with its first byte changed, which
// gives the second sum a domain of its own. docs/runtime.md ("In-process
// fingerprints") says why 128 seeded bits are enough there and nowhere else.
// pre is restored before it returns.
func (m *Middleware) sumFingerprint(pre []byte) fpSum {
	if !m.localFP {
		return fpSum{b: sha256.Sum256(pre), n: sha256.Size}
	}
	s := fpSum{n: 16}
	binary.BigEndian.PutUint64(s.b[:8], maphash.Bytes(m.fpSeed, pre))
	pre[0] = fingerprintTag2
	binary.BigEndian.PutUint64(s.b[8:16], maphash.Bytes(m.fpSeed, pre))
	pre[0] = fingerprintTag[0]
	return s
}

// fingerprintTag starts every fingerprint pre-image; fingerprintTag2 replaces
// its first byte for sumFingerprint's second sum.
const (
	fingerprintTag  = "idemgen/fingerprint/v1\x00"
	fingerprintTag2 = 'I'
)

// appendBodyFingerprint appends a tagged, length-framed body: its canonical
// JSON form when it is JSON, else its raw bytes.
func appendBodyFingerprint(pre *canon, body []byte) {
	mark := len(pre.out)
	pre.out = append(pre.out, 'j', 0, 0, 0, 0, 0, 0, 0, 0)
	if !pre.appendCanonical(body) {
		pre.out[mark] = 'r'
		pre.out = append(pre.out, body...)
	}
	binary.BigEndian.PutUint64(pre.out[mark+1:], uint64(len(pre.out)-mark-9))
}

// payloadFingerprint is the fingerprint of a Do payload (with ".<raw hash>"
// when withRaw).
func (m *Middleware) payloadFingerprint(pre *canon, payload []byte, withRaw bool, raw uint64) string {
	pre.out = append(pre.out[:0], fingerprintTag...)
	appendBodyFingerprint(pre, payload)
	sum := m.sumFingerprint(pre.out)
	pre.out = pre.out[:0]
	var b [64 + rawSuffixLen]byte
	return string(b[:putFingerprint(b[:], &sum, withRaw, raw)])
}

// payloadRawPrint is rawPrint for a Do payload (the only thing its
// fingerprint reads), tagged apart from rawPrint's pre-images.
func (m *Middleware) payloadRawPrint(payload []byte) uint64 {
	var b [9]byte
	b[0] = 'D'
	binary.BigEndian.PutUint64(b[1:], maphash.Bytes(m.rawSeed, payload))
	return maphash.Bytes(m.rawSeed, b[:])
}

// newToken returns a fencing token unique per attempt (128 random bits; it
// needs to be unpredictable to other attempts, not secret).
func newToken() string {
	var h [32]byte
	appendTokenHex(h[:0])
	return string(h[:])
}

// appendTokenHex appends 32 hex digits of a new token to dst.
func appendTokenHex(dst []byte) []byte {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], rand.Uint64())
	binary.LittleEndian.PutUint64(b[8:], rand.Uint64())
	n := len(dst)
	dst = slices.Grow(dst, 2*len(b))[:n+2*len(b)]
	encodeHex(dst[n:], b[:])
	return dst
}

// queryValues yields every (unescaped) value of name in a URL-encoded query.
func queryValues(q, name string) func(yield func(string) bool) {
	return func(yield func(string) bool) {
		for q != "" {
			var part string
			part, q, _ = strings.Cut(q, "&")
			k, v, _ := strings.Cut(part, "=")
			if k != name {
				if uk, err := url.QueryUnescape(k); err != nil || uk != name {
					continue
				}
			}
			if uv, err := url.QueryUnescape(v); err == nil {
				v = uv
			}
			if !yield(v) {
				return
			}
		}
	}
}

// queryValue returns the first value of name in a URL-encoded query and how
// many times name occurs, without building a url.Values.
func queryValue(q, name string) (string, int, error) {
	var first string
	var ferr error
	n := 0
	for q != "" {
		var part string
		part, q, _ = strings.Cut(q, "&")
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		if k != name {
			uk, err := url.QueryUnescape(k)
			if err != nil || uk != name {
				continue
			}
		}
		n++
		if n == 1 {
			first, ferr = url.QueryUnescape(v)
			if ferr != nil {
				ferr = fmt.Errorf("%w: bad escape in %s", ErrInvalidKey, name)
			}
		}
	}
	return first, n, ferr
}
