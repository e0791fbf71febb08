package emit

import (
	"fmt"
	"strings"

	"github.com/dave/jennifer/jen"

	"github.com/idemgen/idemgen/generator/model"
	"github.com/idemgen/idemgen/runtime/idempotency"
)

const (
	memstorePkg  = "github.com/idemgen/idemgen/runtime/store/memstore"
	serverkitPkg = "github.com/idemgen/idemgen/runtime/serverkit"
	httpPkg      = "net/http"
)

// emitServer emits server_gen.go: the request and response types, the Handler
// interface, UnimplementedHandler, the options and NewServer.
func (g *generator) emitServer() (*jen.File, error) {
	f := g.newFile()
	routes := g.routes()
	g.emitHandlerInterface(f)
	g.emitSecurityHandler(f)
	for _, op := range g.api.Operations {
		g.emitRequestType(f, op)
		g.emitResponseTypes(f, op)
	}
	g.emitNewServer(f, routes)
	for _, op := range g.api.Operations {
		g.emitHandle(f, op)
	}
	return f, nil
}

// opLabel names an operation in comments ("POST /orders"); the path is spec
// text, kept on one line.
func opLabel(op *model.Operation) string { return op.Method + " " + singleLine(op.Path) }

// emitHandlerInterface emits Handler, ErrNotImplemented and UnimplementedHandler.
func (g *generator) emitHandlerInterface(f *jen.File) {
	f.Add(docText("Handler implements the API: one method per operation. A method gets the\n" +
		"decoded request and returns one of the operation's response types, or an\n" +
		"error, which the server's error handler answers (by default 500\n" +
		"problem+json; 501 for ErrNotImplemented). Idempotent operations are\n" +
		"deduplicated before the method runs; a replay does not call it."))
	f.Type().Id("Handler").InterfaceFunc(func(gr *jen.Group) {
		for _, op := range g.api.Operations {
			n := g.ops[op]
			gr.Add(g.opDoc(n.Method, op))
			gr.Id(n.Method).Params(jen.Id("ctx").Qual("context", "Context"), jen.Id("req").Id(n.Request)).
				Params(jen.Id(n.Response), jen.Error())
		}
	})
	f.Add(docText("ErrNotImplemented is returned by UnimplementedHandler; the server answers it\nwith 501."))
	f.Var().Id("ErrNotImplemented").Op("=").Qual(serverkitPkg, "ErrNotImplemented")
	f.Add(docText("UnimplementedHandler answers every operation with ErrNotImplemented. Embed it\n" +
		"in a Handler implementation to implement operations one at a time."))
	f.Type().Id("UnimplementedHandler").Struct()
	g.emitUnimplemented(f, "UnimplementedHandler", g.api.Operations)
}

// emitUnimplemented emits the methods of recv (UnimplementedHandler or
// UnimplementedWebhookHandler): one per operation of ops, answering
// ErrNotImplemented.
func (g *generator) emitUnimplemented(f *jen.File, recv string, ops []*model.Operation) {
	for _, op := range ops {
		n := g.ops[op]
		f.Commentf("%s returns ErrNotImplemented.", n.Method)
		f.Func().Params(jen.Id(recv)).Id(n.Method).
			Params(jen.Id("ctx").Qual("context", "Context"), jen.Id("req").Id(n.Request)).
			Params(jen.Id(n.Response), jen.Error()).Block(jen.Return(jen.Nil(), jen.Id("ErrNotImplemented")))
	}
}

// opDoc is the doc comment of an operation's Handler method.
func (g *generator) opDoc(method string, op *model.Operation) jen.Code {
	return rawComment(append([]string{fmt.Sprintf("%s handles %s (operationId %q).", method, opLabel(op), op.ID)}, opDocDetails(op)...))
}

// opDocDetails are the lines of a handler method's doc comment after the
// first: the summary, the description, the policy and deprecation.
func opDocDetails(op *model.Operation) []string {
	var lines []string
	if s := strings.TrimSpace(op.Summary); s != "" {
		lines = append(lines, "", s)
	}
	if d := strings.TrimSpace(op.Description); d != "" && d != strings.TrimSpace(op.Summary) {
		lines = append(lines, "")
		lines = append(lines, strings.Split(strings.ReplaceAll(d, "\r\n", "\n"), "\n")...)
	}
	if op.Idempotent() {
		lines = append(lines, "", "It is idempotent: see Policies["+fmt.Sprintf("%q", op.ID)+"].")
	}
	if op.Deprecated {
		lines = append(lines, "", "Deprecated: marked deprecated in the spec.")
	}
	return lines
}

// bodyField describes the Go field of one request body media type.
func (g *generator) bodyFieldType(op *model.Operation, c *model.Content) jen.Code {
	single := len(op.Body.Contents) == 1
	required := single && op.Body.Required
	switch c.Kind {
	case model.BodyJSON:
		t, _ := g.fieldType(c.Schema, required, false)
		return t
	case model.BodyForm:
		if g.formStruct(c.Schema) != nil {
			t, _ := g.fieldType(c.Schema, required, false)
			return t
		}
		return jen.Qual("net/url", "Values")
	case model.BodyMultipart:
		if g.typedForm(c) { // form.go
			t, _ := g.fieldType(c.Schema, required, false)
			return t
		}
		return jen.Op("*").Qual("mime/multipart", "Form")
	case model.BodyText:
		if required {
			return jen.String()
		}
		return jen.Op("*").String()
	}
	return jen.Qual("io", "Reader")
}

// formStruct returns the object schema a form body is decoded into, or nil when
// the body is kept as url.Values.
func (g *generator) formStruct(s *model.Schema) *model.Schema {
	if s == nil || s.GoType != "" || s.Kind != model.KindObject || len(s.Properties) == 0 {
		return nil
	}
	return s
}

func (g *generator) emitRequestType(f *jen.File, op *model.Operation) {
	n := g.ops[op]
	f.Commentf("%s is the decoded request of %s (%s).", n.Request, n.Method, opLabel(op))
	f.Type().Id(n.Request).StructFunc(func(gr *jen.Group) {
		for i, p := range op.Params {
			lines := []string{fmt.Sprintf("%s is the %s parameter %q.", n.Params[i], p.In, p.Name)}
			if d := strings.TrimSpace(p.Description); d != "" {
				lines = append(lines, strings.Split(d, "\n")...)
			}
			gr.Add(rawComment(lines))
			t, _ := g.fieldType(p.Schema, p.Required, false)
			gr.Id(n.Params[i]).Add(t)
		}
		if op.Body != nil {
			for i, c := range op.Body.Contents {
				doc := fmt.Sprintf("%s is the request body as %s", n.Bodies[i], c.MediaType)
				switch {
				case len(op.Body.Contents) > 1:
					doc += " (nil unless the request has that Content-Type)."
				case !op.Body.Required:
					doc += " (nil when the request has no body)."
				default:
					doc += "."
				}
				gr.Add(rawComment([]string{doc}))
				gr.Id(n.Bodies[i]).Add(g.bodyFieldType(op, c))
			}
		}
	})
}

func (g *generator) emitResponseTypes(f *jen.File, op *model.Operation) {
	n := g.ops[op]
	var names []string
	for _, rt := range n.Responses {
		names = append(names, rt.Name)
	}
	doc := fmt.Sprintf("%s is a response of %s: ", n.Response, n.Method)
	if len(names) == 0 {
		doc += "the spec declares none, so only an error can be returned."
	} else {
		doc += "one of " + strings.Join(names, ", ") + "."
	}
	writeMethod := "write" + n.Response
	f.Add(docText(doc))
	f.Type().Id(n.Response).Interface(
		jen.Id(writeMethod).Params(jen.Id("w").Qual(httpPkg, "ResponseWriter")).Error(),
	)
	emitted := make(map[string]bool)
	for _, rt := range n.Responses {
		if rt.Headers != "" && !emitted[rt.Headers] {
			emitted[rt.Headers] = true
			f.Commentf("%s are the headers of the %s response of %s.", rt.Headers, rt.Resp.Status, n.Method)
			f.Type().Id(rt.Headers).StructFunc(func(gr *jen.Group) {
				for i, h := range rt.Resp.Headers {
					t, _ := g.fieldType(h.Schema, h.Required, false)
					gr.Id(rt.HeaderFields[i]).Add(t)
				}
			})
		}
		g.emitResponseType(f, op, rt, writeMethod)
	}
}

// wildcardMedia reports a media type range ("*/*", "image/*"): the handler
// chooses the concrete Content-Type.
func wildcardMedia(mt string) bool { return strings.Contains(mt, "*") }

func (g *generator) emitResponseType(f *jen.File, op *model.Operation, rt *respType, writeMethod string) {
	r, c := rt.Resp, rt.Content
	_, fixed := fixedStatus(r.Status)
	doc := []string{fmt.Sprintf("%s is the %s response of %s", rt.Name, r.Status, g.ops[op].Method)}
	if c != nil {
		doc[0] += ", body " + c.MediaType
	}
	doc[0] += "."
	if d := strings.TrimSpace(r.Description); d != "" {
		doc = append(doc, "", d)
	}
	if !fixed {
		doc = append(doc, "", fmt.Sprintf("StatusCode is the status sent; zero means %d.", defaultStatus(r.Status)))
	}
	f.Add(rawComment(doc))
	f.Type().Id(rt.Name).StructFunc(func(gr *jen.Group) {
		if !fixed {
			gr.Id("StatusCode").Int()
		}
		if rt.Headers != "" {
			gr.Id("Headers").Id(rt.Headers)
		}
		if c == nil {
			return
		}
		switch c.Kind {
		case model.BodyJSON:
			gr.Id("Body").Add(g.typeOf(c.Schema))
		case model.BodyForm:
			gr.Id("Body").Qual("net/url", "Values")
		case model.BodyText:
			gr.Id("Body").String()
		default:
			gr.Id("Body").Qual("io", "Reader")
		}
		if wildcardMedia(c.MediaType) {
			gr.Id("ContentType").String()
		}
	})

	var status jen.Code
	if code, ok := fixedStatus(r.Status); ok {
		status = jen.Lit(code)
	} else {
		status = jen.Qual(serverkitPkg, "Status").Call(jen.Id("r").Dot("StatusCode"), jen.Lit(defaultStatus(r.Status)))
	}
	var ct jen.Code = jen.Lit("")
	if c != nil {
		ct = jen.Lit(c.MediaType)
		if wildcardMedia(c.MediaType) {
			ct = jen.Id("r").Dot("ContentType")
		}
	}
	f.Line()
	f.Func().Params(jen.Id("r").Id(rt.Name)).Id(writeMethod).Params(jen.Id("w").Qual(httpPkg, "ResponseWriter")).Error().BlockFunc(func(gr *jen.Group) {
		if c != nil && c.Kind == model.BodyJSON && len(r.Headers) == 0 {
			gr.Return(jen.Qual(serverkitPkg, "WriteJSON").Call(jen.Id("w"), status, ct, jen.Id("r").Dot("Body")))
			return
		}
		var body jen.Code = jen.Nil()
		stream := false
		if c != nil {
			switch c.Kind {
			case model.BodyJSON:
				gr.List(jen.Id("b"), jen.Err()).Op(":=").Qual("encoding/json", "Marshal").Call(jen.Id("r").Dot("Body"))
				gr.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Err()))
				body = jen.Id("b")
			case model.BodyForm:
				body = jen.Index().Byte().Call(jen.Id("r").Dot("Body").Dot("Encode").Call())
			case model.BodyText:
				body = jen.Index().Byte().Call(jen.Id("r").Dot("Body"))
			default:
				stream = true
			}
		}
		for i, h := range r.Headers {
			gr.Qual(serverkitPkg, "SetHeader").Call(jen.Id("w"), jen.Lit(h.Name), jen.Id("r").Dot("Headers").Dot(rt.HeaderFields[i]))
		}
		if stream {
			gr.Qual(serverkitPkg, "WriteStream").Call(jen.Id("w"), status, ct, jen.Id("r").Dot("Body"))
		} else {
			gr.Qual(serverkitPkg, "Write").Call(jen.Id("w"), status, ct, body)
		}
		gr.Return(jen.Nil())
	})
}

// emitNewServer emits NewServer, the server type and its error handling.
func (g *generator) emitNewServer(f *jen.File, routes *routeTable) {
	f.Add(docText("ServerOption configures NewServer: serverkit.WithStore, serverkit.WithLogger..."))
	f.Type().Id("ServerOption").Op("=").Qual(serverkitPkg, "Option")
	f.Comment("server routes requests to a Handler.")
	f.Type().Id("server").Struct(
		jen.Id("h").Id("Handler"),
		jen.Id("kit").Op("*").Qual(serverkitPkg, "Server"),
	)
	// Package-level expressions for path parameters that share a segment.
	for _, re := range routes.regexps {
		f.Var().Id(re.name).Op("=").Qual("regexp", "MustCompile").Call(jen.Lit(re.expr))
	}
	f.Add(docText("NewServer returns the HTTP handler of the API: each operation routed with a\n" +
		"Go 1.22 ServeMux pattern, its parameters and body decoded (a decoding\n" +
		"failure is a 400 problem+json naming the field) and, for operations in\n" +
		"Policies, wrapped with the idempotency middleware. Operations without a\n" +
		"policy are not wrapped. serverkit.WithOperationMiddleware wraps every\n" +
		"operation with middleware told its operationId, method and route. A request\n" +
		"no operation serves is answered 404, or 405 with Allow, in problem+json\n" +
		"(serverkit.WithNotFound, serverkit.WithMethodNotAllowed replace them)." + g.newServerSecurityDoc()))
	f.Func().Id("NewServer").ParamsFunc(func(pg *jen.Group) {
		pg.Id("h").Id("Handler")
		if g.secured() {
			pg.Id("sh").Id("SecurityHandler")
		}
		pg.Id("opts").Op("...").Id("ServerOption")
	}).
		Params(jen.Qual(httpPkg, "Handler"), jen.Error()).BlockFunc(func(gr *jen.Group) {
		gr.If(jen.Id("h").Op("==").Nil()).Block(
			jen.Return(jen.Nil(), jen.Qual("errors", "New").Call(jen.Lit(g.opts.Package+": NewServer: nil Handler"))),
		)
		g.emitServerSchemes(gr)
		gr.Id("kit").Op(":=").Qual(serverkitPkg, "New").Call(jen.Lit(g.opts.Package), jen.Id("opts").Op("..."))
		if len(g.api.Operations) > 0 {
			gr.Id("s").Op(":=").Op("&").Id("server").Values(jen.Id("h").Op(":").Id("h"), jen.Id("kit").Op(":").Id("kit"))
			gr.Var().Id("err").Error()
		}
		// One handler variable per operation: wrapped with the idempotency
		// middleware when idempotent, then (kit.Operation) with the
		// per-operation middleware, outside of which the path parameters
		// whose ServeMux wildcard is named otherwise are set under their spec
		// names (the idempotency middleware and the per-operation middleware
		// read them by those names too).
		for i, op := range g.api.Operations {
			v := fmt.Sprintf("h%d", i)
			handle := jen.Qual(httpPkg, "HandlerFunc").Call(jen.Id("s").Dot("handle" + g.ops[op].Method))
			info := jen.Qual(serverkitPkg, "OperationInfo").Values(
				jen.Id("ID").Op(":").Lit(op.ID),
				jen.Id("Method").Op(":").Lit(op.Method),
				jen.Id("Route").Op(":").Lit(op.Route.String()),
			)
			operation := func(h jen.Code) jen.Code {
				h = g.authenticate(op, h)
				return jen.Id("kit").Dot("Operation").CallFunc(func(cg *jen.Group) {
					cg.Add(info)
					cg.Add(h)
					for _, n := range routes.byOp[op].renamedParams() {
						loc := routes.byOp[op].params[n]
						d := jen.Dict{jen.Id("Name"): jen.Lit(n), jen.Id("Wildcard"): jen.Lit(loc.wildcard)}
						if loc.re != "" {
							d[jen.Id("Regexp")] = jen.Id(loc.re)
							d[jen.Id("Group")] = jen.Lit(loc.group)
						}
						cg.Qual(serverkitPkg, "PathParam").Values(d)
					}
				})
			}
			if op.Idempotent() {
				gr.Var().Id(v).Qual(httpPkg, "Handler")
				gr.If(jen.List(jen.Id(v), jen.Err()).Op("=").Id("kit").Dot("Idempotent").Call(jen.Lit(op.ID), jen.Id("Policies").Index(jen.Lit(op.ID)), handle), jen.Err().Op("!=").Nil()).Block(
					jen.Return(jen.Nil(), jen.Err()),
				)
				// Decoded and validated (admit) before the middleware claims the key.
				gr.Id(v).Op("=").Add(operation(jen.Id("s").Dot("admit" + g.ops[op].Method).Call(jen.Id(v))))
			} else {
				gr.Id(v).Op(":=").Add(operation(handle))
			}
			routes.handlerVar[op] = v
		}
		for _, grp := range routes.groups {
			var h jen.Code
			if len(grp.ops) == 1 && len(routes.byOp[grp.ops[0]].constraints) == 0 {
				h = jen.Id(routes.handlerVar[grp.ops[0]])
			} else {
				h = jen.Id("kit").Dot("Dispatch").CallFunc(func(cg *jen.Group) {
					for _, op := range grp.ops {
						rt := routes.byOp[op]
						cg.Qual(serverkitPkg, "Route").Values(jen.Dict{
							jen.Id("Wildcards"): jen.Index().String().ValuesFunc(func(vg *jen.Group) {
								for _, k := range rt.constraints {
									vg.Lit(k.wildcard)
								}
							}),
							jen.Id("Regexps"): jen.Index().Op("*").Qual("regexp", "Regexp").ValuesFunc(func(vg *jen.Group) {
								for _, k := range rt.constraints {
									vg.Id(k.re)
								}
							}),
							jen.Id("Handler"): jen.Id(routes.handlerVar[op]),
						})
					}
				})
			}
			gr.If(jen.Err().Op("=").Id("kit").Dot("Handle").Call(jen.Lit(grp.pattern), h), jen.Err().Op("!=").Nil()).Block(
				jen.Return(jen.Nil(), jen.Err()),
			)
		}
		gr.Return(jen.Id("kit").Dot("Handler").Call(), jen.Nil())
	})
}

// emitHandle emits the http.HandlerFunc of one operation and its decoder.
func (g *generator) emitHandle(f *jen.File, op *model.Operation) {
	n := g.ops[op]
	decode := "decode" + n.Method
	if op.Idempotent() {
		g.emitAdmit(f, op)
		f.Commentf("handle%s serves %s: it calls the Handler with the request admit%s decoded and writes its response.", n.Method, opLabel(op), n.Method)
	} else {
		f.Commentf("handle%s serves %s: it decodes and validates the request, calls the Handler and writes its response.", n.Method, opLabel(op))
	}
	f.Func().Params(jen.Id("s").Op("*").Id(g.serverType())).Id("handle"+n.Method).
		Params(jen.Id("w").Qual(httpPkg, "ResponseWriter"), jen.Id("r").Op("*").Qual(httpPkg, "Request")).Block(
		g.admitted(op),
		jen.List(jen.Id("resp"), jen.Err()).Op(":=").Id("s").Dot("h").Dot(n.Method).Call(jen.Id("r").Dot("Context").Call(), jen.Id("req")),
		jen.If(jen.Err().Op("==").Nil().Op("&&").Id("resp").Op("==").Nil()).Block(
			jen.Err().Op("=").Qual("errors", "New").Call(jen.Lit(n.Method+" returned neither a response nor an error")),
		),
		g.checkResponse(op),
		jen.If(jen.Err().Op("==").Nil()).Block(
			jen.Err().Op("=").Id("resp").Dot("write"+n.Response).Call(jen.Id("w")),
		),
		jen.If(jen.Err().Op("!=").Nil()).Block(
			jen.Id("s").Dot("kit").Dot("Fail").Call(jen.Id("w"), jen.Id("r"), jen.Lit(op.ID), jen.Err()),
		),
	)

	f.Commentf("%s decodes the parameters and body of %s into req.", decode, opLabel(op))
	f.Func().Params(jen.Id("s").Op("*").Id(g.serverType())).Id(decode).
		Params(jen.Id("r").Op("*").Qual(httpPkg, "Request"), jen.Id("req").Op("*").Id(n.Request)).Error().BlockFunc(func(gr *jen.Group) {
		keyHeader := policyKeyHeader(op)
		started := false
		for i, p := range op.Params {
			// A descriptor of the parameter: serverkit.Params.Decode reads
			// and decodes it.
			var d fields
			d.add("Name", jen.Lit(p.Name))
			switch p.In {
			case model.InQuery:
				d.add("In", jen.Qual(serverkitPkg, "InQuery"))
				switch {
				case p.Explode && (p.Style == "" || p.Style == "form"):
					d.add("Explode", jen.True())
				case p.Style == "spaceDelimited":
					d.add("Delimiter", jen.Lit(" "))
				case p.Style == "pipeDelimited":
					d.add("Delimiter", jen.Lit("|"))
				}
			case model.InHeader:
				d.add("In", jen.Qual(serverkitPkg, "InHeader"))
				if keyHeader != "" && strings.EqualFold(p.Name, keyHeader) {
					// The policy's key header: the handler gets the key the
					// middleware deduplicated by, not the header's raw value
					// (a structured-field string keeps its quotes).
					d.add("IdempotencyKey", jen.True())
					if n := op.Idempotency.Policy.Key.MaxLength; n != 0 {
						d.add("KeyMaxLength", jen.Lit(n))
					}
				}
			case model.InCookie:
				d.add("In", jen.Qual(serverkitPkg, "InCookie"))
			case model.InPath:
				d.add("In", jen.Qual(serverkitPkg, "InPath"))
				if !op.Route.Has(p.Name) {
					// Not routed: never present, so the request is rejected.
					g.warn(p.Pos, "", RulePathParamMissing, "path parameter %q does not appear in path %q; requests will be rejected", p.Name, op.Path)
				}
			default:
				continue
			}
			if p.Required || p.In == model.InPath {
				d.add("Required", jen.True())
			}
			switch p.Style {
			case "matrix", "label", "deepObject":
				g.warn(p.Pos, "", RuleParamStyleUnsupported,
					"%s parameter %q: style %q is not decoded; the server reads the parameter's raw value (JSON for objects)", p.In, p.Name, p.Style)
			}
			if !started {
				gr.Id("params").Op(":=").Qual(serverkitPkg, "ParamsOf").Call(jen.Id("r"))
				started = true
			}
			// A string field takes DecodeString, which does not box it.
			decode := "Decode"
			if t, _ := g.fieldType(p.Schema, p.Required, false); jen.Null().Add(t).GoString() == "string" {
				decode = "DecodeString"
			}
			gr.If(jen.Err().Op(":=").Id("params").Dot(decode).Call(jen.Op("&").Id("req").Dot(n.Params[i]), jen.Qual(serverkitPkg, "Parameter").Values(d.sorted("In", "Name", "Required", "Explode", "Delimiter", "IdempotencyKey", "KeyMaxLength")...)), jen.Err().Op("!=").Nil()).Block(
				jen.Return(jen.Err()),
			)
		}
		if op.Body != nil && len(op.Body.Contents) > 0 {
			g.emitBodyDecode(gr, op)
		}
		gr.Return(jen.Nil())
	})
}

// policyKeyHeader returns the name of the header that carries the
// idempotency key of op ("Idempotency-Key" when the policy names no key
// source), or "" when op is not idempotent or its key comes from elsewhere (a
// query parameter, a body field, derived values).
func policyKeyHeader(op *model.Operation) string {
	if !op.Idempotent() {
		return ""
	}
	k := op.Idempotency.Policy.Key
	switch {
	case k.Header != "":
		return k.Header
	case k.Query != "" || k.Field != "" || len(k.Derive) > 0:
		return ""
	}
	return idempotency.DefaultHeader
}

// emitBodyDecode emits the decoding of the request body by its Content-Type.
func (g *generator) emitBodyDecode(gr *jen.Group, op *model.Operation) {
	n := g.ops[op]
	single := len(op.Body.Contents) == 1
	required := single && op.Body.Required
	gr.List(jen.Id("body"), jen.Id("present"), jen.Err()).Op(":=").Qual(serverkitPkg, "ReadBody").Call(jen.Id("r"), jen.Lit(op.Body.Required), jen.Id("s").Dot("kit").Dot("MaxBodyBytes").Call())
	gr.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Err()))
	if op.Idempotent() {
		// The idempotency middleware, which runs next, reads the body again.
		gr.Id("r").Dot("Body").Op("=").Qual("io", "NopCloser").Call(jen.Qual("bytes", "NewReader").Call(jen.Id("body")))
	}
	gr.If(jen.Op("!").Id("present")).Block(jen.Return(jen.Nil()))
	gr.Switch(jen.Qual(serverkitPkg, "MediaType").Call(jen.Id("r"), jen.Index().String().ValuesFunc(func(vg *jen.Group) {
		for _, c := range op.Body.Contents {
			vg.Lit(c.MediaType)
		}
	}))).BlockFunc(func(sg *jen.Group) {
		for i, c := range op.Body.Contents {
			field := jen.Id("req").Dot(n.Bodies[i])
			sg.Case(jen.Lit(i)).BlockFunc(func(cg *jen.Group) {
				switch c.Kind {
				case model.BodyJSON:
					if g.nilable(c.Schema) {
						cg.If(jen.Err().Op(":=").Qual(serverkitPkg, "DecodeJSON").Call(jen.Id("body"), jen.Op("&").Add(field)), jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Err()))
						g.checkRequired(cg, op, c.Schema)
						return
					}
					cg.Var().Id("v").Add(g.typeOf(c.Schema))
					cg.If(jen.Err().Op(":=").Qual(serverkitPkg, "DecodeJSON").Call(jen.Id("body"), jen.Op("&").Id("v")), jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Err()))
					g.assign(cg, field, required && !(c.Schema != nil && c.Schema.Nullable))
					g.checkRequired(cg, op, c.Schema) // after: validate.Request checks the rest of v
				case model.BodyForm, model.BodyMultipart:
					if g.typedForm(c) {
						g.emitFormDecode(cg, c, field, required && !c.Schema.Nullable) // form.go
						return
					}
					if c.Kind == model.BodyForm {
						cg.List(jen.Id("form"), jen.Err()).Op(":=").Qual(serverkitPkg, "ParseForm").Call(jen.Id("body"))
						cg.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Err()))
						cg.Add(field).Op("=").Id("form")
						return
					}
					cg.List(jen.Id("form"), jen.Err()).Op(":=").Qual(serverkitPkg, "ParseMultipart").Call(jen.Id("r"), jen.Id("body"))
					cg.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Err()))
					cg.Add(field).Op("=").Id("form")
				case model.BodyText:
					cg.Id("v").Op(":=").String().Call(jen.Id("body"))
					g.assign(cg, field, required)
				default:
					cg.Add(field).Op("=").Qual("bytes", "NewReader").Call(jen.Id("body"))
				}
			})
		}
		sg.Default().Block(jen.Return(jen.Qual(serverkitPkg, "Unsupported").Call(jen.Id("r"))))
	})
}

// requiredProps are the JSON names of the required properties of an object
// body schema that a request must carry (readOnly ones belong to responses).
func requiredProps(s *model.Schema) []string {
	if s == nil || s.GoType != "" || s.Kind != model.KindObject {
		return nil
	}
	var names []string
	for _, p := range s.Properties {
		if p.Required && (p.Schema == nil || !p.Schema.ReadOnly) {
			names = append(names, p.Name)
		}
	}
	return names
}

// assign stores the decoded v in field: by value, or by address when the field
// is a pointer.
func (g *generator) assign(gr *jen.Group, field *jen.Statement, byValue bool) {
	if byValue {
		gr.Add(field).Op("=").Id("v")
	} else {
		gr.Add(field).Op("=").Op("&").Id("v")
	}
}
