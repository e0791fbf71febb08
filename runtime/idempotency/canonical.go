package idempotency

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"slices"
	"sync"
	"unicode/utf16"
	"unicode/utf8"
)

// maxJSONDepth bounds nesting; deeper documents are fingerprinted as raw bytes
// (which keeps the canonicaliser's state bounded on hostile input).
const maxJSONDepth = 256

// canon turns one JSON text into its canonical form: no insignificant
// whitespace, object members sorted by their canonical key (stable for
// duplicate keys), strings with escapes decoded and re-escaped minimally
// (only '"', '\\' and control characters). Number literals are kept as
// written. It allocates nothing once its buffers have grown; use getCanon.
//
// Two paths, each one pass over the input that validates it as it goes:
//
//   - compact, for JSON without whitespace and without escapes in strings
//     (what most encoders send): the output is the input with some objects'
//     members reordered, which keeps every value's length, so it copies the
//     input once and reorders those objects in place, innermost first;
//   - canonical, for everything else: output is mostly the input with
//     whitespace removed, so instead of copying token by token it keeps a
//     pending run in[rs:re] of input bytes that go to the output unchanged,
//     extends it while tokens are contiguous, and copies it in one go when
//     something else must be written (after whitespace, for escapes, before a
//     sort).
//
// Either way an object whose keys arrive in order costs no sorting at all,
// and objects with the same keys in the same order (the elements of an
// array, typically) reuse the order found for the first.
type canon struct {
	out     []byte
	scratch []byte
	members []member // a stack: each open object uses the tail it appended
	frames  []frame  // the open containers
	dupKeys bool     // some object had a repeated key

	// idx[:permN] is the order memberOrder found last, for objects whose
	// key prefixes are permPfx[:permN] (permN -1: none).
	idx     []int32
	permPfx [16]uint64
	permN   int

	// compact's state: the innermost open container (the others are in
	// frames), how many are open, how many objects it reordered.
	cur              frame
	depth, reordered int
}

// member is one object member, starting at start (in the output; compact:
// in the input) with its quoted canonical key. It ends before the ',' that
// starts the next member (or, for the last, before the object's '}'): there
// is exactly one byte between two members.
type member struct {
	pfx   uint64 // the key's first 8 bytes after the quote, big-endian, zero padded
	start int
}

// frame is an open container that contains the current one.
type frame struct {
	open   int    // offset of its '{' or '[' (in the output; compact: in the input)
	base   int    // len(members) when an object opened
	last   uint64 // prefix of its last key so far
	seen   int    // objects reordered before it opened (compact)
	obj    bool   // an object (else an array)
	sorted bool   // so far its keys arrived in strictly increasing prefix order
}

// keyPrefix packs the first 8 bytes of the quoted key buf[k0:k1] after its
// opening quote, zero padded, so most comparisons are one integer compare.
// Canonical keys hold no zero bytes, so the padding cannot make two different
// keys compare equal where their bytes differ, and the order of prefixes
// agrees with the order of the quoted keys wherever the prefixes differ.
func keyPrefix(buf []byte, k0, k1 int) uint64 {
	n := k1 - k0 - 1 // bytes after the opening quote, closing quote included
	if k0+9 <= len(buf) {
		// One load, then drop the bytes past the key (no byte-wise copy:
		// a copy followed by a word load stalls store forwarding).
		w := binary.BigEndian.Uint64(buf[k0+1:])
		if n < 8 {
			w &= ^uint64(0) << (8 * (8 - n) & 63)
		}
		return w
	}
	var b [8]byte
	copy(b[:], buf[k0+1:k1])
	return binary.BigEndian.Uint64(b[:])
}

var canonPool = sync.Pool{New: func() any { return new(canon) }}

func getCanon() *canon { return canonPool.Get().(*canon) }

func putCanon(c *canon) {
	if cap(c.out) > 1<<20 || cap(c.scratch) > 1<<20 || cap(c.members) > 1<<14 || cap(c.idx) > 1<<14 {
		return // do not keep huge buffers alive
	}
	canonPool.Put(c)
}

// appendCanonical appends the canonical form of data to c.out and reports
// whether data is one valid JSON text. On false c.out is left as it was.
func (c *canon) appendCanonical(data []byte) bool {
	mark := len(c.out)
	c.dupKeys = false
	out, ok := c.compact(c.out, data)
	if ok {
		c.out = out
		return true
	}
	c.dupKeys = false
	out, ok = c.canonical(out[:mark], data)
	if !ok {
		c.out = out[:mark]
		return false
	}
	c.out = out
	return true
}

// CanonicalJSON returns the canonical form of the JSON text data (the form the
// fingerprint hashes) and whether data is valid JSON. Two texts that differ only
// in object key order and insignificant whitespace have the same canonical form.
func CanonicalJSON(data []byte) ([]byte, bool) {
	c := getCanon()
	defer putCanon(c)
	c.out = c.out[:0]
	if !c.appendCanonical(data) {
		return nil, false
	}
	return bytes.Clone(c.out), true
}

// flushRun appends the pending run in[rs:re] to out.
func flushRun(out, in []byte, rs, re int) []byte {
	if re > rs {
		out = append(out, in[rs:re]...)
	}
	return out
}

// canonical appends the canonical form of the JSON text in to out. It is one
// loop over the input with an explicit stack of open containers (the
// innermost one in local variables); the labels are its states: value (a
// value starts at p), after (a value ended before p), member (an object
// member's key starts at p). Whitespace before p is already skipped in the
// value and member states.
//
// Emitting in[from:to] is written out inline as
//
//	if from != re { out = flushRun(out, in, rs, re); rs = from; d = len(out) - rs }
//	re = to
//
// where d maps an input offset inside the pending run to its output offset.
func (c *canon) canonical(out, in []byte) ([]byte, bool) {
	ms := c.members[:0]
	fs := c.frames[:0]
	var (
		p, q, rs, re, d int
		ch              byte
		ok              bool
		pfx             uint64
		depth           int    // open containers; the innermost is cur*
		curOpen         int    // output offset of its '{' or '['
		curBase         int    // len(ms) when it opened (objects)
		curLast         uint64 // prefix of its last key
		curObj          bool
		curSorted       bool
	)
	d = len(out)
	p = skipWS(in, 0)

value:
	if p >= len(in) || depth > maxJSONDepth {
		goto fail
	}
	ch = in[p]
	switch {
	case ch == '"':
		q = scanValueString(in, p+1)
		if p != re {
			out = flushRun(out, in, rs, re)
			rs, d = p, len(out)-p
		}
		if q < len(in) && in[q] == '"' {
			re, p = q+1, q+1
			break
		}
		if q >= len(in) || in[q] != '\\' {
			goto fail
		}
		out = append(out, in[rs:q]...)
		if out, p, ok = appendEscaped(out, in, q); !ok {
			goto fail
		}
		rs, re, d = p, p, len(out)-p
	case ch == '{' || ch == '[':
		if p != re {
			out = flushRun(out, in, rs, re)
			rs, d = p, len(out)-p
		}
		re = p + 1
		q = skipWS(in, p+1)
		if q < len(in) && in[q] == ch+2 { // '}' is '{'+2, ']' is '['+2
			if q != re {
				out = flushRun(out, in, rs, re)
				rs, d = q, len(out)-q
			}
			re, p = q+1, q+1
			break
		}
		if depth > 0 {
			fs = append(fs, frame{open: curOpen, base: curBase, last: curLast, obj: curObj, sorted: curSorted})
		}
		depth++
		curOpen, curBase, curObj, curSorted = p+d, len(ms), ch == '{', true
		p = q
		if curObj {
			goto member
		}
		goto value
	case ch == '-' || ch-'0' < 10:
		if q = scanNumber(in, p); q < 0 {
			goto fail
		}
		if p != re {
			out = flushRun(out, in, rs, re)
			rs, d = p, len(out)-p
		}
		re, p = q, q
	case ch == 't' || ch == 'f' || ch == 'n':
		if q = scanLiteral(in, p); q < 0 {
			goto fail
		}
		if p != re {
			out = flushRun(out, in, rs, re)
			rs, d = p, len(out)-p
		}
		re, p = q, q
	default:
		goto fail
	}

after:
	if depth == 0 {
		out = flushRun(out, in, rs, re)
		c.members, c.frames = ms[:0], fs[:0]
		return out, skipWS(in, p) == len(in)
	}
	if p < len(in) && in[p] <= ' ' {
		p = skipWS(in, p)
	}
	if p >= len(in) {
		goto fail
	}
	ch = in[p]
	if ch == ',' {
		if p != re {
			out = flushRun(out, in, rs, re)
			rs, d = p, len(out)-p
		}
		re = p + 1
		p = skipWS(in, p+1)
		if curObj {
			goto member
		}
		goto value
	}
	if curObj {
		if ch != '}' {
			goto fail
		}
		if !curSorted {
			out = c.sortMembers(out, in, rs, re, curOpen, ms[curBase:])
			rs, d = re, len(out)-re
		}
		ms = ms[:curBase]
	} else if ch != ']' {
		goto fail
	}
	if p != re {
		out = flushRun(out, in, rs, re)
		rs, d = p, len(out)-p
	}
	re, p = p+1, p+1
	depth--
	if depth > 0 {
		f := &fs[len(fs)-1]
		curOpen, curBase, curLast, curObj, curSorted = f.open, f.base, f.last, f.obj, f.sorted
		fs = fs[:len(fs)-1]
	}
	goto after

member:
	if p >= len(in) || in[p] != '"' {
		goto fail
	}
	q = scanString(in, p+1)
	if p != re {
		out = flushRun(out, in, rs, re)
		rs, d = p, len(out)-p
	}
	if q < len(in) && in[q] == '"' {
		pfx = keyPrefix(in, p, q+1)
		ms = append(ms, member{pfx: pfx, start: p + d})
		re, p = q+1, q+1
	} else {
		if q >= len(in) || in[q] != '\\' {
			goto fail
		}
		q = p + d // the key's output offset
		out = append(out, in[rs:p]...)
		out, p, ok = appendCanonString(out, in, p)
		if !ok {
			goto fail
		}
		rs, re, d = p, p, len(out)-p
		pfx = keyPrefix(out, q, len(out))
		ms = append(ms, member{pfx: pfx, start: q})
	}
	if len(ms) > curBase+1 && curLast >= pfx {
		curSorted = false // or equal prefixes: the sort compares whole keys
	}
	curLast = pfx
	if p < len(in) && in[p] == ':' {
		// compact
	} else {
		p = skipWS(in, p)
		if p >= len(in) || in[p] != ':' {
			goto fail
		}
	}
	if p != re {
		out = flushRun(out, in, rs, re)
		rs, d = p, len(out)-p
	}
	re = p + 1
	p = skipWS(in, p+1)
	goto value

fail:
	c.members, c.frames = ms[:0], fs[:0]
	return out, false
}

// compact is the fast path of canonical for the most common input: JSON
// without whitespace and without escapes in strings. The canonical form is
// then the input with the members of some objects reordered, which keeps
// every value's length: compact copies the input to out and reorders those
// objects in place, innermost first. On anything else (whitespace, an
// escape, invalid JSON) it gives up with ok=false and out[:len(out) before]
// intact, and canonical decides.
func (c *canon) compact(out, in []byte) ([]byte, bool) {
	base := len(out)
	p := skipWS(in, 0) // (leading and trailing whitespace is fine)
	out = append(out, in[p:]...)
	off := base - p // out[off+i] is in[i]
	ms := c.members[:0]
	c.frames = c.frames[:0]
	// The innermost container's state lives in c (memory), not in locals:
	// Go's register allocator shuffles every live local at each label of
	// this loop, and the container state is needed only at its edges.
	cur := &c.cur
	c.depth, c.reordered = 0, 0
	var (
		q, e int
		ch   byte
		pfx  uint64
		w    uint64
	)

value:
	if p >= len(in) {
		goto fail
	}
	ch = in[p]
	switch {
	case ch == '"':
		// scanValueString, inlined: calls spill every live register.
		for q = p + 1; q+8 <= len(in); q += 8 {
			if w = specialMask(binary.LittleEndian.Uint64(in[q:])); w != 0 {
				q += bits.TrailingZeros64(w) >> 3
				goto strEnd
			}
			if q-p >= longString {
				q = scanLongString(in, q+8)
				goto strEnd
			}
		}
		for ; q < len(in); q++ {
			if ch = in[q]; ch == '"' || ch == '\\' || ch < 0x20 {
				break
			}
		}
	strEnd:
		if q >= len(in) || in[q] != '"' {
			goto fail
		}
		p = q + 1
	case ch == '{' || ch == '[':
		if p+1 < len(in) && in[p+1] == ch+2 { // '}' is '{'+2, ']' is '['+2
			p += 2
			break
		}
		// A value nested in more than maxJSONDepth containers is refused:
		// a container at that depth must be empty.
		if c.depth >= maxJSONDepth {
			goto fail
		}
		if c.depth > 0 {
			c.frames = append(c.frames, *cur)
		}
		c.depth++
		*cur = frame{open: p, base: len(ms), seen: c.reordered, obj: ch == '{', sorted: true}
		p++
		if ch == '{' {
			goto member
		}
		goto value
	case ch-'1' < 9:
		// An integer without a sign, inline (most numbers); any other
		// number, and one that ends the input, is scanNumber's.
		for q = p + 1; q < len(in) && in[q]-'0' < 10; q++ {
		}
		if q < len(in) && in[q] != '.' && in[q]|0x20 != 'e' {
			p = q
			break
		}
		if p = scanNumber(in, p); p < 0 {
			goto fail
		}
	case ch == '-' || ch == '0':
		if p = scanNumber(in, p); p < 0 {
			goto fail
		}
	case ch == 't' || ch == 'f' || ch == 'n':
		if p = scanLiteral(in, p); p < 0 {
			goto fail
		}
	default:
		goto fail
	}

after:
	if p >= len(in) {
		if c.depth == 0 {
			c.members = ms[:0]
			return out[:off+p], true
		}
		goto fail
	}
	ch = in[p]
	p++
	if ch == ',' {
		if c.depth == 0 {
			goto fail
		}
		if cur.obj {
			goto member
		}
		goto value
	}
	if ch == '}' && c.depth > 0 && cur.obj {
		if !cur.sorted {
			out = c.reorder(out, in, off, p, ms[cur.base:])
		}
		ms = ms[:cur.base]
	} else if ch != ']' || c.depth == 0 || cur.obj {
		if c.depth == 0 && skipWS(in, p-1) == len(in) {
			c.members = ms[:0]
			return out[:off+p-1], true
		}
		goto fail
	}
	c.depth--
	if c.depth > 0 {
		*cur = c.frames[len(c.frames)-1]
		c.frames = c.frames[:len(c.frames)-1]
	}
	goto after

member:
	if p >= len(in) || in[p] != '"' {
		goto fail
	}
	q = p + 1
	if p+9 <= len(in) {
		// The key's first word ends most keys, and byte-swapped it is the
		// key's prefix (keyPrefix, inlined; masked below): one load.
		w = binary.LittleEndian.Uint64(in[q:])
		pfx = bits.ReverseBytes64(w)
		if w = specialMask(w); w != 0 {
			q += bits.TrailingZeros64(w) >> 3
			goto keyEnd
		}
		q += 8
	}
	for ; q+8 <= len(in); q += 8 {
		if w = specialMask(binary.LittleEndian.Uint64(in[q:])); w != 0 {
			q += bits.TrailingZeros64(w) >> 3
			goto keyEnd
		}
	}
	for ; q < len(in); q++ {
		if ch = in[q]; ch == '"' || ch == '\\' || ch < 0x20 {
			break
		}
	}
keyEnd:
	if q >= len(in) || in[q] != '"' {
		goto fail
	}
	if e = q - p; p+9 <= len(in) {
		// pfx holds the 8 bytes after the quote: drop those past the key.
		if e < 8 {
			pfx &= ^uint64(0) << (8 * (8 - e) & 63) // (& 63: no check for shifts of 64 and more)
		}
	} else {
		pfx = keyPrefix(in, p, q+1)
	}
	ms = append(ms, member{pfx: pfx, start: p})
	if len(ms) > cur.base+1 && cur.last >= pfx {
		cur.sorted = false // or equal prefixes: the sort compares whole keys
	}
	cur.last = pfx
	p = q + 1
	if p >= len(in) || in[p] != ':' {
		goto fail
	}
	p++
	goto value

fail:
	c.members = ms[:0]
	return out[:base], false
}

// reorder writes the members ms of the object that ends before in[end] (the
// '}' at end-1) in key order, in place in out (where out[off+i] is in[i]).
// Keys are compared in the input (they did not move); values are copied
// from it unless an object inside was reordered.
func (c *canon) reorder(out, in []byte, off, end int, ms []member) []byte {
	cur := &c.cur
	src, shift := in, 0
	if c.reordered > cur.seen {
		c.scratch = append(c.scratch[:0], out[off+cur.open:off+end]...)
		src, shift = c.scratch, -cur.open
	}
	w := off + cur.open + 1
	for i, x := range c.memberOrder(in, 0, ms) {
		if i > 0 {
			out[w] = ','
			w++
		}
		e := end - 1 // the '}'
		if int(x)+1 < len(ms) {
			e = ms[x+1].start - 1 // the ','
		}
		m := src[ms[x].start+shift : e+shift]
		// Members are mostly short (at least 4 bytes: `"":0`): up to 32
		// bytes, overlapping word moves beat a call to memmove (and the
		// register spills around it).
		switch n := len(m); {
		case n >= 8 && n <= 16:
			d := out[w : w+n]
			binary.LittleEndian.PutUint64(d, binary.LittleEndian.Uint64(m))
			binary.LittleEndian.PutUint64(d[n-8:], binary.LittleEndian.Uint64(m[n-8:]))
			w += n
		case n > 16 && n <= 32:
			d := out[w : w+n]
			binary.LittleEndian.PutUint64(d, binary.LittleEndian.Uint64(m))
			binary.LittleEndian.PutUint64(d[8:], binary.LittleEndian.Uint64(m[8:]))
			binary.LittleEndian.PutUint64(d[n-16:], binary.LittleEndian.Uint64(m[n-16:]))
			binary.LittleEndian.PutUint64(d[n-8:], binary.LittleEndian.Uint64(m[n-8:]))
			w += n
		case n >= 4 && n < 8:
			d := out[w : w+n]
			binary.LittleEndian.PutUint32(d, binary.LittleEndian.Uint32(m))
			binary.LittleEndian.PutUint32(d[n-4:], binary.LittleEndian.Uint32(m[n-4:]))
			w += n
		default:
			w += copy(out[w:], m)
		}
	}
	c.reordered++
	return out
}

// skipWS returns the position of the first non-whitespace byte at or after p.
func skipWS(in []byte, p int) int {
	if p < len(in) && in[p] > ' ' {
		return p // the common case: compact JSON
	}
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

// scanNumber returns the end of the number literal at in[p], or -1.
func scanNumber(in []byte, p int) int {
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
		return -1
	}
	if p < len(in) && in[p] == '.' {
		p++
		d := p
		for p < len(in) && '0' <= in[p] && in[p] <= '9' {
			p++
		}
		if p == d {
			return -1
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
			return -1
		}
	}
	return p
}

// scanLiteral returns the end of the true, false or null at in[p], or -1.
func scanLiteral(in []byte, p int) int {
	var lit string
	switch in[p] {
	case 't':
		lit = "true"
	case 'f':
		lit = "false"
	default:
		lit = "null"
	}
	if len(in)-p < len(lit) || string(in[p:p+len(lit)]) != lit {
		return -1
	}
	return p + len(lit)
}

// scanString returns the position of the first '"', '\\' or control
// character at or after p (inside a string), or len(in). It looks at 8
// bytes at a time.
func scanString(in []byte, p int) int {
	for p+8 <= len(in) {
		if m := specialMask(binary.LittleEndian.Uint64(in[p:])); m != 0 {
			// The lowest flagged byte is exact (false positives of these
			// tricks only occur above a true one).
			return p + bits.TrailingZeros64(m)>>3
		}
		p += 8
	}
	for p < len(in) {
		if ch := in[p]; ch == '"' || ch == '\\' || ch < 0x20 {
			return p
		}
		p++
	}
	return p
}

// longString is how far (in bytes) a value string is scanned a word at a
// time before scanLongString takes over: most strings (ids, amounts,
// names) end sooner, and its calls cost more than the words they save.
const longString = 32

// scanValueString is scanString for a string value, which may be long (a
// note, a description, base64 data).
func scanValueString(in []byte, p int) int {
	for q := p; q+8 <= len(in); q += 8 {
		if m := specialMask(binary.LittleEndian.Uint64(in[q:])); m != 0 {
			return q + bits.TrailingZeros64(m)>>3
		}
		if q-p >= longString {
			return scanLongString(in, q+8)
		}
	}
	return scanString(in, p)
}

// scanLongString returns what scanString does, faster for a long string: it
// finds the next '"' with bytes.IndexByte (vector instructions), then checks
// the bytes before it for '\\' (IndexByte again) and control characters
// (hasControl). Only when there is one does it scan again with scanString,
// for the exact position: at most two passes, never more.
func scanLongString(in []byte, p int) int {
	e := bytes.IndexByte(in[p:], '"')
	if e < 0 {
		return scanString(in, p)
	}
	seg := in[p : p+e]
	if bytes.IndexByte(seg, '\\') >= 0 || hasControl(seg) {
		return scanString(in, p)
	}
	return p + e
}

// hasControl reports whether b holds a byte below 0x20. It ORs the words'
// flags together and tests once at the end: no branch per word. (A flag
// that is a false positive sits above a true one in its word.)
func hasControl(b []byte) bool {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	var acc uint64
	for len(b) >= 16 {
		w, v := binary.LittleEndian.Uint64(b), binary.LittleEndian.Uint64(b[8:])
		acc |= (w-lo*0x20)&^w | (v-lo*0x20)&^v
		b = b[16:]
	}
	for len(b) >= 8 {
		w := binary.LittleEndian.Uint64(b)
		acc |= (w - lo*0x20) &^ w
		b = b[8:]
	}
	for _, ch := range b {
		if ch < 0x20 {
			return true
		}
	}
	return acc&hi != 0
}

// specialMask flags (high bit of the byte) the bytes of w that are '"', '\\'
// or a control character (below 0x20): the bytes that end a string's fast
// path.
func specialMask(w uint64) uint64 {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	ctl := (w - lo*0x20) &^ w & hi
	q := w ^ (lo * '"')
	quote := (q - lo) &^ q & hi
	b := w ^ (lo * '\\')
	bs := (b - lo) &^ b & hi
	return ctl | quote | bs
}

// appendCanonString appends the canonical form of the JSON string at in[p]
// (its opening quote) and returns the position after it.
func appendCanonString(out, in []byte, p int) ([]byte, int, bool) {
	q := scanString(in, p+1)
	if q < len(in) && in[q] == '"' {
		return append(out, in[p:q+1]...), q + 1, true
	}
	if q >= len(in) || in[q] != '\\' {
		return out, p, false
	}
	return appendEscaped(append(out, in[p:q]...), in, q)
}

var unescapeTable = [256]byte{'"': '"', '\\': '\\', '/': '/', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t'}

// appendEscaped is the slow path of a string: from in[p] (inside the string,
// the bytes before already written) to its closing quote, it decodes escapes
// and writes the minimal re-escaping. It returns the position after the
// closing quote.
func appendEscaped(out, in []byte, p int) ([]byte, int, bool) {
	for p < len(in) {
		ch := in[p]
		switch {
		case ch == '"':
			return append(out, '"'), p + 1, true
		case ch < 0x20:
			return out, p, false
		case ch != '\\':
			out = append(out, ch)
			p++
			continue
		}
		if p+1 >= len(in) {
			return out, p, false
		}
		e := in[p+1]
		p += 2
		switch e {
		case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			out = appendEscapedRune(out, rune(unescapeTable[e]))
		case 'u':
			r, ok := hex4(in, p)
			if !ok {
				return out, p, false
			}
			p += 4
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if p+6 <= len(in) && in[p] == '\\' && in[p+1] == 'u' {
					if v, ok := hex4(in, p+2); ok {
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
			out = appendEscapedRune(out, r)
		default:
			return out, p, false
		}
	}
	return out, p, false
}

// appendEscapedRune writes r escaped minimally: '"', '\\' and control characters.
func appendEscapedRune(out []byte, r rune) []byte {
	switch {
	case r == '"':
		return append(out, '\\', '"')
	case r == '\\':
		return append(out, '\\', '\\')
	case r < 0x20:
		const hexDigits = "0123456789abcdef"
		return append(out, '\\', 'u', '0', '0', hexDigits[r>>4], hexDigits[r&0xf])
	default:
		return utf8.AppendRune(out, r)
	}
}

func hex4(in []byte, p int) (rune, bool) {
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

// sortMembers writes the members of one object (whose '{' is at output offset
// open; the members so far are out[open+1:] followed by the pending run
// in[rs:re]) in key order and returns the new out; the pending run is
// consumed. When the whole object is still in the pending run (a compact
// object without escapes, typically one without nested objects), the
// members are copied from the input in their new order, else from a copy of
// the output.
func (c *canon) sortMembers(out, in []byte, rs, re, open int, ms []member) []byte {
	var src []byte
	shift := rs - len(out) // src offset of an output offset
	end := re - shift      // output offset of the object's '}'
	if open >= len(out) {
		src = in
		out = flushRun(out, in, rs, open+shift+1)
	} else {
		out = flushRun(out, in, rs, re)
		c.scratch = append(c.scratch[:0], out[open:]...)
		src, shift = c.scratch, -open
		out = out[:open+1]
	}
	for i, x := range c.memberOrder(src, shift, ms) {
		if i > 0 {
			out = append(out, ',')
		}
		e := end // member x ends before the next one's ',' or the '}'
		if int(x)+1 < len(ms) {
			e = ms[x+1].start - 1
		}
		out = append(out, src[ms[x].start+shift:e+shift]...)
	}
	return out
}

// memberOrder returns the indices of ms in the order of their keys (found
// at offset shift in src), stable, and sets dupKeys on repeated keys.
func (c *canon) memberOrder(src []byte, shift int, ms []member) []int32 {
	n := len(ms)
	idx := c.idx
	if cap(idx) < n {
		idx = make([]int32, n, max(n, 16))
		c.idx = idx
	}
	idx = idx[:n]
	if n > len(c.permPfx) {
		for i := range idx {
			idx[i] = int32(i)
		}
		c.permN = -1 // idx no longer holds the cached order
		slices.SortStableFunc(idx, func(a, b int32) int { return compareMembers(src, shift, &ms[a], &ms[b]) })
		for i := 1; i < n; i++ {
			if compareMembers(src, shift, &ms[idx[i-1]], &ms[idx[i]]) == 0 {
				c.dupKeys = true
			}
		}
		return idx
	}
	// Objects of one array usually share their keys in the same order: the
	// order found for the previous object is reused when the key prefixes
	// are the same and all different (then they alone decide the order).
	if n == c.permN {
		pfx := c.permPfx[:n]
		i := 0
		for i < len(pfx) && pfx[i] == ms[i].pfx {
			i++
		}
		if i == n {
			return idx // still the order found last
		}
	}
	// Insertion sort: stable, and faster than a general sort for the
	// handful of members a typical object has.
	for i := range idx {
		idx[i] = int32(i)
	}
	for i := 1; i < n; i++ {
		x := idx[i]
		j := i
		for j > 0 && compareMembers(src, shift, &ms[idx[j-1]], &ms[x]) > 0 {
			idx[j] = idx[j-1]
			j--
		}
		idx[j] = x
	}
	distinct := true
	for i := 1; i < n; i++ {
		if ms[idx[i-1]].pfx == ms[idx[i]].pfx {
			distinct = false
			if compareMembers(src, shift, &ms[idx[i-1]], &ms[idx[i]]) == 0 {
				c.dupKeys = true
			}
		}
	}
	c.permN = -1
	if distinct {
		c.permN = n
		for i := range ms {
			c.permPfx[i] = ms[i].pfx
		}
	}
	return idx
}

// compareMembers orders two members by their canonical keys, at offset
// shift in src. Equal prefixes are rare (long common key prefixes,
// duplicates): only then are the whole keys compared.
func compareMembers(src []byte, shift int, a, b *member) int {
	if a.pfx != b.pfx {
		if a.pfx < b.pfx {
			return -1
		}
		return 1
	}
	return bytes.Compare(quotedKey(src, a.start+shift), quotedKey(src, b.start+shift))
}

// quotedKey returns the canonical quoted key at src[start:].
func quotedKey(src []byte, start int) []byte {
	for p := start + 1; p < len(src); p++ {
		switch src[p] {
		case '\\':
			p++
		case '"':
			return src[start : p+1]
		}
	}
	return src[start:]
}
