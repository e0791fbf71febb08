package serverkit

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/idemgen/idemgen/runtime/idempotency"
)

// Errors a security handler returns. Any error rejects the credential; these
// two choose the answer.
var (
	// ErrInsufficientScope: the credential is valid but does not grant what
	// the operation requires (AuthInfo.Scopes). The server answers 403.
	ErrInsufficientScope = errors.New("serverkit: insufficient scope")
	// ErrInvalidCredentials: the credential is not accepted (unknown,
	// expired, revoked). The server answers 401, as it does for any error
	// other than ErrInsufficientScope.
	ErrInvalidCredentials = errors.New("serverkit: invalid credentials")
)

// SchemeKind is how a security scheme's credential travels.
type SchemeKind int

const (
	// Bearer: "Authorization: <AuthScheme> <token>" (http bearer, any other
	// http scheme but basic, oauth2 and openIdConnect).
	Bearer SchemeKind = iota + 1
	// Basic: "Authorization: Basic base64(user:password)".
	Basic
	// APIKey: a key in the header, query parameter or cookie Scheme.Param.
	APIKey
	// MutualTLS: the client certificates of the TLS connection.
	MutualTLS
)

// Credential is what a request presents for one scheme: the field of the
// scheme's kind is set.
type Credential struct {
	// Token is a Bearer token, or an APIKey's key.
	Token string
	// Username and Password are a Basic credential.
	Username, Password string
	// Certificates are the client certificates of a MutualTLS connection,
	// leaf first (tls.ConnectionState.PeerCertificates): verified when the
	// server's tls.Config verifies them (VerifyClientCertIfGiven,
	// RequireAndVerifyClientCert), as presented otherwise.
	Certificates []*x509.Certificate
}

// AuthInfo tells a security handler what the credential is checked for.
type AuthInfo struct {
	// Scheme is the scheme's name in components.securitySchemes.
	Scheme string
	// OperationID is the operationId of the operation the request is for.
	OperationID string
	// Scopes are the scopes the operation's requirement lists for this
	// scheme (oauth2 and openIdConnect scopes, or roles); empty when it
	// lists none. Checking them is the handler's job (see RequireScopes).
	Scopes []string
	// Request is the request being authenticated.
	Request *http.Request
}

// Scheme is one security scheme of a generated server, bound to the method of
// its SecurityHandler.
type Scheme struct {
	// Name is the scheme's name in components.securitySchemes.
	Name string
	Kind SchemeKind
	// AuthScheme is the scheme of the Authorization header ("Bearer",
	// "Basic", ...) of Bearer and Basic schemes.
	AuthScheme string
	// In and Param locate an APIKey: InHeader, InQuery or InCookie, and its name.
	In    Location
	Param string
	// Authenticate checks a credential and returns the principal it
	// authenticates (the caller's stable id).
	Authenticate func(ctx context.Context, c Credential, info AuthInfo) (string, error)
}

// SchemeUse is one scheme of a requirement with the scopes it must grant.
type SchemeUse struct {
	Scheme *Scheme
	Scopes []string
}

// Requirement is one alternative of an operation's security: every scheme of
// it must accept the request. An empty Requirement makes authentication
// optional: a request without any credential is served anonymously.
type Requirement []SchemeUse

type principalKey struct{}

// Principal returns the principal the request's credentials authenticated
// (what the security handler returned), or "" when the operation requires
// no authentication or the request used an optional requirement ({})
// without credentials. Policies with scope principal use it unless
// WithPrincipal names another.
func Principal(ctx context.Context) string {
	p, _ := ctx.Value(principalKey{}).(string)
	return p
}

// ContextWithPrincipal returns ctx carrying principal, as the server's
// authentication leaves it for the handler (useful to call a Handler
// directly in tests).
func ContextWithPrincipal(ctx context.Context, principal string) context.Context {
	return context.WithValue(ctx, principalKey{}, principal)
}

// requestPrincipal is the principal function of the idempotency middleware
// unless WithPrincipal sets another.
func requestPrincipal(r *http.Request) (string, error) {
	if p := Principal(r.Context()); p != "" {
		return p, nil
	}
	return "", errors.New("the request is not authenticated")
}

// RequireScopes returns nil when granted holds every scope of required, else
// an error wrapping ErrInsufficientScope that names the missing ones: a
// security handler's check of AuthInfo.Scopes.
func RequireScopes(granted, required []string) error {
	var missing []string
	for _, s := range required {
		if !slices.Contains(granted, s) {
			missing = append(missing, s)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return fmt.Errorf("%w: missing %s", ErrInsufficientScope, strings.Join(missing, " "))
}

// Authenticate wraps next, the handler of operation op, with its security
// requirement: the alternatives are tried in order, and the first whose
// schemes all accept the request's credentials admits it, with the first
// non-empty principal its schemes returned in the request's context
// (Principal). A request no alternative
// admits is answered 401 problem+json with a WWW-Authenticate challenge per
// scheme, or 403 when a scheme's handler returned ErrInsufficientScope; it
// never reaches next, so it claims no idempotency key. An optional
// requirement ({}) admits a request that carries no credential of any of the
// operation's schemes. Without alternatives next is returned as is.
func (s *Server) Authenticate(op string, security []Requirement, next http.Handler) http.Handler {
	if len(security) == 0 {
		return next
	}
	a := &authenticator{server: s, op: op, security: security}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		principal, used, failure := a.authenticate(r)
		if failure != nil {
			a.reject(w, r, failure)
			return
		}
		if principal != "" {
			r = r.WithContext(ContextWithPrincipal(r.Context(), principal))
		}
		r = withoutQueryKeys(r, used)
		next.ServeHTTP(w, r)
	})
}

type authenticator struct {
	server   *Server
	op       string
	security []Requirement
}

// authFailure says why no alternative admitted a request.
type authFailure struct {
	presented bool       // some credential was present
	scope     *SchemeUse // a scheme whose handler said insufficient scope
	scopeErr  error
}

// authenticate returns the principal and the alternative that admitted r
// (nil for none, or the optional one), or why none did.
func (a *authenticator) authenticate(r *http.Request) (string, Requirement, *authFailure) {
	f := &authFailure{}
	optional := false
	for _, alt := range a.security {
		if len(alt) == 0 {
			optional = true
			continue
		}
		principal, ok := "", true
		for i := range alt {
			use := &alt[i]
			c, present, err := credential(r, use.Scheme)
			if !present {
				ok = false
				break
			}
			f.presented = true
			if err == nil {
				var p string
				p, err = use.Scheme.Authenticate(r.Context(), c, AuthInfo{Scheme: use.Scheme.Name, OperationID: a.op, Scopes: use.Scopes, Request: r})
				if err == nil && principal == "" {
					principal = p
				}
			}
			if err != nil {
				if errors.Is(err, ErrInsufficientScope) {
					f.scope, f.scopeErr = use, err
				}
				a.server.logger.DebugContext(r.Context(), "authentication failed", "operation", a.op, "scheme", use.Scheme.Name, "error", err)
				ok = false
				break
			}
		}
		if ok {
			return principal, alt, nil
		}
	}
	if optional && !f.presented {
		return "", nil, nil
	}
	return "", nil, f
}

// withoutQueryKeys removes the API keys of alt that travel in the query from
// r's URL once they are accepted: a credential is not part of the request
// the idempotency middleware fingerprints (query) or the handler reads, and
// a retry with a rotated key still matches. Other parameters keep their
// order and encoding.
func withoutQueryKeys(r *http.Request, alt Requirement) *http.Request {
	for _, use := range alt {
		s := use.Scheme
		if s.Kind != APIKey || s.In != InQuery || r.URL.RawQuery == "" {
			continue
		}
		var kept []string
		for _, pair := range strings.Split(r.URL.RawQuery, "&") {
			name, _, _ := strings.Cut(pair, "=")
			if n, err := url.QueryUnescape(name); err == nil && n == s.Param {
				continue
			}
			kept = append(kept, pair)
		}
		u := *r.URL
		u.RawQuery = strings.Join(kept, "&")
		r2 := *r
		r2.URL = &u
		r = &r2
	}
	return r
}

// reject answers 403 for a scope failure, else 401 with a challenge per scheme.
func (a *authenticator) reject(w http.ResponseWriter, r *http.Request, f *authFailure) {
	realm := a.server.pkg
	if f.scope != nil {
		if f.scope.Scheme.Kind == Bearer {
			w.Header().Set("WWW-Authenticate", challenge(f.scope.Scheme, realm, `error="insufficient_scope"`, scopeParam(f.scope.Scopes)))
		}
		detail := "the credentials do not grant what " + a.op + " requires"
		if len(f.scope.Scopes) > 0 {
			detail += " (scopes: " + strings.Join(f.scope.Scopes, " ") + ")"
		}
		a.problem(w, r, http.StatusForbidden, "insufficient-scope", detail)
		return
	}
	seen := map[*Scheme]bool{}
	for _, alt := range a.security {
		for _, use := range alt {
			if seen[use.Scheme] {
				continue
			}
			seen[use.Scheme] = true
			var extra []string
			if f.presented && use.Scheme.Kind == Bearer && strings.EqualFold(use.Scheme.AuthScheme, "Bearer") {
				extra = append(extra, `error="invalid_token"`)
			}
			w.Header().Add("WWW-Authenticate", challenge(use.Scheme, realm, append(extra, scopeParam(use.Scopes))...))
		}
	}
	detail := "the request carries no credentials that " + a.op + " accepts"
	if f.presented {
		detail = "the credentials are not accepted"
	}
	a.problem(w, r, http.StatusUnauthorized, "authentication-required", detail)
}

func (a *authenticator) problem(w http.ResponseWriter, r *http.Request, status int, name, detail string) {
	p := idempotency.Problem{Status: status, Title: http.StatusText(status), Detail: detail, Instance: r.URL.Path}
	if t := a.server.problemType; t != "" {
		p.Type = t + "#" + name
	}
	idempotency.WriteProblemFor(w, r, p)
}

// challenge formats one WWW-Authenticate challenge (RFC 9110 section 11.6.1)
// of scheme s. An API key or a client certificate has no registered
// authentication scheme: their challenges name where the credential goes.
func challenge(s *Scheme, realm string, params ...string) string {
	var name string
	list := []string{"realm=" + quote(realm)}
	switch s.Kind {
	case Bearer, Basic:
		name = s.AuthScheme
		if s.Kind == Basic {
			list = append(list, `charset="UTF-8"`)
		}
	case APIKey:
		name = "ApiKey"
		list = append(list, "in="+quote(string(s.In)), "name="+quote(s.Param))
	default:
		name = "MutualTLS"
	}
	for _, p := range params {
		if p != "" {
			list = append(list, p)
		}
	}
	return name + " " + strings.Join(list, ", ")
}

func scopeParam(scopes []string) string {
	if len(scopes) == 0 {
		return ""
	}
	return "scope=" + quote(strings.Join(scopes, " "))
}

// quote makes a quoted-string (RFC 9110 section 5.6.4).
func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// credential reads scheme s's credential from r. present is false when the
// request does not carry one; err reports one that is malformed.
func credential(r *http.Request, s *Scheme) (c Credential, present bool, err error) {
	switch s.Kind {
	case Bearer, Basic:
		v := r.Header.Get("Authorization")
		name, rest, ok := strings.Cut(v, " ")
		if !ok || !strings.EqualFold(name, s.AuthScheme) {
			return c, false, nil
		}
		rest = strings.TrimSpace(rest)
		if rest == "" {
			return c, false, nil
		}
		if s.Kind == Bearer {
			c.Token = rest
			return c, true, nil
		}
		raw, err := base64.StdEncoding.DecodeString(rest)
		if err != nil {
			return c, true, fmt.Errorf("%w: Basic credentials are not base64", ErrInvalidCredentials)
		}
		user, pass, ok := strings.Cut(string(raw), ":")
		if !ok {
			return c, true, fmt.Errorf("%w: Basic credentials have no colon", ErrInvalidCredentials)
		}
		c.Username, c.Password = user, pass
		return c, true, nil
	case APIKey:
		switch s.In {
		case InHeader:
			c.Token = r.Header.Get(s.Param)
		case InQuery:
			c.Token = r.URL.Query().Get(s.Param)
		case InCookie:
			if ck, err := r.Cookie(s.Param); err == nil {
				c.Token = ck.Value
			}
		}
		return c, c.Token != "", nil
	case MutualTLS:
		if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
			return c, false, nil
		}
		c.Certificates = r.TLS.PeerCertificates
		return c, true, nil
	}
	return c, false, nil
}
