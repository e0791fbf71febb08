package loader

import (
	"go/token"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/idemgen/idemgen/generator/model"
)

// initialisms are written in upper case when they form a whole word, as Go
// style wants ("user_id" -> "UserID").
var initialisms = map[string]bool{
	"api": true, "css": true, "dns": true, "eof": true, "html": true, "http": true,
	"https": true, "id": true, "ip": true, "json": true, "sql": true, "ttl": true,
	"uid": true, "ui": true, "uri": true, "url": true, "uuid": true, "xml": true,
}

// ident turns any string (an operationId, a property name such as "2fa-code",
// a path) into an exported Go identifier: words split at every character that
// cannot be part of an identifier, each capitalised; a leading digit gets an
// "N" prefix, and a name with no usable character becomes "X".
func ident(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 1)
	word := make([]rune, 0, 16)
	flush := func() {
		if len(word) == 0 {
			return
		}
		w := string(word)
		if lw := strings.ToLower(w); initialisms[lw] && (w == lw || w == strings.ToUpper(w)) {
			b.WriteString(strings.ToUpper(w))
		} else {
			b.WriteRune(unicode.ToUpper(word[0]))
			b.WriteString(string(word[1:]))
		}
		word = word[:0]
	}
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			word = append(word, r)
			continue
		}
		flush()
	}
	flush()
	out := b.String()
	if out == "" {
		return "X"
	}
	first, _ := utf8.DecodeRuneInString(out)
	if unicode.IsDigit(first) {
		out = "N" + out
	} else if !token.IsExported(out) {
		out = "X" + out
	}
	return out
}

// identSuffix is ident for a part appended to an identifier: a leading digit
// needs no prefix there ("201" stays "201", "2XX" stays "2XX").
func identSuffix(s string) string {
	id := ident(s)
	if len(id) > 1 && id[0] == 'N' && len(s) > 0 && s[0] >= '0' && s[0] <= '9' {
		return id[1:]
	}
	if id == "X" {
		return ""
	}
	return id
}

// nameSet hands out unique names in constant amortised time per name.
type nameSet struct {
	used map[string]bool
	next map[string]int // next numeric suffix to try per base name
}

func newNameSet() *nameSet {
	return &nameSet{used: map[string]bool{}, next: map[string]int{}}
}

// unique returns the first unused candidate, or the first candidate with the
// smallest free numeric suffix ("Foo2", "Foo3"...), and marks it used.
func (ns *nameSet) unique(candidates ...string) string {
	for _, c := range candidates {
		if !ns.used[c] {
			ns.used[c] = true
			return c
		}
	}
	base := candidates[0]
	n := max(ns.next[base], 2)
	for ns.used[base+strconv.Itoa(n)] {
		n++
	}
	ns.next[base] = n + 1
	name := base + strconv.Itoa(n)
	ns.used[name] = true
	return name
}

// nameSchemas gives every named schema a unique GoName (x-go-name wins when
// free), components first, then in discovery order, and sorts api.Schemas.
func (b *builder) nameSchemas() {
	ns := newNameSet()
	for _, s := range b.named {
		cand := ident(s.Name)
		if g, ok := b.goNames[s]; ok && token.IsIdentifier(g) {
			cand = g
		}
		s.GoName = ns.unique(cand)
	}
	b.api.Schemas = slices.Clone(b.named)
	slices.SortFunc(b.api.Schemas, func(x, y *model.Schema) int { return strings.Compare(x.GoName, y.GoName) })
}
