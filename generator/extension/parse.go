package extension

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"net/textproto"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/idemgen/idemgen/generator/model"
	"github.com/idemgen/idemgen/runtime/idempotency"
)

// Names of the two extensions.
const (
	Name         = "x-idempotent"
	DefaultsName = "x-idempotent-defaults"
)

// PosFunc returns the position of the node at rel, a JSON Pointer relative to
// the extension value ("" for the value itself, "/ttl", "/scope/1"). It should
// fall back to the nearest enclosing node it knows.
type PosFunc func(rel string) model.Pos

// Input is one extension value as the document holds it.
type Input struct {
	// Value is the decoded value: bool, string, float64 or an integer type,
	// json.Number, []any, map[string]any or nil.
	Value any
	// Pointer is the JSON Pointer of the value in its file
	// ("/paths/~1songs/post/x-idempotent").
	Pointer string
	// Pos locates nodes inside the value; nil means every node is at the zero Pos.
	Pos PosFunc
}

// Parse parses an operation's x-idempotent value. It checks the shape and each
// field's value on its own; cross-field and operation rules are Check's. The
// returned Extension is never nil: on errors it holds what could be read, with
// Enabled set unless the value is a waiver, so that one bad field does not hide
// the operation from later rules.
func Parse(in Input) (*model.Extension, []model.Diagnostic) {
	p := newParser(in, Name)
	p.parse(false)
	return p.ext, p.diags
}

// ParseDefaults parses the document's x-idempotent-defaults: the same fields as
// x-idempotent except enabled and reason, and no shorthand.
func ParseDefaults(in Input) (*model.Extension, []model.Diagnostic) {
	p := newParser(in, DefaultsName)
	p.parse(true)
	return p.ext, p.diags
}

type parser struct {
	in    Input
	name  string
	ext   *model.Extension
	diags []model.Diagnostic
}

func newParser(in Input, name string) *parser {
	if in.Pos == nil {
		in.Pos = func(string) model.Pos { return model.Pos{} }
	}
	return &parser{in: in, name: name, ext: &model.Extension{
		Set:       map[string]bool{},
		Fields:    map[string]model.Pos{},
		Inherited: map[string]bool{},
		Pointer:   in.Pointer,
		Pos:       in.Pos(""),
	}}
}

// relPointer converts a dotted field name ("key.header", "scope[1]") to the
// relative JSON Pointer of its node ("/key/header", "/scope/1").
func relPointer(field string) string {
	if field == "" {
		return ""
	}
	var b strings.Builder
	b.Grow(len(field) + 2)
	b.WriteByte('/')
	for i := 0; i < len(field); i++ {
		switch c := field[i]; c {
		case '.', '[':
			b.WriteByte('/')
		case ']':
		case '~':
			b.WriteString("~0")
		case '/':
			b.WriteString("~1")
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func (p *parser) report(sev model.Severity, rule, field, format string, args ...any) {
	label := p.name
	if field != "" {
		label += "." + field
	}
	p.diags = append(p.diags, model.Diagnostic{
		Pos:      p.in.Pos(relPointer(field)),
		Severity: sev,
		Rule:     rule,
		Pointer:  p.in.Pointer + relPointer(field),
		Message:  label + ": " + fmt.Sprintf(format, args...),
	})
}

func (p *parser) errorf(rule, field, format string, args ...any) {
	p.report(model.Error, rule, field, format, args...)
}

// mark records a written field and its position.
func (p *parser) mark(field string) {
	p.ext.Set[field] = true
	p.ext.Fields[field] = p.in.Pos(relPointer(field))
}

// describe names the JSON type of v for "want X, got Y" messages.
func describe(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case bool:
		return strconv.FormatBool(v)
	case string:
		return strconv.Quote(v)
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	case json.Number:
		return "number " + v.String()
	case float64:
		return "number " + strconv.FormatFloat(v, 'g', -1, 64)
	case float32, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return fmt.Sprintf("number %v", v)
	}
	return fmt.Sprintf("%T", v)
}

// asInt converts an integral JSON number of any decoded representation.
func asInt(v any) (int64, bool) {
	switch n := v.(type) {
	case int:
		return int64(n), true
	case int8:
		return int64(n), true
	case int16:
		return int64(n), true
	case int32:
		return int64(n), true
	case int64:
		return n, true
	case uint:
		return int64(n), n <= math.MaxInt64
	case uint8:
		return int64(n), true
	case uint16:
		return int64(n), true
	case uint32:
		return int64(n), true
	case uint64:
		return int64(n), n <= math.MaxInt64
	case float64:
		if n == math.Trunc(n) && math.Abs(n) < 1<<62 {
			return int64(n), true
		}
	case float32:
		f := float64(n)
		if f == math.Trunc(f) && math.Abs(f) < 1<<62 {
			return int64(f), true
		}
	case json.Number:
		i, err := n.Int64()
		return i, err == nil
	}
	return 0, false
}

var topFields = []string{
	"enabled", "reason", "key", "scope", "fingerprint", "ttl", "lease", "concurrent",
	"cache", "replayHeaders", "maxBodyBytes", "maxRequestBytes", "failOpen", "problemType", "issued",
}

var keyFields = []string{"header", "query", "field", "derive", "required", "format", "pattern", "maxLength", "inject"}

var issuedFields = []string{"maxAge", "bindPrincipal"}

func (p *parser) parse(defaults bool) {
	switch v := p.in.Value.(type) {
	case bool:
		if defaults {
			p.errorf(RuleType, "", "want an object of default fields, got %s", describe(v))
			return
		}
		p.ext.Enabled = v
	case map[string]any:
		p.ext.Enabled = true
		p.object(v, defaults)
	default:
		if defaults {
			p.errorf(RuleType, "", "want an object of default fields, got %s", describe(v))
		} else {
			p.errorf(RuleType, "", "want true, false or an object, got %s", describe(v))
			// Treat the operation as idempotent so that later rules still look at it.
			p.ext.Enabled = true
		}
	}
}

// sortedKeys gives a deterministic order to a map's keys.
func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

func (p *parser) unknown(field, name string, known []string) {
	msg := fmt.Sprintf("unknown field %q", name)
	if s := Suggest(name, known); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	}
	full := name
	if field != "" {
		full = field + "." + name
	}
	p.errorf(RuleUnknownField, full, "%s", msg)
}

func (p *parser) object(m map[string]any, defaults bool) {
	pol := &p.ext.Policy
	for _, k := range sortedKeys(m) {
		v := m[k]
		switch k {
		case "enabled", "reason":
			if defaults {
				p.errorf(RuleUnknownField, k, "%s belongs on an operation's x-idempotent, not in the defaults", k)
				continue
			}
			p.mark(k)
			if k == "enabled" {
				b, ok := v.(bool)
				if !ok {
					p.errorf(RuleType, k, "want true or false, got %s", describe(v))
					continue
				}
				p.ext.Enabled = b
			} else {
				s, ok := v.(string)
				if !ok {
					p.errorf(RuleType, k, "want a string, got %s", describe(v))
					continue
				}
				p.ext.Reason = s
			}
		case "key":
			p.mark(k)
			km, ok := v.(map[string]any)
			if !ok {
				p.errorf(RuleType, k, "want an object (header, query, field, derive, required, format, pattern, maxLength), got %s", describe(v))
				continue
			}
			p.key(km)
		case "scope":
			p.mark(k)
			items, ok := p.strings(k, v)
			if !ok {
				continue
			}
			pol.Scope = []string{}
			for i, s := range items {
				f := fmt.Sprintf("scope[%d]", i)
				if err := checkRef(s, true, false); err != nil {
					p.errorf(RuleValue, f, "%v", err)
					continue
				}
				pol.Scope = append(pol.Scope, s)
			}
		case "fingerprint":
			p.mark(k)
			items, ok := p.strings(k, v)
			if !ok {
				continue
			}
			pol.Fingerprint = []string{}
			for i, s := range items {
				f := fmt.Sprintf("fingerprint[%d]", i)
				switch s {
				case "method", "path", "query", "body":
				default:
					if strings.HasPrefix(s, "query:") || strings.HasPrefix(s, "path:") {
						p.errorf(RuleValue, f, "want method, path, query, body, header:NAME or a JSON Pointer, got %q", s)
						continue
					}
					if err := checkRef(s, false, false); err != nil {
						p.errorf(RuleValue, f, "want method, path, query, body, header:NAME or a JSON Pointer, got %q", s)
						continue
					}
				}
				pol.Fingerprint = append(pol.Fingerprint, s)
			}
		case "ttl":
			p.mark(k)
			pol.TTL = p.duration(k, v)
		case "lease":
			p.mark(k)
			pol.Lease = p.duration(k, v)
		case "concurrent":
			p.mark(k)
			s, ok := v.(string)
			if !ok {
				p.errorf(RuleType, k, "want reject or wait, got %s", describe(v))
				continue
			}
			switch c := idempotency.Concurrency(s); c {
			case idempotency.ConcurrentReject, idempotency.ConcurrentWait:
				pol.Concurrent = c
			default:
				p.errorf(RuleValue, k, "want reject or wait, got %q", s)
			}
		case "cache":
			p.mark(k)
			list, ok := v.([]any)
			if !ok {
				p.errorf(RuleType, k, "want a list such as [2xx, 4xx], got %s", describe(v))
				continue
			}
			pol.Cache = []string{}
			for i, item := range list {
				f := fmt.Sprintf("cache[%d]", i)
				p.ext.Fields[f] = p.in.Pos(relPointer(f))
				s, ok := cacheItem(item)
				if !ok {
					p.errorf(RuleValue, f, "want 2xx, 3xx, 4xx, 5xx or a status code from 100 to 599, got %s", describe(item))
					continue
				}
				pol.Cache = append(pol.Cache, s)
			}
		case "replayHeaders":
			p.mark(k)
			if s, ok := v.(string); ok {
				if s != "default" {
					p.errorf(RuleValue, k, "want default or a list of header names, got %q", s)
				}
				continue
			}
			items, ok := p.strings(k, v)
			if !ok {
				continue
			}
			pol.ReplayHeaders = []string{}
			for i, h := range items {
				if !validToken(h) {
					p.errorf(RuleValue, fmt.Sprintf("replayHeaders[%d]", i), "want a header name, got %q", h)
					continue
				}
				pol.ReplayHeaders = append(pol.ReplayHeaders, textproto.CanonicalMIMEHeaderKey(h))
			}
		case "maxBodyBytes":
			p.mark(k)
			pol.MaxBodyBytes = p.size(k, v)
		case "maxRequestBytes":
			p.mark(k)
			pol.MaxRequestBytes = p.size(k, v)
		case "failOpen":
			p.mark(k)
			b, ok := v.(bool)
			if !ok {
				p.errorf(RuleType, k, "want true or false, got %s", describe(v))
				continue
			}
			pol.FailOpen = b
		case "problemType":
			p.mark(k)
			s, ok := v.(string)
			if !ok {
				p.errorf(RuleType, k, "want an absolute URI, got %s", describe(v))
				continue
			}
			if u, err := url.Parse(s); err != nil || !u.IsAbs() {
				p.errorf(RuleValue, k, "want an absolute URI such as \"https://api.example.com/problems\", got %q", s)
				continue
			}
			pol.ProblemType = s
		case "issued":
			p.mark(k)
			p.issued(v)
		default:
			p.unknown("", k, topFields)
		}
	}
}

func (p *parser) key(m map[string]any) {
	k := &p.ext.Policy.Key
	for _, name := range sortedKeys(m) {
		v := m[name]
		f := "key." + name
		switch name {
		case "header", "query", "field":
			p.mark(f)
			s, ok := v.(string)
			if !ok || s == "" {
				p.errorf(RuleType, f, "want a non-empty string, got %s", describe(v))
				continue
			}
			switch name {
			case "header":
				if !validToken(s) {
					p.errorf(RuleValue, f, "want a header name, got %q", s)
					continue
				}
				k.Header = s
			case "query":
				k.Query = s
			case "field":
				if strings.HasPrefix(s, "/") {
					if err := checkPointer(s); err != nil {
						p.errorf(RuleValue, f, "%v", err)
						continue
					}
				}
				k.Field = s
			}
		case "derive":
			p.mark(f)
			items, ok := p.strings(f, v)
			if !ok {
				continue
			}
			if len(items) == 0 {
				p.errorf(RuleValue, f, "want at least one request value to derive the key from")
				continue
			}
			k.Derive = []string{}
			for i, s := range items {
				if err := checkRef(s, false, true); err != nil {
					p.errorf(RuleValue, fmt.Sprintf("%s[%d]", f, i), "%v", err)
					continue
				}
				k.Derive = append(k.Derive, s)
			}
		case "required":
			p.mark(f)
			b, ok := v.(bool)
			if !ok {
				p.errorf(RuleType, f, "want true or false, got %s", describe(v))
				continue
			}
			k.Optional = !b
		case "inject":
			p.mark(f)
			b, ok := v.(bool)
			if !ok {
				p.errorf(RuleType, f, "want true or false, got %s", describe(v))
				continue
			}
			k.Inject = b
		case "format":
			p.mark(f)
			s, ok := v.(string)
			if !ok {
				p.errorf(RuleType, f, "want any, uuid, ulid or pattern, got %s", describe(v))
				continue
			}
			switch fm := idempotency.Format(s); fm {
			case idempotency.FormatAny, idempotency.FormatUUID, idempotency.FormatULID, idempotency.FormatPattern:
				k.Format = fm
			default:
				p.errorf(RuleValue, f, "want any, uuid, ulid or pattern, got %q", s)
			}
		case "pattern":
			p.mark(f)
			if v == nil { // the contract's documented default is pattern: null
				continue
			}
			s, ok := v.(string)
			if !ok {
				p.errorf(RuleType, f, "want a regular expression string, got %s", describe(v))
				continue
			}
			if _, err := regexp.Compile(s); err != nil {
				p.errorf(RulePatternInvalid, f, "want a Go regular expression, got %q: %v", s, err)
				continue
			}
			k.Pattern = s
		case "maxLength":
			p.mark(f)
			n, ok := asInt(v)
			if !ok {
				p.errorf(RuleType, f, "want a positive integer, got %s", describe(v))
				continue
			}
			if n <= 0 || n > math.MaxInt32 {
				p.errorf(RuleNotPositive, f, "want a positive length, got %d", n)
				continue
			}
			k.MaxLength = int(n)
		default:
			p.unknown("key", name, keyFields)
		}
	}
}

func (p *parser) issued(v any) {
	pol := &p.ext.Policy
	switch v := v.(type) {
	case bool:
		if v {
			pol.Issued = &idempotency.IssuedKeys{}
		}
	case map[string]any:
		pol.Issued = &idempotency.IssuedKeys{}
		for _, name := range sortedKeys(v) {
			f := "issued." + name
			switch name {
			case "maxAge":
				p.mark(f)
				pol.Issued.MaxAge = p.duration(f, v[name])
			case "bindPrincipal":
				p.mark(f)
				b, ok := v[name].(bool)
				if !ok {
					p.errorf(RuleType, f, "want true or false, got %s", describe(v[name]))
					continue
				}
				pol.Issued.BindPrincipal = b
			default:
				p.unknown("issued", name, issuedFields)
			}
		}
	default:
		p.errorf(RuleType, "issued", "want true, false or an object (maxAge, bindPrincipal), got %s", describe(v))
	}
}

// strings reads a list of strings, marking each item's position.
func (p *parser) strings(field string, v any) ([]string, bool) {
	list, ok := v.([]any)
	if !ok {
		p.errorf(RuleType, field, "want a list of strings, got %s", describe(v))
		return nil, false
	}
	out := make([]string, 0, len(list))
	for i, item := range list {
		f := fmt.Sprintf("%s[%d]", field, i)
		p.ext.Fields[f] = p.in.Pos(relPointer(f))
		s, ok := item.(string)
		if !ok {
			p.errorf(RuleType, f, "want a string, got %s", describe(item))
			continue
		}
		out = append(out, s)
	}
	return out, true
}

func (p *parser) duration(field string, v any) time.Duration {
	s, ok := v.(string)
	if !ok {
		p.errorf(RuleType, field, "want a duration like \"24h\", got %s", describe(v))
		return 0
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		p.errorf(RuleValue, field, "want a duration like \"24h\", got %q", s)
		return 0
	}
	if d <= 0 {
		p.errorf(RuleNotPositive, field, "want a positive duration, got %q", s)
		return 0
	}
	return d
}

var sizeUnits = map[string]int64{
	"": 1, "b": 1,
	"kb": 1000, "mb": 1000 * 1000, "gb": 1000 * 1000 * 1000,
	"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30,
}

// size reads a byte count: an integer, or a string such as "1MiB", "512KB".
func (p *parser) size(field string, v any) int64 {
	var n int64
	if i, ok := asInt(v); ok {
		n = i
	} else if s, ok := v.(string); ok {
		num := strings.TrimRight(s, "BbKkMmGgIi ")
		unit := strings.ToLower(strings.TrimSpace(s[len(num):]))
		mult, okUnit := sizeUnits[unit]
		i, err := strconv.ParseInt(strings.TrimSpace(num), 10, 64)
		if err != nil || !okUnit || (i != 0 && mult > math.MaxInt64/absInt(i)) {
			p.errorf(RuleValue, field, "want a size such as 1048576, \"512KiB\" or \"1MiB\", got %q", s)
			return 0
		}
		n = i * mult
	} else {
		p.errorf(RuleType, field, "want a size such as 1048576 or \"1MiB\", got %s", describe(v))
		return 0
	}
	if n <= 0 {
		p.errorf(RuleNotPositive, field, "want a positive size, got %s", describe(v))
		return 0
	}
	return n
}

func absInt(i int64) int64 {
	if i < 0 {
		if i == math.MinInt64 {
			return math.MaxInt64
		}
		return -i
	}
	return i
}

// cacheItem normalises one cache entry: "2xx".."5xx" (any case) or a status code.
func cacheItem(v any) (string, bool) {
	if n, ok := asInt(v); ok {
		if n >= 100 && n <= 599 {
			return strconv.FormatInt(n, 10), true
		}
		return "", false
	}
	s, ok := v.(string)
	if !ok {
		return "", false
	}
	ls := strings.ToLower(s)
	if len(ls) == 3 && ls[1:] == "xx" && ls[0] >= '1' && ls[0] <= '5' {
		return ls, true
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 100 || n > 599 {
		return "", false
	}
	return strconv.Itoa(n), true
}

// checkRef checks a "header:NAME" / "query:NAME" / "path:NAME" / JSON Pointer
// item, and "principal" where allowed. derive allows every form but principal;
// scope every form but pointers.
func checkRef(item string, scope, derive bool) error {
	want := "header:NAME or a JSON Pointer"
	switch {
	case scope:
		want = "header:NAME, query:NAME, path:NAME or principal"
	case derive:
		want = "header:NAME, query:NAME, path:NAME or a JSON Pointer"
	}
	switch {
	case item == "principal" && scope:
		return nil
	case strings.HasPrefix(item, "header:"):
		if !validToken(item[len("header:"):]) {
			return fmt.Errorf("want header:NAME with a header name, got %q", item)
		}
		return nil
	case (scope || derive) && strings.HasPrefix(item, "query:"):
		if item == "query:" {
			return fmt.Errorf("want query:NAME, got %q", item)
		}
		return nil
	case (scope || derive) && strings.HasPrefix(item, "path:"):
		if item == "path:" {
			return fmt.Errorf("want path:NAME, got %q", item)
		}
		return nil
	case !scope && strings.HasPrefix(item, "/"):
		return checkPointer(item)
	}
	return fmt.Errorf("want %s, got %q", want, item)
}

// checkPointer checks RFC 6901 syntax.
func checkPointer(ptr string) error {
	if _, err := SplitPointer(ptr); err != nil {
		return err
	}
	return nil
}

// SplitPointer splits an RFC 6901 JSON Pointer ("/a/b~1c") into its unescaped
// tokens (["a", "b/c"]).
func SplitPointer(ptr string) ([]string, error) {
	if ptr == "" || ptr[0] != '/' {
		return nil, fmt.Errorf("want a JSON Pointer starting with \"/\", got %q", ptr)
	}
	toks := strings.Split(ptr[1:], "/")
	for i, t := range toks {
		if !strings.Contains(t, "~") {
			continue
		}
		for j := 0; j < len(t); j++ {
			if t[j] == '~' && (j+1 == len(t) || (t[j+1] != '0' && t[j+1] != '1')) {
				return nil, fmt.Errorf("want a JSON Pointer (~ escaped as ~0 or ~1), got %q", ptr)
			}
		}
		toks[i] = strings.ReplaceAll(strings.ReplaceAll(t, "~1", "/"), "~0", "~")
	}
	return toks, nil
}

// validToken reports whether s is an HTTP token (RFC 9110), e.g. a header name.
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			continue
		}
		if !strings.ContainsRune("!#$%&'*+-.^_`|~", rune(c)) {
			return false
		}
	}
	return true
}

// Suggest returns the known name closest to name (edit distance at most 2,
// case-insensitive), or "": the "did you mean" of unknown names.
func Suggest(name string, known []string) string {
	best, bestD := "", 3
	for _, k := range known {
		if d := distance(strings.ToLower(name), strings.ToLower(k)); d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

// distance is the Levenshtein distance; inputs are short field names (a long
// unknown name is cut so the cost stays bounded).
func distance(a, b string) int {
	if len(a) > 64 {
		a = a[:64]
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
