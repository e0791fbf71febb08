package validate

import (
	"bytes"
	"encoding/json"
	"math"
	"net/mail"
	"net/netip"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

// MinLength reports whether s has at least n characters (Unicode code points,
// as JSON Schema counts them, not bytes).
func MinLength(s string, n int) bool {
	return len(s) >= 4*n || utf8.RuneCountInString(s) >= n
}

// MaxLength reports whether s has at most n characters.
func MaxLength(s string, n int) bool {
	return len(s) <= n || utf8.RuneCountInString(s) <= n
}

// MultipleOf reports whether x is a multiple of m (m > 0), allowing for the
// rounding of binary floating point (0.3 is a multiple of 0.1).
func MultipleOf(x, m float64) bool {
	q := x / m
	if math.IsInf(q, 0) || math.IsNaN(q) {
		return false
	}
	return math.Abs(q-math.Round(q)) <= 1e-9*math.Max(1, math.Abs(q))
}

// Unique returns the index of the first item of xs equal to an earlier one,
// or -1 when all are distinct. It is for items of a scalar type.
func Unique[T comparable](xs []T) int {
	if len(xs) < 2 {
		return -1
	}
	if len(xs) <= 16 { // no map for short arrays
		for i := 1; i < len(xs); i++ {
			for j := 0; j < i; j++ {
				if xs[i] == xs[j] {
					return i
				}
			}
		}
		return -1
	}
	seen := make(map[T]struct{}, len(xs))
	for i, x := range xs {
		if _, ok := seen[x]; ok {
			return i
		}
		seen[x] = struct{}{}
	}
	return -1
}

// UniqueJSON is Unique for items that are not scalars (objects, arrays):
// two items are equal when they encode to the same JSON. Struct fields encode
// in a fixed order and map keys sorted, so equal values encode alike.
func UniqueJSON[T any](xs []T) int {
	if len(xs) < 2 {
		return -1
	}
	seen := make(map[string]struct{}, len(xs))
	for i, x := range xs {
		b, err := json.Marshal(x)
		if err != nil {
			continue
		}
		if _, ok := seen[string(b)]; ok {
			return i
		}
		seen[string(b)] = struct{}{}
	}
	return -1
}

// Date reports an RFC 3339 full-date: 2026-12-07.
func Date(s string) bool {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return false
	}
	y, ok1 := digits(s[0:4])
	m, ok2 := digits(s[5:7])
	d, ok3 := digits(s[8:10])
	return ok1 && ok2 && ok3 && 1 <= m && m <= 12 && 1 <= d && d <= daysIn(m, y)
}

// digits is the value of s, all ASCII digits.
func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// daysIn is the number of days of month m of year y.
func daysIn(m, y int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// Time reports an RFC 3339 full-time: 13:20:00Z, 13:20:00.5+01:00.
func Time(s string) bool {
	// The common form, hh:mm:ss[.frac]Z, without the time package's parser.
	if len(s) >= 9 && s[2] == ':' && s[5] == ':' && s[len(s)-1] == 'Z' {
		h, ok1 := digits(s[0:2])
		m, ok2 := digits(s[3:5])
		sec, ok3 := digits(s[6:8])
		frac := s[8 : len(s)-1]
		_, ok4 := digits(strings.TrimPrefix(frac, "."))
		if ok1 && ok2 && ok3 && ok4 && (frac == "" || len(frac) > 1 && frac[0] == '.') {
			return h < 24 && m < 60 && sec < 60
		}
	}
	_, err := time.Parse("15:04:05Z07:00", s)
	return err == nil
}

// DateTime reports an RFC 3339 date-time: 2026-12-07T13:20:00Z.
func DateTime(s string) bool {
	_, err := time.Parse(time.RFC3339Nano, s)
	return err == nil
}

// UUID reports a UUID in its 8-4-4-4-12 hexadecimal form (any version).
func UUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// Email reports a bare RFC 5322 address (local@domain, no display name).
func Email(s string) bool {
	// dot-atom@dot-atom, the common form, is an addr-spec net/mail accepts
	// as is; anything else (quoted local parts, domain literals, invalid
	// text) is left to net/mail.
	if local, domain, ok := strings.Cut(s, "@"); ok && dotAtom(local) && dotAtom(domain) {
		return true
	}
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s && a.Name == ""
}

// dotAtom reports RFC 5322 dot-atom text: atoms of atext joined by dots.
func dotAtom(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '.':
			if s[i-1] == '.' {
				return false
			}
		case strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// Hostname reports an RFC 1123 host name: dot-separated labels of letters,
// digits and hyphens, 1–63 characters each, not starting or ending with a
// hyphen, 253 characters in all.
func Hostname(s string) bool {
	s = strings.TrimSuffix(s, ".")
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// URI reports an absolute URI (with a scheme), as format uri requires.
func URI(s string) bool {
	if plainURI(s) {
		return true
	}
	u, err := url.Parse(s)
	return err == nil && u.Scheme != "" && !strings.ContainsAny(s, " \t\n")
}

// plainURI reports the common form scheme://host[:port][/path][?query][#fragment]
// with a plain host name and only unreserved, sub-delimiter, ":@/?" and
// valid %XX characters after it: url.Parse accepts all of these, so URI
// need not call it (it allocates). Anything else goes to url.Parse.
func plainURI(s string) bool {
	colon := strings.Index(s, "://")
	if colon < 1 || !isAlpha(s[0]) {
		return false
	}
	for i := 1; i < colon; i++ {
		if c := s[i]; !isAlpha(c) && !isDigit(c) && c != '+' && c != '-' && c != '.' {
			return false
		}
	}
	rest := s[colon+3:]
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	host, port, hasPort := strings.Cut(rest[:end], ":")
	if host == "" || hasPort && port == "" {
		return false
	}
	for i := 0; i < len(host); i++ {
		if c := host[i]; !isAlpha(c) && !isDigit(c) && c != '-' && c != '.' {
			return false
		}
	}
	for i := 0; i < len(port); i++ {
		if !isDigit(port[i]) {
			return false
		}
	}
	fragment := false
	for i := end; i < len(rest); i++ {
		c := rest[i]
		switch {
		case isAlpha(c) || isDigit(c) || strings.IndexByte("-._~!$&'()*+,;=:@/?", c) >= 0:
		case c == '%':
			if i+2 >= len(rest) || !isHex(rest[i+1]) || !isHex(rest[i+2]) {
				return false
			}
			i += 2
		case c == '#' && !fragment:
			fragment = true
		default:
			return false
		}
	}
	return true
}

func isAlpha(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
func isDigit(c byte) bool { return '0' <= c && c <= '9' }
func isHex(c byte) bool   { return isDigit(c) || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }

// IPv4 reports a dotted-quad IPv4 address.
func IPv4(s string) bool {
	a, err := netip.ParseAddr(s)
	return err == nil && a.Is4()
}

// IPv6 reports an IPv6 address (no zone).
func IPv6(s string) bool {
	a, err := netip.ParseAddr(s)
	return err == nil && a.Is6() && a.Zone() == ""
}

// Null reports JSON that is absent (empty) or null.
func Null(raw []byte) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) == 0 || string(raw) == "null"
}

// Matches reports whether the JSON raw, already decoded as a variant of a
// oneOf or anyOf, matches it: it carries the members shape requires (nil:
// none) and check (nil: none) finds no violation.
func Matches(raw []byte, shape *Shape, check func(*Errors)) bool {
	var e Errors
	if shape != nil {
		Required(raw, shape, &e)
	}
	if check != nil {
		check(&e)
	}
	return len(e.list) == 0
}
