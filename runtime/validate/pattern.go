package validate

import (
	"regexp"
	"regexp/syntax"
)

// Pattern is a schema's pattern, compiled once. The common shape of a
// pattern — one ASCII character class repeated over the whole string, like
// ^[A-Z]+$ or ^[a-f0-9]{8}$ — is matched with a byte table instead of the
// regexp machine (a fifth of the cost); every other pattern uses regexp.
type Pattern struct {
	re *regexp.Regexp
	// set, min and max are the class and bounds of the fast shape (set nil:
	// not that shape; max < 0: unbounded).
	set      *[256]bool
	min, max int
}

// MustPattern compiles expr (Go's RE2 syntax) and panics if it cannot: the
// generator only emits patterns that compile.
func MustPattern(expr string) *Pattern {
	p := &Pattern{re: regexp.MustCompile(expr)}
	p.set, p.min, p.max = classRepeat(expr)
	return p
}

// MatchString reports whether s contains a match of the pattern (JSON
// Schema patterns are not implicitly anchored).
func (p *Pattern) MatchString(s string) bool {
	if p.set == nil {
		return p.re.MatchString(s)
	}
	if len(s) < p.min || p.max >= 0 && len(s) > p.max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !p.set[s[i]] {
			return false
		}
	}
	return true
}

// String returns the pattern's source text.
func (p *Pattern) String() string { return p.re.String() }

// classRepeat recognises ^C*$, ^C+$ and ^C{n,m}$ for an ASCII character
// class C, returning the class as a byte table and the length bounds.
func classRepeat(expr string) (*[256]bool, int, int) {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return nil, 0, 0
	}
	if re.Op != syntax.OpConcat || len(re.Sub) != 3 || re.Sub[0].Op != syntax.OpBeginText || re.Sub[2].Op != syntax.OpEndText {
		return nil, 0, 0
	}
	rep := re.Sub[1]
	lo, hi := 0, -1
	switch rep.Op {
	case syntax.OpStar:
	case syntax.OpPlus:
		lo = 1
	case syntax.OpRepeat:
		lo, hi = rep.Min, rep.Max
	case syntax.OpCharClass, syntax.OpLiteral: // one character: ^C$
		return table(rep, 1, 1)
	default:
		return nil, 0, 0
	}
	if len(rep.Sub) != 1 {
		return nil, 0, 0
	}
	return table(rep.Sub[0], lo, hi)
}

// table is the byte table of the ASCII class (or literal) c.
func table(c *syntax.Regexp, lo, hi int) (*[256]bool, int, int) {
	var set [256]bool
	switch c.Op {
	case syntax.OpCharClass:
		for i := 0; i+1 < len(c.Rune); i += 2 {
			if c.Rune[i+1] >= 0x80 {
				return nil, 0, 0
			}
			for r := c.Rune[i]; r <= c.Rune[i+1]; r++ {
				set[r] = true
			}
		}
	case syntax.OpLiteral:
		if len(c.Rune) != 1 || c.Rune[0] >= 0x80 || c.Flags&syntax.FoldCase != 0 {
			return nil, 0, 0
		}
		set[c.Rune[0]] = true
	default:
		return nil, 0, 0
	}
	return &set, lo, hi
}
