package lint

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/idemgen/idemgen/generator/extension"
	"github.com/idemgen/idemgen/generator/model"
	"github.com/idemgen/idemgen/generator/policydoc"
	"github.com/idemgen/idemgen/runtime/idempotency"
)

// Lint reviews api and returns its findings, sorted, with cfg's severities
// applied (findings turned off are dropped). cfg may be nil. It reports every
// loader diagnostic in api.Diagnostics under the loader's rule id (loader errors
// stay errors whatever cfg says) and adds the checks of Rules.
func Lint(ctx context.Context, api *model.API, cfg *Config) []Finding {
	if cfg == nil {
		cfg = &Config{}
	}
	var out []Finding
	for _, d := range api.Diagnostics {
		f := FromDiagnostic(d)
		if r, ok := LookupRule(f.Rule); ok && r.Default == Off && f.Severity != model.Error {
			f.Severity = Off // a loader warning lint does not show unless the config asks
		}
		f.generatorError = d.Severity == model.Error
		f.Severity = cfg.Severity(&f, f.generatorError)
		if f.Severity != Off {
			out = append(out, f)
		}
	}
	c := &checker{api: api, cfg: cfg, multiTenant: multiTenant(cfg.Policy), issuing: issuingDocumented(api),
		invalid: map[*model.Operation]bool{}}
	for _, d := range api.Diagnostics {
		if d.Severity == model.Error && d.Operation != nil {
			c.invalid[d.Operation] = true
		}
	}
	// Webhooks and callbacks are requests too, received by the API's users:
	// the same rules apply, located in the webhook or callback.
	for _, ops := range [][]*model.Operation{api.Operations, api.Receivers()} {
		for _, op := range ops {
			if ctx.Err() != nil {
				break
			}
			c.operation(op)
		}
	}
	out = append(out, cfg.Apply(c.findings)...)
	Sort(out)
	return out
}

type checker struct {
	api         *model.API
	cfg         *Config
	multiTenant bool
	// issuing reports that the spec documents how clients get a server-issued key.
	issuing bool
	// invalid holds the operations with generator errors: their policy is not
	// what the author meant, so only the generator's findings are reported.
	invalid  map[*model.Operation]bool
	findings []Finding
}

func (c *checker) report(rule string, op *model.Operation, pos model.Pos, pointer, format string, args ...any) {
	r, _ := LookupRule(rule)
	if !pos.IsValid() {
		pos = op.Pos
	}
	if !pos.IsValid() {
		pos = model.Pos{File: c.api.File}
	}
	c.findings = append(c.findings, New(rule, r.Default, op, pos, pointer, fmt.Sprintf(format, args...)))
}

// IsUnsafe reports whether method is one that RuleMissing requires to be
// idempotent or waived (POST, PATCH).
func IsUnsafe(method string) bool { return method == "POST" || method == "PATCH" }

// IsSafe reports whether method is safe (GET, HEAD, OPTIONS, TRACE).
func IsSafe(method string) bool {
	switch method {
	case "GET", "HEAD", "OPTIONS", "TRACE":
		return true
	}
	return false
}

func (c *checker) operation(op *model.Operation) {
	ext := op.Idempotency
	if ext == nil {
		if IsUnsafe(op.Method) {
			c.report(RuleMissing, op, op.Pos, op.Pointer,
				"%s (%s) has no x-idempotent: make it idempotent or waive it with a reason", op.Label(), op.ID)
		}
		return
	}
	extPtr := ext.Pointer
	if extPtr == "" {
		extPtr = op.Pointer + "/x-idempotent"
	}
	if IsSafe(op.Method) || c.invalid[op] {
		return // the extension validator reports safe-method and invalid policies
	}
	if !ext.Enabled {
		if strings.TrimSpace(ext.Reason) == "" {
			c.report(RuleWaiverNoReason, op, ext.Pos, extPtr,
				"waiver of %s has no reason: write enabled: false with reason: \"...\"", op.Label())
		}
		return
	}
	p := ext.Policy
	c.key(op, ext, extPtr, p.Key, p.Issued != nil)
	c.issuedInject(op, ext, extPtr, p)
	c.fingerprintScope(op, ext, extPtr, p)
	c.documentation(op, ext, extPtr, p)
	c.policy(op, ext, extPtr, p)
}

// keyParam returns where the key lives when it is a parameter ("" otherwise),
// its name and the extension field that names it.
func keyParam(k idempotency.Key) (model.ParamIn, string, string) {
	switch {
	case k.Header != "":
		return model.InHeader, k.Header, "key.header"
	case k.Query != "":
		return model.InQuery, k.Query, "key.query"
	case k.Field != "" || len(k.Derive) > 0:
		return "", "", ""
	}
	return model.InHeader, idempotency.DefaultHeader, "key.header"
}

func sameParam(p *model.Param, in model.ParamIn, name string) bool {
	if p.In != in {
		return false
	}
	if in == model.InHeader {
		return strings.EqualFold(p.Name, name)
	}
	return p.Name == name
}

func (c *checker) key(op *model.Operation, ext *model.Extension, extPtr string, k idempotency.Key, issued bool) {
	if in, name, field := keyParam(k); in != "" {
		var found []*model.Param
		for _, p := range op.Params {
			if sameParam(p, in, name) {
				found = append(found, p)
			}
		}
		switch {
		case len(found) == 0:
			c.report(RuleKeyUndeclared, op, ext.FieldPos(field), extPtr,
				"key %s parameter %q of %s is not declared in parameters (idemgen annotate adds it)", in, name, op.Label())
		case len(found) > 1:
			c.report(RuleKeyDeclaredTwice, op, found[1].Pos, op.Pointer+"/parameters",
				"key %s parameter %q is declared %d times (%s)", in, name, len(found), paramNames(found))
		}
		if len(found) > 0 {
			c.keySchema(op, found[0], k, issued)
			c.keyContradicts(op, found[0], k, issued)
		}
		if in == model.InHeader && op.Body != nil {
			// The same key also sent as a body field is a second declaration.
			for _, ct := range op.Body.Contents {
				if prop := topProperty(ct.Schema, name); prop != nil {
					c.report(RuleKeyDeclaredTwice, op, prop.Pos, op.Pointer+"/requestBody",
						"key header %q is also sent as body field %q (%s): declare the key once", name, prop.Name, ct.MediaType)
					break
				}
			}
		}
		return
	}
	if k.Field != "" {
		c.keyField(op, ext, extPtr, k.Field)
	}
	c.deriveOptional(op, ext, extPtr, k)
}

// keyContradicts reports a declared key parameter whose schema lets clients
// make keys the policy rejects.
func (c *checker) keyContradicts(op *model.Operation, p *model.Param, k idempotency.Key, issued bool) {
	s := p.Schema
	if s == nil || issued {
		return // issued keys: issued-key-schema-shaped judges the schema
	}
	pos := p.Pos
	if s.Pos.IsValid() {
		pos = s.Pos
	}
	if strings.EqualFold(s.Format, "uuid") && (k.Format == idempotency.FormatULID || k.Format == idempotency.FormatPattern) {
		want := "a ULID (pattern: '^[0-9A-HJKMNP-TV-Z]{26}$')"
		if k.Format == idempotency.FormatPattern {
			want = fmt.Sprintf("keys matching %q (pattern: %q)", k.Pattern, k.Pattern)
		}
		c.report(RuleKeyParamContradicts, op, pos, op.Pointer+"/parameters",
			"key parameter %q declares format: uuid, but the policy accepts only %s: clients would send UUIDs the server rejects with 400; declare %s instead of format: uuid",
			p.Name, k.Format, want)
	}
	if s.MaxLength != nil && *s.MaxLength > maxLength(k) {
		c.report(RuleKeyParamContradicts, op, pos, op.Pointer+"/parameters",
			"key parameter %q declares maxLength: %d, but the policy accepts at most %d characters: longer keys get 400; declare maxLength: %d",
			p.Name, *s.MaxLength, maxLength(k), maxLength(k))
	}
}

// deriveOptional reports key.derive items whose value a request may lack: the
// runtime derives no key for such a request, which then runs un-deduplicated.
func (c *checker) deriveOptional(op *model.Operation, ext *model.Extension, extPtr string, k idempotency.Key) {
	for i, item := range k.Derive {
		field := fmt.Sprintf("key.derive[%d]", i)
		ptr := fmt.Sprintf("%s/key/derive/%d", extPtr, i)
		why := ""
		if kind, name, ok := strings.Cut(item, ":"); ok {
			for _, p := range op.Params {
				if sameParam(p, model.ParamIn(kind), name) && !p.Required && p.In != model.InPath {
					why = fmt.Sprintf("the %s parameter %q is optional", p.In, p.Name)
				}
			}
		} else if strings.HasPrefix(item, "/") && op.Body != nil {
			// requestBody.required defaults to false and few specs set it, so
			// only the field itself is judged.
			for _, ct := range op.Body.Contents {
				if why != "" {
					break
				}
				if ct.Schema == nil || (ct.Kind != model.BodyJSON && ct.Kind != model.BodyForm && ct.Kind != model.BodyMultipart) {
					continue
				}
				for _, l := range resolvePointer(ct.Schema, splitPointer(item), true, 0) {
					if !l.absent && !l.required {
						why = fmt.Sprintf("the field is optional in the %s schema", ct.MediaType)
						break
					}
				}
			}
		}
		if why != "" {
			c.report(RuleDeriveOptional, op, ext.FieldPos(field), ptr,
				"key.derive item %q of %s: %s, and a request without it gets no key, so it runs un-deduplicated (and its retries run again); make it required, or derive from required values only",
				item, op.Label(), why)
		}
	}
}

func paramNames(ps []*model.Param) string {
	var s []string
	for _, p := range ps {
		s = append(s, strconv.Quote(p.Name)+" at "+p.Pos.String())
	}
	return strings.Join(s, ", ")
}

// topProperty returns the top-level property of s (or of one of its union
// branches) that names the same thing as name: compared case-insensitively
// without '-' and '_', so a body field idempotency_key matches the header
// Idempotency-Key.
func topProperty(s *model.Schema, name string) *model.Property {
	if s == nil {
		return nil
	}
	want := normName(name)
	for _, p := range s.Properties {
		if normName(p.Name) == want {
			return p
		}
	}
	for _, v := range s.Variants {
		if p := topProperty(v, name); p != nil {
			return p
		}
	}
	return nil
}

// normName lower-cases s without '-' and '_'.
func normName(s string) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '-' || c == '_':
		case 'A' <= c && c <= 'Z':
			b = append(b, c+'a'-'A')
		default:
			b = append(b, c)
		}
	}
	return string(b)
}

// keySchema judges the declared key parameter's schema. A server-issued key
// (issued) has the server's own shape: its schema needs a length bound but no
// format or pattern (RuleIssuedKeyShaped reports one).
func (c *checker) keySchema(op *model.Operation, p *model.Param, k idempotency.Key, issued bool) {
	s := p.Schema
	pos := p.Pos
	if s != nil && s.Pos.IsValid() {
		pos = s.Pos
	}
	if issued && s != nil && (s.Format != "" || s.Pattern != "") {
		shape := fmt.Sprintf("format: %s", s.Format)
		if s.Format == "" {
			shape = fmt.Sprintf("pattern: %q", s.Pattern)
		}
		c.report(RuleIssuedKeyShaped, op, pos, op.Pointer+"/parameters",
			"key parameter %q of %s takes only server-issued keys but its schema has %s: clients would make up keys of that shape, which the server rejects with 400; drop it and tell clients where to get a key",
			p.Name, op.Label(), shape)
	}
	var missing []string
	if s == nil || s.MaxLength == nil {
		missing = append(missing, "maxLength")
	}
	if !issued && (s == nil || (s.Format == "" && s.Pattern == "")) {
		missing = append(missing, "format or pattern")
	}
	if len(missing) == 0 {
		return
	}
	suggest := fmt.Sprintf("maxLength: %d", maxLength(k))
	switch {
	case issued:
	case k.Format == idempotency.FormatUUID:
		suggest += ", format: uuid"
	case k.Format == idempotency.FormatULID:
		suggest += ", pattern: '^[0-9A-HJKMNP-TV-Z]{26}$'"
	case k.Format == idempotency.FormatPattern:
		suggest += fmt.Sprintf(", pattern: %q", k.Pattern)
	default:
		suggest += ", pattern: '^[\\x21-\\x7e]+$'"
	}
	c.report(RuleKeySchemaWeak, op, pos, op.Pointer+"/parameters",
		"key parameter %q schema has no %s (want e.g. %s)", p.Name, strings.Join(missing, " and no "), suggest)
}

// issuedInject checks the server-issued key (issued) and gateway key
// injection (key.inject) settings of an operation.
func (c *checker) issuedInject(op *model.Operation, ext *model.Extension, extPtr string, p idempotency.Policy) {
	if p.Key.Inject && p.Key.Optional {
		pos := ext.FieldPos("key.required")
		if _, ok := ext.Fields["key.required"]; !ok {
			pos = ext.FieldPos("key.inject")
		}
		c.report(RuleInjectOptional, op, pos, extPtr+"/key/required",
			"key.required: false has no effect on %s with key.inject: idemgen proxy gives every request without a key one, so none runs un-deduplicated; drop required: false (or inject, to let keyless requests through)",
			op.Label())
	}
	if p.Issued == nil {
		return
	}
	if p.Issued.BindPrincipal && !slices.Contains(p.Scope, "principal") {
		c.report(RuleIssuedBindUnscoped, op, ext.FieldPos("issued.bindPrincipal"), extPtr+"/issued/bindPrincipal",
			"issued.bindPrincipal on %s without scope: [principal]: add it so that each principal's records (and status lookups) are kept apart too", op.Label())
	}
	if !c.issuing {
		c.report(RuleIssuedNoEndpoint, op, ext.FieldPos("issued"), extPtr+"/issued",
			"%s accepts only server-issued keys, but the spec documents no way to get one: declare the issuing endpoint (e.g. POST /idempotency-keys) or say in a description where the key is issued", op.Label())
	}
}

// issuingDocumented reports whether api documents how clients get a
// server-issued key: an operation whose path ends in "idempotency-keys" (the
// issuing endpoint, e.g. POST /idempotency-keys), or whose summary or
// description speaks of issuing keys (a page that renders an issued key in a
// form, an operation that documents where its key comes from).
func issuingDocumented(api *model.API) bool {
	for _, op := range api.Operations {
		if strings.HasSuffix(strings.ToLower(strings.TrimRight(op.Path, "/")), "idempotency-keys") {
			return true
		}
		text := strings.ToLower(op.Summary + "\n" + op.Description)
		if strings.Contains(text, "key") && (strings.Contains(text, "issue") || strings.Contains(text, "issuing")) {
			return true
		}
	}
	return false
}

func maxLength(k idempotency.Key) int {
	if k.MaxLength > 0 {
		return k.MaxLength
	}
	return idempotency.DefaultMaxLength
}

func (c *checker) keyField(op *model.Operation, ext *model.Extension, extPtr, field string) {
	ptr := field
	if !strings.HasPrefix(ptr, "/") {
		ptr = "/" + ptr // a form field name
	}
	pos := ext.FieldPos("key.field")
	if op.Body == nil {
		return // the extension validator reports pointer-not-in-schema
	}
	found, weak := false, ""
	for _, ct := range op.Body.Contents {
		if ct.Schema == nil || (ct.Kind != model.BodyJSON && ct.Kind != model.BodyForm && ct.Kind != model.BodyMultipart) {
			continue
		}
		for _, l := range resolvePointer(ct.Schema, splitPointer(ptr), true, 0) {
			switch {
			case l.absent:
				if weak == "" {
					weak = fmt.Sprintf("absent from a branch of the %s schema", ct.MediaType)
				}
			case l.schema == nil || l.schema.Kind == model.KindAny:
				found = true
			default:
				found = true
				if weak == "" && l.schema.Kind != model.KindString {
					weak = fmt.Sprintf("of type %s in the %s schema", l.schema.Kind, ct.MediaType)
				} else if weak == "" && !l.required {
					weak = fmt.Sprintf("optional in the %s schema", ct.MediaType)
				}
			}
		}
	}
	// A field no branch can contain is the extension validator's
	// pointer-not-in-schema; lint only judges a field that can occur.
	if found && weak != "" {
		c.report(RuleKeyFieldType, op, pos, extPtr+"/key/field",
			"key field %q is %s: want a required string in every branch", field, weak)
	}
}

// leaf is where one branch of a JSON Pointer walk ends.
type leaf struct {
	schema   *model.Schema // nil when unknown (any)
	required bool          // every step was a required property
	absent   bool          // this branch cannot contain the pointer
}

func splitPointer(p string) []string {
	if p == "" || p == "/" {
		return nil
	}
	toks := strings.Split(strings.TrimPrefix(p, "/"), "/")
	for i, t := range toks {
		toks[i] = strings.ReplaceAll(strings.ReplaceAll(t, "~1", "/"), "~0", "~")
	}
	return toks
}

// resolvePointer walks toks through s, exploring every oneOf/anyOf branch
// (allOf is merged by the loader), and returns where each branch ends.
func resolvePointer(s *model.Schema, toks []string, required bool, depth int) []leaf {
	if depth > 64 {
		return []leaf{{required: required}}
	}
	if s == nil || s.Kind == model.KindAny {
		return []leaf{{schema: s, required: required}}
	}
	if s.Kind == model.KindUnion {
		var out []leaf
		for _, v := range s.Variants {
			out = append(out, resolvePointer(v, toks, required, depth+1)...)
		}
		if len(out) == 0 {
			return []leaf{{required: required}}
		}
		return out
	}
	if len(toks) == 0 {
		return []leaf{{schema: s, required: required}}
	}
	tok, rest := toks[0], toks[1:]
	switch s.Kind {
	case model.KindObject:
		for _, p := range s.Properties {
			if p.Name == tok {
				return resolvePointer(p.Schema, rest, required && p.Required, depth+1)
			}
		}
		if s.AdditionalProperties != nil {
			return resolvePointer(s.AdditionalProperties, rest, false, depth+1)
		}
	case model.KindMap:
		return resolvePointer(s.AdditionalProperties, rest, false, depth+1)
	case model.KindArray:
		if _, err := strconv.Atoi(tok); err == nil {
			return resolvePointer(s.Items, rest, false, depth+1)
		}
	}
	return []leaf{{absent: true}}
}

func (c *checker) fingerprintScope(op *model.Operation, ext *model.Extension, extPtr string, p idempotency.Policy) {
	if op.Body == nil && ext.Set["fingerprint"] {
		for i, item := range p.Fingerprint {
			if item == "body" || strings.HasPrefix(item, "/") {
				c.report(RuleFingerprintNoBody, op, ext.FieldPos(fmt.Sprintf("fingerprint[%d]", i)), fmt.Sprintf("%s/fingerprint/%d", extPtr, i),
					"fingerprint item %q compares the body of %s, which has no request body; remove it from fingerprint", item, op.Label())
			}
		}
	}
	if op.Body != nil && ext.Set["fingerprint"] && len(p.Fingerprint) > 0 &&
		!slices.ContainsFunc(p.Fingerprint, func(item string) bool { return item == "body" || strings.HasPrefix(item, "/") }) {
		c.report(RuleFingerprintNoBodyItem, op, ext.FieldPos("fingerprint"), extPtr+"/fingerprint",
			"fingerprint [%s] of %s compares nothing of its request body: a key reused with another body replays the first response instead of 422; add body (or the JSON Pointers that identify the request)",
			strings.Join(p.Fingerprint, ", "), op.Label())
	}
	// scope principal without security is the generator's error
	// (extension.RulePrincipalUnsecured): lint reports it from api.Diagnostics.
	if len(p.Scope) == 0 {
		mt := c.cfg.Policy.MultiTenant
		if mt != nil && !*mt {
			return // the config says the API is not multi-tenant
		}
		tenant := tenantParam(op, c.cfg.Policy)
		if tenant == nil && !c.multiTenant {
			return
		}
		var fix string
		switch {
		case tenant != nil && op.Secured:
			fix = fmt.Sprintf("add scope: [%s:%s] (or [principal])", tenant.In, tenant.Name)
		case tenant != nil:
			fix = fmt.Sprintf("add scope: [%s:%s]", tenant.In, tenant.Name)
		case op.Secured:
			fix = "add scope: [principal]"
		default:
			fix = "add a securityScheme and `security` to this operation, then scope: [principal] (or scope by a tenant parameter)"
		}
		c.report(RuleUnscopedTenant, op, ext.Pos, extPtr,
			"%s is idempotent without a scope on a multi-tenant API: keys of different tenants share one key space; %s", op.Label(), fix)
	}
}

// tenantParam returns the operation's parameter that names a tenant, or nil.
func tenantParam(op *model.Operation, pol Policy) *model.Param {
	names := pol.TenantParams
	if names == nil {
		names = DefaultTenantParams
	}
	for _, p := range op.Params {
		for _, n := range names {
			if strings.EqualFold(p.Name, n) {
				return p
			}
		}
	}
	return nil
}

// multiTenant reports whether the config declares the whole API multi-tenant
// (policy.multiTenant: true), so that every idempotent operation needs a
// scope. Without it, an operation needs one when it has a tenant parameter
// itself: a tenant parameter elsewhere says nothing about this operation's
// keys.
func multiTenant(pol Policy) bool { return pol.MultiTenant != nil && *pol.MultiTenant }

// ErrorStatuses returns the idempotency error statuses an operation with
// policy p can answer: 400 unless the key is derived, 409, and 422 unless the
// fingerprint is empty.
func ErrorStatuses(p idempotency.Policy) []string {
	var out []string
	if len(p.Key.Derive) == 0 {
		out = append(out, "400")
	}
	out = append(out, "409")
	if p.Fingerprint == nil || len(p.Fingerprint) > 0 {
		out = append(out, "422")
	}
	return out
}

// findResponse returns the response documenting code: the exact status, else
// its range ("4XX"); nil when neither is declared.
func findResponse(op *model.Operation, code string) *model.Response {
	for _, r := range op.Responses {
		if r.Status == code {
			return r
		}
	}
	for _, r := range op.Responses {
		if strings.EqualFold(r.Status, code[:1]+"XX") {
			return r
		}
	}
	return nil
}

// ProblemJSON is the media type of the runtime's errors.
const ProblemJSON = "application/problem+json"

// ReplayedHeader is the response header that marks a replay.
const ReplayedHeader = "Idempotent-Replayed"

func (c *checker) documentation(op *model.Operation, ext *model.Extension, extPtr string, p idempotency.Policy) {
	var missing []string
	checked := map[*model.Response]bool{} // a 4XX range answers for several codes
	for _, code := range ErrorStatuses(p) {
		r := findResponse(op, code)
		if r == nil {
			// A default problem+json response documents every error status.
			if d := defaultResponse(op); d != nil && hasMediaType(d, ProblemJSON) {
				continue
			}
			missing = append(missing, code)
			continue
		}
		if !checked[r] && !hasMediaType(r, ProblemJSON) {
			checked[r] = true
			c.report(RuleDocProblemJSON, op, r.Pos, op.Pointer+"/responses/"+r.Status,
				"response %s of %s is not %s (the runtime's idempotency errors are); document it as %s (idemgen annotate adds it)", r.Status, op.Label(), ProblemJSON, ProblemJSON)
		}
	}
	if len(missing) > 0 {
		c.report(RuleDocErrors, op, op.Pos, op.Pointer+"/responses",
			"%s does not document its idempotency error responses %s; idemgen annotate adds them", op.Label(), strings.Join(missing, ", "))
	}
	for _, r := range op.Responses {
		if !strings.HasPrefix(r.Status, "2") || !Cached(p, r.Status) {
			continue
		}
		declared := false
		for _, h := range r.Headers {
			if strings.EqualFold(h.Name, ReplayedHeader) {
				declared = true
			}
		}
		if !declared {
			c.report(RuleDocReplayed, op, r.Pos, op.Pointer+"/responses/"+r.Status,
				"response %s of %s does not declare the %s header; idemgen annotate adds it", r.Status, op.Label(), ReplayedHeader)
		}
	}
	for i, item := range p.Cache {
		if retryable(item) {
			c.report(RuleCacheRetryable, op, ext.FieldPos(fmt.Sprintf("cache[%d]", i)), fmt.Sprintf("%s/cache/%d", extPtr, i),
				"cache item %q stores an outcome a retry must be allowed to change: retries could never succeed; remove it from cache", item)
		}
		if item == "401" || item == "408" || item == "409" {
			c.report(RuleCacheTransient, op, ext.FieldPos(fmt.Sprintf("cache[%d]", i)), fmt.Sprintf("%s/cache/%d", extPtr, i),
				"cache item %q stores an outcome in which the request did not run: every retry of the key gets it until the ttl expires; remove it from cache", item)
		}
	}
	if r := findResponse(op, "409"); r != nil && !hasHeader(r, "Retry-After") {
		c.report(RuleDocRetryAfter, op, r.Pos, op.Pointer+"/responses/"+r.Status,
			"response %s of %s does not declare the Retry-After header the runtime sends with a 409 in flight (integer seconds); idemgen annotate adds it", r.Status, op.Label())
	}
	c.redirectOnly(op, ext, extPtr, p)
	if policydoc.Stale(op.Description, p) {
		pub, _ := policydoc.Published(op.Description)
		c.report(RulePolicyDocStale, op, op.Pos, op.Pointer+"/description",
			"the policy published in the description of %s is stale: it says %q, the policy now says %q; run idemgen annotate",
			op.Label(), pub, policydoc.Sentence(p))
	}
}

// redirectOnly reports an operation whose every documented success is a 3xx
// that the policy does not store: a resubmit after completion runs again.
func (c *checker) redirectOnly(op *model.Operation, ext *model.Extension, extPtr string, p idempotency.Policy) {
	var redirects []string
	for _, r := range op.Responses {
		switch r.Status[0] {
		case '2':
			return
		case '3':
			if !Cached(p, r.Status) {
				redirects = append(redirects, r.Status)
			}
		}
	}
	if len(redirects) == 0 {
		return
	}
	pos, ptr := ext.FieldPos("cache"), extPtr+"/cache"
	if !ext.Set["cache"] {
		pos, ptr = ext.Pos, extPtr
	}
	c.report(RuleRedirectUncached, op, pos, ptr,
		"%s succeeds only with %s, which cache does not store: a resubmit after it completed runs it again; add %s to cache",
		op.Label(), strings.Join(redirects, ", "), strings.ToLower(redirects[0]))
}

func defaultResponse(op *model.Operation) *model.Response {
	for _, r := range op.Responses {
		if r.Status == "default" {
			return r
		}
	}
	return nil
}

func hasHeader(r *model.Response, name string) bool {
	for _, h := range r.Headers {
		if strings.EqualFold(h.Name, name) {
			return true
		}
	}
	return false
}

func hasMediaType(r *model.Response, mt string) bool {
	for _, ct := range r.Contents {
		if strings.EqualFold(ct.MediaType, mt) {
			return true
		}
	}
	return false
}

// Cached reports whether responses with a documented status ("201", "2XX")
// are in p's cache set, so are stored and replayed (429 only when listed).
func Cached(p idempotency.Policy, status string) bool {
	cache := p.Cache
	if cache == nil {
		cache = idempotency.DefaultCache()
	}
	for _, item := range cache {
		if strings.EqualFold(item, status) {
			return true
		}
		// As in the runtime, a class ("4xx") does not cover 429: the request
		// was not processed.
		if strings.EqualFold(item, status[:1]+"xx") && status != "429" {
			return true
		}
	}
	return false
}

func retryable(item string) bool {
	if strings.EqualFold(item, "5xx") || item == "429" {
		return true
	}
	n, err := strconv.Atoi(item)
	return err == nil && n >= 500 && n <= 599
}

func (c *checker) policy(op *model.Operation, ext *model.Extension, extPtr string, p idempotency.Policy) {
	ttl := p.TTL
	if ttl == 0 {
		ttl = idempotency.DefaultTTL
	}
	if min := time.Duration(c.cfg.Policy.MinTTL); min > 0 && ttl < min {
		c.report(RuleTTLMinimum, op, ext.FieldPos("ttl"), extPtr+"/ttl",
			"ttl %s of %s is shorter than the organisation minimum %s", extension.FormatDuration(ttl), op.Label(), extension.FormatDuration(min))
	}
	if h := time.Duration(c.cfg.Policy.RetryHorizon); h > 0 && ttl < h {
		c.report(RuleTTLRetryHorizon, op, ext.FieldPos("ttl"), extPtr+"/ttl",
			"ttl %s of %s is shorter than the clients' retry horizon %s: late retries would run again", extension.FormatDuration(ttl), op.Label(), extension.FormatDuration(h))
	}
}
