// Package policydoc holds the text that documents an x-idempotent policy for
// readers of the spec: the one-sentence summary annotate writes into an
// operation's description, and the comparison that tells whether a published
// summary is stale. annotate writes it; lint's policy-doc-stale rule and
// annotate --check compare with it.
package policydoc

import (
	"fmt"
	"strings"
	"time"

	"github.com/idemgen/idemgen/generator/extension"
	"github.com/idemgen/idemgen/runtime/idempotency"
)

// KeyText describes the key source: "header Idempotency-Key".
func KeyText(k idempotency.Key) string {
	switch {
	case k.Query != "":
		return "query " + k.Query
	case k.Field != "":
		return "body field " + k.Field
	case len(k.Derive) > 0:
		return "derived from " + strings.Join(k.Derive, ", ")
	case k.Header != "":
		return "header " + k.Header
	}
	return "header " + idempotency.DefaultHeader
}

// TTL returns p's effective ttl.
func TTL(p idempotency.Policy) time.Duration {
	if p.TTL == 0 {
		return idempotency.DefaultTTL
	}
	return p.TTL
}

// Fingerprint returns p's effective fingerprint items.
func Fingerprint(p idempotency.Policy) []string {
	if p.Fingerprint == nil {
		return []string{"method", "path", "query", "body"}
	}
	return p.Fingerprint
}

// MaxLength returns k's effective maximum key length.
func MaxLength(k idempotency.Key) int {
	if k.MaxLength > 0 {
		return k.MaxLength
	}
	return idempotency.DefaultMaxLength
}

func joinOr(items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " or " + items[len(items)-1]
}

// Sentence is the one-sentence summary of a policy that annotate puts in an
// operation's description (after DescriptionMarker).
func Sentence(p idempotency.Policy) string {
	var b strings.Builder
	k := p.Key
	if len(k.Derive) > 0 {
		fmt.Fprintf(&b, "the server derives the idempotency key from %s (no client key needed)", strings.Join(k.Derive, ", "))
	} else {
		what := "`" + idempotency.DefaultHeader + "` header"
		switch {
		case k.Header != "":
			what = "`" + k.Header + "` header"
		case k.Query != "":
			what = "`" + k.Query + "` query parameter"
		case k.Field != "":
			what = "`" + k.Field + "` body field"
		}
		req := "required"
		if k.Optional {
			req = "optional: requests without one are not deduplicated"
		}
		fmt.Fprintf(&b, "send a unique %s (%s; at most %d characters", what, req, MaxLength(k))
		switch k.Format {
		case idempotency.FormatUUID:
			b.WriteString(", a UUID")
		case idempotency.FormatULID:
			b.WriteString(", a ULID")
		case idempotency.FormatPattern:
			fmt.Fprintf(&b, ", matching `%s`", k.Pattern)
		}
		b.WriteString(")")
	}
	fmt.Fprintf(&b, "; a retry with the same key within %s replays the first response with `Idempotent-Replayed: true`", extension.FormatDuration(TTL(p)))
	if len(p.Scope) == 0 {
		b.WriteString(", keys are shared by all callers")
	} else {
		var sc []string
		for _, s := range p.Scope {
			if s == "principal" {
				sc = append(sc, "the authenticated caller")
			} else {
				sc = append(sc, strings.Replace(s, ":", " ", 1))
			}
		}
		fmt.Fprintf(&b, ", keys are scoped per %s", strings.Join(sc, " and "))
	}
	if fp := Fingerprint(p); len(fp) == 0 {
		b.WriteString(", and a reused key is not compared with its first request.")
	} else {
		fmt.Fprintf(&b, ", and reusing a key with a different %s gets 422.", joinOr(fp))
	}
	return DescriptionMarker + " " + strings.ToUpper(b.String()[:1]) + b.String()[1:]
}

// DescriptionMarker starts the paragraph annotate writes into descriptions; a
// paragraph starting with it is replaced on the next run.
const DescriptionMarker = "**Idempotency:**"

// WithSentence returns desc with its idempotency paragraph replaced by sentence.
func WithSentence(desc, sentence string) string {
	paras := strings.Split(strings.TrimRight(desc, "\n"), "\n\n")
	var keep []string
	for _, p := range paras {
		if strings.HasPrefix(strings.TrimSpace(p), DescriptionMarker) || strings.TrimSpace(p) == "" {
			continue
		}
		keep = append(keep, p)
	}
	keep = append(keep, sentence)
	return strings.Join(keep, "\n\n")
}

// Published returns the idempotency paragraph of desc (the one starting with
// DescriptionMarker), or false when desc has none.
func Published(desc string) (string, bool) {
	for _, p := range strings.Split(strings.TrimRight(desc, "\n"), "\n\n") {
		if strings.HasPrefix(strings.TrimSpace(p), DescriptionMarker) {
			return strings.TrimSpace(p), true
		}
	}
	return "", false
}

// Stale reports whether desc publishes an idempotency paragraph that no longer
// says what p does (annotate would rewrite it).
func Stale(desc string, p idempotency.Policy) bool {
	pub, ok := Published(desc)
	return ok && pub != Sentence(p)
}
