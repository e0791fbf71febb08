package extension

import (
	"cmp"
	"errors"
	"fmt"
	"net/textproto"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/idemgen/idemgen/generator/model"
	"github.com/idemgen/idemgen/runtime/idempotency"
)

// safeMethods are the methods RFC 9110 defines as safe: idempotent by
// definition, so an idempotency key has no meaning there.
var safeMethods = map[string]bool{"GET": true, "HEAD": true, "OPTIONS": true, "TRACE": true}

// Check validates the merged policy with the runtime's own Policy.Validate (one
// key source, ttl against lease, pattern against format, ...), locating each
// field error in the spec under its rule id, and adds the rules that need the
// document: safe methods, declared scope and derive parameters, JSON Pointers
// against the request schema and the key parameter's required. op.Idempotency
// must be the merged
// extension (see Merge) with Policy.Operation set; api supplies the defaults
// (for the location of inherited fields) and the security headers. Check does
// not modify its arguments.
func Check(api *model.API, op *model.Operation) []model.Diagnostic {
	ext := op.Idempotency
	if ext == nil {
		return nil
	}
	c := &checker{api: api, op: op, ext: ext}
	if safeMethods[op.Method] {
		if ext.Enabled {
			c.report(model.Error, RuleSafeMethod, "", "%s is a safe method: it is idempotent by definition and takes no idempotency key", op.Method)
		} else {
			c.report(model.Warning, RuleSafeMethod, "", "a waiver on %s has no effect: safe methods need no idempotency key", op.Method)
		}
		return c.diags
	}
	if !ext.Enabled {
		return c.diags
	}
	c.validate()
	c.refs("scope", ext.Policy.Scope, RuleScopeUndeclared)
	c.principal()
	c.refs("key.derive", ext.Policy.Key.Derive, RuleDeriveUndeclared)
	c.pointers("fingerprint", ext.Policy.Fingerprint)
	c.keyField()
	c.keyParam()
	return c.diags
}

type checker struct {
	api   *model.API
	op    *model.Operation
	ext   *model.Extension
	diags []model.Diagnostic
}

// report adds a finding about field ("" = the extension itself), located in the
// operation's x-idempotent or in the defaults it inherited the field from.
func (c *checker) report(sev model.Severity, rule, field, format string, args ...any) {
	c.reportAt(sev, rule, field, c.ext.FieldPos(field), format, args...)
}

func (c *checker) reportAt(sev model.Severity, rule, field string, pos model.Pos, format string, args ...any) {
	label, base := Name, c.ext.Pointer
	if c.inherited(field) && c.api != nil && c.api.Defaults != nil {
		label, base = DefaultsName, c.api.Defaults.Pointer
	}
	if field != "" {
		label += "." + field
	}
	c.diags = append(c.diags, model.Diagnostic{
		Pos:       pos,
		Severity:  sev,
		Rule:      rule,
		Pointer:   base + relPointer(field),
		Message:   label + ": " + fmt.Sprintf(format, args...),
		Operation: c.op,
	})
}

// inherited reports whether field (or the list it is an item of) came from the
// defaults.
func (c *checker) inherited(field string) bool {
	if field == "" {
		return false
	}
	if c.ext.Inherited[field] {
		return true
	}
	if i := strings.IndexByte(field, '['); i > 0 {
		return c.ext.Inherited[field[:i]]
	}
	return false
}

// FormatDuration prints d the way a spec author writes it: "24h", "90s", "1h30m".
func FormatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// param finds the operation's parameter in where named name (header names
// compare case-insensitively).
func (c *checker) param(in model.ParamIn, name string) *model.Param {
	for _, p := range c.op.Params {
		if p.In != in {
			continue
		}
		if p.Name == name || in == model.InHeader && strings.EqualFold(p.Name, name) {
			return p
		}
	}
	return nil
}

// refs checks that every header:/query:/path: item of a scope or derive list
// names a declared parameter; derive's JSON Pointers go to pointers.
func (c *checker) refs(field string, items []string, rule string) {
	for i, item := range items {
		f := fmt.Sprintf("%s[%d]", field, i)
		kind, name, ok := strings.Cut(item, ":")
		if !ok {
			if strings.HasPrefix(item, "/") {
				c.pointer(f, item)
			}
			continue
		}
		in := model.ParamIn(kind)
		if c.param(in, name) != nil {
			continue
		}
		if in == model.InHeader && c.securityHeader(name) {
			c.report(model.Warning, rule, f, "header %q is not a declared parameter of %s (a security scheme carries it)", name, c.op.Label())
			continue
		}
		c.report(model.Error, rule, f, "%s parameter %q is not declared on %s", kind, name, c.op.Label())
	}
}

// principal reports scope principal on an operation that requires no
// authentication: without a principal every caller would share one key space
// (or every request would fail with 401).
func (c *checker) principal() {
	if c.op.Secured {
		return
	}
	for i, s := range c.ext.Policy.Scope {
		if s != "principal" {
			continue
		}
		if c.op.Kind != model.OpPath {
			// Receivers do not inherit the root requirement (see
			// model.Operation.Security): say so, it is the usual surprise.
			c.report(model.Error, RulePrincipalUnsecured, fmt.Sprintf("scope[%d]", i),
				"principal on %s, which has no security requirement of its own (the root `security` protects the API's operations, not its webhooks and callbacks): there is no principal to scope by; add `security` naming the scheme the provider's deliveries carry, or scope by a parameter instead", c.op.Label())
			continue
		}
		c.report(model.Error, RulePrincipalUnsecured, fmt.Sprintf("scope[%d]", i),
			"principal on %s %s, which has no security requirement: there is no principal to scope by; add a securityScheme and `security` to this operation, or scope by a tenant parameter instead", c.op.Method, c.op.Path)
	}
}

func (c *checker) securityHeader(name string) bool {
	canon := textproto.CanonicalMIMEHeaderKey(name)
	if canon == "Authorization" || canon == "Proxy-Authorization" || canon == "Cookie" {
		return true
	}
	return c.api != nil && slices.Contains(c.api.SecurityHeaders, canon)
}

func (c *checker) pointers(field string, items []string) {
	for i, item := range items {
		if strings.HasPrefix(item, "/") {
			c.pointer(fmt.Sprintf("%s[%d]", field, i), item)
		}
	}
}

// pointer reports a JSON Pointer that no JSON (or form) content of the request
// body can contain.
func (c *checker) pointer(field, ptr string) {
	toks, err := SplitPointer(ptr)
	if err != nil {
		return // Parse reported it
	}
	body := c.op.Body
	if body == nil {
		c.report(model.Error, RulePointerNotInSchema, field, "%q points into the request body, but %s has none", ptr, c.op.Label())
		return
	}
	if ok, checked := BodyCanContain(body, toks); checked && !ok {
		c.report(model.Error, RulePointerNotInSchema, field, "%q names no field the request body schema of %s can contain", ptr, c.op.Label())
	}
}

// BodyCanContain reports whether some JSON, form or multipart content of body
// can hold a value at the JSON Pointer tokens toks. checked is false when no
// such content declares a schema, so nothing can be said.
func BodyCanContain(body *model.Body, toks []string) (ok, checked bool) {
	for _, ct := range body.Contents {
		switch ct.Kind {
		case model.BodyJSON, model.BodyForm, model.BodyMultipart:
		default:
			continue
		}
		if ct.Schema == nil {
			continue
		}
		checked = true
		if SchemaCanContain(ct.Schema, toks) {
			return true, true
		}
	}
	return false, checked
}

// SchemaCanContain reports whether a value of schema s can have a value at the
// JSON Pointer tokens toks. Unconstrained schemas and maps can contain any
// name; an object with declared properties is closed unless it also declares
// additionalProperties; a union can when one of its variants can (allOf is
// already merged into the properties). Arrays take numeric tokens.
func SchemaCanContain(s *model.Schema, toks []string) bool {
	for len(toks) > 0 {
		if s == nil {
			return true
		}
		tok := toks[0]
		switch s.Kind {
		case model.KindAny:
			return true
		case model.KindObject:
			var next *model.Schema
			found := false
			for _, p := range s.Properties {
				if p.Name == tok {
					next, found = p.Schema, true
					break
				}
			}
			if !found {
				if s.AdditionalProperties != nil {
					next = s.AdditionalProperties
				} else if len(s.Properties) == 0 {
					return true
				} else {
					return false
				}
			}
			s = next
		case model.KindMap:
			s = s.AdditionalProperties
		case model.KindArray:
			if _, err := strconv.ParseUint(tok, 10, 32); err != nil {
				return false
			}
			s = s.Items
		case model.KindUnion:
			for _, v := range s.Variants {
				if SchemaCanContain(v, toks) {
					return true
				}
			}
			return false
		default:
			return false
		}
		toks = toks[1:]
	}
	return true
}

func (c *checker) keyField() {
	f := c.ext.Policy.Key.Field
	if f == "" {
		return
	}
	if strings.HasPrefix(f, "/") {
		c.pointer("key.field", f)
		return
	}
	// A bare name: the field of a form body (or a top-level JSON member).
	c.pointer("key.field", "/"+strings.NewReplacer("~", "~0", "/", "~1").Replace(f))
}

// keyParam checks that a declared key header (or query) parameter agrees with
// key.required.
func (c *checker) keyParam() {
	k := c.ext.Policy.Key
	var p *model.Param
	switch {
	case k.Query != "":
		p = c.param(model.InQuery, k.Query)
	case k.Field != "" || len(k.Derive) > 0:
		return
	default:
		name := k.Header
		if name == "" {
			name = idempotency.DefaultHeader
		}
		p = c.param(model.InHeader, name)
	}
	if p == nil || p.Required == !k.Optional {
		return
	}
	// An error (docs/extension.md): the runtime follows x-idempotent, but a
	// client generated from an optional parameter omits a key the server
	// demands (every call fails with 400), and a required parameter makes
	// clients send a key the server would let them leave out.
	field := "key.required"
	pos := p.Pos
	if p.Required {
		c.reportAt(model.Error, RuleKeyRequiredMismatch, field, pos, "the %s parameter %q is declared required, but the key is optional (set required: false on the parameter, or drop key.required: false)", p.In, p.Name)
	} else {
		c.reportAt(model.Error, RuleKeyRequiredMismatch, field, pos, "the %s parameter %q is declared optional, but the key is required (set required: true on the parameter, or key.required: false)", p.In, p.Name)
	}
}

// validate runs the runtime's own validation, so generator and runtime agree
// on what a valid policy is, and reports each field error under its rule id at
// the field's position. Parse never puts a value it rejected into the policy,
// so these are the errors no single field shows: conflicting or missing fields.
// Two messages are worded from the document (which field the author wrote).
func (c *checker) validate() {
	err := c.ext.Policy.Validate()
	var ve idempotency.ValidationError
	if err != nil && !errors.As(err, &ve) {
		c.report(model.Error, RulePolicyInvalid, "", "%v", err)
		return
	}
	for _, fe := range ve {
		field, msg := fe.Field, fe.Message
		switch fe.Rule {
		case RuleKeyMultipleSources:
			// Blame the second source the author wrote.
			var set []string
			for _, f := range keySources {
				if c.ext.Set[f] {
					set = append(set, f)
				}
			}
			if len(set) > 1 {
				field = set[1]
			}
		case RuleTTLShorterThanLease:
			ttl, lease := cmp.Or(c.ext.Policy.TTL, idempotency.DefaultTTL), cmp.Or(c.ext.Policy.Lease, idempotency.DefaultLease)
			if c.ext.Set["ttl"] {
				msg = fmt.Sprintf("%q is shorter than lease %q", FormatDuration(ttl), FormatDuration(lease))
			} else {
				field, msg = "lease", fmt.Sprintf("%q is longer than ttl %q", FormatDuration(lease), FormatDuration(ttl))
			}
		case RuleFormatWithoutPattern:
			if c.ext.Set["key.pattern"] {
				continue // a written but invalid pattern: Parse reported it
			}
		}
		c.report(model.Error, fe.Rule, field, "%s", msg)
	}
}
