package emit

import (
	"strings"

	"github.com/dave/jennifer/jen"

	"github.com/idemgen/idemgen/generator/model"
)

const uploadPkg = "github.com/idemgen/idemgen/runtime/upload"

// Form bodies (application/x-www-form-urlencoded and multipart/form-data)
// whose schema is an object with properties are decoded into the schema's Go
// type, field by field (serverkit.FormBody), and encoded back by the client.
// In a multipart body, an inline "type: string, format: binary" property (or
// the items of an array property) is a file: upload.File, with its filename,
// Content-Type and content.

// fileSchema reports whether s is the schema of a file part: an inline
// binary string that is a property, or the items of an array property, of a
// multipart body's object schema. A named binary schema keeps its own type
// (its parts are decoded as raw bytes).
func (g *generator) fileSchema(s *model.Schema) bool {
	if g.files == nil {
		g.files = make(map[*model.Schema]bool)
		for _, op := range g.api.Operations {
			if op.Body == nil {
				continue
			}
			for _, c := range op.Body.Contents {
				st := g.formStruct(c.Schema)
				if c.Kind != model.BodyMultipart || st == nil {
					continue
				}
				for _, p := range st.Properties {
					ps := p.Schema
					if ps != nil && ps.Kind == model.KindArray {
						ps = ps.Items
					}
					if _, named := g.schemaNames[ps]; ps != nil && !named && ps.GoType == "" &&
						ps.Kind == model.KindString && ps.Format == "binary" {
						g.files[ps] = true
					}
				}
			}
		}
	}
	return g.files[s]
}

// fileProperty reports whether property p of a multipart body is decoded as
// files (upload.File, *upload.File or []upload.File).
func (g *generator) fileProperty(p *model.Property) bool {
	s := p.Schema
	if s != nil && s.Kind == model.KindArray {
		s = s.Items
	}
	return s != nil && g.fileSchema(s)
}

// typedForm reports whether content c is a form body decoded into its
// schema's Go type (rather than url.Values or *multipart.Form).
func (g *generator) typedForm(c *model.Content) bool {
	return (c.Kind == model.BodyForm || c.Kind == model.BodyMultipart) && g.formStruct(c.Schema) != nil
}

// emitFormDecode emits the decoding of a typed form body into field (a
// value when byValue, else a pointer): every property read by name, every
// failure listed with its pointer, then one error.
func (g *generator) emitFormDecode(gr *jen.Group, c *model.Content, field *jen.Statement, byValue bool) {
	if c.Kind == model.BodyMultipart {
		gr.List(jen.Id("form"), jen.Err()).Op(":=").Qual(serverkitPkg, "ReadMultipart").Call(jen.Id("r"), jen.Id("body"))
	} else {
		gr.List(jen.Id("form"), jen.Err()).Op(":=").Qual(serverkitPkg, "ReadForm").Call(jen.Id("body"))
	}
	gr.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Err()))
	s := c.Schema
	gr.Var().Id("v").Add(g.typeOf(s))
	names := fieldNames(s)
	for j, p := range s.Properties {
		method := "Field"
		if c.Kind == model.BodyMultipart && g.fileProperty(p) {
			method = "File"
		}
		if sep := c.Delimiters[p.Name]; sep != "" && p.Schema != nil && p.Schema.Kind == model.KindArray {
			gr.Id("form").Dot("Delimited").Call(jen.Lit(p.Name), jen.Op("&").Id("v").Dot(names[j]), jen.Lit(p.Required && !p.Schema.ReadOnly), jen.Lit(sep))
			continue
		}
		// A readOnly property belongs to responses: a request need not send it.
		required := p.Required && (p.Schema == nil || !p.Schema.ReadOnly)
		args := []jen.Code{jen.Lit(p.Name), jen.Op("&").Id("v").Dot(names[j]), jen.Lit(required)}
		for _, t := range c.PartTypes[p.Name] {
			args = append(args, jen.Lit(t))
		}
		gr.Id("form").Dot(method).Call(args...)
	}
	// What decoded is assigned even when some fields failed, so that
	// validation (validate.Request) checks the others in the same 400.
	g.assign(gr, field, byValue)
	gr.If(jen.Err().Op(":=").Id("form").Dot("Err").Call(), jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Err()))
}

// clientMultipart is the client's encoding of a typed multipart body held in
// field into body and contentType; fail returns the error. The part of a
// key.field key (ks, nil when there is none) carries the call's key.
func (g *generator) clientMultipart(c *model.Content, field jen.Code, fail jen.Code, ks *keySource) []jen.Code {
	s := c.Schema
	block := []jen.Code{
		jen.Id("mp").Op(":=").Qual(clientPkg, "NewMultipart").Call(),
		jen.Id("v").Op(":=").Add(field),
	}
	names := fieldNames(s)
	keyPart := ""
	if ks != nil && ks.field != "" {
		keyPart = strings.TrimPrefix(ks.field, "/")
	}
	for j, p := range s.Properties {
		if p.Schema != nil && p.Schema.ReadOnly {
			continue // the server's, not the request's
		}
		if p.Name == keyPart {
			var newKey jen.Code = jen.Nil()
			if ks.ulid {
				newKey = jen.Qual(clientPkg, "NewULID")
			}
			block = append(block, jen.Id("call").Dot("Key").Op("=").Id("mp").Dot("Key").Call(jen.Lit(p.Name), jen.Id("v").Dot(names[j]), jen.Id("call").Dot("GivenKey"), newKey))
			continue
		}
		method := "Field"
		if g.fileProperty(p) {
			method = "File"
		}
		block = append(block, jen.Id("mp").Dot(method).Call(jen.Lit(p.Name), jen.Id("v").Dot(names[j]), jen.Lit(partType(c, p))))
	}
	return append(block,
		jen.List(jen.Id("b"), jen.Id("ct"), jen.Err()).Op(":=").Id("mp").Dot("Finish").Call(),
		jen.If(jen.Err().Op("!=").Nil()).Block(fail),
		jen.List(jen.Id("body"), jen.Id("contentType")).Op("=").List(jen.Id("b"), jen.Id("ct")))
}

// partType is the Content-Type a client sends for the parts of property p:
// the first concrete type its encoding declares, else application/json for an
// object (OpenAPI's default for one), else none.
func partType(c *model.Content, p *model.Property) string {
	for _, t := range c.PartTypes[p.Name] {
		if !strings.Contains(t, "*") {
			return t
		}
	}
	s := p.Schema
	if s != nil && s.Kind == model.KindArray {
		s = s.Items
	}
	if s != nil && s.GoType == "" && (s.Kind == model.KindObject || s.Kind == model.KindMap || s.Kind == model.KindUnion) {
		return "application/json"
	}
	return ""
}

// formBodies are the schemas of op's typed form bodies, validated after
// decoding as JSON bodies are.
func (g *generator) formBodies(op *model.Operation) []*model.Schema {
	var out []*model.Schema
	if op.Body != nil {
		for _, c := range op.Body.Contents {
			if g.typedForm(c) {
				out = append(out, c.Schema)
			}
		}
	}
	return out
}
