// Package diff compares two loaded versions of an OpenAPI document and reports
// idempotency regressions (idempotency removed or waived, ttl shortened, key
// became required or renamed, fingerprint widened, scope changed, documented
// conflict/mismatch statuses changed, a new unsafe operation without
// x-idempotent) as lint findings, so they share lint's formats and exit codes.
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
)

var catalog = []lint.Rule{
	{ID: RuleRemoved, Category: lint.CategoryDiff, Default: model.Error,
		Summary:   "An operation that was idempotent has no x-idempotent any more.",
		Rationale: "Clients written against the old spec retry it safely; now every retry may run it again."},
	{ID: RuleWaived, Category: lint.CategoryDiff, Default: model.Error,
		Summary:   "An operation that was idempotent is now waived (x-idempotent: false / enabled: false).",
		Rationale: "Same effect as removing idempotency: existing clients' retries are no longer deduplicated. Waiving needs an explicit review."},
	{ID: RuleTTLShortened, Category: lint.CategoryDiff, Default: model.Warning,
		Summary:   "ttl got shorter.",
		Rationale: "Retries that were covered (a client retrying after an hour) may now arrive after the record expired and run again."},
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
		Summary:   "concurrent changed (reject <-> wait).",
		Rationale: "Duplicates in flight now get a 409 where they waited for a replay before, or the reverse; client retry logic depends on it."},
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
	for _, op := range base.Operations {
		byID[op.ID] = op
		byRoute[op.Method+" "+op.Path] = op
	}
	d := &differ{head: head}
	for _, h := range head.Operations {
		b := byID[h.ID]
		if b == nil {
			b = byRoute[h.Method+" "+h.Path]
		}
		if b == nil {
			if lint.IsUnsafe(h.Method) && h.Idempotency == nil {
				d.report(RuleNewUnsafe, h, h.Pos, h.Pointer, "new operation %s %s (%s) has no x-idempotent", h.Method, h.Path, h.ID)
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
	route := h.Method + " " + h.Path
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
	if bs, hs := scopeKey(bp.Scope), scopeKey(hp.Scope); bs != hs {
		d.report(RuleScopeChanged, h, he.FieldPos("scope"), ptr+"/scope",
			"the scope of %s changed from %s to %s: stored records are no longer found", route, bs, hs)
	}
	if concurrency(bp) != concurrency(hp) {
		d.report(RuleConcurrency, h, he.FieldPos("concurrent"), ptr+"/concurrent",
			"concurrent of %s changed from %s to %s", route, concurrency(bp), concurrency(hp))
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
