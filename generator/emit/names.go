package emit

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// namer hands out unique identifiers in one scope. A taken name gets a numeric
// suffix ("Pet2"); a lookup is one map access, so naming stays linear.
type namer struct {
	used map[string]bool
}

func newNamer() *namer { return &namer{used: make(map[string]bool)} }

// take reserves name, or the first free name+N, and returns it.
func (n *namer) take(name string) string {
	if !n.used[name] {
		n.used[name] = true
		return name
	}
	for i := 2; ; i++ {
		c := fmt.Sprintf("%s%d", name, i)
		if !n.used[c] {
			n.used[c] = true
			return c
		}
	}
}

// commonInitialisms are written in upper case, as golint does.
var commonInitialisms = map[string]bool{
	"ACL": true, "API": true, "ASCII": true, "CPU": true, "CSS": true, "DNS": true,
	"EOF": true, "GUID": true, "HTML": true, "HTTP": true, "HTTPS": true, "ID": true,
	"IP": true, "JSON": true, "LHS": true, "QPS": true, "RAM": true, "RHS": true,
	"RPC": true, "SLA": true, "SMTP": true, "SQL": true, "SSH": true, "TCP": true,
	"TLS": true, "TTL": true, "UDP": true, "UI": true, "UID": true, "UUID": true,
	"URI": true, "URL": true, "UTF8": true, "VM": true, "XML": true, "XMPP": true,
	"XSRF": true, "XSS": true,
}

// exportedIdent turns any string into an exported Go identifier: words split at
// non-alphanumerics and case changes are capitalised ("2fa-code" -> "N2faCode",
// "user_id" -> "UserID", "" -> "Empty").
func exportedIdent(s string) string {
	var words []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			words = append(words, string(cur))
			cur = cur[:0]
		}
	}
	var prev rune
	for _, r := range s {
		switch {
		case r == '-' && len(words) == 0 && len(cur) == 0:
			words = append(words, "Minus")
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if unicode.IsUpper(r) && unicode.IsLower(prev) {
				flush()
			}
			cur = append(cur, r)
		default:
			flush()
		}
		prev = r
	}
	flush()
	var b strings.Builder
	for _, w := range words {
		if up := strings.ToUpper(w); commonInitialisms[up] {
			b.WriteString(up)
			continue
		}
		r, size := utf8.DecodeRuneInString(w)
		b.WriteRune(unicode.ToUpper(r))
		b.WriteString(w[size:])
	}
	out := b.String()
	if out == "" {
		return "Empty"
	}
	if r, _ := utf8.DecodeRuneInString(out); !unicode.IsLetter(r) {
		out = "N" + out
	}
	if r, _ := utf8.DecodeRuneInString(out); !unicode.IsUpper(r) {
		// Letters without case (e.g. CJK) would make an unexported name.
		out = "X" + out
	}
	return out
}
