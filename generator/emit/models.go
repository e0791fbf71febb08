package emit

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/dave/jennifer/jen"

	"github.com/idemgen/idemgen/generator/model"
)

// emitModels emits one Go type per named schema, in the model's order.
func (g *generator) emitModels() (*jen.File, error) {
	f := g.newFile()
	for _, s := range g.api.Schemas {
		g.emitSchema(f, s)
	}
	return f, nil
}

func (g *generator) emitSchema(f *jen.File, s *model.Schema) {
	name := g.schemaNames[s]
	doc := s.Description
	if doc == "" {
		doc = fmt.Sprintf("the %q schema.", s.Name)
	}
	if s.Kind == model.KindUnion && s.GoType == "" {
		doc += "\n\n" + g.unionDoc(s)
	}
	f.Add(docComment(name, doc, s.Deprecated))
	switch {
	case s.GoType != "":
		f.Type().Id(name).Op("=").Add(goType(s))
	case s.Kind == model.KindObject && len(s.Properties) > 0 && s.AdditionalProperties != nil:
		g.emitOpenStruct(f, name, s)
	case s.Kind == model.KindObject && len(s.Properties) > 0:
		f.Type().Id(name).StructFunc(func(gr *jen.Group) { g.structFields(gr, s) })
	case s.Kind == model.KindObject && s.AdditionalProperties == nil:
		g.emitEmptyObject(f, name)
	case s.Kind == model.KindObject:
		f.Type().Id(name).Add(g.inlineType(s))
	case s.Kind == model.KindUnion && s.Discriminator != nil:
		g.emitTaggedUnion(f, name, s)
	case s.Kind == model.KindUnion:
		g.emitRawUnion(f, name, s)
	case s.Kind == model.KindAny:
		f.Type().Id(name).Op("=").Qual("encoding/json", "RawMessage")
	case s.Kind == model.KindString && s.Format == "date-time":
		f.Type().Id(name).Op("=").Qual("time", "Time")
	default:
		f.Type().Id(name).Add(g.inlineType(s))
		if len(s.Enum) > 0 {
			g.emitEnum(f, name, s)
		}
	}
}

// emitEnum emits the typed constants of an enum and its Valid method.
func (g *generator) emitEnum(f *jen.File, name string, s *model.Schema) {
	type value struct {
		id  string
		lit jen.Code
		raw string
	}
	var values []value
	seen := make(map[string]bool)
	for _, v := range s.Enum {
		lit, raw, ok := enumLiteral(s.Kind, v)
		if !ok || seen[raw] {
			continue
		}
		seen[raw] = true
		values = append(values, value{id: g.names.take(name + exportedIdent(raw)), lit: lit, raw: raw})
	}
	if len(values) == 0 {
		return
	}
	f.Commentf("Values of %s.", name)
	f.Const().DefsFunc(func(gr *jen.Group) {
		for _, v := range values {
			gr.Id(v.id).Id(name).Op("=").Add(v.lit)
		}
	})
	f.Commentf("Valid reports whether v is one of the values the spec allows for %s.", name)
	f.Func().Params(jen.Id("v").Id(name)).Id("Valid").Params().Bool().Block(
		jen.Switch(jen.Id("v")).Block(
			jen.Case(jen.ListFunc(func(gr *jen.Group) {
				for _, v := range values {
					gr.Id(v.id)
				}
			})).Block(jen.Return(jen.True())),
		),
		jen.Return(jen.False()),
	)
}

// enumLiteral converts an enum value of the loaded document (YAML/JSON
// decoding gives string, bool, int, int64, uint64 or float64) to a Go literal
// of the enum's kind; ok is false for a value of another type.
func enumLiteral(kind model.Kind, v any) (lit jen.Code, raw string, ok bool) {
	switch kind {
	case model.KindString:
		s, ok := v.(string)
		return jen.Lit(s), s, ok
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
		return jen.Lit(int(n)), strconv.FormatInt(n, 10), true
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
		return jen.Lit(x), strconv.FormatFloat(x, 'f', -1, 64), true
	}
	return nil, "", false
}

// variant is one branch of a union as the generated code names it.
type variant struct {
	name   string // field or method suffix
	schema *model.Schema
}

// variants names the branches of a union: a named schema by its type name,
// others by their shape, unique within the union.
func (g *generator) variants(s *model.Schema) []variant {
	names := newNamer()
	var out []variant
	for _, v := range s.Variants {
		if v == nil {
			continue
		}
		var n string
		switch {
		case g.schemaNames[v] != "":
			n = g.schemaNames[v]
		case v.GoType != "":
			n = exportedIdent(v.GoType)
		default:
			n = exportedIdent(string(v.Kind))
		}
		out = append(out, variant{name: names.take(n), schema: v})
	}
	return out
}

// emitTaggedUnion emits a oneOf/anyOf with a discriminator as a struct with one
// pointer per variant (exactly one set) and JSON (un)marshalling that selects
// the variant by the discriminator property.
func (g *generator) emitTaggedUnion(f *jen.File, name string, s *model.Schema) {
	vs := g.variants(s)
	d := s.Discriminator
	f.Type().Id(name).StructFunc(func(gr *jen.Group) {
		for _, v := range vs {
			gr.Id(v.name).Op("*").Add(g.typeOf(v.schema))
		}
	})
	// Values of the discriminator per variant: the mapping, or else the
	// schema names (the OpenAPI implicit mapping).
	cases := make(map[*model.Schema][]string)
	seen := make(map[string]bool)
	addCase := func(s *model.Schema, value string) {
		if !seen[value] {
			seen[value] = true
			cases[s] = append(cases[s], value)
		}
	}
	for _, c := range d.Mapping {
		addCase(c.Schema, c.Value)
	}
	if len(d.Mapping) == 0 {
		for _, v := range vs {
			if v.schema.Name != "" {
				addCase(v.schema, v.schema.Name)
			}
		}
	}
	recv := jen.Id("u")
	f.Commentf("MarshalJSON encodes the variant that is set (null when none is).")
	f.Func().Params(jen.Id("u").Id(name)).Id("MarshalJSON").Params().Params(jen.Index().Byte(), jen.Error()).Block(
		jen.Switch().BlockFunc(func(gr *jen.Group) {
			for _, v := range vs {
				gr.Case(recv.Clone().Dot(v.name).Op("!=").Nil()).Block(
					jen.Return(jen.Qual("encoding/json", "Marshal").Call(jen.Id("u").Dot(v.name))),
				)
			}
		}),
		jen.Return(jen.Index().Byte().Call(jen.Lit("null")), jen.Nil()),
	)
	f.Commentf("UnmarshalJSON decodes the variant named by the %q property.", d.Property)
	f.Func().Params(jen.Id("u").Op("*").Id(name)).Id("UnmarshalJSON").Params(jen.Id("b").Index().Byte()).Error().Block(
		jen.Var().Id("d").Struct(
			jen.Id("Value").String().Tag(map[string]string{"json": d.Property}),
		),
		jen.If(jen.Err().Op(":=").Qual("encoding/json", "Unmarshal").Call(jen.Id("b"), jen.Op("&").Id("d")), jen.Err().Op("!=").Nil()).Block(
			jen.Return(jen.Err()),
		),
		jen.Op("*").Id("u").Op("=").Id(name).Values(),
		jen.Switch(jen.Id("d").Dot("Value")).BlockFunc(func(gr *jen.Group) {
			for _, v := range vs {
				vals := cases[v.schema]
				if len(vals) == 0 {
					continue
				}
				gr.Case(jen.ListFunc(func(lg *jen.Group) {
					for _, val := range vals {
						lg.Lit(val)
					}
				})).Block(
					jen.Id("u").Dot(v.name).Op("=").New(g.typeOf(v.schema)),
					jen.Return(jen.Qual("encoding/json", "Unmarshal").Call(jen.Id("b"), jen.Id("u").Dot(v.name))),
				)
			}
		}),
		jen.Return(jen.Qual("fmt", "Errorf").Call(jen.Lit(fmt.Sprintf("%s: unknown %s %%q", name, d.Property)), jen.Id("d").Dot("Value"))),
	)
}

// emitRawUnion emits a oneOf/anyOf without a discriminator: a type holding the
// raw JSON, with an As and a From method per variant.
func (g *generator) emitRawUnion(f *jen.File, name string, s *model.Schema) {
	vs := g.variants(s)
	f.Type().Id(name).Struct(jen.Id("raw").Qual("encoding/json", "RawMessage"))
	f.Commentf("MarshalJSON returns the held JSON (null when empty).")
	f.Func().Params(jen.Id("u").Id(name)).Id("MarshalJSON").Params().Params(jen.Index().Byte(), jen.Error()).Block(
		jen.If(jen.Len(jen.Id("u").Dot("raw")).Op("==").Lit(0)).Block(
			jen.Return(jen.Index().Byte().Call(jen.Lit("null")), jen.Nil()),
		),
		jen.Return(jen.Id("u").Dot("raw"), jen.Nil()),
	)
	f.Commentf("UnmarshalJSON keeps a copy of b; the As methods decode it.")
	f.Func().Params(jen.Id("u").Op("*").Id(name)).Id("UnmarshalJSON").Params(jen.Id("b").Index().Byte()).Error().Block(
		jen.Id("u").Dot("raw").Op("=").Append(jen.Qual("encoding/json", "RawMessage").Call(jen.Nil()), jen.Id("b").Op("...")),
		jen.Return(jen.Nil()),
	)
	f.Commentf("Raw returns the held JSON.")
	f.Func().Params(jen.Id("u").Id(name)).Id("Raw").Params().Qual("encoding/json", "RawMessage").Block(
		jen.Return(jen.Id("u").Dot("raw")),
	)
	for _, v := range vs {
		t := g.typeOf(v.schema)
		f.Commentf("As%s decodes the held JSON as the %s variant.", v.name, v.name)
		f.Func().Params(jen.Id("u").Id(name)).Id("As"+v.name).Params().Params(jen.Id("v").Add(t), jen.Err().Error()).Block(
			jen.Err().Op("=").Qual("encoding/json", "Unmarshal").Call(jen.Id("u").Dot("raw"), jen.Op("&").Id("v")),
			jen.Return(),
		)
		f.Commentf("From%s sets the held JSON to v, the %s variant.", v.name, v.name)
		f.Func().Params(jen.Id("u").Op("*").Id(name)).Id("From"+v.name).Params(jen.Id("v").Add(t)).Error().Block(
			jen.List(jen.Id("b"), jen.Err()).Op(":=").Qual("encoding/json", "Marshal").Call(jen.Id("v")),
			jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Err())),
			jen.Id("u").Dot("raw").Op("=").Id("b"),
			jen.Return(jen.Nil()),
		)
	}
}

// unionDoc explains a union type's contract in its doc comment.
func (g *generator) unionDoc(s *model.Schema) string {
	var names []string
	for _, v := range g.variants(s) {
		names = append(names, v.name)
	}
	of := "oneOf"
	if s.AnyOf {
		of = "anyOf"
	}
	if s.Discriminator != nil {
		return fmt.Sprintf("It is one of %s (%s, by the %q property): set exactly one field.", strings.Join(names, ", "), of, s.Discriminator.Property)
	}
	return fmt.Sprintf("It is one of %s (%s, without a discriminator): it holds the raw JSON; use the As and From methods.", strings.Join(names, ", "), of)
}

// emitOpenStruct emits an object with declared properties and
// additionalProperties: the struct has an AdditionalProperties map for the
// undeclared ones, and JSON (un)marshalling that merges it with the fields.
func (g *generator) emitOpenStruct(f *jen.File, name string, s *model.Schema) {
	names := newNamer()
	for _, n := range fieldNames(s) {
		names.take(n)
	}
	extra := names.take("AdditionalProperties")
	value := g.typeOf(s.AdditionalProperties)
	f.Type().Id(name).StructFunc(func(gr *jen.Group) {
		g.structFields(gr, s)
		gr.Add(rawComment([]string{extra + " holds the properties the schema does not declare."}))
		gr.Id(extra).Map(jen.String()).Add(value).Tag(map[string]string{"json": "-"})
	})
	f.Commentf("MarshalJSON encodes the declared fields and %s in one object.", extra)
	f.Func().Params(jen.Id("v").Id(name)).Id("MarshalJSON").Params().Params(jen.Index().Byte(), jen.Error()).Block(
		jen.Type().Id("plain").Id(name),
		jen.List(jen.Id("b"), jen.Err()).Op(":=").Qual("encoding/json", "Marshal").Call(jen.Id("plain").Call(jen.Id("v"))),
		jen.If(jen.Err().Op("!=").Nil().Op("||").Len(jen.Id("v").Dot(extra)).Op("==").Lit(0)).Block(jen.Return(jen.Id("b"), jen.Err())),
		jen.List(jen.Id("more"), jen.Err()).Op(":=").Qual("encoding/json", "Marshal").Call(jen.Id("v").Dot(extra)),
		jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Nil(), jen.Err())),
		jen.If(jen.Len(jen.Id("b")).Op("==").Lit(2)).Block(jen.Return(jen.Id("more"), jen.Nil())),
		jen.Return(jen.Append(jen.Append(jen.Id("b").Index(jen.Empty(), jen.Len(jen.Id("b")).Op("-").Lit(1)), jen.LitRune(',')), jen.Id("more").Index(jen.Lit(1), jen.Empty()).Op("...")), jen.Nil()),
	)
	f.Commentf("UnmarshalJSON decodes the declared fields, and the other properties into %s.", extra)
	f.Func().Params(jen.Id("v").Op("*").Id(name)).Id("UnmarshalJSON").Params(jen.Id("b").Index().Byte()).Error().Block(
		jen.Type().Id("plain").Id(name),
		jen.If(jen.Err().Op(":=").Qual("encoding/json", "Unmarshal").Call(jen.Id("b"), jen.Parens(jen.Op("*").Id("plain")).Call(jen.Id("v"))), jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Err())),
		jen.Var().Id("all").Map(jen.String()).Qual("encoding/json", "RawMessage"),
		jen.If(jen.Err().Op(":=").Qual("encoding/json", "Unmarshal").Call(jen.Id("b"), jen.Op("&").Id("all")), jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Err())),
		jen.For(jen.List(jen.Id("_"), jen.Id("k")).Op(":=").Range().Index().String().ValuesFunc(func(vg *jen.Group) {
			for _, p := range s.Properties {
				vg.Lit(p.Name)
			}
		})).Block(jen.Delete(jen.Id("all"), jen.Id("k"))),
		jen.Id("v").Dot(extra).Op("=").Nil(),
		jen.For(jen.List(jen.Id("k"), jen.Id("raw")).Op(":=").Range().Id("all")).Block(
			jen.Var().Id("x").Add(value),
			jen.If(jen.Err().Op(":=").Qual("encoding/json", "Unmarshal").Call(jen.Id("raw"), jen.Op("&").Id("x")), jen.Err().Op("!=").Nil()).Block(
				jen.Return(jen.Qual("fmt", "Errorf").Call(jen.Lit("property %q: %w"), jen.Id("k"), jen.Err())),
			),
			jen.If(jen.Id("v").Dot(extra).Op("==").Nil()).Block(
				jen.Id("v").Dot(extra).Op("=").Make(jen.Map(jen.String()).Add(value), jen.Len(jen.Id("all"))),
			),
			jen.Id("v").Dot(extra).Index(jen.Id("k")).Op("=").Id("x"),
		),
		jen.Return(jen.Nil()),
	)
}

// emitEmptyObject emits an object schema that allows no properties
// (additionalProperties: false and none declared): an empty struct whose
// decoding refuses any member, as the schema does.
func (g *generator) emitEmptyObject(f *jen.File, name string) {
	f.Type().Id(name).Struct()
	f.Comment("UnmarshalJSON accepts only an empty object (or null): the schema allows no properties.")
	f.Func().Params(jen.Op("*").Id(name)).Id("UnmarshalJSON").Params(jen.Id("b").Index().Byte()).Error().Block(
		jen.Var().Id("members").Map(jen.String()).Qual("encoding/json", "RawMessage"),
		jen.If(jen.Err().Op(":=").Qual("encoding/json", "Unmarshal").Call(jen.Id("b"), jen.Op("&").Id("members")), jen.Err().Op("!=").Nil()).Block(
			jen.Return(jen.Err()),
		),
		jen.For(jen.Id("k").Op(":=").Range().Id("members")).Block(
			jen.Return(jen.Qual("fmt", "Errorf").Call(jen.Lit(name+": property %q is not allowed"), jen.Id("k"))),
		),
		jen.Return(jen.Nil()),
	)
}
