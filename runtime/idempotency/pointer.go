package idempotency

import "bytes"

// lookup returns the raw JSON value at the JSON Pointer tokens ptr in the JSON
// text data, or ok=false when data is not JSON or the value is absent.
func lookupPointer(data []byte, ptr []string) (raw []byte, ok bool) {
	s := scanner{in: data}
	s.skipWS()
	for _, tok := range ptr {
		if s.pos >= len(s.in) {
			return nil, false
		}
		switch s.in[s.pos] {
		case '{':
			if !s.findMember(tok) {
				return nil, false
			}
		case '[':
			idx, okIdx := arrayIndex(tok)
			if !okIdx || !s.findIndex(idx) {
				return nil, false
			}
		default:
			return nil, false
		}
	}
	start := s.pos
	if !s.skipValue(0) {
		return nil, false
	}
	return data[start:s.pos], true
}

func arrayIndex(tok string) (int, bool) {
	if tok == "" || (len(tok) > 1 && tok[0] == '0') || len(tok) > 9 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(tok); i++ {
		if tok[i] < '0' || tok[i] > '9' {
			return 0, false
		}
		n = n*10 + int(tok[i]-'0')
	}
	return n, true
}

// scanner walks JSON without building anything (for pointer lookups).
type scanner struct {
	in  []byte
	pos int
}

func (s *scanner) skipWS() { s.pos = skipWS(s.in, s.pos) }

// findMember, positioned on '{', moves to the value of member name.
func (s *scanner) findMember(name string) bool {
	s.pos++
	for {
		s.skipWS()
		if s.pos >= len(s.in) || s.in[s.pos] != '"' {
			return false
		}
		kstart := s.pos
		if !s.skipString() {
			return false
		}
		key := s.in[kstart:s.pos]
		s.skipWS()
		if s.pos >= len(s.in) || s.in[s.pos] != ':' {
			return false
		}
		s.pos++
		s.skipWS()
		if keyEquals(key, name) {
			return true
		}
		if !s.skipValue(0) || !s.comma() {
			return false
		}
	}
}

// keyEquals compares a quoted JSON string with name, decoding escapes if any.
func keyEquals(quoted []byte, name string) bool {
	inner := quoted[1 : len(quoted)-1]
	if bytes.IndexByte(inner, '\\') < 0 {
		return string(inner) == name
	}
	c := getCanon()
	defer putCanon(c)
	out, _, ok := appendCanonString(c.out[:0], quoted, 0)
	if !ok {
		c.out = out[:0]
		return false
	}
	// out is the minimally escaped form; compare with name escaped the same way.
	n := len(out)
	out = append(out, '"')
	for _, r := range name {
		out = appendEscapedRune(out, r)
	}
	out = append(out, '"')
	c.out = out[:0]
	return bytes.Equal(out[:n], out[n:])
}

// findIndex, positioned on '[', moves to element idx.
func (s *scanner) findIndex(idx int) bool {
	s.pos++
	for i := 0; ; i++ {
		s.skipWS()
		if s.pos < len(s.in) && s.in[s.pos] == ']' {
			return false
		}
		if i == idx {
			return true
		}
		if !s.skipValue(0) || !s.comma() {
			return false
		}
	}
}

// comma moves past the ',' that must follow a member or element.
func (s *scanner) comma() bool {
	s.skipWS()
	if s.pos >= len(s.in) || s.in[s.pos] != ',' {
		return false
	}
	s.pos++
	return true
}

func (s *scanner) skipString() bool {
	for p := s.pos + 1; p < len(s.in); p++ {
		switch s.in[p] {
		case '\\':
			p++
		case '"':
			s.pos = p + 1
			return true
		}
	}
	return false
}

// skipValue moves past one value; it checks structure, not every literal.
func (s *scanner) skipValue(depth int) bool {
	if s.pos >= len(s.in) || depth > maxJSONDepth {
		return false
	}
	switch s.in[s.pos] {
	case '"':
		return s.skipString()
	case '{', '[':
		closer := byte('}')
		if s.in[s.pos] == '[' {
			closer = ']'
		}
		s.pos++
		for {
			s.skipWS()
			if s.pos >= len(s.in) {
				return false
			}
			switch s.in[s.pos] {
			case closer:
				s.pos++
				return true
			case ',', ':':
				s.pos++
			default:
				if !s.skipValue(depth + 1) {
					return false
				}
			}
		}
	default:
		start := s.pos
		for s.pos < len(s.in) {
			switch s.in[s.pos] {
			case ',', '}', ']', ' ', '\t', '\n', '\r', ':':
				return s.pos > start
			}
			s.pos++
		}
		return s.pos > start
	}
}

// stringValue decodes a raw JSON string value; ok=false for other values.
func stringValue(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return "", false
	}
	inner := raw[1 : len(raw)-1]
	if bytes.IndexByte(inner, '\\') < 0 {
		return string(inner), true
	}
	c := getCanon()
	defer putCanon(c)
	enc, _, ok := appendCanonString(c.out[:0], raw, 0)
	c.out = enc[:0]
	if !ok {
		return "", false
	}
	// Undo the minimal re-escaping of '"', '\\' and control characters.
	out := make([]byte, 0, len(enc))
	for i := 1; i < len(enc)-1; i++ {
		ch := enc[i]
		if ch == '\\' {
			i++
			switch enc[i] {
			case 'u':
				r, _ := hex4(enc, i+1)
				out = append(out, byte(r))
				i += 4
			default:
				out = append(out, enc[i])
			}
			continue
		}
		out = append(out, ch)
	}
	return string(out), true
}
