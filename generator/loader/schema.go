package loader

import (
	"cmp"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/idemgen/idemgen/generator/model"
)

// schema converts the schema sr written at l. hint is the name an inline schema
// gets when it needs a Go type of its own (an object, a union or an enum);
// a $ref'd schema is named after its target. Each location is converted once,
// and a schema is registered before its children are converted, so recursive
// schemas become cycles of *model.Schema and the whole pass stays linear.
func (b *builder) schema(sr *openapi3.SchemaRef, l loc, hint string) *model.Schema {
	return b.convert(sr, l, hint, "")
}

// convert is schema with an explicit name (the component's) when name != "".
func (b *builder) convert(sr *openapi3.SchemaRef, l loc, hint, name string) *model.Schema {
	if sr == nil || sr.Value == nil {
		return nil
	}
	ref := sr.Ref != ""
	if ref {
		l = b.follow(l, sr.Ref)
	}
	if s, ok := b.schemas[l.key()]; ok {
		return s
	}
	v := sr.Value
	if !ref && name == "" {
		// A schema that only restates another one (allOf: [X], or oneOf: [X, null])
		// is that schema: fields of its type then use X directly.
		if t, toks := wrapped(v); t != nil {
			s := b.schema(t, l.at(toks...), hint)
			b.schemas[l.key()] = s
			return s
		}
	}
	m := &model.Schema{Pointer: l.ptr, Pos: b.pos(l)}
	b.schemas[l.key()] = m
	switch {
	case name != "":
		m.Name = name
	case ref:
		m.Name = refName(l)
	case hint != "" && needsName(v):
		m.Name = hint
	}
	base := hint
	if m.Name != "" {
		base = ident(m.Name)
		b.named = append(b.named, m)
	}
	b.fill(m, v, l, base)
	return m
}

// structural are JSON Pointer tokens that say where a schema sits rather than
// what it is; refName leaves them out.
var structural = map[string]bool{
	"paths": true, "components": true, "schemas": true, "schema": true, "content": true,
	"properties": true, "items": true, "additionalProperties": true, "allOf": true,
	"oneOf": true, "anyOf": true, "not": true, "requestBody": true, "requestBodies": true,
	"responses": true, "parameters": true, "headers": true, "$defs": true, "definitions": true,
}

// refName names the target of a schema $ref: the component (or $defs) name;
// the file's base name for a whole-file $ref; otherwise the meaningful tokens
// of the pointer ("#/paths/~1pets/post/requestBody/content/application~1json/schema"
// gives "/pets post application/json", which ident turns into PetsPostApplicationJSON).
func refName(l loc) string {
	if l.ptr == "" {
		return lastToken(l)
	}
	toks := strings.Split(l.ptr[1:], "/")
	for i := range toks {
		toks[i] = strings.ReplaceAll(strings.ReplaceAll(toks[i], "~1", "/"), "~0", "~")
	}
	if n := len(toks); n >= 2 && (toks[n-2] == "schemas" || toks[n-2] == "$defs" || toks[n-2] == "definitions") {
		return toks[n-1]
	}
	var keep []string
	for _, t := range toks {
		if !structural[t] {
			keep = append(keep, t)
		}
	}
	if len(keep) == 0 {
		return lastToken(l)
	}
	return strings.Join(keep[max(0, len(keep)-4):], " ")
}

// wrapped returns the one schema v restates, and the pointer tokens to it.
func wrapped(v *openapi3.Schema) (*openapi3.SchemaRef, []string) {
	if len(v.Properties) > 0 || v.Items != nil || len(v.Enum) > 0 || v.Discriminator != nil ||
		v.AdditionalProperties.Schema != nil || v.AdditionalProperties.Has != nil ||
		v.Extensions["x-go-type"] != nil || v.Always != nil {
		return nil, nil
	}
	if v.Type != nil && !(len(*v.Type) == 1 && (*v.Type)[0] == "null") && len(v.AllOf) == 0 {
		return nil, nil
	}
	if len(v.AllOf) == 1 && len(v.OneOf) == 0 && len(v.AnyOf) == 0 && v.Type == nil {
		return v.AllOf[0], []string{"allOf", "0"}
	}
	if len(v.AllOf) > 0 {
		return nil, nil
	}
	for _, f := range []struct {
		name string
		refs openapi3.SchemaRefs
	}{{"oneOf", v.OneOf}, {"anyOf", v.AnyOf}} {
		if len(f.refs) == 0 {
			continue
		}
		if len(v.OneOf) > 0 && len(v.AnyOf) > 0 {
			return nil, nil
		}
		var only *openapi3.SchemaRef
		idx := -1
		for i, r := range f.refs {
			if isNull(r) {
				continue
			}
			if only != nil {
				return nil, nil
			}
			only, idx = r, i
		}
		if only != nil {
			return only, []string{f.name, strconv.Itoa(idx)}
		}
	}
	return nil, nil
}

// isNull reports a {type: "null"} schema (OpenAPI 3.1 nullability).
func isNull(r *openapi3.SchemaRef) bool {
	return r != nil && r.Value != nil && r.Value.Type != nil && len(*r.Value.Type) == 1 && (*r.Value.Type)[0] == "null" &&
		len(r.Value.Properties) == 0
}

// needsName reports whether an inline schema becomes a Go type of its own.
func needsName(v *openapi3.Schema) bool {
	return len(v.Properties) > 0 || len(v.Enum) > 0 || len(v.AllOf) > 0 ||
		(len(v.OneOf) > 0 || len(v.AnyOf) > 0) && !constraintsOnly(v)
}

// constraintsOnly reports oneOf/anyOf branches that only add constraints (e.g.
// which properties are required) to the schema around them, rather than
// alternative types.
func constraintsOnly(v *openapi3.Schema) bool {
	for _, refs := range []openapi3.SchemaRefs{v.OneOf, v.AnyOf} {
		for _, r := range refs {
			if r == nil || r.Value == nil {
				continue
			}
			bv := r.Value
			if r.Ref != "" || bv.Type != nil || len(bv.Properties) > 0 || bv.Items != nil || len(bv.AllOf) > 0 ||
				len(bv.OneOf) > 0 || len(bv.AnyOf) > 0 || len(bv.Enum) > 0 || bv.AdditionalProperties.Schema != nil {
				return false
			}
		}
	}
	return true
}

// constEnum reports whether v is a oneOf (or anyOf) whose every branch is
// only a const, with a title or description at most: an enum in 3.1 style.
func constEnum(v *openapi3.Schema) bool {
	branches := append(append(openapi3.SchemaRefs(nil), v.OneOf...), v.AnyOf...)
	if len(branches) == 0 || len(v.OneOf) > 0 && len(v.AnyOf) > 0 {
		return false
	}
	for _, r := range branches {
		if r == nil || r.Ref != "" || r.Value == nil || r.Value.Const == nil {
			return false
		}
		bv := r.Value
		if len(bv.Properties) > 0 || bv.Items != nil || len(bv.AllOf) > 0 || len(bv.OneOf) > 0 ||
			len(bv.AnyOf) > 0 || len(bv.Enum) > 0 || bv.AdditionalProperties.Schema != nil {
			return false
		}
	}
	return true
}

func (b *builder) untyped(m *model.Schema, l loc, format string, args ...any) {
	m.Kind = model.KindAny
	b.report(model.Warning, RuleSchemaUntyped, l, nil, format, args...)
}

func (b *builder) fill(m *model.Schema, v *openapi3.Schema, l loc, base string) {
	m.Description = v.Description
	if m.Description == "" {
		m.Description = v.Title
	}
	m.Deprecated, m.ReadOnly, m.WriteOnly = v.Deprecated, v.ReadOnly, v.WriteOnly
	m.Format = v.Format
	m.Nullable = v.Nullable
	m.Pattern = v.Pattern
	m.MaxLength = intBound(v.MaxLength)
	m.MinLength = int(min(v.MinLength, math.MaxInt32))
	m.MaxItems = intBound(v.MaxItems)
	m.MinItems = int(min(v.MinItems, math.MaxInt32))
	m.MaxProperties = intBound(v.MaxProps)
	m.MinProperties = int(min(v.MinProps, math.MaxInt32))
	m.UniqueItems = v.UniqueItems
	m.MultipleOf = v.MultipleOf
	if m.MultipleOf != nil && *m.MultipleOf <= 0 {
		m.MultipleOf = nil // not a constraint JSON Schema allows; the spec's validation reports it
	}
	m.Minimum, m.ExclusiveMinimum = bound(v.Min, v.ExclusiveMin, func(a, b float64) bool { return a >= b })
	m.Maximum, m.ExclusiveMaximum = bound(v.Max, v.ExclusiveMax, func(a, b float64) bool { return a <= b })
	if gt, ok := v.Extensions["x-go-type"].(string); ok {
		m.GoType = gt
		switch imp := v.Extensions["x-go-type-import"].(type) {
		case string:
			m.GoTypeImport = imp
		case map[string]any:
			m.GoTypeImport, _ = imp["path"].(string)
		}
	}
	if gn, ok := v.Extensions["x-go-name"].(string); ok && m.Name != "" {
		b.goNames[m] = gn
	}
	var types []string
	if v.Type != nil {
		for _, t := range *v.Type {
			if t == "null" {
				m.Nullable = true
			} else {
				types = append(types, t)
			}
		}
	}
	for _, e := range v.Enum {
		if e == nil {
			m.Nullable = true
			continue
		}
		m.Enum = append(m.Enum, e)
	}
	if v.Const != nil && len(m.Enum) == 0 {
		m.Enum = []any{v.Const}
	}
	switch {
	case v.Always != nil:
		m.Kind = model.KindAny
		if !*v.Always {
			b.untyped(m, l, "schema: the boolean schema false accepts nothing; typed as any")
		}
	case len(v.AllOf) > 0:
		b.object(m, v, l, base)
	case len(m.Enum) == 0 && constEnum(v):
		// The OpenAPI 3.1 enum idiom: oneOf of {const, title, description}.
		for _, r := range append(v.OneOf, v.AnyOf...) {
			m.Enum = append(m.Enum, r.Value.Const)
		}
		b.typed(m, v, l, base, types)
	case (len(v.OneOf) > 0 || len(v.AnyOf) > 0) && !constraintsOnly(v):
		b.union(m, v, l, base)
	default:
		b.typed(m, v, l, base, types)
	}
	if v.If != nil {
		b.report(model.Warning, RuleSchemaUntyped, l.at("if"), nil, "schema: if/then/else is not typed; only the rest of the schema is")
	}
	if u := v.UnevaluatedProperties; u.Has != nil || u.Schema != nil {
		b.report(model.Warning, RuleSchemaUntyped, l.at("unevaluatedProperties"), nil, "schema: unevaluatedProperties is not enforced by the generated types")
	}
	if u := v.UnevaluatedItems; u.Has != nil || u.Schema != nil {
		b.report(model.Warning, RuleSchemaUntyped, l.at("unevaluatedItems"), nil, "schema: unevaluatedItems is not enforced by the generated types")
	}
	if m.Kind == model.KindString && m.Format == "" && v.ContentEncoding == "base64" {
		// OpenAPI 3.1's spelling of format: byte; encoding/json's []byte is
		// standard base64 too.
		m.Format = "byte"
	}
	m.Enum = normalizeEnum(m.Kind, m.Enum)
}

// intBound converts an optional length or count bound.
func intBound(n *uint64) *int {
	if n == nil {
		return nil
	}
	v := int(min(*n, math.MaxInt32))
	return &v
}

// bound merges a minimum (or maximum) with its exclusive form: OpenAPI 3.0's
// boolean modifier, or 3.1's exclusive bound value. stricter(a, b) reports
// that the exclusive bound a excludes at least what the inclusive bound b
// does, so a alone is kept.
func bound(incl *float64, ex openapi3.ExclusiveBound, stricter func(a, b float64) bool) (*float64, bool) {
	switch {
	case ex.Value != nil && (incl == nil || stricter(*ex.Value, *incl)):
		v := *ex.Value
		return &v, true
	case ex.Value != nil:
		return incl, false
	}
	return incl, incl != nil && ex.IsTrue()
}

// normalizeEnum gives integer enum values as int64 whatever the decoder made of
// them, so emitters see one representation per kind.
func normalizeEnum(k model.Kind, enum []any) []any {
	if k != model.KindInteger {
		return enum
	}
	for i, e := range enum {
		switch n := e.(type) {
		case float64:
			if n == math.Trunc(n) && math.Abs(n) < 1<<62 {
				enum[i] = int64(n)
			}
		case int:
			enum[i] = int64(n)
		case uint64:
			if n <= math.MaxInt64 {
				enum[i] = int64(n)
			}
		}
	}
	return enum
}

// enumKind infers the type of an untyped enum from its values.
func enumKind(enum []any) model.Kind {
	var k model.Kind
	for _, e := range enum {
		var ek model.Kind
		switch n := e.(type) {
		case string:
			ek = model.KindString
		case bool:
			ek = model.KindBoolean
		case float64:
			ek = model.KindInteger
			if n != math.Trunc(n) {
				ek = model.KindNumber
			}
		case int, int64, uint64:
			ek = model.KindInteger
		default:
			return model.KindAny
		}
		switch {
		case k == "":
			k = ek
		case k == ek:
		case k == model.KindInteger && ek == model.KindNumber || k == model.KindNumber && ek == model.KindInteger:
			k = model.KindNumber
		default:
			return model.KindAny
		}
	}
	if k == "" {
		return model.KindAny
	}
	return k
}

func (b *builder) typed(m *model.Schema, v *openapi3.Schema, l loc, base string, types []string) {
	t := ""
	switch len(types) {
	case 0:
		switch {
		case len(v.Properties) > 0 || v.AdditionalProperties.Schema != nil || v.AdditionalProperties.Has != nil:
			t = "object"
		case v.Items != nil:
			t = "array"
		case len(m.Enum) > 0:
			m.Kind = enumKind(m.Enum)
			return
		}
	case 1:
		t = types[0]
	default:
		b.untyped(m, l.at("type"), "schema: a value of several types (%s) is typed as any", strings.Join(types, ", "))
		return
	}
	switch t {
	case "object":
		b.object(m, v, l, base)
	case "array":
		m.Kind = model.KindArray
		if len(v.PrefixItems) > 0 && v.Items != nil && v.Items.Value != nil && v.Items.Value.Always != nil && !*v.Items.Value.Always {
			// "items: false" after prefixItems only closes the tuple
			m.Items = &model.Schema{Kind: model.KindAny}
			b.report(model.Warning, RuleSchemaUntyped, l.at("prefixItems"), nil, "schema: prefixItems (tuples) are not typed; the items are []json.RawMessage")
			break
		}
		m.Items = b.schema(v.Items, l.at("items"), base+"Item")
		if m.Items == nil {
			m.Items = &model.Schema{Kind: model.KindAny}
		}
		if len(v.PrefixItems) > 0 {
			b.report(model.Warning, RuleSchemaUntyped, l.at("prefixItems"), nil, "schema: prefixItems (tuples) are not typed; the items are")
		}
	case "string":
		m.Kind = model.KindString
	case "integer":
		m.Kind = model.KindInteger
	case "number":
		m.Kind = model.KindNumber
	case "boolean":
		m.Kind = model.KindBoolean
	case "":
		m.Kind = model.KindAny
		switch {
		case lastToken(l) == "additionalProperties":
			// the values of a free-form map: reported once, on the map
		case strings.HasSuffix(parentPtr(l.ptr), "/allOf"):
			// an allOf member that only annotates: the allOf is the type
		case v.Type != nil:
			b.report(model.Warning, RuleSchemaAny, l.at("type"), nil, "schema: type null allows only null; typed as json.RawMessage")
		case len(v.OneOf) > 0 || len(v.AnyOf) > 0:
			b.report(model.Warning, RuleSchemaAny, l, nil, "schema: a oneOf/anyOf of constraints only, with no type, accepts any JSON value; typed as json.RawMessage")
		default:
			b.report(model.Warning, RuleSchemaAny, l, nil, "schema: no type ({} or description only) accepts any JSON value; typed as json.RawMessage")
		}
	default:
		b.untyped(m, l.at("type"), "schema: unknown type %q is typed as any", t)
	}
}

// objectAcc accumulates an object's fields across allOf branches.
type objectAcc struct {
	props    []*model.Property
	byName   map[string]*model.Property
	required map[string]bool
	ap       *model.Schema
	apFalse  bool
	object   bool            // some part is an object
	others   []*model.Schema // non-object allOf branches
}

// object converts an object schema, merging its allOf branches (recursively)
// into one property list: the first declaration of a property wins, required
// is the union.
func (b *builder) object(m *model.Schema, v *openapi3.Schema, l loc, base string) {
	acc := &objectAcc{byName: map[string]*model.Property{}, required: map[string]bool{}}
	b.inAllOf[l.key()] = true
	b.collect(acc, v, l, base)
	delete(b.inAllOf, l.key())
	b.finishObject(m, acc, l)
}

// finishObject gives m the shape of the merged parts in acc (an object, a
// map, the one non-object part, or any).
func (b *builder) finishObject(m *model.Schema, acc *objectAcc, l loc) {
	switch {
	case len(acc.props) > 0 || acc.object && len(acc.others) == 0:
		switch {
		case len(acc.props) > 0:
			m.Kind = model.KindObject
			m.AdditionalProperties = acc.ap
		case acc.ap != nil:
			m.Kind, m.AdditionalProperties = model.KindMap, acc.ap
			if acc.ap.Kind == model.KindAny && acc.ap.GoType == "" {
				b.report(model.Warning, RuleSchemaFreeForm, l, nil, "schema: an object of untyped members is a free-form map[string]json.RawMessage; its members are not checked")
			}
		case acc.apFalse:
			m.Kind = model.KindObject
		default: // a free-form object
			m.Kind, m.AdditionalProperties = model.KindMap, &model.Schema{Kind: model.KindAny}
			b.report(model.Warning, RuleSchemaFreeForm, l, nil, "schema: an object with no properties is a free-form map[string]json.RawMessage; its members are not checked")
		}
		if len(acc.others) > 0 {
			b.report(model.Warning, RuleSchemaUntyped, l.at("allOf"), nil, "schema: allOf mixes objects with other types; only the object parts are typed")
		}
	case len(acc.others) == 1:
		o := acc.others[0]
		m.Kind, m.Items, m.AdditionalProperties = o.Kind, o.Items, o.AdditionalProperties
		m.Properties, m.Variants, m.AnyOf, m.Discriminator = o.Properties, o.Variants, o.AnyOf, o.Discriminator
		if m.Format == "" {
			m.Format = o.Format
		}
		if len(m.Enum) == 0 {
			m.Enum = o.Enum
		}
		if m.GoType == "" {
			m.GoType, m.GoTypeImport = o.GoType, o.GoTypeImport
		}
		m.Nullable = m.Nullable || o.Nullable
	case len(acc.others) > 1:
		b.untyped(m, l.at("allOf"), "schema: allOf of %d non-object schemas is typed as any", len(acc.others))
	default:
		m.Kind = model.KindAny
	}
	m.Closed = acc.apFalse && acc.ap == nil && m.Kind == model.KindObject
	names := newNameSet()
	for _, p := range acc.props {
		p.Required = acc.required[p.Name]
		p.GoName = names.unique(p.GoName)
	}
	m.Properties = acc.props
}

func (b *builder) collect(acc *objectAcc, v *openapi3.Schema, l loc, base string) {
	if len(v.Properties) > 0 || v.Type != nil && v.Type.Is("object") {
		acc.object = true
	}
	names := sortedKeys(v.Properties)
	if len(names) > 1 {
		// Document order: kin-openapi keeps properties in a map.
		ix, _ := b.indexOf(l.file)
		type np struct {
			name string
			pos  model.Pos
		}
		nps := make([]np, len(names))
		for i, n := range names {
			nps[i] = np{n, ix.pos(l.ptr + "/properties/" + escapeToken(n))}
		}
		slices.SortStableFunc(nps, func(x, y np) int {
			return cmp.Or(cmp.Compare(x.pos.Line, y.pos.Line), cmp.Compare(x.pos.Col, y.pos.Col))
		})
		for i := range nps {
			names[i] = nps[i].name
		}
	}
	for _, name := range names {
		if acc.byName[name] != nil {
			continue
		}
		ps := v.Properties[name]
		pl := l.at("properties", name)
		p := &model.Property{
			Name:   name,
			GoName: ident(name),
			Schema: b.schema(ps, pl, base+ident(name)),
			Pos:    b.pos(pl),
		}
		if p.Schema == nil {
			p.Schema = &model.Schema{Kind: model.KindAny}
		}
		if gn := goNameOf(ps); gn != "" {
			p.GoName = gn
		}
		acc.byName[name] = p
		acc.props = append(acc.props, p)
	}
	for _, r := range v.Required {
		acc.required[r] = true
	}
	switch ap := v.AdditionalProperties; {
	case ap.Schema != nil:
		acc.object = true
		if acc.ap == nil {
			acc.ap = b.schema(ap.Schema, l.at("additionalProperties"), base+"Value")
		}
	case ap.Has != nil && *ap.Has:
		acc.object = true
		if acc.ap == nil {
			acc.ap = &model.Schema{Kind: model.KindAny}
		}
	case ap.Has != nil:
		acc.object, acc.apFalse = true, true
	}
	if len(v.PatternProperties) > 0 && acc.ap == nil {
		acc.object = true
		acc.ap = &model.Schema{Kind: model.KindAny}
		b.report(model.Warning, RuleSchemaUntyped, l.at("patternProperties"), nil, "schema: patternProperties are typed as a map of any")
	}
	for i, br := range v.AllOf {
		if br == nil || br.Value == nil {
			continue
		}
		at := l.at("allOf", strconv.Itoa(i))
		bl := b.follow(at, br.Ref)
		bv := br.Value
		if len(bv.Properties) > 0 || len(bv.AllOf) > 0 || bv.Type != nil && bv.Type.Is("object") ||
			bv.AdditionalProperties.Schema != nil || bv.AdditionalProperties.Has != nil {
			if b.inAllOf[bl.key()] {
				b.report(model.Warning, RuleSchemaUntyped, at, nil, "schema: allOf refers back to itself; the cycle is cut here")
				continue
			}
			b.inAllOf[bl.key()] = true
			// A $ref'd branch still gets converted on its own (it is a type too).
			if br.Ref != "" {
				b.schema(br, at, "")
			}
			b.collect(acc, bv, bl, base)
			delete(b.inAllOf, bl.key())
			continue
		}
		if s := b.schema(br, at, base+"AllOf"+strconv.Itoa(i)); s != nil {
			if s.Kind == model.KindAny && s.GoType == "" && len(bv.OneOf) == 0 && len(bv.AnyOf) == 0 {
				continue // {description: ...} or similar: adds nothing to the type
			}
			acc.others = append(acc.others, s)
		}
	}
}

// goNameOf reads x-go-name from a property's schema (next to a $ref too).
func goNameOf(ps *openapi3.SchemaRef) string {
	if ps == nil {
		return ""
	}
	if s, ok := ps.Extensions["x-go-name"].(string); ok {
		return s
	}
	if ps.Ref == "" && ps.Value != nil {
		if s, ok := ps.Value.Extensions["x-go-name"].(string); ok {
			return s
		}
	}
	return ""
}

// union converts oneOf/anyOf into KindUnion; {type: null} branches make it
// nullable instead. The discriminator mapping lists explicit values (sorted),
// then the implicit ones (the component names of unmapped variants).
func (b *builder) union(m *model.Schema, v *openapi3.Schema, l loc, base string) {
	refs, field := v.OneOf, "oneOf"
	if len(refs) == 0 {
		refs, field, m.AnyOf = v.AnyOf, "anyOf", true
	} else if len(v.AnyOf) > 0 {
		b.report(model.Warning, RuleSchemaUntyped, l.at("anyOf"), nil, "schema: anyOf next to oneOf is ignored; the oneOf is typed")
	}
	m.Kind = model.KindUnion
	// merged maps a branch to its variant when the union's own properties
	// were merged into it (see mergedVariant).
	merged := map[*model.Schema]*model.Schema{}
	for i, r := range refs {
		if isNull(r) {
			m.Nullable = true
			continue
		}
		hint := base + "Option" + strconv.Itoa(i+1)
		if r != nil && r.Value != nil && r.Value.Title != "" {
			hint = base + ident(r.Value.Title)
		}
		if len(v.Properties) > 0 && r != nil && r.Value != nil && objectLike(r.Value) {
			if orig, s := b.mergedVariant(v, l, field, i, r, base, hint); s != nil {
				if orig != nil {
					merged[orig] = s
				}
				m.Variants = append(m.Variants, s)
			}
			continue
		}
		if s := b.schema(r, l.at(field, strconv.Itoa(i)), hint); s != nil {
			m.Variants = append(m.Variants, s)
		}
	}
	if len(m.Variants) == 0 {
		m.Kind = model.KindAny
		return
	}
	d := v.Discriminator
	if d == nil || d.PropertyName == "" {
		return
	}
	disc := &model.Discriminator{Property: d.PropertyName}
	covered := map[*model.Schema]bool{}
	for _, value := range sortedKeys(d.Mapping) {
		mr := d.Mapping[value]
		var target *model.Schema
		ref := mr.Ref
		if ref != "" && !strings.ContainsAny(ref, "#/.") {
			ref = "#/components/schemas/" + escapeToken(ref)
			target = b.schemas[b.follow(loc{b.abs, ""}, ref).key()]
		} else if ref != "" {
			target = b.schemas[b.follow(l, ref).key()]
		}
		if target == nil && mr.Value != nil {
			sr := openapi3.SchemaRef(mr)
			target = b.schema(&sr, l.at("discriminator", "mapping", value), "")
		}
		if target == nil {
			b.report(model.Warning, RuleSchemaUntyped, l.at("discriminator", "mapping", value), nil,
				"schema: discriminator value %q maps to %q, which is not a schema of this union", value, mr.Ref)
			continue
		}
		if mv, ok := merged[target]; ok {
			target = mv
		}
		covered[target] = true
		disc.Mapping = append(disc.Mapping, model.DiscriminatorCase{Value: value, Schema: target})
	}
	origOf := make(map[*model.Schema]*model.Schema, len(merged))
	for o, mv := range merged {
		origOf[mv] = o
	}
	for _, vs := range m.Variants {
		named := vs
		if o, ok := origOf[vs]; ok {
			named = o // the implicit value is the $ref'd component's name
		}
		if !covered[vs] && named.Name != "" && strings.HasPrefix(named.Pointer, "/components/schemas/") {
			disc.Mapping = append(disc.Mapping, model.DiscriminatorCase{Value: named.Name, Schema: vs})
		}
	}
	m.Discriminator = disc
}

// objectLike reports a schema that describes an object (properties, type
// object, allOf of objects, additionalProperties).
func objectLike(v *openapi3.Schema) bool {
	return len(v.Properties) > 0 || len(v.AllOf) > 0 || v.Type != nil && v.Type.Is("object") ||
		v.AdditionalProperties.Schema != nil || v.AdditionalProperties.Has != nil
}

// mergedVariant converts branch i (r, under field) of a union whose schema v
// (at l) also declares properties. JSON Schema requires a value to match both
// the properties and a branch, so the properties belong to every object
// branch: the branch becomes an object type of its own, the union's
// properties first, then the branch's (the first declaration of a property
// wins, required is the union). A $ref'd branch keeps its own type too, and
// is returned as orig; the merged type is named after the union and the
// branch ("PetDog"). Non-object branches are not merged: properties constrain
// objects only.
func (b *builder) mergedVariant(v *openapi3.Schema, l loc, field string, i int, r *openapi3.SchemaRef, base, hint string) (orig, s *model.Schema) {
	at := l.at(field, strconv.Itoa(i))
	key := at.key() + "#merged"
	if r.Ref != "" {
		orig = b.schema(r, at, "")
		if orig != nil && orig.Name != "" {
			hint = base + ident(orig.Name)
		}
	}
	if s, ok := b.schemas[key]; ok {
		return orig, s
	}
	branch := "branch " + strconv.Itoa(i+1)
	if orig != nil && orig.Name != "" {
		branch = "branch " + orig.Name
	}
	s = &model.Schema{Name: hint, Pointer: at.ptr, Pos: b.pos(at),
		Description: "The " + field + " " + branch + " with the union's own properties merged in (they belong to every branch)."}
	b.schemas[key] = s
	b.named = append(b.named, s)
	bl := b.follow(at, r.Ref)
	acc := &objectAcc{byName: map[string]*model.Property{}, required: map[string]bool{}}
	own := &openapi3.Schema{Properties: v.Properties, Required: v.Required}
	b.collect(acc, own, l, base)
	if b.inAllOf[bl.key()] {
		b.report(model.Warning, RuleSchemaUntyped, at, nil, "schema: %s branch refers back to its union; the cycle is cut here", field)
	} else {
		b.inAllOf[bl.key()] = true
		b.collect(acc, r.Value, bl, ident(hint))
		delete(b.inAllOf, bl.key())
	}
	b.finishObject(s, acc, at)
	return orig, s
}

// parentPtr is ptr without its last token.
func parentPtr(ptr string) string {
	if i := strings.LastIndexByte(ptr, '/'); i >= 0 {
		return ptr[:i]
	}
	return ""
}
