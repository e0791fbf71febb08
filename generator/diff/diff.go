// Package diff compares two loaded versions of an OpenAPI document and reports
// idempotency regressions (idempotency removed or waived, ttl shortened, key
// became required, optional, stricter or renamed, fingerprint widened or
// narrowed, scope, concurrency, lease or cache changed, documented
// conflict/mismatch statuses changed, a new unsafe operation without
// x-idempotent) as lint findings, so they share lint's formats and exit codes.
// Each class that breaks existing clients is an error, each that is only
// notable a warning (docs/lint.md has the table).
package diff

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/idemgen/idemgen/generator/extension"
	"github.com/idemgen/idemgen/generator/lint"
	"github.com/idemgen/idemgen/generator/model"
	"github.com/idemgen/idemgen/runtime/idempotency"
)

// Rule ids of diff findings.
const (
	RuleRemoved       = "idempotency-removed"
	RuleWaived        = "idempotency-waived"
	RuleTTLShortened  = "ttl-shortened"
	RuleKeyRequired   = "key-became-required"
	RuleKeyRenamed    = "key-renamed"
	RuleFingerprint   = "fingerprint-widened"
	RuleScopeChanged  = "scope-changed"
	RuleStatusChanged = "error-status-changed"
	RuleConcurrency   = "concurrency-changed"
	RuleNewUnsafe     = "new-unsafe-without-idempotency"

	RuleNowRejects      = "concurrency-now-rejects"
	RuleKeyOptional     = "key-became-optional"
	RuleKeyTightened    = "key-constraint-tightened"
	RuleFingerprintLess = "fingerprint-narrowed"
	RuleCacheRetryable  = "cache-widened-retryable"
	RuleLeaseChanged    = "lease-changed"
)

var catalog = []lint.Rule{
	{ID: RuleRemoved, Category: lint.CategoryDiff, Default: model.Error,
		Summary:   "An operation that was idempotent has no x-idempotent any more.",
		Rationale: "Clients written against the old spec retry it safely; now every retry may run it again."},
	{ID: RuleWaived, Category: lint.CategoryDiff, Default: model.Error,
		Summary:   "An operation that was idempotent is now waived (x-idempotent: false / enabled: false).",
		Rationale: "Same effect as removing idempotency: existing clients' retries are no longer deduplicated. Waiving needs an explicit review."},
	{ID: RuleTTLShortened, Category: lint.CategoryDiff, Default: model.Error,
		Summary:   "ttl got shorter.",
		Rationale: "Breaks clients: the ttl is the published retry window, and retries that were covered (a client retrying after an hour) may now arrive after the record expired and run the operation again, the duplicate idempotency exists to prevent."},
	{ID: RuleKeyRequired, Category: lint.CategoryDiff, Default: model.Error,
		Summary:   "The idempotency key became required.",
		Rationale: "Existing clients that send no key now get 400 on every call: a breaking change."},
	{ID: RuleKeyRenamed, Category: lint.CategoryDiff, Default: model.Error,
		Summary:   "The key's header, query parameter, body field or derive list changed.",
		Rationale: "Existing clients keep sending the old key, which the server no longer reads: their retries are not deduplicated (or fail with 400)."},
	{ID: RuleFingerprint, Category: lint.CategoryDiff, Default: model.Warning,
		Summary:   "The fingerprint compares more than before.",
		Rationale: "A retry that replayed before (same key, a field that was not compared differs) now gets 422."},
	{ID: RuleScopeChanged, Category: lint.CategoryDiff, Default: model.Error,
		Summary:   "The scope changed.",
		Rationale: "The scope is part of the record id: records stored before the change are not found after it, so retries in flight during a deploy run again; a removed scope merges tenants' key spaces."},
	{ID: RuleStatusChanged, Category: lint.CategoryDiff, Default: model.Warning,
		Summary:   "A documented conflict or mismatch response (400, 409, 422) disappeared or changed media type.",
		Rationale: "Clients decide what to retry from these statuses (409 is retried, 422 is a bug); docs and generated clients lose them."},
	{ID: RuleConcurrency, Category: lint.CategoryDiff, Default: model.Warning,
		Summary:   "concurrent changed from reject to wait.",
		Rationale: "Notable: duplicates in flight now wait for the first request's response instead of getting 409; clients keep working (they get the replay), but requests take longer."},
	{ID: RuleNowRejects, Category: lint.CategoryDiff, Default: model.Error,
		Summary:   "concurrent changed from wait to reject.",
		Rationale: "Breaks clients: duplicates in flight that waited for a replay now get 409 problem+json, which clients written against the old spec never saw and may not retry."},
	{ID: RuleKeyOptional, Category: lint.CategoryDiff, Default: model.Warning,
		Summary:   "The idempotency key became optional.",
		Rationale: "Notable: clients keep working, but requests without a key now run un-deduplicated instead of failing with 400, so a client that forgets the key no longer notices."},
	{ID: RuleKeyTightened, Category: lint.CategoryDiff, Default: model.Error,
		Summary:   "The key's maxLength shrank or its format got stricter (any to uuid/ulid/pattern, uuid to ulid, another pattern).",
		Rationale: "Breaks clients: keys existing clients make (a 64-character key, a UUID) may now be rejected with 400."},
	{ID: RuleFingerprintLess, Category: lint.CategoryDiff, Default: model.Warning,
		Summary:   "The fingerprint compares less than before (an item removed).",
		Rationale: "Notable: a key reused with a different value of the removed item is now answered with the first response instead of 422, so a client bug that sends a new request under an old key goes unnoticed."},
	{ID: RuleCacheRetryable, Category: lint.CategoryDiff, Default: model.Error,
		Summary:   "cache now stores 5xx or 429 outcomes it did not store before.",
		Rationale: "Breaks clients: a stored 5xx or 429 is replayed to every retry of the key, so retries that used to succeed after a transient failure can no longer succeed until the ttl expires."},
	{ID: RuleLeaseChanged, Category: lint.CategoryDiff, Default: model.Warning,
		Summary:   "lease changed.",
		Rationale: "Notable: a shorter lease lets a retry take over a request that is still running (the operation runs twice when the handler is slower than the lease); a longer one makes retries after a crash wait (409) longer."},
	{ID: RuleNewUnsafe, Category: lint.CategoryDiff, Default: model.Error,
		Summary:   "A new unsafe operation (POST, PATCH) has no x-idempotent.",
		Rationale: "New operations should be designed idempotent (or waived with a reason) from the start."},
}

// Rules returns the diff rules in documentation order.
func Rules() []lint.Rule { return append([]lint.Rule(nil), catalog...) }

func rule(id string) lint.Rule {
	for _, r := range catalog {
		if r.ID == id {
			return r
		}
	}
	panic("diff: unknown rule " + id)
}

// Diff compares base with head and returns the regressions, sorted, located in
// head (or at base's position when head has nothing to point at).
func Diff(base, head *model.API) []lint.Finding {
	byID := map[string]*model.Operation{}
	byRoute := map[string]*model.Operation{}
	// Webhooks and callbacks are compared like operations (a webhook losing
	// x-idempotent is a regression too); a route is only matched within its
	// kind, since a webhook's path is the receiver's default, not the spec's.
	routeKey := func(op *model.Operation) string { return string(op.Kind) + " " + op.Method + " " + op.Path }
	for _, op := range append(slices.Clip(base.Operations), base.Receivers()...) {
		byID[op.ID] = op
		byRoute[routeKey(op)] = op
	}
	d := &differ{head: head}
	for _, h := range append(slices.Clip(head.Operations), head.Receivers()...) {
		b := byID[h.ID]
		if b == nil {
			b = byRoute[routeKey(h)]
		}
		if b == nil {
			if lint.IsUnsafe(h.Method) && h.Idempotency == nil {
				d.report(RuleNewUnsafe, h, h.Pos, h.Pointer, "new operation %s (%s) has no x-idempotent", h.Label(), h.ID)
			}
			continue
		}
		d.operation(b, h)
	}
	lint.Sort(d.out)
	return d.out
}

type differ struct {
	head *model.API
	out  []lint.Finding
}

func (d *differ) report(id string, op *model.Operation, pos model.Pos, pointer, format string, args ...any) {
	if !pos.IsValid() {
		pos = op.Pos
	}
	if !pos.IsValid() {
		pos = model.Pos{File: d.head.File}
	}
	d.out = append(d.out, lint.New(id, rule(id).Default, op, pos, pointer, fmt.Sprintf(format, args...)))
}

func extPointer(op *model.Operation) string {
	if op.Idempotency != nil && op.Idempotency.Pointer != "" {
		return op.Idempotency.Pointer
	}
	return op.Pointer + "/x-idempotent"
}

func (d *differ) operation(b, h *model.Operation) {
	if !b.Idempotent() {
		return
	}
	route := h.Label()
	if h.Idempotency == nil {
		d.report(RuleRemoved, h, h.Pos, h.Pointer, "%s was idempotent and has no x-idempotent any more", route)
		return
	}
	he := h.Idempotency
	if !he.Enabled {
		d.report(RuleWaived, h, he.Pos, extPointer(h), "%s was idempotent and is now waived", route)
		return
	}
	bp, hp := b.Idempotency.Policy, he.Policy
	ptr := extPointer(h)

	if bt, ht := ttl(bp), ttl(hp); ht < bt {
		d.report(RuleTTLShortened, h, he.FieldPos("ttl"), ptr+"/ttl", "ttl of %s shortened from %s to %s", route, extension.FormatDuration(bt), extension.FormatDuration(ht))
	}
	if bp.Key.Optional && !hp.Key.Optional {
		d.report(RuleKeyRequired, h, he.FieldPos("key.required"), ptr+"/key/required",
			"the idempotency key of %s became required: clients that send none now get 400", route)
	}
	if !bp.Key.Optional && hp.Key.Optional && len(hp.Key.Derive) == 0 {
		d.report(RuleKeyOptional, h, he.FieldPos("key.required"), ptr+"/key/required",
			"the idempotency key of %s became optional: requests without one now run un-deduplicated instead of getting 400", route)
	}
	if why := tightened(bp.Key, hp.Key); why != "" && len(hp.Key.Derive) == 0 && keySourceSame(bp.Key, hp.Key) {
		field := "key.format"
		if strings.HasPrefix(why, "maxLength") {
			field = "key.maxLength"
		}
		d.report(RuleKeyTightened, h, he.FieldPos(field), ptr+"/"+strings.ReplaceAll(field, ".", "/"),
			"the idempotency key of %s: %s: keys existing clients make may now get 400", route, why)
	}
	if bl, hl := lease(bp), lease(hp); bl != hl {
		d.report(RuleLeaseChanged, h, he.FieldPos("lease"), ptr+"/lease",
			"lease of %s changed from %s to %s", route, extension.FormatDuration(bl), extension.FormatDuration(hl))
	}
	if added := newlyCached(bp, hp); len(added) > 0 {
		d.report(RuleCacheRetryable, h, he.FieldPos("cache"), ptr+"/cache",
			"cache of %s now stores %s: retries after a transient failure can no longer succeed", route, strings.Join(added, ", "))
	}
	if bs, hs := keySource(bp.Key), keySource(hp.Key); !strings.EqualFold(bs, hs) {
		field := "key"
		for _, f := range []string{"key.header", "key.query", "key.field", "key.derive"} {
			if he.Set[f] {
				field = f
			}
		}
		d.report(RuleKeyRenamed, h, he.FieldPos(field), ptr+"/key", "the idempotency key of %s changed from %s to %s", route, bs, hs)
	}
	if added := widened(fingerprint(bp), fingerprint(hp)); len(added) > 0 {
		d.report(RuleFingerprint, h, he.FieldPos("fingerprint"), ptr+"/fingerprint",
			"the fingerprint of %s now also compares %s: retries that replayed before get 422", route, strings.Join(added, ", "))
	}
	if removed := widened(fingerprint(hp), fingerprint(bp)); len(removed) > 0 {
		d.report(RuleFingerprintLess, h, he.FieldPos("fingerprint"), ptr+"/fingerprint",
			"the fingerprint of %s no longer compares %s: a key reused with a different value is replayed instead of getting 422", route, strings.Join(removed, ", "))
	}
	if bs, hs := scopeKey(bp.Scope), scopeKey(hp.Scope); bs != hs {
		d.report(RuleScopeChanged, h, he.FieldPos("scope"), ptr+"/scope",
			"the scope of %s changed from %s to %s: stored records are no longer found", route, bs, hs)
	}
	if bc, hc := concurrency(bp), concurrency(hp); bc != hc {
		id := RuleConcurrency
		if hc == idempotency.ConcurrentReject {
			id = RuleNowRejects
		}
		d.report(id, h, he.FieldPos("concurrent"), ptr+"/concurrent",
			"concurrent of %s changed from %s to %s", route, bc, hc)
	}
	for _, code := range []string{"400", "409", "422"} {
		br := response(b, code)
		if br == nil {
			continue
		}
		hr := response(h, code)
		switch {
		case hr == nil:
			d.report(RuleStatusChanged, h, h.Pos, h.Pointer+"/responses",
				"%s no longer documents its %s idempotency error response", route, code)
		case hasMediaType(br, lint.ProblemJSON) && !hasMediaType(hr, lint.ProblemJSON):
			d.report(RuleStatusChanged, h, hr.Pos, h.Pointer+"/responses/"+code,
				"the %s response of %s is no longer %s", code, route, lint.ProblemJSON)
		}
	}
}

func ttl(p idempotency.Policy) time.Duration {
	if p.TTL == 0 {
		return idempotency.DefaultTTL
	}
	return p.TTL
}

func lease(p idempotency.Policy) time.Duration {
	if p.Lease == 0 {
		return idempotency.DefaultLease
	}
	return p.Lease
}

func keyFormat(k idempotency.Key) idempotency.Format {
	if k.Format == "" {
		return idempotency.FormatAny
	}
	return k.Format
}

func keyMaxLength(k idempotency.Key) int {
	if k.MaxLength == 0 {
		return idempotency.DefaultMaxLength
	}
	return k.MaxLength
}

// keySourceSame reports whether the key still comes from the same place (a
// moved key is key-renamed, not tightened).
func keySourceSame(b, h idempotency.Key) bool { return strings.EqualFold(keySource(b), keySource(h)) }

// tightened says how head's key accepts fewer keys than base's ("" when it
// does not): a shorter maxLength, or a stricter or different format.
func tightened(b, h idempotency.Key) string {
	if bl, hl := keyMaxLength(b), keyMaxLength(h); hl < bl {
		return fmt.Sprintf("maxLength shrank from %d to %d", bl, hl)
	}
	bf, hf := keyFormat(b), keyFormat(h)
	switch {
	case bf == hf && (hf != idempotency.FormatPattern || b.Pattern == h.Pattern):
		return ""
	case hf == idempotency.FormatAny:
		return "" // looser
	case hf == idempotency.FormatPattern && bf == idempotency.FormatPattern:
		return fmt.Sprintf("pattern changed from %q to %q", b.Pattern, h.Pattern)
	}
	return fmt.Sprintf("format changed from %s to %s", bf, hf)
}

// newlyCached returns the retryable outcomes (5xx, 429) head's cache stores
// and base's does not.
func newlyCached(b, h idempotency.Policy) []string {
	var out []string
	for _, code := range []string{"500", "502", "503", "504", "429"} {
		if lint.Cached(h, code) && !lint.Cached(b, code) {
			label := code
			if code != "429" {
				label = "5xx"
			}
			if !slices.Contains(out, label) {
				out = append(out, label)
			}
		}
	}
	return out
}

func concurrency(p idempotency.Policy) idempotency.Concurrency {
	if p.Concurrent == "" {
		return idempotency.ConcurrentReject
	}
	return p.Concurrent
}

// keySource describes where the key comes from; compare two with
// strings.EqualFold (header names are case-insensitive).
func keySource(k idempotency.Key) string {
	switch {
	case k.Query != "":
		return fmt.Sprintf("query %q", k.Query)
	case k.Field != "":
		return fmt.Sprintf("body field %q", k.Field)
	case len(k.Derive) > 0:
		return fmt.Sprintf("derived from %s", strings.Join(k.Derive, ", "))
	case k.Header != "":
		return fmt.Sprintf("header %q", k.Header)
	}
	return fmt.Sprintf("header %q", idempotency.DefaultHeader)
}

func scopeKey(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	norm := make([]string, len(s))
	for i, item := range s {
		if name, ok := strings.CutPrefix(item, "header:"); ok {
			item = "header:" + strings.ToLower(name)
		}
		norm[i] = item
	}
	slices.Sort(norm)
	return "[" + strings.Join(slices.Compact(norm), ", ") + "]"
}

func fingerprint(p idempotency.Policy) []string {
	if p.Fingerprint == nil {
		return []string{"method", "path", "query", "body"}
	}
	return p.Fingerprint
}

// widened returns the items of head that base does not cover: a JSON Pointer
// is covered by "body" or by a pointer to one of its ancestors.
func widened(base, head []string) []string {
	covered := func(item string) bool {
		for _, b := range base {
			switch {
			case strings.EqualFold(b, item):
				return true
			case strings.HasPrefix(item, "/") && (b == "body" || strings.HasPrefix(item, b+"/")):
				return true
			}
		}
		return false
	}
	var out []string
	for _, h := range head {
		if !covered(h) {
			out = append(out, h)
		}
	}
	return out
}

func response(op *model.Operation, code string) *model.Response {
	for _, r := range op.Responses {
		if r.Status == code {
			return r
		}
	}
	return nil
}

func hasMediaType(r *model.Response, mt string) bool {
	for _, ct := range r.Contents {
		if strings.EqualFold(ct.MediaType, mt) {
			return true
		}
	}
	return false
}
