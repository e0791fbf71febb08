package emit

import (
	"fmt"
	"strings"

	"github.com/dave/jennifer/jen"

	"github.com/idemgen/idemgen/generator/model"
)

// usedSchemes returns the security schemes some operation requires, in the
// model's order (by name). Only they get a SecurityHandler method and a client
// descriptor: a declared scheme that no operation uses asks nothing of anyone.
func (g *generator) usedSchemes() []*model.SecurityScheme {
	return g.schemesOf(g.api.Operations)
}

// schemesOf returns the security schemes some operation of ops requires, in
// the model's order.
func (g *generator) schemesOf(ops []*model.Operation) []*model.SecurityScheme {
	used := map[*model.SecurityScheme]bool{}
	for _, op := range ops {
		for _, alt := range op.Security {
			for _, u := range alt.Schemes {
				used[u.Scheme] = true
			}
		}
	}
	var out []*model.SecurityScheme
	for _, s := range g.api.Schemes {
		if used[s] {
			out = append(out, s)
		}
	}
	return out
}

// secured reports whether the server authenticates some operation, and so
// NewServer takes a SecurityHandler.
func (g *generator) secured() bool { return len(g.usedSchemes()) > 0 }

// requiresAuth reports whether op has an alternative with schemes.
func requiresAuth(op *model.Operation) bool {
	for _, alt := range op.Security {
		if len(alt.Schemes) > 0 {
			return true
		}
	}
	return false
}

// schemeLabel describes a scheme in a comment: `"bearerAuth" (http bearer)`.
func schemeLabel(s *model.SecurityScheme) string {
	var kind string
	switch s.Kind {
	case model.SchemeBearer:
		kind = s.Type
		if s.Type == "http" {
			kind = "http " + strings.ToLower(s.AuthScheme)
		}
	case model.SchemeBasic:
		kind = "http basic"
	case model.SchemeAPIKey:
		kind = fmt.Sprintf("apiKey in the %s %q", s.In, s.Param)
	case model.SchemeMutualTLS:
		kind = "mutualTLS"
	}
	return fmt.Sprintf("%q (%s)", s.Name, singleLine(kind))
}

// handleMethod is the SecurityHandler method of s.
func handleMethod(s *model.SecurityScheme) string { return "Handle" + s.GoName }

// credentialParams are the parameters a SecurityHandler method of s takes
// for the credential, and the fields of serverkit.Credential that fill them.
func credentialParams(s *model.SecurityScheme) (params []jen.Code, args []jen.Code) {
	c := jen.Id("c")
	switch s.Kind {
	case model.SchemeBasic:
		return []jen.Code{jen.List(jen.Id("username"), jen.Id("password")).String()},
			[]jen.Code{c.Clone().Dot("Username"), c.Clone().Dot("Password")}
	case model.SchemeAPIKey:
		return []jen.Code{jen.Id("key").String()}, []jen.Code{c.Clone().Dot("Token")}
	case model.SchemeMutualTLS:
		return []jen.Code{jen.Id("certs").Index().Op("*").Qual("crypto/x509", "Certificate")}, []jen.Code{c.Clone().Dot("Certificates")}
	}
	return []jen.Code{jen.Id("token").String()}, []jen.Code{c.Clone().Dot("Token")}
}

// emitSecurityHandler emits the SecurityHandler interface: one method per
// scheme an operation requires.
func (g *generator) emitSecurityHandler(f *jen.File) {
	schemes := g.usedSchemes()
	if len(schemes) == 0 {
		return
	}
	f.Add(docText("SecurityHandler authenticates the credentials of the spec's security schemes:\n" +
		"one method per scheme, given the credential the request presents and the\n" +
		"operation's requirement (info.Scopes, the scopes to check). It returns the\n" +
		"principal, the caller's stable id: the handler reads it with\n" +
		"serverkit.Principal(ctx), and policies with scope principal partition keys by\n" +
		"it. An error rejects the credential: 401 problem+json with WWW-Authenticate,\n" +
		"or 403 for an error wrapping serverkit.ErrInsufficientScope\n" +
		"(serverkit.RequireScopes makes one). A request without a credential an\n" +
		"operation accepts is answered 401 before any method runs. Authentication\n" +
		"runs before the request is decoded and before its idempotency key is claimed."))
	emitSecurityInterface(f, "SecurityHandler", schemes)
}

// emitSecurityInterface emits the interface name (its doc comment already
// written) with a method per scheme of schemes.
func emitSecurityInterface(f *jen.File, name string, schemes []*model.SecurityScheme) {
	f.Type().Id(name).InterfaceFunc(func(gr *jen.Group) {
		for _, s := range schemes {
			lines := []string{fmt.Sprintf("%s checks a credential of the security scheme %s.", handleMethod(s), schemeLabel(s))}
			if d := strings.TrimSpace(s.Description); d != "" {
				lines = append(lines, "", d)
			}
			gr.Add(rawComment(lines))
			params, _ := credentialParams(s)
			gr.Id(handleMethod(s)).ParamsFunc(func(pg *jen.Group) {
				pg.Id("ctx").Qual("context", "Context")
				for _, p := range params {
					pg.Add(p)
				}
				pg.Id("info").Qual(serverkitPkg, "AuthInfo")
			}).Params(jen.String(), jen.Error())
		}
	})
}

// schemeVar is the NewServer variable of scheme s.
func schemeVar(s *model.SecurityScheme) string { return "scheme" + s.GoName }

// emitServerSchemes declares, in NewServer, one serverkit.Scheme per used
// scheme, bound to its SecurityHandler method.
func (g *generator) emitServerSchemes(gr *jen.Group) {
	g.emitSchemeVars(gr, g.usedSchemes(), "NewServer", "SecurityHandler")
}

// emitSchemeVars declares, in function fn, one serverkit.Scheme per scheme
// of schemes, bound to the method of sh, an iface.
func (g *generator) emitSchemeVars(gr *jen.Group, schemes []*model.SecurityScheme, fn, iface string) {
	if len(schemes) == 0 {
		return
	}
	gr.If(jen.Id("sh").Op("==").Nil()).Block(
		jen.Return(jen.Nil(), jen.Qual("errors", "New").Call(jen.Lit(g.opts.Package+": "+fn+": nil "+iface))),
	)
	for _, s := range schemes {
		_, args := credentialParams(s)
		authenticate := jen.Id("Authenticate").Op(":").Func().Params(
			jen.Id("ctx").Qual("context", "Context"), jen.Id("c").Qual(serverkitPkg, "Credential"), jen.Id("info").Qual(serverkitPkg, "AuthInfo"),
		).Params(jen.String(), jen.Error()).Block(
			jen.Return(jen.Id("sh").Dot(handleMethod(s)).CallFunc(func(cg *jen.Group) {
				cg.Id("ctx")
				for _, a := range args {
					cg.Add(a)
				}
				cg.Id("info")
			})),
		)
		// One field per line, even for the short mutualTLS scheme: the
		// Authenticate func literal reads badly on one line.
		var items []jen.Code
		for _, it := range append(schemeDescriptor(serverkitPkg, s), authenticate) {
			items = append(items, jen.Line().Add(it))
		}
		gr.Id(schemeVar(s)).Op(":=").Op("&").Qual(serverkitPkg, "Scheme").Values(append(items, jen.Line())...)
	}
}

// authenticate wraps h, the handler of op, with op's security requirement
// (h itself when op requires no authentication).
func (g *generator) authenticate(op *model.Operation, h jen.Code) jen.Code {
	if !requiresAuth(op) {
		return h
	}
	// One alternative per line when there are several.
	multi := len(op.Security) > 1
	var alts []jen.Code
	for _, alt := range op.Security {
		var uses []jen.Code
		for _, u := range alt.Schemes {
			use := []jen.Code{jen.Id("Scheme").Op(":").Id(schemeVar(u.Scheme))}
			if len(u.Scopes) > 0 {
				use = append(use, jen.Id("Scopes").Op(":").Index().String().ValuesFunc(func(sg *jen.Group) {
					for _, sc := range u.Scopes {
						sg.Lit(sc)
					}
				}))
			}
			uses = append(uses, jen.Values(use...))
		}
		if multi {
			alts = append(alts, jen.Line().Values(uses...))
		} else {
			alts = append(alts, jen.Values(uses...))
		}
	}
	if multi {
		alts = append(alts, jen.Line())
	}
	reqs := jen.Index().Qual(serverkitPkg, "Requirement").Values(alts...)
	return jen.Id("kit").Dot("Authenticate").Call(jen.Lit(op.ID), reqs, h)
}

// newServerSecurityDoc is what NewServer's doc comment says about sh.
func (g *generator) newServerSecurityDoc() string {
	if !g.secured() {
		return ""
	}
	return "\n\nsh authenticates the operations that have a security requirement, before\n" +
		"their requests are decoded or their idempotency keys claimed (see\n" +
		"SecurityHandler); a nil sh is an error."
}

// emitClientSchemes emits clientSchemes, the descriptors of the schemes the
// operations require, which NewClient hands to client.NewBase.
func (g *generator) emitClientSchemes(f *jen.File) {
	emitClientSchemeVar(f, "clientSchemes", g.usedSchemes(), "clientSchemes are the security schemes the operations require; the credential\n"+
		"options (client.WithBearerToken, client.WithBasicAuth, client.WithAPIKey,\n"+
		"client.WithTokenFunc) name them.")
}

// emitClientSchemeVar emits the variable name, documented by doc, holding
// the client descriptors of schemes.
func emitClientSchemeVar(f *jen.File, name string, schemes []*model.SecurityScheme, doc string) {
	if len(schemes) == 0 {
		return
	}
	f.Add(docText(doc))
	f.Var().Id(name).Op("=").Index().Qual(clientPkg, "Scheme").ValuesFunc(func(vg *jen.Group) {
		for _, s := range schemes {
			vg.Line().Values(schemeDescriptor(clientPkg, s)...)
		}
		vg.Line()
	})
}

// clientBaseSchemes is the Schemes field of NewClient's client.BaseConfig, or
// nil when no operation requires authentication.
func (g *generator) clientBaseSchemes() jen.Code {
	if !g.secured() {
		return nil
	}
	return jen.Id("Schemes").Op(":").Id("clientSchemes")
}

// clientSecurity adds op's requirement to the client.Operation descriptor.
func clientSecurity(op *model.Operation, desc *fields) {
	if !requiresAuth(op) {
		return
	}
	desc.add("Security", jen.Index().Qual(clientPkg, "Requirement").ValuesFunc(func(alts *jen.Group) {
		for _, alt := range op.Security {
			alts.ValuesFunc(func(names *jen.Group) {
				for _, u := range alt.Schemes {
					names.Lit(u.Scheme.Name)
				}
			})
		}
	}))
}

// schemeDescriptor is the fields of a serverkit.Scheme or client.Scheme
// literal describing s (pkg is either package; both name the kinds alike):
// Name, Kind, AuthScheme, In and Param, the ones s has.
func schemeDescriptor(pkg string, s *model.SecurityScheme) []jen.Code {
	kind := map[model.SchemeKind]string{
		model.SchemeBearer: "Bearer", model.SchemeBasic: "Basic", model.SchemeAPIKey: "APIKey", model.SchemeMutualTLS: "MutualTLS",
	}[s.Kind]
	out := []jen.Code{jen.Id("Name").Op(":").Lit(s.Name), jen.Id("Kind").Op(":").Qual(pkg, kind)}
	if s.AuthScheme != "" {
		out = append(out, jen.Id("AuthScheme").Op(":").Lit(s.AuthScheme))
	}
	if s.Kind == model.SchemeAPIKey {
		// serverkit has constants for where a parameter is; client takes the name.
		var in jen.Code = jen.Lit(string(s.In))
		if pkg == serverkitPkg {
			in = jen.Qual(serverkitPkg, map[model.ParamIn]string{model.InHeader: "InHeader", model.InQuery: "InQuery", model.InCookie: "InCookie"}[s.In])
		}
		out = append(out, jen.Id("In").Op(":").Add(in), jen.Id("Param").Op(":").Lit(s.Param))
	}
	return out
}
