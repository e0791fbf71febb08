package idempotency

import (
	"errors"
	"fmt"
)

// ErrInvalidKey is wrapped by every key rejection (empty, too long, non-printable,
// wrongly formatted, or more than one key). The HTTP middleware answers it with 400.
var ErrInvalidKey = errors.New("idempotency: invalid key")

// ParseKeyHeader parses one Idempotency-Key header field value. It accepts the
// IETF Structured Field string form (`"abc"`, RFC 8941 sf-string with `\"` and
// `\\` escapes) and the bare form (`abc`, visible ASCII without quotes). Leading
// and trailing spaces/tabs are ignored. Anything else, an empty key and a key
// longer than maxLen bytes are errors wrapping ErrInvalidKey.
func ParseKeyHeader(v string, maxLen int) (string, error) {
	v = trimOWS(v)
	if v == "" {
		return "", fmt.Errorf("%w: empty key", ErrInvalidKey)
	}
	if v[0] != '"' {
		for i := 0; i < len(v); i++ {
			if c := v[i]; c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
				return "", fmt.Errorf("%w: byte %d is %q, want visible ASCII or a quoted structured-field string", ErrInvalidKey, i, c)
			}
		}
		return checkLen(v, maxLen)
	}
	// sf-string: DQUOTE *( unescaped / "\" ( DQUOTE / "\" ) ) DQUOTE
	escaped := false
	end := -1
	for i := 1; i < len(v); i++ {
		c := v[i]
		if c == '\\' {
			if i+1 >= len(v) || (v[i+1] != '"' && v[i+1] != '\\') {
				return "", fmt.Errorf("%w: bad escape in structured-field string", ErrInvalidKey)
			}
			escaped = true
			i++
			continue
		}
		if c == '"' {
			end = i
			break
		}
		if c < 0x20 || c > 0x7e {
			return "", fmt.Errorf("%w: byte %d is %q, want printable ASCII", ErrInvalidKey, i, c)
		}
	}
	if end < 0 {
		return "", fmt.Errorf("%w: unterminated structured-field string", ErrInvalidKey)
	}
	if end != len(v)-1 {
		return "", fmt.Errorf("%w: want one structured-field string, got trailing %q", ErrInvalidKey, v[end+1:])
	}
	s := v[1:end]
	if escaped {
		b := make([]byte, 0, len(s))
		for i := 0; i < len(s); i++ {
			if s[i] == '\\' {
				i++
			}
			b = append(b, s[i])
		}
		s = string(b)
	}
	if s == "" {
		return "", fmt.Errorf("%w: empty key", ErrInvalidKey)
	}
	return checkLen(s, maxLen)
}

func checkLen(s string, maxLen int) (string, error) {
	if len(s) > maxLen {
		return "", fmt.Errorf("%w: %d bytes long, want at most %d", ErrInvalidKey, len(s), maxLen)
	}
	return s, nil
}

// checkKey validates a key from a non-header source (query, body field, Do):
// 1..maxLength printable ASCII.
func checkKey(s string, maxLen int) error {
	if s == "" {
		return fmt.Errorf("%w: empty key", ErrInvalidKey)
	}
	if len(s) > maxLen {
		return fmt.Errorf("%w: %d bytes long, want at most %d", ErrInvalidKey, len(s), maxLen)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e {
			return fmt.Errorf("%w: byte %d is %q, want printable ASCII", ErrInvalidKey, i, c)
		}
	}
	return nil
}

// checkFormat applies key.format to an already length-checked key.
func (c *compiled) checkFormat(key string) error {
	switch c.format {
	case FormatUUID:
		if !isUUID(key) {
			return fmt.Errorf("%w: want a UUID like 123e4567-e89b-12d3-a456-426614174000, got %q", ErrInvalidKey, key)
		}
	case FormatULID:
		if !isULID(key) {
			return fmt.Errorf("%w: want a ULID like 01ARZ3NDEKTSV4RRFFQ69G5FAV, got %q", ErrInvalidKey, key)
		}
	case FormatPattern:
		if !c.pattern.MatchString(key) {
			return fmt.Errorf("%w: want a key matching %s, got %q", ErrInvalidKey, c.pattern, key)
		}
	}
	return nil
}

func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		c := s[i]
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if c != '-' {
				return false
			}
			continue
		}
		if !isHex(c) {
			return false
		}
	}
	return true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// isULID checks the 26-character Crockford base32 form whose first character
// keeps the value within 128 bits.
func isULID(s string) bool {
	if len(s) != 26 || s[0] > '7' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		switch {
		case '0' <= c && c <= '9':
		case 'A' <= c && c <= 'Z' && c != 'I' && c != 'L' && c != 'O' && c != 'U':
		default:
			return false
		}
	}
	return true
}

func trimOWS(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}
