package validate

import (
	"net/mail"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestPatternAgreesWithRegexp: the byte-table shape and the regexp fallback
// answer as regexp does.
func TestPatternAgreesWithRegexp(t *testing.T) {
	exprs := []string{`^[A-Z]+$`, `^[a-f0-9]{8}$`, `^[a-z]*$`, `^[0-9]{2,4}$`, `^[A-Z]{3,}$`, `^x$`, `(?i)^[a-c]+$`,
		`^[^a]+$`, `[A-Z]+`, `^[A-Z]+`, `^(?!x)`[:0] + `^é+$`, `^[a-z]+$|^[0-9]+$`, `^\d+$`, `^\w{1,3}$`}
	inputs := []string{"", "A", "AB", "ab", "abc", "ABC", "deadbeef", "DEADBEEF", "12", "1234", "12345", "x", "X",
		"AB\n", "é", "éé", "A1", "b", "bbbb", "_a1", "abcdefgh1"}
	for _, e := range exprs {
		p, re := MustPattern(e), regexp.MustCompile(e)
		for _, s := range inputs {
			if got, want := p.MatchString(s), re.MatchString(s); got != want {
				t.Errorf("%s on %q: %v, regexp says %v", e, s, got, want)
			}
		}
	}
	if MustPattern(`^[A-Z]+$`).set == nil || MustPattern(`^[a-f0-9]{8}$`).set == nil {
		t.Error("the common shapes are not on the fast path")
	}
	if MustPattern(`^[^a]+$`).set != nil {
		t.Error("a negated class (non-ASCII members) is on the fast path")
	}
}

// TestFastFormatsAgree: Date, Time and Email answer as the time and net/mail
// parsers they short-cut do.
func TestFastFormatsAgree(t *testing.T) {
	for _, s := range []string{"2026-12-07", "2024-02-29", "2023-02-29", "2026-13-01", "2026-00-10", "2026-04-31",
		"2026-1-07", "20261207", "2026-12-7 ", "abcd-ef-gh", "0000-01-01", "2026-12-07T00:00:00Z"} {
		_, err := time.Parse(time.DateOnly, s)
		if got := Date(s); got != (err == nil) {
			t.Errorf("Date(%q) = %v, time.Parse says %v", s, got, err)
		}
	}
	for _, s := range []string{"13:20:00Z", "23:59:59.999Z", "24:00:00Z", "12:60:00Z", "12:00:60Z", "1:00:00Z",
		"12:00:00", "12:00:00+01:00", "12:00:00.Z", "12:00:00.5x", "12:00:00,5Z", "ab:cd:efZ", "12:00:00.123456789Z"} {
		_, err := time.Parse("15:04:05Z07:00", s)
		if got := Time(s); got != (err == nil) {
			t.Errorf("Time(%q) = %v, time.Parse says %v", s, got, err)
		}
	}
	for _, s := range []string{"buyer@example.com", "a.b+c@d.e", "a..b@c", ".a@b", "a.@b", "a@b", "@b", "a@", "a@b@c",
		`"quoted local"@example.com`, "user@[192.0.2.1]", "Name <a@b.c>", "a b@c", "é@example.com", "a@-x-.com", "x/y=z@ex.org"} {
		a, err := mail.ParseAddress(s)
		want := err == nil && a.Address == s && a.Name == ""
		if got := Email(s); got != want {
			t.Errorf("Email(%q) = %v, net/mail says %v", s, got, want)
		}
	}
	for _, s := range []string{"https://shop.example.com/customers/4711/orders/2026/12/1?ref=newsletter&utm_source=mail",
		"http://a", "http://a:8080/x", "http://a:/x", "http://a:x/", "ftp://h/p%20q", "ftp://h/p%2", "ftp://h/p%zz", "https://h/a#b#c",
		"https://h/a b", "https://[::1]:80/", "https://user@h/", "mailto:x@y", "1http://h/", "h t://h/", "https://h/é", "https://h/?q=a|b",
		"https://-h-/", "https://h_h/", "//h/p", "/relative", "urn:isbn:123", "https://h/\x7f"} {
		u, err := url.Parse(s)
		want := err == nil && u.Scheme != "" && !strings.ContainsAny(s, " \t\n")
		if got := URI(s); got != want {
			t.Errorf("URI(%q) = %v, url.Parse says %v", s, got, want)
		}
		if plainURI(s) && !want {
			t.Errorf("plainURI(%q) accepts what url.Parse refuses", s)
		}
	}
}
