package idempotency

// The canonicaliser as it was before the single-pass rewrite, kept as the
// reference the new one must agree with byte for byte (the fingerprints of
// records already stored depend on it).

import (
	"bytes"
	"encoding/binary"
	"slices"
	"sync"
	"unicode/utf16"
	"unicode/utf8"
)

// maxJSONDepth bounds nesting; deeper documents are fingerprinted as raw bytes
// (which keeps the canonicaliser's recursion bounded on hostile input).

// refCanon turns one JSON text into its canonical form: no insignificant
// whitespace, object members sorted by their canonical key (stable for
// duplicate keys), strings with escapes decoded and re-escaped minimally
// (only '"', '\\' and control characters). Number literals are kept as
// written. It allocates nothing once its buffers have grown; use refGetCanon.
type refCanon struct {
	in      []byte
	pos     int
	out     []byte
	scratch []byte
	members []refMember // a stack: each object uses the tail it appended
	dupKeys bool        // some object had a repeated key

	runStart, runEnd int // pending input run, see emit
}

// member is one object member in refCanon.out: out[start:keyEnd] is the quoted
// canonical key, out[start:end] the whole `"key":value`. kFrom:kTo locate the
// key's canonical bytes for comparisons while the output is still pending:
// in the input when keyIn, else in out.
type refMember struct {
	start, keyEnd, end int
	kFrom, kTo         int
	keyIn              bool
	pfx                uint64 // the key's first 8 bytes after the quote, big-endian, zero padded
}

// refKeyPrefix packs the first 8 bytes of a quoted key (after its opening
// quote) so most comparisons are one integer compare. Canonical keys hold no
// zero bytes, so the padding cannot make two different keys compare equal
// where their bytes differ.
func refKeyPrefix(quoted []byte) uint64 {
	k := quoted[1:]
	if len(k) >= 8 {
		return binary.BigEndian.Uint64(k)
	}
	var b [8]byte
	copy(b[:], k)
	return binary.BigEndian.Uint64(b[:])
}

// compareKeys orders two members by their canonical keys.
func (c *refCanon) compareKeys(a, b *refMember) int {
	if a.pfx != b.pfx {
		if a.pfx < b.pfx {
			return -1
		}
		return 1
	}
	return bytes.Compare(c.keyOf(*a), c.keyOf(*b))
}

var refCanonPool = sync.Pool{New: func() any { return new(refCanon) }}

func refGetCanon() *refCanon { return refCanonPool.Get().(*refCanon) }

func refPutCanon(c *refCanon) {
	if cap(c.out) > 1<<20 || cap(c.scratch) > 1<<20 {
		return // do not keep huge buffers alive
	}
	c.in = nil
	refCanonPool.Put(c)
}

// appendCanonical appends the canonical form of data to c.out and reports
// whether data is one valid JSON text. On false c.out is left as it was.
func (c *refCanon) appendCanonical(data []byte) bool {
	mark := len(c.out)
	c.in, c.pos, c.members, c.dupKeys = data, 0, c.members[:0], false
	c.runStart, c.runEnd = 0, 0
	c.refSkipWS()
	ok := c.value(0)
	c.refSkipWS()
	c.flush()
	if !ok || c.pos != len(c.in) {
		c.out = c.out[:mark]
		return false
	}
	return true
}

// refCanonicalJSON returns the canonical form of the JSON text data (the form the
// fingerprint hashes) and whether data is valid JSON. Two texts that differ only
// in object key order and insignificant whitespace have the same canonical form.
func refCanonicalJSON(data []byte) ([]byte, bool) {
	c := refGetCanon()
	defer refPutCanon(c)
	c.out = c.out[:0]
	if !c.appendCanonical(data) {
		return nil, false
	}
	return bytes.Clone(c.out), true
}

// Output is mostly the input with whitespace removed, so instead of copying
// token by token the canonicaliser keeps a pending run in[runStart:runEnd]
// of input bytes that go to the output unchanged, extends it while tokens
// are contiguous, and copies it in one go when something else must be
// written (after whitespace, for escapes, before a sort).

// emit adds in[from:to] to the output.
func (c *refCanon) emit(from, to int) {
	if from != c.runEnd {
		c.flush()
		c.runStart = from
	}
	c.runEnd = to
}

// flush copies the pending run to c.out.
func (c *refCanon) flush() {
	if c.runEnd > c.runStart {
		c.out = append(c.out, c.in[c.runStart:c.runEnd]...)
	}
	c.runStart = c.runEnd
}

// outLen is the output length including the pending run.
func (c *refCanon) outLen() int { return len(c.out) + c.runEnd - c.runStart }

func (c *refCanon) refSkipWS() { c.pos = refSkipWS(c.in, c.pos) }

// skipWS returns the position of the first non-whitespace byte at or after p.
func refSkipWS(in []byte, p int) int {
	for p < len(in) {
		switch in[p] {
		case ' ', '\t', '\n', '\r':
			p++
		default:
			return p
		}
	}
	return p
}

func (c *refCanon) value(depth int) bool {
	if c.pos >= len(c.in) || depth > maxJSONDepth {
		return false
	}
	switch ch := c.in[c.pos]; {
	case ch == '{':
		return c.object(depth + 1)
	case ch == '[':
		return c.array(depth + 1)
	case ch == '"':
		return c.str()
	case ch == '-' || ('0' <= ch && ch <= '9'):
		return c.number()
	case ch == 't':
		return c.literal("true")
	case ch == 'f':
		return c.literal("false")
	case ch == 'n':
		return c.literal("null")
	}
	return false
}

func (c *refCanon) literal(lit string) bool {
	if len(c.in)-c.pos < len(lit) || string(c.in[c.pos:c.pos+len(lit)]) != lit {
		return false
	}
	c.emit(c.pos, c.pos+len(lit))
	c.pos += len(lit)
	return true
}

func (c *refCanon) number() bool {
	in := c.in
	p := c.pos
	if in[p] == '-' {
		p++
	}
	switch {
	case p < len(in) && in[p] == '0':
		p++
	case p < len(in) && '1' <= in[p] && in[p] <= '9':
		p++
		for p < len(in) && '0' <= in[p] && in[p] <= '9' {
			p++
		}
	default:
		return false
	}
	if p < len(in) && in[p] == '.' {
		p++
		d := p
		for p < len(in) && '0' <= in[p] && in[p] <= '9' {
			p++
		}
		if p == d {
			return false
		}
	}
	if p < len(in) && (in[p] == 'e' || in[p] == 'E') {
		p++
		if p < len(in) && (in[p] == '+' || in[p] == '-') {
			p++
		}
		d := p
		for p < len(in) && '0' <= in[p] && in[p] <= '9' {
			p++
		}
		if p == d {
			return false
		}
	}
	c.emit(c.pos, p)
	c.pos = p
	return true
}

// str copies one string in canonical form. The common case (no escapes) is a
// word-at-a-time scan that extends the pending run.
func (c *refCanon) str() bool {
	in := c.in
	p := c.pos + 1
	for p+8 <= len(in) && !refSpecialWord(binary.LittleEndian.Uint64(in[p:])) {
		p += 8
	}
	for p < len(in) {
		ch := in[p]
		if ch == '"' {
			c.emit(c.pos, p+1)
			c.pos = p + 1
			return true
		}
		if ch == '\\' {
			break
		}
		if ch < 0x20 {
			return false
		}
		p++
	}
	if p >= len(in) {
		return false
	}
	// Slow path: decode escapes from p on, writing to c.out directly.
	c.emit(c.pos, p)
	c.flush()
	for p < len(in) {
		ch := in[p]
		switch {
		case ch == '"':
			c.out = append(c.out, '"')
			c.pos = p + 1
			c.runStart, c.runEnd = c.pos, c.pos
			return true
		case ch < 0x20:
			return false
		case ch != '\\':
			c.out = append(c.out, ch)
			p++
			continue
		}
		if p+1 >= len(in) {
			return false
		}
		e := in[p+1]
		p += 2
		switch e {
		case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			c.writeRune(rune(refUnescapeTable[e]))
		case 'u':
			r, ok := refHex4(in, p)
			if !ok {
				return false
			}
			p += 4
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if p+6 <= len(in) && in[p] == '\\' && in[p+1] == 'u' {
					if v, ok := refHex4(in, p+2); ok {
						r2 = v
					}
				}
				if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
					r = d
					p += 6
				} else {
					r = utf8.RuneError
				}
			}
			c.writeRune(r)
		default:
			return false
		}
	}
	return false
}

// refSpecialWord reports whether one of the 8 bytes of w is '"', '\\' or a
// control character (below 0x20): the bytes that end a string's fast path.
func refSpecialWord(w uint64) bool {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	ctl := (w - lo*0x20) &^ w & hi
	q := w ^ (lo * '"')
	quote := (q - lo) &^ q & hi
	b := w ^ (lo * '\\')
	bs := (b - lo) &^ b & hi
	return ctl|quote|bs != 0
}

var refUnescapeTable = [256]byte{'"': '"', '\\': '\\', '/': '/', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t'}

// writeRune writes r escaped minimally: '"', '\\' and control characters.
func (c *refCanon) writeRune(r rune) {
	switch {
	case r == '"':
		c.out = append(c.out, '\\', '"')
	case r == '\\':
		c.out = append(c.out, '\\', '\\')
	case r < 0x20:
		const hexDigits = "0123456789abcdef"
		c.out = append(c.out, '\\', 'u', '0', '0', hexDigits[r>>4], hexDigits[r&0xf])
	default:
		c.out = utf8.AppendRune(c.out, r)
	}
}

func refHex4(in []byte, p int) (rune, bool) {
	if p+4 > len(in) {
		return 0, false
	}
	var r rune
	for _, ch := range in[p : p+4] {
		r <<= 4
		switch {
		case '0' <= ch && ch <= '9':
			r |= rune(ch - '0')
		case 'a' <= ch && ch <= 'f':
			r |= rune(ch - 'a' + 10)
		case 'A' <= ch && ch <= 'F':
			r |= rune(ch - 'A' + 10)
		default:
			return 0, false
		}
	}
	return r, true
}

func (c *refCanon) array(depth int) bool {
	c.emit(c.pos, c.pos+1) // [
	c.pos++
	c.refSkipWS()
	if c.pos < len(c.in) && c.in[c.pos] == ']' {
		c.emit(c.pos, c.pos+1)
		c.pos++
		return true
	}
	for {
		c.refSkipWS()
		if !c.value(depth) {
			return false
		}
		c.refSkipWS()
		if c.pos >= len(c.in) {
			return false
		}
		switch c.in[c.pos] {
		case ',':
			c.emit(c.pos, c.pos+1)
			c.pos++
		case ']':
			c.emit(c.pos, c.pos+1)
			c.pos++
			return true
		default:
			return false
		}
	}
}

// keyOf returns the canonical (quoted) bytes of a member's key: in the input
// when the key had no escapes, else in the output (already flushed).
func (c *refCanon) keyOf(m refMember) []byte {
	if m.keyIn {
		return c.in[m.kFrom:m.kTo]
	}
	return c.out[m.kFrom:m.kTo]
}

func (c *refCanon) object(depth int) bool {
	open := c.outLen()
	c.emit(c.pos, c.pos+1) // {
	c.pos++
	base := len(c.members)
	c.refSkipWS()
	if c.pos < len(c.in) && c.in[c.pos] == '}' {
		c.emit(c.pos, c.pos+1)
		c.pos++
		return true
	}
	sorted := true
	for {
		c.refSkipWS()
		if c.pos >= len(c.in) || c.in[c.pos] != '"' {
			return false
		}
		m := refMember{start: c.outLen()}
		kIn := c.pos
		if !c.str() {
			return false
		}
		m.keyEnd = c.outLen()
		if c.runEnd == c.pos && c.runEnd-c.runStart >= c.pos-kIn {
			m.keyIn, m.kFrom, m.kTo = true, kIn, c.pos // unchanged: compare in the input
		} else {
			c.flush()
			m.kFrom, m.kTo = m.start, m.keyEnd
		}
		m.pfx = refKeyPrefix(c.keyOf(m))
		c.refSkipWS()
		if c.pos >= len(c.in) || c.in[c.pos] != ':' {
			return false
		}
		c.emit(c.pos, c.pos+1)
		c.pos++
		c.refSkipWS()
		if !c.value(depth) {
			return false
		}
		m.end = c.outLen()
		if n := len(c.members); n > base && sorted && c.compareKeys(&c.members[n-1], &m) >= 0 {
			sorted = false
		}
		c.members = append(c.members, m)
		c.refSkipWS()
		if c.pos >= len(c.in) {
			return false
		}
		if c.in[c.pos] == '}' {
			break
		}
		if c.in[c.pos] != ',' {
			return false
		}
		c.emit(c.pos, c.pos+1)
		c.pos++
	}
	if !sorted {
		c.flush()
		c.sortMembers(open, c.members[base:])
	}
	c.members = c.members[:base]
	c.emit(c.pos, c.pos+1) // }
	c.pos++
	return true
}

// sortMembers rewrites out[open+1:] (the members of one object, separated by
// commas) in key order.
func (c *refCanon) sortMembers(open int, ms []refMember) {
	c.scratch = append(c.scratch[:0], c.out[open:]...)
	src := c.scratch
	for i := range ms { // offsets into src rather than out
		ms[i].start -= open
		ms[i].keyEnd -= open
		ms[i].end -= open
	}
	cmp := func(a, b *refMember) int {
		if a.pfx != b.pfx {
			if a.pfx < b.pfx {
				return -1
			}
			return 1
		}
		return bytes.Compare(src[a.start:a.keyEnd], src[b.start:b.keyEnd])
	}
	if len(ms) <= 16 {
		// Insertion sort: stable, and faster than a general sort for the
		// handful of members a typical object has.
		for i := 1; i < len(ms); i++ {
			m := ms[i]
			j := i
			for j > 0 && cmp(&ms[j-1], &m) > 0 {
				ms[j] = ms[j-1]
				j--
			}
			ms[j] = m
		}
	} else {
		slices.SortStableFunc(ms, func(a, b refMember) int { return cmp(&a, &b) })
	}
	out := c.out[:open+1]
	for i := range ms {
		m := &ms[i]
		if i > 0 {
			out = append(out, ',')
			if cmp(&ms[i-1], m) == 0 {
				c.dupKeys = true
			}
		}
		out = append(out, src[m.start:m.end]...)
	}
	c.out = out
}
