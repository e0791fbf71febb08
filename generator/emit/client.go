package emit

import (
	"fmt"
	"strings"

	"github.com/dave/jennifer/jen"

	"github.com/idemgen/idemgen/generator/model"
	"github.com/idemgen/idemgen/runtime/idempotency"
)

const clientPkg = "github.com/idemgen/idemgen/runtime/client"

// clientIDs are the exported package-level names of the generated client. They
// are taken from the generator's namer after the schemas, the server and the
// policy table, so a schema called "Client" keeps its name and the client type
// becomes Client2 instead of breaking the build.
type clientIDs struct {
	Client, NewClient, ClientOption, RequestEditorFn, CallOption, DefaultUserAgent string
	WithHTTPClient, WithRequestEditorFn, WithUserAgent, WithRetryPolicy            string
	WithClientObserver, WithRetryOptions                                           string
	WithIdempotencyKey, WithCallRetryPolicy, WithCallRequestEditorFn               string
}

func (g *generator) clientIDs() *clientIDs {
	t := g.names.take
	return &clientIDs{
		Client: t("Client"), NewClient: t("NewClient"), ClientOption: t("ClientOption"),
		RequestEditorFn: t("RequestEditorFn"), CallOption: t("CallOption"), DefaultUserAgent: t("DefaultUserAgent"),
		WithHTTPClient: t("WithHTTPClient"), WithRequestEditorFn: t("WithRequestEditorFn"),
		WithUserAgent: t("WithUserAgent"), WithRetryPolicy: t("WithRetryPolicy"),
		WithClientObserver: t("WithClientObserver"), WithRetryOptions: t("WithRetryOptions"),
		WithIdempotencyKey: t("WithIdempotencyKey"), WithCallRetryPolicy: t("WithCallRetryPolicy"),
		WithCallRequestEditorFn: t("WithCallRequestEditorFn"),
	}
}

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

// emitClientType emits the Client, its options, NewClient and the helpers every
// operation method shares.
func (g *generator) emitClientType(f *jen.File, ids *clientIDs) {
	pkg := g.opts.Package
	title := g.api.Title
	if title == "" {
		title = "the"
	}
	f.Add(docText(fmt.Sprintf("%s calls the %s API over HTTP. It is safe for concurrent use.\n\n"+
		"Every call is one logical call: it is retried (package client's Retrier) on\n"+
		"connection errors, timeouts, 5xx, 429 and, for idempotent operations, on a 409\n"+
		"that says the key is in flight. An idempotent operation sends one idempotency\n"+
		"key per call (a fresh UUIDv4 unless %s gives one), the same on every\n"+
		"retry; a non-idempotent unsafe operation is retried only when the request\n"+
		"never left (a failed connection).", ids.Client, title, ids.WithIdempotencyKey)))
	f.Type().Id(ids.Client).Struct(
		jen.Id("baseURL").String(),
		jen.Id("retrier").Op("*").Qual(clientPkg, "Retrier"),
		jen.Id("editors").Index().Id(ids.RequestEditorFn),
		jen.Id("userAgent").String(),
	)
	f.Comment("clientConfig collects the ClientOptions of NewClient.")
	f.Type().Id("clientConfig").Struct(
		jen.Id("doer").Qual(clientPkg, "Doer"),
		jen.Id("editors").Index().Id(ids.RequestEditorFn),
		jen.Id("userAgent").String(),
		jen.Id("policy").Qual(clientPkg, "Policy"),
		jen.Id("observer").Qual(clientPkg, "Observer"),
		jen.Id("retry").Index().Qual(clientPkg, "Option"),
	)
	f.Add(docText(ids.ClientOption + " configures " + ids.NewClient + "."))
	f.Type().Id(ids.ClientOption).Func().Params(jen.Op("*").Id("clientConfig"))
	f.Add(docText(ids.RequestEditorFn + " edits a request before it is sent, e.g. to add an Authorization\n" +
		"header. It runs once per call, before the first attempt: every retry sends\n" +
		"the same request."))
	f.Type().Id(ids.RequestEditorFn).Func().Params(jen.Id("ctx").Qual("context", "Context"), jen.Id("req").Op("*").Qual(httpPkg, "Request")).Error()
	f.Add(docText(ids.DefaultUserAgent + " is the User-Agent of requests unless " + ids.WithUserAgent + " sets another."))
	f.Const().Id(ids.DefaultUserAgent).Op("=").Lit("idemgen-client/" + g.opts.Version)

	option := func(doc, name string, params []jen.Code, body ...jen.Code) {
		f.Add(docText(doc))
		f.Func().Id(name).Params(params...).Id(ids.ClientOption).Block(
			jen.Return(jen.Func().Params(jen.Id("c").Op("*").Id("clientConfig")).Block(body...)),
		)
	}
	option(ids.WithHTTPClient+" sends requests with doer (an *http.Client or any Doer), used\n"+
		"as is: an *http.Client that follows redirects makes a declared 3xx come back\n"+
		"as the answer to the redirected request. Without it, "+ids.NewClient+" uses\n"+
		"client.NewHTTPClient(), which does not follow redirects.",
		ids.WithHTTPClient, []jen.Code{jen.Id("doer").Qual(clientPkg, "Doer")},
		jen.Id("c").Dot("doer").Op("=").Id("doer"))
	option(ids.WithRequestEditorFn+" adds an editor run on every request, before the call's own editors.",
		ids.WithRequestEditorFn, []jen.Code{jen.Id("fn").Id(ids.RequestEditorFn)},
		jen.Id("c").Dot("editors").Op("=").Append(jen.Id("c").Dot("editors"), jen.Id("fn")))
	option(ids.WithUserAgent+" sets the User-Agent header (empty: none).",
		ids.WithUserAgent, []jen.Code{jen.Id("ua").String()},
		jen.Id("c").Dot("userAgent").Op("=").Id("ua"))
	option(ids.WithRetryPolicy+" sets the retry policy of every call (default: client.Policy{},\n"+
		"whose zero fields are the documented defaults; MaxAttempts 1 disables retries).",
		ids.WithRetryPolicy, []jen.Code{jen.Id("p").Qual(clientPkg, "Policy")},
		jen.Id("c").Dot("policy").Op("=").Id("p"))
	option(ids.WithClientObserver+" sets an observer told about every attempt of every call.",
		ids.WithClientObserver, []jen.Code{jen.Id("o").Qual(clientPkg, "Observer")},
		jen.Id("c").Dot("observer").Op("=").Id("o"))
	option(ids.WithRetryOptions+" passes options to the client.Retrier (e.g. client.WithSleep in tests).",
		ids.WithRetryOptions, []jen.Code{jen.Id("opts").Op("...").Qual(clientPkg, "Option")},
		jen.Id("c").Dot("retry").Op("=").Append(jen.Id("c").Dot("retry"), jen.Id("opts").Op("...")))

	f.Add(docText(ids.NewClient + " returns a client of the API at baseURL (an absolute http or https URL;\n" +
		"operation paths are appended to it). It fails on a bad URL or retry policy.\n\n" +
		"Unless " + ids.WithHTTPClient + " gives one, requests are sent with client.NewHTTPClient(),\n" +
		"an *http.Client whose CheckRedirect returns http.ErrUseLastResponse: a\n" +
		"redirect is not followed, so a declared 3xx (the 303 of a post/redirect/get\n" +
		"form) is returned as the operation's own typed response, Location included.\n" +
		"A doer given with " + ids.WithHTTPClient + " is used as is."))
	f.Func().Id(ids.NewClient).Params(jen.Id("baseURL").String(), jen.Id("opts").Op("...").Id(ids.ClientOption)).
		Params(jen.Op("*").Id(ids.Client), jen.Error()).Block(
		jen.List(jen.Id("u"), jen.Err()).Op(":=").Qual("net/url", "Parse").Call(jen.Id("baseURL")),
		jen.If(jen.Err().Op("!=").Nil().Op("||").Parens(jen.Id("u").Dot("Scheme").Op("!=").Lit("http").Op("&&").Id("u").Dot("Scheme").Op("!=").Lit("https")).Op("||").Id("u").Dot("Host").Op("==").Lit("")).Block(
			jen.Return(jen.Nil(), jen.Qual("fmt", "Errorf").Call(jen.Lit(pkg+": "+ids.NewClient+": want an absolute http(s) base URL, got %q"), jen.Id("baseURL"))),
		),
		jen.Id("cfg").Op(":=").Id("clientConfig").Values(jen.Dict{jen.Id("userAgent"): jen.Id(ids.DefaultUserAgent)}),
		jen.For(jen.List(jen.Id("_"), jen.Id("o")).Op(":=").Range().Id("opts")).Block(jen.Id("o").Call(jen.Op("&").Id("cfg"))),
		jen.If(jen.Id("cfg").Dot("doer").Op("==").Nil()).Block(
			jen.Id("cfg").Dot("doer").Op("=").Qual(clientPkg, "NewHTTPClient").Call(),
		),
		jen.Id("ropts").Op(":=").Index().Qual(clientPkg, "Option").Values(jen.Qual(clientPkg, "WithPolicy").Call(jen.Id("cfg").Dot("policy"))),
		jen.If(jen.Id("cfg").Dot("observer").Op("!=").Nil()).Block(
			jen.Id("ropts").Op("=").Append(jen.Id("ropts"), jen.Qual(clientPkg, "WithObserver").Call(jen.Id("cfg").Dot("observer"))),
		),
		jen.List(jen.Id("r"), jen.Err()).Op(":=").Qual(clientPkg, "NewRetrier").Call(jen.Id("cfg").Dot("doer"), jen.Append(jen.Id("ropts"), jen.Id("cfg").Dot("retry").Op("...")).Op("...")),
		jen.If(jen.Err().Op("!=").Nil()).Block(
			jen.Return(jen.Nil(), jen.Qual("fmt", "Errorf").Call(jen.Lit(pkg+": "+ids.NewClient+": %w"), jen.Err())),
		),
		jen.Return(jen.Op("&").Id(ids.Client).Values(jen.Dict{
			jen.Id("baseURL"):   jen.Qual("strings", "TrimRight").Call(jen.Id("baseURL"), jen.Lit("/")),
			jen.Id("retrier"):   jen.Id("r"),
			jen.Id("editors"):   jen.Id("cfg").Dot("editors"),
			jen.Id("userAgent"): jen.Id("cfg").Dot("userAgent"),
		}), jen.Nil()),
	)

	f.Comment("callConfig collects the CallOptions of one call.")
	f.Type().Id("callConfig").Struct(
		jen.Id("key").String(),
		jen.Id("policy").Op("*").Qual(clientPkg, "Policy"),
		jen.Id("editors").Index().Id(ids.RequestEditorFn),
	)
	f.Add(docText(ids.CallOption + " configures one call."))
	f.Type().Id(ids.CallOption).Func().Params(jen.Op("*").Id("callConfig"))
	callOption := func(doc, name string, params []jen.Code, body ...jen.Code) {
		f.Add(docText(doc))
		f.Func().Id(name).Params(params...).Id(ids.CallOption).Block(
			jen.Return(jen.Func().Params(jen.Id("c").Op("*").Id("callConfig")).Block(body...)),
		)
	}
	callOption(ids.WithIdempotencyKey+" sets the idempotency key of one call of an idempotent\n"+
		"operation, instead of a fresh UUIDv4 (or the key already in the request).\n"+
		"Use one key per logical call, the same when the call is repeated later (for\n"+
		"example after a restart), so the server replays its outcome. Operations whose\n"+
		"key the server derives, and non-idempotent operations, ignore it.",
		ids.WithIdempotencyKey, []jen.Code{jen.Id("key").String()},
		jen.Id("c").Dot("key").Op("=").Id("key"))
	callOption(ids.WithCallRetryPolicy+" sets the retry policy of one call.",
		ids.WithCallRetryPolicy, []jen.Code{jen.Id("p").Qual(clientPkg, "Policy")},
		jen.Id("c").Dot("policy").Op("=").Op("&").Id("p"))
	callOption(ids.WithCallRequestEditorFn+" adds an editor run on this call's request, after the client's.",
		ids.WithCallRequestEditorFn, []jen.Code{jen.Id("fn").Id(ids.RequestEditorFn)},
		jen.Id("c").Dot("editors").Op("=").Append(jen.Id("c").Dot("editors"), jen.Id("fn")))

	recv := func() *jen.Statement { return f.Func().Params(jen.Id("c").Op("*").Id(ids.Client)) }
	f.Add(docText("newRequest builds the request of one call; the body bytes are replayed on\nevery attempt."))
	recv().Id("newRequest").Params(jen.Id("ctx").Qual("context", "Context"), jen.List(jen.Id("method"), jen.Id("path")).String(),
		jen.Id("query").Qual("net/url", "Values"), jen.Id("body").Index().Byte(), jen.Id("contentType").String()).
		Params(jen.Op("*").Qual(httpPkg, "Request"), jen.Error()).Block(
		jen.Id("u").Op(":=").Id("c").Dot("baseURL").Op("+").Id("path"),
		jen.If(jen.Len(jen.Id("query")).Op(">").Lit(0)).Block(
			jen.Id("u").Op("+=").Lit("?").Op("+").Id("query").Dot("Encode").Call(),
		),
		jen.Var().Id("rd").Qual("io", "Reader"),
		jen.If(jen.Id("body").Op("!=").Nil()).Block(jen.Id("rd").Op("=").Qual("bytes", "NewReader").Call(jen.Id("body"))),
		jen.List(jen.Id("req"), jen.Err()).Op(":=").Qual(httpPkg, "NewRequestWithContext").Call(jen.Id("ctx"), jen.Id("method"), jen.Id("u"), jen.Id("rd")),
		jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Nil(), jen.Err())),
		jen.If(jen.Id("contentType").Op("!=").Lit("")).Block(
			jen.Id("req").Dot("Header").Dot("Set").Call(jen.Lit("Content-Type"), jen.Id("contentType")),
		),
		jen.If(jen.Id("c").Dot("userAgent").Op("!=").Lit("")).Block(
			jen.Id("req").Dot("Header").Dot("Set").Call(jen.Lit("User-Agent"), jen.Id("c").Dot("userAgent")),
		),
		jen.Return(jen.Id("req"), jen.Nil()),
	)
	f.Add(docText("edit runs the client's editors, then the call's."))
	recv().Id("edit").Params(jen.Id("ctx").Qual("context", "Context"), jen.Id("req").Op("*").Qual(httpPkg, "Request"), jen.Id("call").Op("*").Id("callConfig")).Error().Block(
		jen.For(jen.List(jen.Id("_"), jen.Id("editors")).Op(":=").Range().Index().Index().Id(ids.RequestEditorFn).Values(
			jen.Id("c").Dot("editors"), jen.Id("call").Dot("editors"))).Block(
			jen.For(jen.List(jen.Id("_"), jen.Id("e")).Op(":=").Range().Id("editors")).Block(
				jen.If(jen.Err().Op(":=").Id("e").Call(jen.Id("ctx"), jen.Id("req")), jen.Err().Op("!=").Nil()).Block(
					jen.Return(jen.Qual("fmt", "Errorf").Call(jen.Lit("request editor: %w"), jen.Err())),
				),
			),
		),
		jen.Return(jen.Nil()),
	)
	f.Add(docText("newCallConfig applies a call's options."))
	f.Func().Id("newCallConfig").Params(jen.Id("opts").Index().Id(ids.CallOption)).Op("*").Id("callConfig").Block(
		jen.Id("c").Op(":=").Op("&").Id("callConfig").Values(),
		jen.For(jen.List(jen.Id("_"), jen.Id("o")).Op(":=").Range().Id("opts")).Block(jen.Id("o").Call(jen.Id("c"))),
		jen.Return(jen.Id("c")),
	)
	f.Add(docText("clientError names the package and the operation in an error of a call."))
	f.Func().Id("clientError").Params(jen.Id("op").String(), jen.Err().Error()).Error().Block(
		jen.Return(jen.Qual("fmt", "Errorf").Call(jen.Lit(pkg+": %s: %w"), jen.Id("op"), jen.Err())),
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
func ret(opID string, raw jen.Code, err jen.Code) jen.Code {
	return jen.Return(jen.Nil(), raw, jen.Id("clientError").Call(jen.Lit(opID), err))
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
		"It returns the decoded response (one of the "+n.Response+" types, matched by",
		"status and Content-Type) and the raw answer, whose Result tells the key sent,",
		"the attempts made and whether the answer was a replay. A 4xx or 5xx status",
		"also returns a *client.Error (with the problem+json body as a *client.Problem).")
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
			"fresh "+fresh+" when empty (or with the key of "+ids.WithIdempotencyKey+").")
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
			ids.WithIdempotencyKey+", else the one in the request, else a fresh "+fresh+".")
	}
	if ks != nil && !ks.derived && op.Idempotency.Policy.Key.Format == idempotency.FormatPattern {
		lines = append(lines, fmt.Sprintf("The server accepts only keys matching %s: give one with %s.",
			op.Idempotency.Policy.Key.Pattern, ids.WithIdempotencyKey))
	}
	if op.Deprecated {
		lines = append(lines, "", "Deprecated: marked deprecated in the spec.")
	}
	f.Add(rawComment(lines))
	f.Func().Params(jen.Id("c").Op("*").Id(ids.Client)).Id(n.Method).
		Params(jen.Id("ctx").Qual("context", "Context"), jen.Id("req").Id(n.Request), jen.Id("opts").Op("...").Id(ids.CallOption)).
		Params(jen.Id(n.Response), jen.Op("*").Qual(clientPkg, "Response"), jen.Error()).BlockFunc(func(gr *jen.Group) {
		gr.Id("call").Op(":=").Id("newCallConfig").Call(jen.Id("opts"))
		g.emitClientPath(gr, op)
		g.emitClientQuery(gr, op)
		gr.Var().Id("body").Index().Byte()
		gr.Var().Id("contentType").String()
		gr.Var().Id("key").String()
		if op.Body != nil && len(op.Body.Contents) > 0 {
			g.emitClientBody(gr, op, ks)
		}
		if ks != nil && !ks.derived && ks.field == "" {
			gr.Id("key").Op("=").Id("call").Dot("key")
			if ks.param >= 0 {
				gr.If(jen.Id("key").Op("==").Lit("")).Block(
					jen.Id("key").Op("=").Qual(clientPkg, "ParamString").Call(jen.Id("req").Dot(n.Params[ks.param])),
				)
			}
			gr.If(jen.Id("key").Op("==").Lit("")).Block(jen.Id("key").Op("=").Add(ks.newKeyFunc()).Call())
			if ks.query != "" {
				gr.Id("q").Dot("Set").Call(jen.Lit(ks.query), jen.Id("key"))
			}
		}
		gr.List(jen.Id("hreq"), jen.Err()).Op(":=").Id("c").Dot("newRequest").Call(jen.Id("ctx"), jen.Lit(op.Method), jen.Id("path"), jen.Id("q"), jen.Id("body"), jen.Id("contentType"))
		gr.If(jen.Err().Op("!=").Nil()).Block(ret(op.ID, jen.Nil(), jen.Err()))
		for i, p := range op.Params {
			if ks != nil && ks.header != "" && i == ks.param {
				continue // the key header is set below, from key
			}
			var call jen.Code
			switch p.In {
			case model.InHeader:
				call = jen.Qual(clientPkg, "SetHeader").Call(jen.Id("hreq").Dot("Header"), jen.Lit(p.Name), jen.Id("req").Dot(n.Params[i]))
			case model.InCookie:
				call = jen.Qual(clientPkg, "AddCookie").Call(jen.Id("hreq"), jen.Lit(p.Name), jen.Id("req").Dot(n.Params[i]))
			default:
				continue
			}
			gr.If(jen.Err().Op(":=").Add(call), jen.Err().Op("!=").Nil()).Block(ret(op.ID, jen.Nil(), jen.Err()))
		}
		if ks != nil && ks.header != "" {
			gr.Id("hreq").Dot("Header").Dot("Set").Call(jen.Lit(ks.header), jen.Qual(clientPkg, "KeyHeaderValue").Call(jen.Id("key")))
		}
		gr.If(jen.Err().Op(":=").Id("c").Dot("edit").Call(jen.Id("ctx"), jen.Id("hreq"), jen.Id("call")), jen.Err().Op("!=").Nil()).Block(ret(op.ID, jen.Nil(), jen.Err()))
		gr.List(jen.Id("raw"), jen.Err()).Op(":=").Id("c").Dot("retrier").Dot("Do").Call(jen.Id("ctx"), jen.Id("hreq"), jen.Qual(clientPkg, "Call").Values(jen.Dict{
			jen.Id("Operation"):  jen.Lit(op.ID),
			jen.Id("Idempotent"): jen.Lit(op.Idempotent()),
			jen.Id("Key"):        jen.Id("key"),
			jen.Id("Policy"):     jen.Id("call").Dot("policy"),
		}))
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

// emitClientQuery emits q, the query parameters.
func (g *generator) emitClientQuery(gr *jen.Group, op *model.Operation) {
	n := g.ops[op]
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
			(c.Kind == model.BodyForm && g.formStruct(c.Schema) != nil))
		var block []jen.Code
		fail := ret(op.ID, jen.Nil(), jen.Err())
		switch c.Kind {
		case model.BodyJSON:
			block = append(block,
				jen.List(jen.Id("b"), jen.Err()).Op(":=").Qual("encoding/json", "Marshal").Call(field()),
				jen.If(jen.Err().Op("!=").Nil()).Block(fail))
			if fieldKey {
				block = append(block,
					jen.List(jen.Id("b"), jen.Id("key"), jen.Err()).Op("=").Add(ks.fill("FillJSONKey", jen.Id("b"), jen.Lit(ks.field), jen.Id("call").Dot("key"))),
					jen.If(jen.Err().Op("!=").Nil()).Block(fail))
			}
			block = append(block, jen.List(jen.Id("body"), jen.Id("contentType")).Op("=").List(jen.Id("b"), jen.Lit(requestContentType(c))))
		case model.BodyForm:
			if s := g.formStruct(c.Schema); s != nil {
				block = append(block, jen.Id("form").Op(":=").Qual("net/url", "Values").Values(), jen.Id("v").Op(":=").Add(field()))
				names := fieldNames(s)
				for j, p := range s.Properties {
					block = append(block, jen.If(jen.Err().Op(":=").Qual(clientPkg, "AddQuery").Call(jen.Id("form"), jen.Lit(p.Name), jen.Id("v").Dot(names[j]), jen.Lit("")), jen.Err().Op("!=").Nil()).Block(fail))
				}
			} else {
				block = append(block, jen.Id("form").Op(":=").Qual("net/url", "Values").Values(),
					jen.For(jen.List(jen.Id("k"), jen.Id("vs")).Op(":=").Range().Add(field())).Block(
						jen.Id("form").Index(jen.Id("k")).Op("=").Append(jen.Index().String().Values(), jen.Id("vs").Op("...")),
					))
			}
			if fieldKey {
				block = append(block, jen.Id("key").Op("=").Add(ks.fill("FillFormKey", jen.Id("form"), jen.Lit(strings.TrimPrefix(ks.field, "/")), jen.Id("call").Dot("key"))))
			}
			block = append(block, jen.List(jen.Id("body"), jen.Id("contentType")).Op("=").List(
				jen.Index().Byte().Call(jen.Id("form").Dot("Encode").Call()), jen.Lit(requestContentType(c))))
		case model.BodyMultipart:
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
				body := func(cg *jen.Group) { g.emitClientDecodeCase(cg, rc) }
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
			gr.If(jen.Len(jen.Id("raw").Dot("Body")).Op(">").Lit(0)).Block(
				jen.If(jen.Err().Op(":=").Qual("encoding/json", "Unmarshal").Call(jen.Id("raw").Dot("Body"), jen.Op("&").Id("r").Dot("Body")), jen.Err().Op("!=").Nil()).Block(fail),
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
	gr.Return(jen.Id("r"), jen.Id("raw"), jen.Id("raw").Dot("Err").Call())
}
