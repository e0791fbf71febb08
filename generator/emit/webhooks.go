package emit

import (
	"fmt"
	"strings"

	"github.com/dave/jennifer/jen"

	"github.com/idemgen/idemgen/generator/model"
)

// webhookServerType is the generated type that routes deliveries to a
// WebhookHandler; its fields are named like the server's (h, kit) so that the
// handle, decode and admit methods are emitted by the same code.
const webhookServerType = "webhookServer"

// serverType is the receiver type of the handle, decode and admit methods
// being emitted.
func (g *generator) serverType() string {
	if g.recv == "" {
		return "server"
	}
	return g.recv
}

// emitWebhooks emits webhooks_gen.go: the receivers of the spec's webhooks
// (OpenAPI 3.1) and callbacks, each wired like an operation of the server
// (decoding, validation, the idempotency middleware of its policy, typed
// responses), behind the WebhookHandler interface and NewWebhookHandler.
func (g *generator) emitWebhooks() (*jen.File, error) {
	f := g.newFile()
	g.recv = webhookServerType
	defer func() { g.recv = "" }()
	g.emitWebhookInterface(f)
	g.emitWebhookSecurityHandler(f)
	for _, op := range g.receivers {
		g.emitRequestType(f, op)
		g.emitResponseTypes(f, op)
	}
	g.emitNewWebhookHandler(f)
	for _, op := range g.receivers {
		g.emitHandle(f, op)
	}
	return f, nil
}

// receiverLabel names a webhook or callback in comments, on one line:
// `webhook "order.shipped" (POST)`, `callback "onData" of createSubscription
// (POST)`.
func receiverLabel(op *model.Operation) string {
	if op.Kind == model.OpCallback && op.Callback != nil {
		return fmt.Sprintf("callback %q of %s (%s)", singleLine(op.Callback.Name), singleLine(op.Callback.Parent.ID), op.Method)
	}
	return fmt.Sprintf("webhook %q (%s)", singleLine(op.Webhook), op.Method)
}

// emitWebhookInterface emits WebhookHandler and UnimplementedWebhookHandler.
func (g *generator) emitWebhookInterface(f *jen.File) {
	f.Add(docText("WebhookHandler receives the webhooks and callbacks of the API: one method\n" +
		"per delivery the API's provider sends. A method gets the decoded request and\n" +
		"returns one of its response types, or an error (answered like a Handler's).\n" +
		"Idempotent deliveries are deduplicated before the method runs: a redelivery\n" +
		"is answered with the stored response and does not call it."))
	f.Type().Id("WebhookHandler").InterfaceFunc(func(gr *jen.Group) {
		for _, op := range g.receivers {
			n := g.ops[op]
			gr.Add(g.receiverDoc(n.Method, op))
			gr.Id(n.Method).Params(jen.Id("ctx").Qual("context", "Context"), jen.Id("req").Id(n.Request)).
				Params(jen.Id(n.Response), jen.Error())
		}
	})
	f.Add(docText("UnimplementedWebhookHandler answers every webhook and callback with\n" +
		"ErrNotImplemented. Embed it in a WebhookHandler implementation to implement\n" +
		"them one at a time."))
	f.Type().Id("UnimplementedWebhookHandler").Struct()
	g.emitUnimplemented(f, "UnimplementedWebhookHandler", g.receivers)
}

// receiverDoc is the doc comment of a WebhookHandler method.
func (g *generator) receiverDoc(method string, op *model.Operation) jen.Code {
	lines := []string{fmt.Sprintf("%s receives %s at %s.", method, receiverLabel(op), opLabel(op))}
	if op.Kind == model.OpCallback && op.Callback != nil {
		lines = append(lines, fmt.Sprintf("The API sends it to the URL %s.", singleLine(op.Callback.Expression)))
	}
	return rawComment(append(lines, opDocDetails(op)...))
}

// receiverSchemes returns the security schemes some webhook or callback
// requires (its own `security`: receivers never inherit the root's).
func (g *generator) receiverSchemes() []*model.SecurityScheme { return g.schemesOf(g.receivers) }

// emitWebhookSecurityHandler emits WebhookSecurityHandler when some receiver
// is secured. It is not SecurityHandler: the receiver usually runs at the
// API's user, checking what the provider presents, not the API's own
// credentials.
func (g *generator) emitWebhookSecurityHandler(f *jen.File) {
	schemes := g.receiverSchemes()
	if len(schemes) == 0 {
		return
	}
	f.Add(docText("WebhookSecurityHandler authenticates the deliveries of the webhooks and\n" +
		"callbacks that declare a security requirement: the credentials the API's\n" +
		"provider presents to the receiver (a shared secret in a header, a token,\n" +
		"basic credentials). One method per scheme, given the credential and the\n" +
		"receiver's requirement (info.Scopes); it returns the principal, the sender's\n" +
		"stable id, which the method reads with serverkit.Principal(ctx) and policies\n" +
		"with scope principal partition keys by. An error rejects the delivery: 401\n" +
		"problem+json with WWW-Authenticate, or 403 for an error wrapping\n" +
		"serverkit.ErrInsufficientScope. Authentication runs before the delivery is\n" +
		"decoded and before its idempotency key is claimed, so a rejected delivery\n" +
		"leaves no record and its redelivery with valid credentials runs the method."))
	emitSecurityInterface(f, "WebhookSecurityHandler", schemes)
}

// emitNewWebhookHandler emits the receiver type and NewWebhookHandler.
func (g *generator) emitNewWebhookHandler(f *jen.File) {
	f.Comment(webhookServerType + " routes deliveries to a WebhookHandler.")
	f.Type().Id(webhookServerType).Struct(
		jen.Id("h").Id("WebhookHandler"),
		jen.Id("kit").Op("*").Qual(serverkitPkg, "Server"),
	)
	var paths []string
	for _, op := range g.receivers {
		paths = append(paths, fmt.Sprintf("  %s %s: %s", op.Method, singleLine(op.Path), g.ops[op].Method))
	}
	f.Add(docText("NewWebhookHandler returns the HTTP handler receiving the webhooks and\n" +
		"callbacks, each at its default path:\n\n" + strings.Join(paths, "\n") + "\n\n" +
		"Mount it where the provider delivers (http.StripPrefix for a prefix, or\n" +
		"rewrite the path of a single registered URL). Each delivery is decoded,\n" +
		"validated and, when it is in Policies, deduplicated by the idempotency\n" +
		"middleware (a webhook's delivery-id header is the usual key) before the\n" +
		"method runs. The options are the server's; pass the same store as\n" +
		"NewServer's, or another." + g.newWebhookSecurityDoc()))
	schemes := g.receiverSchemes()
	f.Func().Id("NewWebhookHandler").ParamsFunc(func(pg *jen.Group) {
		pg.Id("h").Id("WebhookHandler")
		if len(schemes) > 0 {
			pg.Id("sh").Id("WebhookSecurityHandler")
		}
		pg.Id("opts").Op("...").Id("ServerOption")
	}).
		Params(jen.Qual(httpPkg, "Handler"), jen.Error()).BlockFunc(func(gr *jen.Group) {
		gr.If(jen.Id("h").Op("==").Nil()).Block(
			jen.Return(jen.Nil(), jen.Qual("errors", "New").Call(jen.Lit(g.opts.Package+": NewWebhookHandler: nil WebhookHandler"))),
		)
		g.emitSchemeVars(gr, schemes, "NewWebhookHandler", "WebhookSecurityHandler")
		gr.Id("kit").Op(":=").Qual(serverkitPkg, "New").Call(jen.Lit(g.opts.Package), jen.Id("opts").Op("..."))
		gr.Id("s").Op(":=").Op("&").Id(webhookServerType).Values(jen.Id("h").Op(":").Id("h"), jen.Id("kit").Op(":").Id("kit"))
		gr.Var().Id("err").Error()
		for i, op := range g.receivers {
			v := fmt.Sprintf("h%d", i)
			n := g.ops[op]
			handle := jen.Qual(httpPkg, "HandlerFunc").Call(jen.Id("s").Dot("handle" + n.Method))
			info := jen.Qual(serverkitPkg, "OperationInfo").Values(
				jen.Id("ID").Op(":").Lit(op.ID),
				jen.Id("Method").Op(":").Lit(op.Method),
				jen.Id("Route").Op(":").Lit(op.Route.String()),
			)
			if op.Idempotent() {
				gr.Var().Id(v).Qual(httpPkg, "Handler")
				gr.If(jen.List(jen.Id(v), jen.Err()).Op("=").Id("kit").Dot("Idempotent").Call(jen.Lit(op.ID), jen.Id("Policies").Index(jen.Lit(op.ID)), handle), jen.Err().Op("!=").Nil()).Block(
					jen.Return(jen.Nil(), jen.Err()),
				)
				// Decoded and validated (admit) before the middleware claims the key.
				gr.Id(v).Op("=").Id("kit").Dot("Operation").Call(info, g.authenticate(op, jen.Id("s").Dot("admit"+n.Method).Call(jen.Id(v))))
			} else {
				gr.Id(v).Op(":=").Id("kit").Dot("Operation").Call(info, g.authenticate(op, handle))
			}
			gr.If(jen.Err().Op("=").Id("kit").Dot("Handle").Call(jen.Lit(op.Method+" "+op.Path), jen.Id(v)), jen.Err().Op("!=").Nil()).Block(
				jen.Return(jen.Nil(), jen.Err()),
			)
		}
		gr.Return(jen.Id("kit").Dot("Handler").Call(), jen.Nil())
	})
}

// newWebhookSecurityDoc is what NewWebhookHandler's doc comment says about sh.
func (g *generator) newWebhookSecurityDoc() string {
	if len(g.receiverSchemes()) == 0 {
		return ""
	}
	return "\n\nsh authenticates the webhooks and callbacks that have a security\n" +
		"requirement (their own: the root `security` protects the API's operations,\n" +
		"not its deliveries), before their requests are decoded or their idempotency\n" +
		"keys claimed (see WebhookSecurityHandler); a nil sh is an error."
}

// webhookPoliciesDoc completes the doc comment of Policies when the spec has
// webhooks or callbacks, which are in the table too.
func (g *generator) webhookPoliciesDoc() string {
	if len(g.receivers) == 0 {
		return ""
	}
	return "\nThe webhooks and callbacks are in it too: NewWebhookHandler wraps them."
}

// webhookSenderType is the generated client of the webhooks and callbacks.
const webhookSenderType = "WebhookSender"

// emitWebhookSender emits webhooks_client_gen.go: WebhookSender, a typed
// client that delivers the webhooks and callbacks to a receiver at the
// default paths NewWebhookHandler serves, with the Client's retries and
// idempotency keys (for a provider, or a test of the receiver). Without the
// server it also emits their request and response types.
func (g *generator) emitWebhookSender() (*jen.File, error) {
	f := g.newFile()
	if !g.opts.Server {
		for _, op := range g.receivers {
			g.emitRequestType(f, op)
			g.emitClientResponseTypes(f, op)
		}
	}
	schemes := g.receiverSchemes()
	emitClientSchemeVar(f, "webhookSchemes", schemes, "webhookSchemes are the security schemes the webhooks and callbacks\n"+
		"require; the credential options of NewWebhookSender name them.")
	ids := *g.clientIDs()
	ids.Client = webhookSenderType
	f.Add(docText(webhookSenderType + " delivers the webhooks and callbacks of the API to a receiver, as the\n" +
		"API's provider does: each at the default path NewWebhookHandler serves it at,\n" +
		"appended to the receiver's base URL. Deliveries are retried and keyed as\n" +
		g.api.GoNames.Client + "'s calls are: an idempotent one sends the key in its request (a\n" +
		"delivery id header), or a fresh one, the same on every retry." + senderSecurityDoc(schemes)))
	f.Type().Id(webhookSenderType).Struct(jen.Id("base").Op("*").Qual(clientPkg, "Base"))
	f.Add(docText("New" + webhookSenderType + " returns a sender to the receiver at baseURL (an absolute http or\n" +
		"https URL; the receivers' default paths are appended to it)."))
	f.Func().Id("New"+webhookSenderType).Params(jen.Id("baseURL").String(), jen.Id("opts").Op("...").Id(ids.ClientOption)).
		Params(jen.Op("*").Id(webhookSenderType), jen.Error()).Block(
		jen.List(jen.Id("b"), jen.Err()).Op(":=").Qual(clientPkg, "NewBase").Call(
			jen.Qual(clientPkg, "BaseConfig").ValuesFunc(func(vg *jen.Group) {
				vg.Id("Package").Op(":").Lit(g.opts.Package)
				vg.Id("UserAgent").Op(":").Id(ids.DefaultUserAgent)
				if len(schemes) > 0 {
					vg.Id("Schemes").Op(":").Id("webhookSchemes")
				}
			}),
			jen.Id("baseURL"), jen.Id("opts").Op("...")),
		jen.If(jen.Err().Op("!=").Nil()).Block(
			jen.Return(jen.Nil(), jen.Qual("fmt", "Errorf").Call(jen.Lit(g.opts.Package+": New"+webhookSenderType+": %w"), jen.Err())),
		),
		jen.Return(jen.Op("&").Id(webhookSenderType).Values(jen.Dict{jen.Id("base"): jen.Id("b")}), jen.Nil()),
	)
	for _, op := range g.receivers {
		g.emitClientMethod(f, &ids, op)
		g.emitClientDecode(f, &ids, op)
	}
	return f, nil
}

// senderSecurityDoc is what WebhookSender's doc comment says about the
// credentials of secured receivers.
func senderSecurityDoc(schemes []*model.SecurityScheme) string {
	if len(schemes) == 0 {
		return ""
	}
	names := make([]string, len(schemes))
	for i, s := range schemes {
		names[i] = fmt.Sprintf("%q", singleLine(s.Name))
	}
	return "\n\nThe credential options (client.WithAPIKey, client.WithBearerToken,\n" +
		"client.WithBasicAuth, client.WithTokenFunc) name the schemes the receivers\n" +
		"require: " + strings.Join(names, ", ") + ". Each delivery carries the credentials\n" +
		"its requirement names, in headers, query or cookies, never in its idempotency\n" +
		"key or the body the receiver fingerprints."
}
