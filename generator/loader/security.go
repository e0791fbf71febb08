package loader

import (
	"net/textproto"
	"slices"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/idemgen/idemgen/generator/model"
)

// RuleSecurityInvalid: a security scheme the generator cannot apply (an
// apiKey without name or with another in than header, query or cookie, an
// http scheme without its scheme, an unknown type), or a `security`
// requirement naming a scheme components.securitySchemes does not define
// (error).
const RuleSecurityInvalid = "security-invalid"

// security fills SecuritySchemes, Schemes, SecurityHeaders and
// HasGlobalSecurity from components.securitySchemes and the root `security`.
// It runs before the operations, which refer to the schemes.
func (b *builder) security(doc *openapi3.T) {
	api := b.api
	api.HasGlobalSecurity = nonEmptySecurity(doc.Security)
	// The root requirement is converted (and its names checked) once, after
	// the schemes, even when no operation inherits it.
	defer func() {
		if len(doc.Security) > 0 {
			api.Security = b.requirements(doc.Security, loc{b.abs, "/security"}, nil)
		}
		if len(api.Security) == 0 {
			api.Security = nil
		}
	}()
	if doc.Components == nil {
		return
	}
	root := loc{b.abs, ""}
	headers := map[string]bool{}
	names := newNameSet()
	for _, name := range sortedKeys(doc.Components.SecuritySchemes) {
		api.SecuritySchemes = append(api.SecuritySchemes, name)
		sr := doc.Components.SecuritySchemes[name]
		if sr == nil || sr.Value == nil {
			continue
		}
		l := b.follow(root.at("components", "securitySchemes", name), sr.Ref)
		s := b.scheme(name, sr.Value, l)
		if s == nil {
			continue
		}
		s.GoName = names.unique(cmpOr(ident(name), "Scheme"))
		api.Schemes = append(api.Schemes, s)
		switch {
		case s.Kind == model.SchemeBearer || s.Kind == model.SchemeBasic:
			headers["Authorization"] = true
		case s.Kind == model.SchemeAPIKey && s.In == model.InHeader:
			headers[textproto.CanonicalMIMEHeaderKey(s.Param)] = true
		}
	}
	api.SecurityHeaders = sortedKeys(headers)
}

func cmpOr(s, def string) string {
	if s == "" || s == "X" {
		return def
	}
	return s
}

// scheme converts one security scheme, reporting what cannot be applied (and
// returning nil for it).
func (b *builder) scheme(name string, v *openapi3.SecurityScheme, l loc) *model.SecurityScheme {
	s := &model.SecurityScheme{
		Name:         name,
		Type:         v.Type,
		BearerFormat: v.BearerFormat,
		Description:  v.Description,
		Pos:          b.pos(l),
		Pointer:      l.ptr,
	}
	switch v.Type {
	case "http":
		switch scheme := strings.TrimSpace(v.Scheme); {
		case strings.EqualFold(scheme, "basic"):
			s.Kind, s.AuthScheme = model.SchemeBasic, "Basic"
		case strings.EqualFold(scheme, "bearer"):
			s.Kind, s.AuthScheme = model.SchemeBearer, "Bearer"
		case scheme == "" || strings.ContainsAny(scheme, " \t,"):
			b.report(model.Error, RuleSecurityInvalid, l.at("scheme"), nil,
				"security scheme %q: type http wants a scheme (an HTTP authentication scheme such as bearer or basic), got %q", name, v.Scheme)
			return nil
		default:
			// Another auth scheme (Digest, HOBA...): the credential is what
			// follows its name in Authorization, handled like a token.
			s.Kind, s.AuthScheme = model.SchemeBearer, scheme
		}
	case "oauth2", "openIdConnect":
		// The client presents an access token as a bearer token (RFC 6750).
		s.Kind, s.AuthScheme = model.SchemeBearer, "Bearer"
	case "apiKey":
		s.Kind, s.In, s.Param = model.SchemeAPIKey, model.ParamIn(v.In), v.Name
		if s.In != model.InHeader && s.In != model.InQuery && s.In != model.InCookie {
			b.report(model.Error, RuleSecurityInvalid, l.at("in"), nil,
				"security scheme %q: type apiKey wants in: header, query or cookie, got %q", name, v.In)
			return nil
		}
		if v.Name == "" {
			b.report(model.Error, RuleSecurityInvalid, l, nil,
				"security scheme %q: type apiKey wants the name of its %s", name, v.In)
			return nil
		}
	case "mutualTLS":
		s.Kind = model.SchemeMutualTLS
	default:
		b.report(model.Error, RuleSecurityInvalid, l.at("type"), nil,
			"security scheme %q: want type http, apiKey, oauth2, openIdConnect or mutualTLS, got %q", name, v.Type)
		return nil
	}
	return s
}

// requirements converts a `security` list found at l (an operation's or the
// root's) into the model's alternatives, reporting the scheme names that
// components.securitySchemes does not define.
func (b *builder) requirements(reqs openapi3.SecurityRequirements, l loc, op *model.Operation) []model.SecurityRequirement {
	out := make([]model.SecurityRequirement, 0, len(reqs))
	for i, r := range reqs {
		var alt model.SecurityRequirement
		ok := true
		for _, name := range sortedKeys(r) {
			s := b.schemeNamed(name)
			if s == nil {
				ok = false
				if slices.Contains(b.api.SecuritySchemes, name) {
					continue // defined but unusable: reported with the scheme
				}
				b.report(model.Error, RuleSecurityInvalid, l.at(strconv.Itoa(i), name), op,
					"security requirement names scheme %q, which components.securitySchemes does not define%s", name, b.schemeHint())
				continue
			}
			alt.Schemes = append(alt.Schemes, model.SchemeUse{Scheme: s, Scopes: append([]string(nil), r[name]...)})
		}
		if ok {
			out = append(out, alt)
		}
	}
	return out
}

// schemeHint lists the defined schemes for an unknown-name error.
func (b *builder) schemeHint() string {
	if len(b.api.SecuritySchemes) == 0 {
		return " (it defines none)"
	}
	return " (it defines " + strings.Join(quoteAll(b.api.SecuritySchemes), ", ") + ")"
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strconv.Quote(s)
	}
	return out
}

func (b *builder) schemeNamed(name string) *model.SecurityScheme {
	for _, s := range b.api.Schemes {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// operationSecurity sets op's effective requirement: its own `security`
// (even an empty list, which removes the root's), else the root's. A webhook
// or callback (m.Kind set) has only its own: the root requirement says how
// the API's users authenticate to the API, while a receiver's says how the
// API's provider authenticates to them, the other direction, and an API that
// takes bearer tokens rarely sends its webhooks with one. Lint, generate and
// the emitted receivers all read this one result.
func (b *builder) operationSecurity(op *openapi3.Operation, m *model.Operation, ol loc) {
	switch {
	case op.Security != nil:
		m.Secured = nonEmptySecurity(*op.Security)
		m.Security = b.requirements(*op.Security, ol.at("security"), m)
	case m.Kind == model.OpPath:
		m.Secured = b.api.HasGlobalSecurity
		m.Security = b.api.Security
	}
	if len(m.Security) == 0 {
		m.Security = nil
	}
}

// nonEmptySecurity reports a requirement list with at least one scheme.
func nonEmptySecurity(reqs openapi3.SecurityRequirements) bool {
	for _, r := range reqs {
		if len(r) > 0 {
			return true
		}
	}
	return false
}
