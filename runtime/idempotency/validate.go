package idempotency

import (
	"fmt"
	"net/http"
	"net/textproto"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Rule ids of the field errors Validate reports. They are the x-idempotent
// extension's stable ids (docs/lint.md): the generator reports a FieldError
// under its Rule, located at the field in the spec.
const (
	// RuleValue: a field with an unusable value (a bad enum value, header
	// name, JSON Pointer or status code).
	RuleValue = "extension-value"
	// RuleNotPositive: a negative ttl, lease, maxLength, byte limit or maxAge.
	RuleNotPositive = "extension-not-positive"
	// RuleTTLShorterThanLease: ttl < lease; a record could expire while its
	// request still runs.
	RuleTTLShorterThanLease = "ttl-shorter-than-lease"
	// RuleKeyMultipleSources: more than one of key.header, key.query,
	// key.field and key.derive.
	RuleKeyMultipleSources = "key-multiple-sources"
	// RulePatternWithoutFormat: key.pattern without key.format: pattern.
	RulePatternWithoutFormat = "key-pattern-without-format"
	// RuleFormatWithoutPattern: key.format: pattern without key.pattern.
	RuleFormatWithoutPattern = "key-format-without-pattern"
	// RulePatternInvalid: key.pattern is not a Go regular expression.
	RulePatternInvalid = "key-pattern-invalid"
	// RulePolicyInvalid: fields that contradict each other (inject and issued,
	// a derived issued key...), or no operation id.
	RulePolicyInvalid = "policy-invalid"
)

// FieldError is one invalid field of a Policy. Field is the field's path in the
// x-idempotent extension's spelling ("ttl", "key.pattern", "scope[1]"); Rule
// is one of the Rule constants.
type FieldError struct {
	Field   string
	Rule    string
	Message string
}

// Error returns "field: message".
func (e FieldError) Error() string { return e.Field + ": " + e.Message }

// ValidationError lists every invalid field of a Policy, in field order. It is
// returned by Policy.Validate and New; use errors.As to reach the fields.
type ValidationError []FieldError

// Error joins the field errors into one line.
func (v ValidationError) Error() string {
	var b strings.Builder
	b.WriteString("idempotency: invalid policy")
	for i, f := range v {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(f.Error())
	}
	return b.String()
}

// Validate reports every invalid field of p as a ValidationError, or nil when p
// is usable. It applies the same rules as New (which compiles the policy once).
func (p Policy) Validate() error {
	_, err := compile(p)
	return err
}

// refKind says where a request value comes from.
type refKind uint8

const (
	refHeader refKind = iota + 1
	refQuery
	refPath
	refPointer
	refPrincipal
	refForm // a field of an application/x-www-form-urlencoded body
)

// valueRef is one compiled "header:NAME" / "query:NAME" / "path:NAME" / "/ptr" /
// "principal" item.
type valueRef struct {
	kind refKind
	name string   // canonical header name, query/path/form name
	ptr  []string // unescaped JSON Pointer tokens (refPointer)
	raw  string   // the item as written, for errors and hashing
}

type keySource uint8

const (
	keyHeader keySource = iota + 1
	keyQuery
	keyField
	keyDerive
)

// compiled is a validated Policy with every default resolved, built once by New.
type compiled struct {
	op string

	issued *IssuedKeys // non-nil: only server-issued keys (see KeyVerifier)

	keySrc    keySource
	keyName   string   // canonical header name or query name
	keyField  valueRef // refPointer (JSON body) plus the form field name in name
	derive    []valueRef
	required  bool
	format    Format
	pattern   *regexp.Regexp
	maxKeyLen int

	scope        []valueRef
	usePrincipal bool

	fpMethod, fpPath, fpQuery, fpBody bool
	fpHeaders                         []string // canonical names
	fpPointers                        []valueRef
	needBody                          bool

	ttl, lease time.Duration
	wait       bool

	cacheClass [6]bool   // by status/100
	cacheCodes [600]bool // exact codes

	replayAll   bool
	replayAllow map[string]bool // canonical header names

	maxBody, maxReq int64
	failOpen        bool
	problemType     string
}

// compile validates p and resolves its defaults.
func compile(p Policy) (*compiled, error) {
	var errs ValidationError
	add := func(rule, field, format string, args ...any) {
		errs = append(errs, FieldError{Field: field, Rule: rule, Message: fmt.Sprintf(format, args...)})
	}
	c := &compiled{op: p.Operation}
	if p.Operation == "" {
		add(RulePolicyInvalid, "operation", "want the operation id, got an empty string")
	}

	// Key source: exactly one of header, query, field, derive (none = the default header).
	k := p.Key
	var sources []string
	if k.Header != "" {
		sources = append(sources, "header")
		c.keySrc, c.keyName = keyHeader, textproto.CanonicalMIMEHeaderKey(k.Header)
		if !validToken(k.Header) {
			add(RuleValue, "key.header", "want a header name, got %q", k.Header)
		}
	}
	if k.Query != "" {
		sources = append(sources, "query")
		c.keySrc, c.keyName = keyQuery, k.Query
	}
	if k.Field != "" {
		sources = append(sources, "field")
		c.keySrc = keyField
		ref, err := fieldRef(k.Field)
		if err != nil {
			add(RuleValue, "key.field", "%v", err)
		}
		c.keyField = ref
		c.needBody = true
	}
	if len(k.Derive) > 0 {
		sources = append(sources, "derive")
		c.keySrc = keyDerive
		for i, item := range k.Derive {
			ref, err := parseRef(item, false)
			if err != nil {
				add(RuleValue, fmt.Sprintf("key.derive[%d]", i), "%v", err)
				continue
			}
			if ref.kind == refPointer {
				c.needBody = true
			}
			c.derive = append(c.derive, ref)
		}
	}
	if len(sources) > 1 {
		add(RuleKeyMultipleSources, "key", "want exactly one of header, query, field and derive, got %s", strings.Join(sources, " and "))
	}
	if len(sources) == 0 {
		c.keySrc, c.keyName = keyHeader, DefaultHeader
	}
	c.required = !k.Optional
	c.maxKeyLen = k.MaxLength
	switch {
	case k.MaxLength == 0:
		c.maxKeyLen = DefaultMaxLength
	case k.MaxLength < 0:
		add(RuleNotPositive, "key.maxLength", "want a positive length, got %d", k.MaxLength)
	}
	c.format = k.Format
	switch k.Format {
	case "", FormatAny:
		c.format = FormatAny
	case FormatUUID, FormatULID:
	case FormatPattern:
		if k.Pattern == "" {
			add(RuleFormatWithoutPattern, "key.format", "format: pattern needs a key.pattern")
		}
	default:
		add(RuleValue, "key.format", "want any, uuid, ulid or pattern, got %q", k.Format)
	}
	if k.Pattern != "" {
		if c.format != FormatPattern {
			add(RulePatternWithoutFormat, "key.pattern", "a pattern needs format: pattern, got format %q", c.format)
		}
		re, err := regexp.Compile(`^(?:` + k.Pattern + `)$`)
		if err != nil {
			add(RulePatternInvalid, "key.pattern", "want a Go regular expression, got %q: %v", k.Pattern, err)
		}
		c.pattern = re
	}

	for i, item := range p.Scope {
		ref, err := parseRef(item, true)
		if err != nil {
			add(RuleValue, fmt.Sprintf("scope[%d]", i), "%v", err)
			continue
		}
		if ref.kind == refPointer {
			add(RuleValue, fmt.Sprintf("scope[%d]", i), "want header:NAME, query:NAME, path:NAME or principal, got %q", item)
			continue
		}
		if ref.kind == refPrincipal {
			c.usePrincipal = true
		}
		c.scope = append(c.scope, ref)
	}

	fp := p.Fingerprint
	if fp == nil {
		fp = []string{"method", "path", "query", "body"}
	}
	for i, item := range fp {
		switch item {
		case "method":
			c.fpMethod = true
		case "path":
			c.fpPath = true
		case "query":
			c.fpQuery = true
		case "body":
			c.fpBody, c.needBody = true, true
		default:
			ref, err := parseRef(item, false)
			switch {
			case err != nil:
				add(RuleValue, fmt.Sprintf("fingerprint[%d]", i), "want method, path, query, body, header:NAME or a JSON Pointer, got %q", item)
			case ref.kind == refHeader:
				c.fpHeaders = append(c.fpHeaders, ref.name)
			case ref.kind == refPointer:
				c.fpPointers = append(c.fpPointers, ref)
				c.needBody = true
			default:
				add(RuleValue, fmt.Sprintf("fingerprint[%d]", i), "want method, path, query, body, header:NAME or a JSON Pointer, got %q", item)
			}
		}
	}

	c.ttl, c.lease = orDefault(p.TTL, DefaultTTL), orDefault(p.Lease, DefaultLease)
	if c.ttl < 0 {
		add(RuleNotPositive, "ttl", "want a positive duration, got %v", p.TTL)
	}
	if c.lease < 0 {
		add(RuleNotPositive, "lease", "want a positive duration, got %v", p.Lease)
	}
	if c.ttl > 0 && c.lease > 0 && c.ttl < c.lease {
		add(RuleTTLShorterThanLease, "ttl", "want a ttl at least as long as the lease (%v), got %v", c.lease, c.ttl)
	}

	switch p.Concurrent {
	case "", ConcurrentReject:
	case ConcurrentWait:
		c.wait = true
	default:
		add(RuleValue, "concurrent", "want reject or wait, got %q", p.Concurrent)
	}

	cache := p.Cache
	if cache == nil {
		cache = DefaultCache()
	}
	for i, item := range cache {
		if len(item) == 3 && item[1] == 'x' && item[2] == 'x' && item[0] >= '1' && item[0] <= '5' {
			c.cacheClass[item[0]-'0'] = true
			continue
		}
		code, err := strconv.Atoi(item)
		if err != nil || code < 100 || code > 599 {
			add(RuleValue, fmt.Sprintf("cache[%d]", i), "want 2xx, 3xx, 4xx, 5xx or a status code, got %q", item)
			continue
		}
		c.cacheCodes[code] = true
	}

	if p.ReplayHeaders == nil {
		c.replayAll = true
	} else {
		c.replayAllow = make(map[string]bool, len(p.ReplayHeaders))
		for i, h := range p.ReplayHeaders {
			if !validToken(h) {
				add(RuleValue, fmt.Sprintf("replayHeaders[%d]", i), "want a header name, got %q", h)
				continue
			}
			c.replayAllow[textproto.CanonicalMIMEHeaderKey(h)] = true
		}
	}

	c.maxBody, c.maxReq = orDefault(p.MaxBodyBytes, DefaultMaxBodyBytes), orDefault(p.MaxRequestBytes, DefaultMaxRequestBytes)
	if c.maxBody < 0 {
		add(RuleNotPositive, "maxBodyBytes", "want a positive size, got %d", p.MaxBodyBytes)
	}
	if c.maxReq < 0 {
		add(RuleNotPositive, "maxRequestBytes", "want a positive size, got %d", p.MaxRequestBytes)
	}
	c.failOpen = p.FailOpen
	c.problemType = p.ProblemType
	if p.Key.Inject && c.keySrc != keyHeader {
		add(RulePolicyInvalid, "key.inject", "a gateway injects keys in a header: want the key in a header, not %s", c.keySourceName())
	}
	if p.Issued != nil {
		is := *p.Issued
		c.issued = &is
		if is.MaxAge < 0 {
			add(RuleNotPositive, "issued.maxAge", "want a positive duration, got %s", is.MaxAge)
		}
		if p.Key.Inject {
			add(RulePolicyInvalid, "key.inject", "a key the gateway injects is not server-issued: want inject or issued, not both")
		}
		if c.keySrc == keyDerive {
			add(RulePolicyInvalid, "issued", "a derived key is computed by the server, so it cannot be a server-issued key")
		}
		if p.Key.Format != "" && p.Key.Format != FormatAny {
			add(RulePolicyInvalid, "issued", "server-issued keys have their own format: want key.format any, got %q", p.Key.Format)
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return c, nil
}

// orDefault resolves a zero policy field to its default.
func orDefault[T int64 | time.Duration](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}

// cached reports whether a response with status code is stored and replayed.
// 429 Too Many Requests means the request was not processed, so a class
// ("4xx") does not cover it; only an explicit "429" does.
func (c *compiled) cached(code int) bool {
	if code < 100 || code > 599 {
		return false
	}
	if code == http.StatusTooManyRequests {
		return c.cacheCodes[code]
	}
	return c.cacheCodes[code] || c.cacheClass[code/100]
}

// parseRef parses "header:NAME", "query:NAME", "path:NAME", a JSON Pointer, or
// (when principal is allowed) "principal".
func parseRef(item string, principal bool) (valueRef, error) {
	ref := valueRef{raw: item}
	switch {
	case principal && item == "principal":
		ref.kind = refPrincipal
	case strings.HasPrefix(item, "header:"):
		name := item[len("header:"):]
		if !validToken(name) {
			return ref, fmt.Errorf("want header:NAME with a header name, got %q", item)
		}
		ref.kind, ref.name = refHeader, textproto.CanonicalMIMEHeaderKey(name)
	case strings.HasPrefix(item, "query:"):
		ref.kind, ref.name = refQuery, item[len("query:"):]
		if ref.name == "" {
			return ref, fmt.Errorf("want query:NAME, got %q", item)
		}
	case strings.HasPrefix(item, "path:"):
		ref.kind, ref.name = refPath, item[len("path:"):]
		if ref.name == "" {
			return ref, fmt.Errorf("want path:NAME, got %q", item)
		}
	case strings.HasPrefix(item, "/"):
		toks, err := parsePointer(item)
		if err != nil {
			return ref, err
		}
		ref.kind, ref.ptr = refPointer, toks
	default:
		return ref, fmt.Errorf("want header:NAME, query:NAME, path:NAME or a JSON Pointer, got %q", item)
	}
	return ref, nil
}

// fieldRef compiles key.field: a JSON Pointer for JSON bodies whose single
// token (or the bare name) also names the field of a form body.
func fieldRef(field string) (valueRef, error) {
	ref := valueRef{kind: refPointer, raw: field}
	if !strings.HasPrefix(field, "/") {
		ref.ptr, ref.name = []string{field}, field
		return ref, nil
	}
	toks, err := parsePointer(field)
	if err != nil {
		return ref, err
	}
	ref.ptr = toks
	if len(toks) == 1 {
		ref.name = toks[0]
	}
	return ref, nil
}

// parsePointer splits an RFC 6901 JSON Pointer into unescaped tokens.
func parsePointer(p string) ([]string, error) {
	if p == "" || p[0] != '/' {
		return nil, fmt.Errorf("want a JSON Pointer starting with \"/\", got %q", p)
	}
	parts := strings.Split(p[1:], "/")
	for i, t := range parts {
		for j := 0; j < len(t); j++ {
			if t[j] == '~' && (j+1 == len(t) || (t[j+1] != '0' && t[j+1] != '1')) {
				return nil, fmt.Errorf("want a JSON Pointer (~ escaped as ~0 or ~1), got %q", p)
			}
		}
		parts[i] = strings.NewReplacer("~1", "/", "~0", "~").Replace(t)
	}
	return parts, nil
}

// validToken reports whether s is an RFC 9110 token (a valid header name).
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}
