package emit

import (
	"fmt"
	"strings"

	"github.com/dave/jennifer/jen"

	"github.com/idemgen/idemgen/generator/model"
	"github.com/idemgen/idemgen/runtime/client"
	"github.com/idemgen/idemgen/runtime/idempotency"
)

const clientPkg = "github.com/idemgen/idemgen/runtime/client"

// clientIDs are the exported package-level names of the generated client,
// as the loader assigned them (model.ClientNames). The options are those of
// package client (client.WithHTTPClient, client.WithIdempotencyKey...).
type clientIDs = model.ClientNames

func (g *generator) clientIDs() *clientIDs { return &g.api.GoNames }

// emitClient emits client_gen.go: the Client, its options and one method per
// operation. It reuses the server's request and response types (CreateSongRequest,
// CreateSong201JSONResponse...) and emits them itself when the server is not
// generated, so a client-only package has the same API.
func (g *generator) emitClient() (*jen.File, error) {
	f := g.newFile()
	if !g.opts.Server {
		for _, op := range g.api.Operations {
			g.emitRequestType(f, op)
			g.emitClientResponseTypes(f, op)
		}
	}
	ids := g.clientIDs()
	g.emitClientType(f, ids)
	g.emitClientSchemes(f)
	for _, op := range g.api.Operations {
		g.emitClientMethod(f, ids, op)
		g.emitClientDecode(f, ids, op)
	}
	return f, nil
}

// emitClientResponseTypes emits an operation's response interface and types for
// a client-only package: the same structs as the server's, without the write
// method (a marker method closes the interface instead).
func (g *generator) emitClientResponseTypes(f *jen.File, op *model.Operation) {
	n := g.ops[op]
	var names []string
	for _, rt := range n.Responses {
		names = append(names, rt.Name)
	}
	doc := fmt.Sprintf("%s is a response of %s: ", n.Response, n.Method)
	if len(names) == 0 {
		doc += "the spec declares none."
	} else {
		doc += "one of " + strings.Join(names, ", ") + "."
	}
	marker := "is" + n.Response
	f.Add(docText(doc))
	f.Type().Id(n.Response).Interface(jen.Id(marker).Params())
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
		r, c := rt.Resp, rt.Content
		_, fixed := fixedStatus(r.Status)
		line := fmt.Sprintf("%s is the %s response of %s", rt.Name, r.Status, n.Method)
		if c != nil {
			line += ", body " + c.MediaType
		}
		lines := []string{line + "."}
		if !fixed {
			lines = append(lines, "", "StatusCode is the status received.")
		}
		f.Add(rawComment(lines))
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
			gr.Id("Body").Add(g.responseBodyType(c))
			if wildcardMedia(c.MediaType) {
				gr.Id("ContentType").String()
			}
		})
		f.Func().Params(jen.Id(rt.Name)).Id(marker).Params().Block()
	}
}

// responseBodyType is the Go type of a response body, as the server declares it.
func (g *generator) responseBodyType(c *model.Content) jen.Code {
	switch c.Kind {
	case model.BodyJSON:
		return g.typeOf(c.Schema)
	case model.BodyForm:
		return jen.Qual("net/url", "Values")
	case model.BodyText:
		return jen.String()
	}
	return jen.Qual("io", "Reader")
}

// emitClientType emits the Client and NewClient: a Client holds a
// client.Base, the spec-independent part (options, retries, editors, request
// building), and adds one method per operation.
func (g *generator) emitClientType(f *jen.File, ids *clientIDs) {
	pkg := g.opts.Package
	title := g.api.Title
	if title == "" {
		title = "the"
	}
	f.Add(docText(ids.DefaultUserAgent + " is the User-Agent of requests unless client.WithUserAgent sets another."))
	f.Const().Id(ids.DefaultUserAgent).Op("=").Lit("idemgen-client/" + g.opts.Version)
	f.Add(docText(fmt.Sprintf("%s calls the %s API over HTTP. It is safe for concurrent use.\n\n"+
		"Every call is one logical call: it is retried (package client's Retrier) on\n"+
		"connection errors, timeouts, 5xx, 429 and, for idempotent operations, on a 409\n"+
		"that says the key is in flight. An idempotent operation sends one idempotency\n"+
		"key per call (a fresh one unless client.WithIdempotencyKey gives one), the same\n"+
		"on every retry; a non-idempotent unsafe operation is retried only when the\n"+
		"request never left (a failed connection).\n\n"+
		"A method returns the decoded response and the raw answer, whose Result tells\n"+
		"the key sent, the attempts made and whether the answer was a replay. Every\n"+
		"status the spec declares, 4xx and 5xx included, comes back typed with a nil\n"+
		"error. The error is a failure to get an answer, a status the spec does not\n"+
		"declare or a problem+json answer it does not declare for that status (the\n"+
		"runtime's own, e.g. a key reused): then a *client.Error, with its\n"+
		"*client.Problem.", ids.Client, title)))
	f.Type().Id(ids.Client).Struct(jen.Id("base").Op("*").Qual(clientPkg, "Base"))
	f.Add(docText(ids.ClientOption + " configures " + ids.NewClient + ": client.WithHTTPClient, client.WithRetryPolicy..."))
	f.Type().Id(ids.ClientOption).Op("=").Qual(clientPkg, "ClientOption")
	f.Add(docText(ids.CallOption + " configures one call: client.WithIdempotencyKey, client.WithCallRetryPolicy..."))
	f.Type().Id(ids.CallOption).Op("=").Qual(clientPkg, "CallOption")
	f.Add(docText(ids.NewClient + " returns a client of the API at baseURL (an absolute http or https URL;\n" +
		"operation paths are appended to it; see client.NewBase). It fails on a bad URL\n" +
		"or retry policy."))
	f.Func().Id(ids.NewClient).Params(jen.Id("baseURL").String(), jen.Id("opts").Op("...").Id(ids.ClientOption)).
		Params(jen.Op("*").Id(ids.Client), jen.Error()).Block(
		jen.List(jen.Id("b"), jen.Err()).Op(":=").Qual(clientPkg, "NewBase").Call(
			jen.Qual(clientPkg, "BaseConfig").Values(jen.Id("Package").Op(":").Lit(pkg), jen.Id("UserAgent").Op(":").Id(ids.DefaultUserAgent), g.clientBaseSchemes()),
			jen.Id("baseURL"), jen.Id("opts").Op("...")),
		jen.If(jen.Err().Op("!=").Nil()).Block(
			jen.Return(jen.Nil(), jen.Qual("fmt", "Errorf").Call(jen.Lit(pkg+": "+ids.NewClient+": %w"), jen.Err())),
		),
		jen.Return(jen.Op("&").Id(ids.Client).Values(jen.Dict{jen.Id("base"): jen.Id("b")}), jen.Nil()),
	)
}

// keySource is where an idempotent operation's client puts the key.
type keySource struct {
	header, query string // the header or query parameter name
	field         string // a JSON Pointer ("/idempotency_key")
	derived       bool   // the server derives the key: the client sends none
	param         int    // index of the declared parameter that carries the key, -1 when none
	ulid          bool   // key.format: ulid: fresh keys are ULIDs, not UUIDs
}

// newKeyFunc is the runtime function that makes a fresh key of the right format.
func (ks *keySource) newKeyFunc() jen.Code {
	if ks.ulid {
		return jen.Qual(clientPkg, "NewULID")
	}
	return jen.Qual(clientPkg, "NewKey")
}

// fill calls the runtime function fn (FillJSONKey or FillFormKey) with args,
// or its ...With form with NewULID when the keys are ULIDs.
func (ks *keySource) fill(fn string, args ...jen.Code) jen.Code {
	if ks.ulid {
		return jen.Qual(clientPkg, fn+"With").Call(append(args, jen.Qual(clientPkg, "NewULID"))...)
	}
	return jen.Qual(clientPkg, fn).Call(args...)
}

func opKeySource(op *model.Operation) *keySource {
	if !op.Idempotent() {
		return nil
	}
	k := op.Idempotency.Policy.Key
	ks := &keySource{param: -1, ulid: k.Format == idempotency.FormatULID}
	switch {
	case len(k.Derive) > 0:
		ks.derived = true
	case k.Field != "":
		ks.field = k.Field
		if !strings.HasPrefix(ks.field, "/") {
			ks.field = "/" + ks.field
		}
	case k.Query != "":
		ks.query = k.Query
	default:
		ks.header = k.Header
		if ks.header == "" {
			ks.header = idempotency.DefaultHeader
		}
	}
	for i, p := range op.Params {
		if (ks.header != "" && p.In == model.InHeader && strings.EqualFold(p.Name, ks.header)) ||
			(ks.query != "" && p.In == model.InQuery && p.Name == ks.query) {
			ks.param = i
		}
	}
	return ks
}

// ret returns from an operation method with an error built from err.
// The error names the package and the operation (client.Invocation.Error);
// opID is kept for the callers' readability.
func ret(opID string, raw jen.Code, err jen.Code) jen.Code {
	return jen.Return(jen.Nil(), raw, jen.Id("call").Dot("Error").Call(err))
}

// emitClientMethod emits the Client method of one operation.
func (g *generator) emitClientMethod(f *jen.File, ids *clientIDs, op *model.Operation) {
	n := g.ops[op]
	ks := opKeySource(op)
	lines := []string{fmt.Sprintf("%s calls %s (operationId %q).", n.Method, opLabel(op), op.ID)}
	if s := strings.TrimSpace(op.Summary); s != "" {
		lines = append(lines, "", s)
	}
	lines = append(lines, "",
		"It returns one of the "+n.Response+" types (matched by status and",
		"Content-Type) for every status the spec declares, with a nil error; see "+ids.Client+".")
	switch {
	case ks == nil:
	case ks.derived:
		lines = append(lines, "", "It is idempotent: the server derives the key from the request, so none is sent.")
	case ks.field != "":
		fresh := "UUIDv4"
		if ks.ulid {
			fresh = "ULID"
		}
		lines = append(lines, "", fmt.Sprintf("It is idempotent: the key travels in the body field %s, filled with a", ks.field),
			"fresh "+fresh+" when empty (or with the key of client.WithIdempotencyKey).")
	default:
		where := fmt.Sprintf("header %s", ks.header)
		if ks.query != "" {
			where = fmt.Sprintf("query parameter %s", ks.query)
		}
		fresh := "UUIDv4"
		if ks.ulid {
			fresh = "ULID"
		}
		lines = append(lines, "", "It is idempotent: the key travels in the "+where+": the key of",
			"client.WithIdempotencyKey, else the one in the request, else a fresh "+fresh+".")
	}
	if ks != nil && !ks.derived && op.Idempotency.Policy.Key.Format == idempotency.FormatPattern {
		lines = append(lines, fmt.Sprintf("The server accepts only keys matching %s: give one with client.WithIdempotencyKey.",
			op.Idempotency.Policy.Key.Pattern))
	}
	if op.Deprecated {
		lines = append(lines, "", "Deprecated: marked deprecated in the spec.")
	}
	f.Add(rawComment(lines))
	f.Func().Params(jen.Id("c").Op("*").Id(ids.Client)).Id(n.Method).
		Params(jen.Id("ctx").Qual("context", "Context"), jen.Id("req").Id(n.Request), jen.Id("opts").Op("...").Id(ids.CallOption)).
		Params(jen.Id(n.Response), jen.Op("*").Qual(clientPkg, "Response"), jen.Error()).BlockFunc(func(gr *jen.Group) {
		var desc fields
		desc.add("ID", jen.Lit(op.ID))
		desc.add("Method", jen.Lit(op.Method))
		if op.Idempotent() {
			desc.add("Idempotent", jen.True())
		}
		clientSecurity(op, &desc)
		gr.Id("call").Op(":=").Id("c").Dot("base").Dot("Begin").Call(
			jen.Qual(clientPkg, "Operation").Values(desc.sorted("ID", "Method", "Idempotent", "Security")...), jen.Id("opts"))
		g.emitClientPath(gr, op)
		query := g.emitClientQuery(gr, op, ks)
		body, contentType := jen.Nil(), jen.Lit("")
		if op.Body != nil && len(op.Body.Contents) > 0 {
			gr.Var().Id("body").Index().Byte()
			gr.Var().Id("contentType").String()
			g.emitClientBody(gr, op, ks)
			body, contentType = jen.Id("body"), jen.Id("contentType")
		}
		if ks != nil && !ks.derived && ks.field == "" {
			fromRequest := jen.Lit("")
			if ks.param >= 0 {
				fromRequest = jen.Qual(clientPkg, "ParamString").Call(jen.Id("req").Dot(n.Params[ks.param]))
			}
			gr.Id("call").Dot("Key").Op("=").Id("call").Dot("ChooseKey").Call(fromRequest, ks.newKeyFunc())
			if ks.query != "" {
				gr.Id("q").Dot("Set").Call(jen.Lit(ks.query), jen.Id("call").Dot("Key"))
			}
		}
		gr.List(jen.Id("hreq"), jen.Err()).Op(":=").Id("call").Dot("NewRequest").Call(jen.Id("ctx"), jen.Id("path"), query, body, contentType)
		gr.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Nil(), jen.Nil(), jen.Err()))
		for i, p := range op.Params {
			if ks != nil && ks.header != "" && i == ks.param {
				continue // the key header is set below, from the call's key
			}
			var set jen.Code
			switch p.In {
			case model.InHeader:
				set = jen.Qual(clientPkg, "SetHeader").Call(jen.Id("hreq").Dot("Header"), jen.Lit(p.Name), jen.Id("req").Dot(n.Params[i]))
			case model.InCookie:
				set = jen.Qual(clientPkg, "AddCookie").Call(jen.Id("hreq"), jen.Lit(p.Name), jen.Id("req").Dot(n.Params[i]))
			default:
				continue
			}
			gr.If(jen.Err().Op(":=").Add(set), jen.Err().Op("!=").Nil()).Block(ret(op.ID, jen.Nil(), jen.Err()))
		}
		if ks != nil && ks.header != "" {
			gr.Id("hreq").Dot("Header").Dot("Set").Call(jen.Lit(ks.header), jen.Qual(clientPkg, "KeyHeaderValue").Call(jen.Id("call").Dot("Key")))
		}
		gr.List(jen.Id("raw"), jen.Err()).Op(":=").Id("call").Dot("Do").Call(jen.Id("ctx"), jen.Id("hreq"))
		gr.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Nil(), jen.Id("raw"), jen.Err()))
		gr.Return(jen.Id("decode" + n.Method).Call(jen.Id("raw")))
	})
}

// emitClientPath emits path := "..." with the path parameters substituted.
func (g *generator) emitClientPath(gr *jen.Group, op *model.Operation) {
	n := g.ops[op]
	index := make(map[*model.Param]int, len(op.Params))
	for i, p := range op.Params {
		index[p] = i
	}
	var parts []jen.Code
	var text strings.Builder
	for _, seg := range op.Route.Segments {
		text.WriteByte('/')
		for _, part := range seg.Parts {
			if !part.IsParam() {
				text.WriteString(part.Literal)
				continue
			}
			if part.Param == nil {
				// The loader reports the undeclared variable; the text stays as written.
				text.WriteString("{" + part.Name + "}")
				continue
			}
			if text.Len() > 0 {
				parts = append(parts, jen.Lit(text.String()))
				text.Reset()
			}
			v := fmt.Sprintf("p%d", len(parts))
			gr.List(jen.Id(v), jen.Err()).Op(":=").Qual(clientPkg, "PathParam").Call(jen.Lit(part.Name), jen.Id("req").Dot(n.Params[index[part.Param]]))
			gr.If(jen.Err().Op("!=").Nil()).Block(ret(op.ID, jen.Nil(), jen.Err()))
			parts = append(parts, jen.Id(v))
		}
	}
	if text.Len() > 0 || len(parts) == 0 {
		parts = append(parts, jen.Lit(text.String()))
	}
	expr := jen.Add(parts[0])
	for _, p := range parts[1:] {
		expr = expr.Op("+").Add(p)
	}
	gr.Id("path").Op(":=").Add(expr)
}

// emitClientQuery emits q, the query parameters, when the operation has any
// (or its key travels in the query), and returns the query of the request.
func (g *generator) emitClientQuery(gr *jen.Group, op *model.Operation, ks *keySource) jen.Code {
	n := g.ops[op]
	hasQuery := ks != nil && ks.query != ""
	for _, p := range op.Params {
		if p.In == model.InQuery {
			hasQuery = true
		}
	}
	if !hasQuery {
		return jen.Nil()
	}
	gr.Id("q").Op(":=").Qual("net/url", "Values").Values()
	for i, p := range op.Params {
		if p.In != model.InQuery {
			continue
		}
		sep := ","
		switch {
		case p.Explode && (p.Style == "" || p.Style == "form"):
			sep = ""
		case p.Style == "spaceDelimited":
			sep = " "
		case p.Style == "pipeDelimited":
			sep = "|"
		}
		gr.If(jen.Err().Op(":=").Qual(clientPkg, "AddQuery").Call(jen.Id("q"), jen.Lit(p.Name), jen.Id("req").Dot(n.Params[i]), jen.Lit(sep)), jen.Err().Op("!=").Nil()).Block(ret(op.ID, jen.Nil(), jen.Err()))
	}
	return jen.Id("q")
}

// requestContentType is the Content-Type sent for a declared media type: a range
// ("*/*", "text/*") is sent as a concrete type.
func requestContentType(c *model.Content) string {
	if !wildcardMedia(c.MediaType) {
		return c.MediaType
	}
	if c.Kind == model.BodyText {
		return "text/plain; charset=utf-8"
	}
	return "application/octet-stream"
}

// emitClientBody emits the encoding of the request body: the first body field
// that is set (the only one when the spec declares one media type), and, for a
// body-field key, the key placed in it.
func (g *generator) emitClientBody(gr *jen.Group, op *model.Operation, ks *keySource) {
	n := g.ops[op]
	single := len(op.Body.Contents) == 1
	required := single && op.Body.Required
	fieldKey := ks != nil && ks.field != ""
	var cases []jen.Code
	for i, c := range op.Body.Contents {
		field := func() *jen.Statement { return jen.Id("req").Dot(n.Bodies[i]) }
		// always: a required single JSON, form or text body is a value.
		always := required && (c.Kind == model.BodyJSON || c.Kind == model.BodyText ||
			g.typedForm(c))
		var block []jen.Code
		fail := ret(op.ID, jen.Nil(), jen.Err())
		switch c.Kind {
		case model.BodyJSON:
			block = append(block,
				jen.List(jen.Id("b"), jen.Err()).Op(":=").Qual("encoding/json", "Marshal").Call(field()),
				jen.If(jen.Err().Op("!=").Nil()).Block(fail))
			if fieldKey {
				block = append(block,
					jen.List(jen.Id("b"), jen.Id("call").Dot("Key"), jen.Err()).Op("=").Add(ks.fill("FillJSONKey", jen.Id("b"), jen.Lit(ks.field), jen.Id("call").Dot("GivenKey"))),
					jen.If(jen.Err().Op("!=").Nil()).Block(fail))
			}
			block = append(block, jen.List(jen.Id("body"), jen.Id("contentType")).Op("=").List(jen.Id("b"), jen.Lit(requestContentType(c))))
		case model.BodyForm:
			if s := g.formStruct(c.Schema); s != nil {
				block = append(block, jen.Id("form").Op(":=").Qual("net/url", "Values").Values(), jen.Id("v").Op(":=").Add(field()))
				names := fieldNames(s)
				for j, p := range s.Properties {
					block = append(block, jen.If(jen.Err().Op(":=").Qual(clientPkg, "AddQuery").Call(jen.Id("form"), jen.Lit(p.Name), jen.Id("v").Dot(names[j]), jen.Lit(c.Delimiters[p.Name])), jen.Err().Op("!=").Nil()).Block(fail))
				}
			} else {
				block = append(block, jen.Id("form").Op(":=").Qual("net/url", "Values").Values(),
					jen.For(jen.List(jen.Id("k"), jen.Id("vs")).Op(":=").Range().Add(field())).Block(
						jen.Id("form").Index(jen.Id("k")).Op("=").Append(jen.Index().String().Values(), jen.Id("vs").Op("...")),
					))
			}
			if fieldKey {
				block = append(block, jen.Id("call").Dot("Key").Op("=").Add(ks.fill("FillFormKey", jen.Id("form"), jen.Lit(strings.TrimPrefix(ks.field, "/")), jen.Id("call").Dot("GivenKey"))))
			}
			block = append(block, jen.List(jen.Id("body"), jen.Id("contentType")).Op("=").List(
				jen.Index().Byte().Call(jen.Id("form").Dot("Encode").Call()), jen.Lit(requestContentType(c))))
		case model.BodyMultipart:
			if g.typedForm(c) {
				block = g.clientMultipart(c, field(), fail, ks) // form.go
				break
			}
			block = append(block,
				jen.List(jen.Id("b"), jen.Id("ct"), jen.Err()).Op(":=").Qual(clientPkg, "MultipartBody").Call(field()),
				jen.If(jen.Err().Op("!=").Nil()).Block(fail),
				jen.List(jen.Id("body"), jen.Id("contentType")).Op("=").List(jen.Id("b"), jen.Id("ct")))
		case model.BodyText:
			v := field()
			if !required {
				v = jen.Op("*").Add(field())
			}
			block = append(block, jen.List(jen.Id("body"), jen.Id("contentType")).Op("=").List(
				jen.Index().Byte().Call(v), jen.Lit(requestContentType(c))))
		default:
			block = append(block,
				jen.List(jen.Id("b"), jen.Err()).Op(":=").Qual("io", "ReadAll").Call(field()),
				jen.If(jen.Err().Op("!=").Nil()).Block(fail),
				jen.List(jen.Id("body"), jen.Id("contentType")).Op("=").List(jen.Id("b"), jen.Lit(requestContentType(c))))
		}
		if always {
			gr.Block(block...)
			return
		}
		cases = append(cases, jen.Case(field().Op("!=").Nil()).Block(block...))
	}
	gr.Switch().Block(cases...)
}

// respCase is one arm of a decoder: the responses of one declared status.
type respCase struct {
	status string
	types  []*respType
}

// emitClientDecode emits decode<Method>, which turns the final answer into the
// operation's response type: exact statuses first, then ranges, then default;
// among the media types of one status, the one the Content-Type matches.
func (g *generator) emitClientDecode(f *jen.File, ids *clientIDs, op *model.Operation) {
	n := g.ops[op]
	var exact, ranges, deflt []*respCase
	byStatus := make(map[string]*respCase)
	for _, rt := range n.Responses {
		rc := byStatus[rt.Resp.Status]
		if rc == nil {
			rc = &respCase{status: rt.Resp.Status}
			byStatus[rt.Resp.Status] = rc
			switch _, fixed := fixedStatus(rc.status); {
			case fixed:
				exact = append(exact, rc)
			case rc.status == "default":
				deflt = append(deflt, rc)
			default:
				ranges = append(ranges, rc)
			}
		}
		rc.types = append(rc.types, rt)
	}
	all := append(append(exact, ranges...), deflt...)
	f.Commentf("decode%s decodes the final answer of %s.", n.Method, n.Method)
	f.Func().Id("decode"+n.Method).Params(jen.Id("raw").Op("*").Qual(clientPkg, "Response")).
		Params(jen.Id(n.Response), jen.Op("*").Qual(clientPkg, "Response"), jen.Error()).BlockFunc(func(gr *jen.Group) {
		if len(all) == 0 {
			gr.Return(jen.Nil(), jen.Id("raw"), jen.Id("raw").Dot("Undeclared").Call())
			return
		}
		undeclaredProblem := func(cg *jen.Group) {
			cg.If(jen.Err().Op(":=").Id("raw").Dot("UndeclaredProblem").Call(), jen.Err().Op("!=").Nil()).Block(
				jen.Return(jen.Nil(), jen.Id("raw"), jen.Err()))
		}
		// A 4xx/5xx problem+json answer is a declared outcome only where the
		// spec declares problem+json for its status. The arms that must check
		// are those of one media type (an arm of several matches the
		// Content-Type and has no case for it) that may see a 4xx/5xx; the
		// check is made once, before the switch, when no arm declares
		// problem+json.
		anyProblem, anyCheck := false, false
		check := make(map[*respCase]bool)
		for _, rc := range all {
			anyProblem = anyProblem || declaresProblem(rc)
			check[rc] = len(rc.types) == 1 && mayFail(rc.status) && !declaresProblem(rc)
			anyCheck = anyCheck || check[rc]
		}
		if anyCheck && !anyProblem {
			undeclaredProblem(gr)
		}
		gr.Id("status").Op(":=").Id("raw").Dot("HTTP").Dot("StatusCode")
		gr.Switch().BlockFunc(func(sg *jen.Group) {
			for _, rc := range all {
				var cond jen.Code
				if code, ok := fixedStatus(rc.status); ok {
					cond = jen.Id("status").Op("==").Lit(code)
				} else if rc.status == "default" {
					cond = nil
				} else {
					lo := defaultStatus(rc.status)
					cond = jen.Id("status").Op(">=").Lit(lo).Op("&&").Id("status").Op("<").Lit(lo + 100)
				}
				body := func(cg *jen.Group) {
					if anyProblem && check[rc] {
						undeclaredProblem(cg)
					}
					g.emitClientDecodeCase(cg, rc)
				}
				if cond == nil {
					sg.Default().BlockFunc(body)
				} else {
					sg.Case(cond).BlockFunc(body)
				}
			}
		})
		// When every arm is one media type (it always returns) and one is the
		// default, the switch always returns, and go vet reports a return after
		// it as unreachable code. An arm with several media types switches on
		// the Content-Type without a default, so the return is still needed.
		if len(deflt) == 1 && allSingleType(all) {
			return
		}
		gr.Return(jen.Nil(), jen.Id("raw"), jen.Id("raw").Dot("Undeclared").Call())
	})
}

// declaresProblem reports whether one of the media types declared for a
// status accepts an application/problem+json answer.
func declaresProblem(rc *respCase) bool {
	for _, rt := range rc.types {
		if rt.Content != nil && client.MatchMediaType("application/problem+json", []string{rt.Content.MediaType}) >= 0 {
			return true
		}
	}
	return false
}

// mayFail reports whether a declared status (a code, a range or default) may
// be a 4xx or 5xx.
func mayFail(status string) bool {
	if code, ok := fixedStatus(status); ok {
		return code >= 400
	}
	return status == "default" || defaultStatus(status) >= 400
}

// allSingleType reports whether every case has one response type.
func allSingleType(cases []*respCase) bool {
	for _, rc := range cases {
		if len(rc.types) != 1 {
			return false
		}
	}
	return true
}

// emitClientDecodeCase emits the decoding of the responses of one status.
func (g *generator) emitClientDecodeCase(gr *jen.Group, rc *respCase) {
	if len(rc.types) == 1 {
		// One media type (or none): decode whatever the Content-Type says.
		g.emitClientDecodeType(gr, rc.types[0])
		return
	}
	gr.Switch(jen.Qual(clientPkg, "MatchMediaType").Call(jen.Id("raw").Dot("HTTP").Dot("Header").Dot("Get").Call(jen.Lit("Content-Type")),
		jen.Index().String().ValuesFunc(func(vg *jen.Group) {
			for _, rt := range rc.types {
				if rt.Content != nil {
					vg.Lit(rt.Content.MediaType)
				} else {
					vg.Lit("")
				}
			}
		}))).BlockFunc(func(sg *jen.Group) {
		for i, rt := range rc.types {
			sg.Case(jen.Lit(i)).BlockFunc(func(cg *jen.Group) { g.emitClientDecodeType(cg, rt) })
		}
	})
}

// emitClientDecodeType emits the decoding of one response type and its return.
func (g *generator) emitClientDecodeType(gr *jen.Group, rt *respType) {
	gr.Var().Id("r").Id(rt.Name)
	if _, fixed := fixedStatus(rt.Resp.Status); !fixed {
		gr.Id("r").Dot("StatusCode").Op("=").Id("status")
	}
	fail := jen.Return(jen.Nil(), jen.Id("raw"), jen.Id("raw").Dot("DecodeError").Call(jen.Err()))
	for i, h := range rt.Resp.Headers {
		gr.If(jen.Err().Op(":=").Qual(clientPkg, "ReadHeader").Call(jen.Id("raw").Dot("HTTP").Dot("Header"), jen.Lit(h.Name),
			jen.Op("&").Id("r").Dot("Headers").Dot(rt.HeaderFields[i])), jen.Err().Op("!=").Nil()).Block(fail)
	}
	if c := rt.Content; c != nil {
		switch c.Kind {
		case model.BodyJSON:
			gr.If(jen.Err().Op(":=").Id("raw").Dot("DecodeJSON").Call(jen.Op("&").Id("r").Dot("Body")), jen.Err().Op("!=").Nil()).Block(
				jen.Return(jen.Nil(), jen.Id("raw"), jen.Err()),
			)
		case model.BodyForm:
			gr.List(jen.Id("form"), jen.Err()).Op(":=").Qual("net/url", "ParseQuery").Call(jen.String().Call(jen.Id("raw").Dot("Body")))
			gr.If(jen.Err().Op("!=").Nil()).Block(fail)
			gr.Id("r").Dot("Body").Op("=").Id("form")
		case model.BodyText:
			gr.Id("r").Dot("Body").Op("=").String().Call(jen.Id("raw").Dot("Body"))
		default:
			gr.Id("r").Dot("Body").Op("=").Qual("bytes", "NewReader").Call(jen.Id("raw").Dot("Body"))
		}
		if wildcardMedia(c.MediaType) {
			gr.Id("r").Dot("ContentType").Op("=").Id("raw").Dot("HTTP").Dot("Header").Dot("Get").Call(jen.Lit("Content-Type"))
		}
	}
	gr.Return(jen.Id("r"), jen.Id("raw"), jen.Nil())
}
