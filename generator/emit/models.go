package emit

import (
	"fmt"
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

// emitEnum emits the typed constants of an enum (named by the loader) and
// its Valid method.
func (g *generator) emitEnum(f *jen.File, name string, s *model.Schema) {
	if len(s.EnumValues) == 0 {
		return
	}
	f.Commentf("Values of %s.", name)
	f.Const().DefsFunc(func(gr *jen.Group) {
		for _, v := range s.EnumValues {
			gr.Id(v.GoName).Id(name).Op("=").Lit(v.Value)
		}
	})
	f.Commentf("Valid reports whether v is one of the values the spec allows for %s.", name)
	f.Func().Params(jen.Id("v").Id(name)).Id("Valid").Params().Bool().Block(
		jen.Switch(jen.Id("v")).Block(
			jen.Case(jen.ListFunc(func(gr *jen.Group) {
				for _, v := range s.EnumValues {
					gr.Id(v.GoName)
				}
			})).Block(jen.Return(jen.True())),
		),
		jen.Return(jen.False()),
	)
}

// variant is one branch of a union as the generated code names it.
type variant struct {
	name   string // field or method suffix
	schema *model.Schema
}

// variants are the branches of a union with the names the loader gave them.
func (g *generator) variants(s *model.Schema) []variant {
	var out []variant
	for i, v := range s.Variants {
		if v == nil {
			continue
		}
		name := ""
		if i < len(s.VariantNames) {
			name = s.VariantNames[i]
		}
		out = append(out, variant{name: name, schema: v})
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
	cases := tagValues(s)
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
	extra := s.ExtraGoName
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
