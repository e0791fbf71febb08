package loader

import (
	"go/token"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/idemgen/idemgen/generator/model"
)

// initialisms are written in upper case when they form a whole word, as Go
// style wants ("user_id" -> "UserID"): golint's list, the one list every
// generated identifier is made with.
var initialisms = map[string]bool{
	"acl": true, "api": true, "ascii": true, "cpu": true, "css": true, "dns": true,
	"eof": true, "guid": true, "html": true, "http": true, "https": true, "id": true,
	"ip": true, "json": true, "lhs": true, "qps": true, "ram": true, "rhs": true,
	"rpc": true, "sla": true, "smtp": true, "sql": true, "ssh": true, "tcp": true,
	"tls": true, "ttl": true, "udp": true, "ui": true, "uid": true, "uuid": true,
	"uri": true, "url": true, "utf8": true, "vm": true, "xml": true, "xmpp": true,
	"xsrf": true, "xss": true,
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

// fixedNames are the exported identifiers of the generated server and policy
// table; a schema that would take one gets a "Schema" suffix instead.
var fixedNames = []string{
	"Handler", "UnimplementedHandler", "NewServer", "ServerOption",
	"ErrNotImplemented", "Policies", "Waivers", "SecurityHandler",
	"WebhookHandler", "UnimplementedWebhookHandler", "NewWebhookHandler", "WebhookSecurityHandler",
	"WebhookSender", "NewWebhookSender",
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

// AssignGoNames gives every Go identifier of the generated code its final,
// unique name, with one initialism list (ident) and one uniquifier (nameSet):
// the schemas' types (in api.Schemas order; one that would take a fixed
// identifier of the generated API gets a "Schema" suffix), the operations'
// methods, request, response and header types and request fields, the
// variants of unions, the enum constants, the field of an open struct's
// extra properties, then the client's identifiers. The GoNames already set
// (x-go-name, or the loader's) are the candidates. Load calls it; emitters
// read the names and never make one. It is exported for models built by hand.
func AssignGoNames(api *model.API) {
	pkg := newNameSet()
	for _, n := range fixedNames {
		pkg.used[n] = true
	}
	for _, s := range api.Schemas {
		name := s.GoName
		if name == "" || !token.IsIdentifier(name) {
			name = ident(s.Name)
		}
		if pkg.used[name] {
			name += "Schema"
		}
		s.GoName = pkg.unique(name)
	}
	methods := newNameSet()
	for _, op := range api.Operations {
		assignOperationNames(pkg, methods, op)
	}
	// Webhooks and callbacks have an interface of their own, but the
	// client's decode functions of both are package-level: one name set.
	for _, op := range api.Receivers() {
		assignOperationNames(pkg, methods, op)
	}
	for _, s := range api.Schemas {
		if s.Kind == model.KindUnion && s.GoType == "" {
			nameVariants(s)
		}
	}
	for _, s := range api.Schemas {
		nameEnum(pkg, s)
		if s.Kind == model.KindObject && len(s.Properties) > 0 && s.AdditionalProperties != nil && s.GoType == "" {
			fields := newNameSet()
			for _, p := range s.Properties {
				fields.used[p.GoName] = true
			}
			s.ExtraGoName = fields.unique("AdditionalProperties")
		}
	}
	api.GoNames = model.ClientNames{
		Client: pkg.unique("Client"), NewClient: pkg.unique("NewClient"),
		DefaultUserAgent: pkg.unique("DefaultUserAgent"),
		ClientOption:     pkg.unique("ClientOption"), CallOption: pkg.unique("CallOption"),
	}
}

// assignOperationNames names op's method (unique in methods), its types
// (unique in pkg) and its request fields.
func assignOperationNames(pkg, methods *nameSet, op *model.Operation) {
	m := op.GoName
	if !token.IsExported(m) {
		m = ident(op.ID)
	}
	m = methods.unique(m)
	op.GoName = m
	op.RequestGoName = pkg.unique(m + "RequestObject")
	op.ResponseGoName = pkg.unique(m + "ResponseObject")
	fields := newNameSet()
	if op.Body != nil {
		labels := contentLabels(op.Body.Contents)
		for i, c := range op.Body.Contents {
			name := "Body"
			if len(op.Body.Contents) > 1 {
				name = labels[i] + "Body"
			}
			c.GoName = fields.unique(name)
		}
	}
	for _, p := range op.Params {
		p.GoName = fields.unique(goNameOr(p.GoName, p.Name))
	}
	for _, r := range op.Responses {
		status := statusLabel(r.Status)
		if len(r.Headers) > 0 {
			r.HeadersGoName = pkg.unique(m + status + "ResponseHeaders")
			hf := newNameSet()
			for _, h := range r.Headers {
				h.GoName = hf.unique(goNameOr(h.GoName, h.Name))
			}
		}
		if len(r.Contents) == 0 {
			r.GoName = pkg.unique(m + status + "Response")
			continue
		}
		labels := contentLabels(r.Contents)
		for i, c := range r.Contents {
			c.GoName = pkg.unique(m + status + labels[i] + "Response")
		}
	}
}

// goNameOr returns goName, or ident(name) when goName is not an identifier.
func goNameOr(goName, name string) string {
	if token.IsIdentifier(goName) {
		return goName
	}
	return ident(name)
}

// nameVariants names the branches of a union: a named schema by its type
// name, others by their shape, unique within the union.
func nameVariants(s *model.Schema) {
	ns := newNameSet()
	s.VariantNames = make([]string, len(s.Variants))
	for i, v := range s.Variants {
		if v == nil {
			continue
		}
		switch {
		case v.Name != "" && v.GoName != "":
			s.VariantNames[i] = ns.unique(v.GoName)
		case v.GoType != "":
			s.VariantNames[i] = ns.unique(ident(v.GoType))
		default:
			s.VariantNames[i] = ns.unique(ident(string(v.Kind)))
		}
	}
}

// nameEnum sets the EnumValues of a named schema that the models emit as a Go
// type with constants (a string other than date-time, an integer or a
// number): its distinct values that fit the kind, each with a constant named
// after the type and the value ("StatusActive").
func nameEnum(pkg *nameSet, s *model.Schema) {
	s.EnumValues = nil
	if len(s.Enum) == 0 || s.GoType != "" {
		return
	}
	switch {
	case s.Kind == model.KindString && s.Format != "date-time", s.Kind == model.KindInteger, s.Kind == model.KindNumber:
	default:
		return
	}
	seen := make(map[string]bool, len(s.Enum))
	for _, v := range s.Enum {
		val, raw, ok := enumValue(s.Kind, v)
		if !ok || seen[raw] {
			continue
		}
		seen[raw] = true
		s.EnumValues = append(s.EnumValues, model.EnumValue{Value: val, Raw: raw, GoName: pkg.unique(s.GoName + enumIdent(raw))})
	}
}

// enumIdent is the part of a constant's name that a value gives: ident of the
// value, "Empty" for "", "Minus" for a leading '-' ("-1" -> "Minus1").
func enumIdent(raw string) string {
	switch {
	case raw == "":
		return "Empty"
	case raw[0] == '-':
		return "Minus" + identSuffix(raw[1:])
	}
	return ident(raw)
}

// enumValue converts an enum value of the loaded document (YAML/JSON decoding
// gives string, bool, int, int64, uint64 or float64) to a value of the enum's
// kind (string, int or float64) and its text; ok is false for a value of
// another type.
func enumValue(kind model.Kind, v any) (val any, raw string, ok bool) {
	switch kind {
	case model.KindString:
		s, ok := v.(string)
		return s, s, ok
	case model.KindInteger:
		var n int64
		switch x := v.(type) {
		case int:
			n = int64(x)
		case int64:
			n = x
		case uint64:
			if x > math.MaxInt64 {
				return nil, "", false
			}
			n = int64(x)
		case float64:
			if x != math.Trunc(x) || math.Abs(x) > 1<<53 {
				return nil, "", false
			}
			n = int64(x)
		default:
			return nil, "", false
		}
		return int(n), strconv.FormatInt(n, 10), true
	case model.KindNumber:
		var x float64
		switch y := v.(type) {
		case int:
			x = float64(y)
		case int64:
			x = float64(y)
		case float64:
			x = y
		default:
			return nil, "", false
		}
		return x, strconv.FormatFloat(x, 'f', -1, 64), true
	}
	return nil, "", false
}

// bodyKindNames label body kinds in type and field names.
var bodyKindNames = map[model.BodyKind]string{
	model.BodyJSON: "JSON", model.BodyForm: "Form", model.BodyMultipart: "Multipart",
	model.BodyText: "Text", model.BodyBinary: "Binary",
}

// contentLabels names each content of a body or response by its kind, or by its
// media type when two contents share a kind.
func contentLabels(contents []*model.Content) []string {
	count := make(map[model.BodyKind]int)
	for _, c := range contents {
		count[c.Kind]++
	}
	ns := newNameSet()
	out := make([]string, len(contents))
	for i, c := range contents {
		label := bodyKindNames[c.Kind]
		if label == "" {
			label = "Binary"
		}
		if count[c.Kind] > 1 {
			label = ident(c.MediaType)
		}
		out[i] = ns.unique(label)
	}
	return out
}

// statusLabel is the status part of a response type name: "201", "2XX", "Default".
func statusLabel(status string) string {
	if status == "default" {
		return "Default"
	}
	return strings.ToUpper(status)
}
