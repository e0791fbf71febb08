package emit

import (
	"strings"

	"github.com/dave/jennifer/jen"

	"github.com/idemgen/idemgen/generator/model"
)

// wellKnownImports resolves the package qualifier of an x-go-type written
// without x-go-type-import ("time.Time").
var wellKnownImports = map[string]string{
	"time": "time", "json": "encoding/json", "big": "math/big", "netip": "net/netip",
	"url": "net/url", "uuid": "github.com/google/uuid", "decimal": "github.com/shopspring/decimal",
}

// goType is the Go type named by x-go-type.
func goType(s *model.Schema) jen.Code {
	t := s.GoType
	ptr := ""
	for strings.HasPrefix(t, "*") {
		ptr += "*"
		t = t[1:]
	}
	var code *jen.Statement
	dot := strings.LastIndex(t, ".")
	switch {
	case s.GoTypeImport != "" && dot >= 0:
		code = jen.Qual(s.GoTypeImport, t[dot+1:])
	case s.GoTypeImport != "":
		code = jen.Qual(s.GoTypeImport, t)
	case dot >= 0 && !strings.ContainsAny(t, "[]{}() ") && wellKnownImports[t[:dot]] != "":
		code = jen.Qual(wellKnownImports[t[:dot]], t[dot+1:])
	default:
		code = jen.Id(t)
	}
	if ptr != "" {
		return jen.Op(ptr).Add(code)
	}
	return code
}

// typeOf is the Go type of a use of s: the named type for a named schema, an
// inline type otherwise. Untypeable shapes become json.RawMessage.
func (g *generator) typeOf(s *model.Schema) jen.Code {
	if s == nil {
		return jen.Qual("encoding/json", "RawMessage")
	}
	if s.GoType != "" {
		return goType(s)
	}
	if name, ok := g.schemaNames[s]; ok {
		return jen.Id(name)
	}
	return g.inlineType(s)
}

// inlineType is the Go type of s itself, ignoring its name.
func (g *generator) inlineType(s *model.Schema) jen.Code {
	if g.visiting[s] {
		// A cycle of anonymous schemas cannot be a Go type.
		return jen.Qual("encoding/json", "RawMessage")
	}
	g.visiting[s] = true
	defer delete(g.visiting, s)
	switch s.Kind {
	case model.KindString:
		switch s.Format {
		case "date-time":
			return jen.Qual("time", "Time")
		case "byte", "binary":
			if g.fileSchema(s) { // a file part of a multipart body (form.go)
				return jen.Qual(uploadPkg, "File")
			}
			return jen.Index().Byte()
		}
		return jen.String()
	case model.KindInteger:
		switch s.Format {
		case "int32":
			return jen.Int32()
		case "int64":
			return jen.Int64()
		}
		return jen.Int()
	case model.KindNumber:
		if s.Format == "float" {
			return jen.Float32()
		}
		return jen.Float64()
	case model.KindBoolean:
		return jen.Bool()
	case model.KindArray:
		return jen.Index().Add(g.typeOf(s.Items))
	case model.KindMap:
		if s.AdditionalProperties == nil {
			return jen.Map(jen.String()).Any()
		}
		return jen.Map(jen.String()).Add(g.typeOf(s.AdditionalProperties))
	case model.KindObject:
		if len(s.Properties) == 0 {
			if s.AdditionalProperties != nil {
				return jen.Map(jen.String()).Add(g.typeOf(s.AdditionalProperties))
			}
			// An anonymous object that allows no properties: only a named type
			// can refuse members (emitEmptyObject).
			g.warn(s.Pos, s.Pointer, "schema-closed-inline", "schema: an inline object that allows no properties is typed as map[string]any and its members are not refused; declare it under components/schemas to get a type that refuses them")
			return jen.Map(jen.String()).Any()
		}
		return jen.StructFunc(func(gr *jen.Group) { g.structFields(gr, s) })
	}
	// KindAny, and unions without a name: the raw JSON.
	return jen.Qual("encoding/json", "RawMessage")
}

// nilable reports whether the Go type of a use of s has a nil value meaning
// "absent" (slices, maps, json.RawMessage), so it is never made a pointer.
func (g *generator) nilable(s *model.Schema) bool {
	if s == nil {
		return true
	}
	if s.GoType != "" {
		return strings.HasPrefix(s.GoType, "[]") || strings.HasPrefix(s.GoType, "map[") || strings.HasPrefix(s.GoType, "*")
	}
	_, named := g.schemaNames[s]
	switch s.Kind {
	case model.KindString:
		return (s.Format == "byte" || s.Format == "binary") && !g.fileSchema(s)
	case model.KindArray, model.KindMap, model.KindAny:
		return true
	case model.KindObject:
		return !named && len(s.Properties) == 0
	case model.KindUnion:
		return !named
	}
	return false
}

// fieldType is the Go type of a property or parameter: a value when required,
// a pointer when optional or nullable (unless nilable), a pointer when
// byPointer breaks a cycle. omitempty is set for optional fields.
func (g *generator) fieldType(s *model.Schema, required, byPointer bool) (code jen.Code, omitempty bool) {
	t := g.typeOf(s)
	if g.nilable(s) {
		return t, !required
	}
	if !required || byPointer || (s != nil && s.Nullable) {
		return jen.Op("*").Add(t), !required
	}
	return t, false
}

// structFields emits the fields of an object schema.
func (g *generator) structFields(gr *jen.Group, s *model.Schema) {
	names := fieldNames(s)
	for i, p := range s.Properties {
		name := names[i]
		t, omit := g.fieldType(p.Schema, p.Required, g.byPointer[p])
		tag := p.Name
		switch {
		case g.tristate(s, p):
			t, tag = jen.Qual(nullablePkg, "Nullable").Types(g.typeOf(p.Schema)), tag+",omitzero"
		case omit:
			tag += ",omitempty"
		}
		if p.Schema != nil {
			if _, named := g.schemaNames[p.Schema]; !named && p.Schema.Description != "" {
				gr.Add(docComment(name, p.Schema.Description, p.Schema.Deprecated))
			}
		}
		gr.Id(name).Add(t).Tag(map[string]string{"json": tag})
	}
}

const nullablePkg = "github.com/idemgen/idemgen/runtime/nullable"

// tristate reports whether property p of object s is a nullable.Nullable,
// which tells absent, null and a value apart: p is optional and its value
// nullable, or p is optional in the body of a merge-patch request (RFC 7396:
// null removes the member). Other properties are T when required and not
// nullable, *T otherwise (nil for absent or null), and nilable types (slices,
// maps) stay as they are unless tristate. Values held as raw JSON already
// tell null from absent, and form bodies carry no null.
func (g *generator) tristate(s *model.Schema, p *model.Property) bool {
	if p.Required || p.Schema == nil || p.Schema.Kind == model.KindAny {
		return false
	}
	if _, named := g.schemaNames[p.Schema]; p.Schema.Kind == model.KindUnion && !named {
		return false
	}
	kinds := g.bodyUses()
	if kinds[s]&useForm != 0 {
		return false
	}
	return p.Schema.Nullable || kinds[s]&useMergePatch != 0
}

// Ways a schema is used as a request body (bodyUses).
const (
	useMergePatch = 1 << iota // application/merge-patch+json
	useForm                   // urlencoded or multipart
)

// bodyUses computes (once) how each schema that is a request body is used.
func (g *generator) bodyUses() map[*model.Schema]int {
	if g.uses != nil {
		return g.uses
	}
	g.uses = map[*model.Schema]int{}
	for _, op := range g.api.Operations {
		if op.Body == nil {
			continue
		}
		for _, c := range op.Body.Contents {
			switch {
			case c.Schema == nil:
			case c.Kind == model.BodyForm || c.Kind == model.BodyMultipart:
				g.uses[c.Schema] |= useForm
			case c.Kind == model.BodyJSON && strings.EqualFold(c.MediaType, "application/merge-patch+json"):
				g.uses[c.Schema] |= useMergePatch
			}
		}
	}
	return g.uses
}

// fieldNames returns the Go field name of each property of s, in order (the
// loader made them unique in the struct).
func fieldNames(s *model.Schema) []string {
	out := make([]string, len(s.Properties))
	for i, p := range s.Properties {
		out[i] = p.GoName
	}
	return out
}

// docComment renders a Go doc comment for name from an OpenAPI description: the
// description's text, starting with the name when it does not already.
func docComment(name, description string, deprecated bool) jen.Code {
	text := strings.TrimSpace(description)
	var lines []string
	if text != "" {
		lines = strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
		if !strings.HasPrefix(lines[0], name+" ") {
			lines = append([]string{name + " is " + lowerFirstSentence(lines[0])}, lines[1:]...)
		}
	}
	if deprecated {
		if len(lines) > 0 {
			lines = append(lines, "")
		}
		lines = append(lines, "Deprecated: marked deprecated in the spec.")
	}
	if len(lines) == 0 {
		return jen.Null()
	}
	return rawComment(lines)
}

// lowerFirstSentence lowers the first letter of s unless it starts an acronym.
func lowerFirstSentence(s string) string {
	if len(s) >= 2 && s[0] >= 'A' && s[0] <= 'Z' && !(s[1] >= 'A' && s[1] <= 'Z') {
		return string(s[0]+'a'-'A') + s[1:]
	}
	return s
}

// docText renders text (lines separated by "\n") as a // comment block.
func docText(text string) jen.Code { return rawComment(strings.Split(text, "\n")) }

// rawComment renders lines as one // comment block. A line may hold spec text:
// its own line breaks start new comment lines and characters a comment cannot
// carry are replaced (see commentLines), so no text can break the output.
func rawComment(lines []string) jen.Code {
	var b strings.Builder
	first := true
	for _, line := range lines {
		for _, l := range commentLines(line) {
			if !first {
				b.WriteString("\n")
			}
			first = false
			l = strings.TrimRight(l, " \t")
			if l == "" {
				b.WriteString("//")
				continue
			}
			b.WriteString("// ")
			b.WriteString(l)
		}
	}
	return jen.Comment(b.String())
}

// cyclicProperties finds the properties whose by-value type would make a struct
// contain itself: the edges inside a strongly connected component of the
// "struct holds struct by value" graph (Tarjan's algorithm, linear).
func cyclicProperties(schemas []*model.Schema) map[*model.Property]bool {
	type edge struct {
		to   *model.Schema
		prop *model.Property
	}
	named := make(map[*model.Schema]bool, len(schemas))
	for _, s := range schemas {
		named[s] = true
	}
	edges := make(map[*model.Schema][]edge)
	var collect func(owner, s *model.Schema, seen map[*model.Schema]bool)
	collect = func(owner, s *model.Schema, seen map[*model.Schema]bool) {
		for _, p := range s.Properties {
			t := p.Schema
			if t == nil || !p.Required || t.Nullable || t.GoType != "" {
				continue
			}
			switch {
			case named[t] && t.Kind == model.KindObject && len(t.Properties) > 0:
				edges[owner] = append(edges[owner], edge{to: t, prop: p})
			case !named[t] && t.Kind == model.KindObject && !seen[t]:
				seen[t] = true
				collect(owner, t, seen)
			}
		}
	}
	for _, s := range schemas {
		if s.Kind == model.KindObject {
			collect(s, s, map[*model.Schema]bool{})
		}
	}
	index := make(map[*model.Schema]int)
	low := make(map[*model.Schema]int)
	onStack := make(map[*model.Schema]bool)
	comp := make(map[*model.Schema]int)
	var stack []*model.Schema
	next, ncomp := 0, 0
	var strong func(v *model.Schema)
	strong = func(v *model.Schema) {
		index[v], low[v] = next, next
		next++
		stack = append(stack, v)
		onStack[v] = true
		for _, e := range edges[v] {
			if _, ok := index[e.to]; !ok {
				strong(e.to)
				low[v] = min(low[v], low[e.to])
			} else if onStack[e.to] {
				low[v] = min(low[v], index[e.to])
			}
		}
		if low[v] == index[v] {
			for {
				w := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				onStack[w] = false
				comp[w] = ncomp
				if w == v {
					break
				}
			}
			ncomp++
		}
	}
	for _, s := range schemas {
		if _, ok := index[s]; !ok {
			strong(s)
		}
	}
	out := make(map[*model.Property]bool)
	for from, es := range edges {
		for _, e := range es {
			if comp[from] == comp[e.to] {
				out[e.prop] = true
			}
		}
	}
	return out
}

// fields are the fields of a composite literal, printed in a chosen order
// (jen.Dict sorts its keys).
type fields map[string]jen.Code

func (f *fields) add(name string, v jen.Code) {
	if *f == nil {
		*f = make(fields)
	}
	(*f)[name] = v
}

// sorted returns the fields named in order that are set, as key: value; more
// than three go one per line.
func (f fields) sorted(order ...string) []jen.Code {
	var out []jen.Code
	for _, name := range order {
		if v, ok := f[name]; ok {
			out = append(out, jen.Id(name).Op(":").Add(v))
		}
	}
	if len(out) > 3 {
		for i, c := range out {
			out[i] = jen.Line().Add(c)
		}
		out = append(out, jen.Line())
	}
	return out
}
