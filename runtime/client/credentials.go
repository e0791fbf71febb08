package client

import (
	"context"
	"encoding/base64"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// SchemeKind is how a security scheme's credential travels.
type SchemeKind int

const (
	// Bearer: "Authorization: <AuthScheme> <token>" (http bearer, oauth2,
	// openIdConnect, other http schemes).
	Bearer SchemeKind = iota + 1
	// Basic: "Authorization: Basic base64(user:password)".
	Basic
	// APIKey: a key in the header, query parameter or cookie Param.
	APIKey
	// MutualTLS: the client certificate of the TLS connection, configured
	// on the Doer's transport (WithHTTPClient); nothing is added to requests.
	MutualTLS
)

// Scheme is one security scheme of the spec, as the client applies it.
type Scheme struct {
	// Name is the scheme's name in components.securitySchemes; the
	// credential options name it.
	Name string
	Kind SchemeKind
	// AuthScheme is the Authorization header's scheme ("Bearer", "Basic"...).
	AuthScheme string
	// In ("header", "query" or "cookie") and Param locate an APIKey.
	In    string
	Param string
}

// Requirement is one alternative of an operation's security: the names of
// the schemes whose credentials are all sent. An empty Requirement makes
// credentials optional.
type Requirement []string

// credential is what one credential option gives for a scheme.
type credential struct {
	kind   SchemeKind // Bearer (a token or key) or Basic
	option string     // the option's name, for errors
	token  func(ctx context.Context) (string, error)
	user   string
	pass   string
}

func (c *baseConfig) setCredential(scheme string, cr credential) {
	if c.credentials == nil {
		c.credentials = make(map[string]credential)
	}
	c.credentials[scheme] = cr
}

// WithBearerToken sends token for the security scheme named scheme (an http
// bearer, oauth2 or openIdConnect scheme: "Authorization: Bearer token"; an
// apiKey scheme: the key) on every operation that requires it.
func WithBearerToken(scheme, token string) ClientOption {
	return tokenOption("WithBearerToken", scheme, func(context.Context) (string, error) { return token, nil })
}

// WithAPIKey sends key for the apiKey scheme named scheme, in the header,
// query parameter or cookie the spec declares, on every operation that
// requires it.
func WithAPIKey(scheme, key string) ClientOption {
	return func(c *baseConfig) {
		c.setCredential(scheme, credential{kind: APIKey, option: "WithAPIKey", token: func(context.Context) (string, error) { return key, nil }})
	}
}

// WithTokenFunc calls fn for the token (or API key) of scheme once per call
// of an operation that requires it, before the first attempt: every retry of
// the call sends the same token. An error fails the call without sending it.
// Use it for tokens that expire (an OAuth2 token source).
func WithTokenFunc(scheme string, fn func(ctx context.Context) (string, error)) ClientOption {
	return tokenOption("WithTokenFunc", scheme, fn)
}

func tokenOption(option, scheme string, fn func(ctx context.Context) (string, error)) ClientOption {
	return func(c *baseConfig) {
		c.setCredential(scheme, credential{kind: Bearer, option: option, token: fn})
	}
}

// WithBasicAuth sends username and password for the http basic scheme named
// scheme on every operation that requires it.
func WithBasicAuth(scheme, username, password string) ClientOption {
	return func(c *baseConfig) {
		c.setCredential(scheme, credential{kind: Basic, option: "WithBasicAuth", user: username, pass: password})
	}
}

// checkCredentials reports a credential option for a scheme the API does not
// have, or of the wrong kind (basic credentials for a bearer scheme).
func checkCredentials(schemes []Scheme, creds map[string]credential) error {
	for _, name := range slices.Sorted(maps.Keys(creds)) {
		cr := creds[name]
		i := slices.IndexFunc(schemes, func(s Scheme) bool { return s.Name == name })
		if i < 0 {
			var have []string
			for _, s := range schemes {
				have = append(have, strconv.Quote(s.Name))
			}
			list := "none"
			if len(have) > 0 {
				list = strings.Join(have, ", ")
			}
			return fmt.Errorf("%s(%q): the API has no security scheme %q (it has %s)", cr.option, name, name, list)
		}
		s := schemes[i]
		ok := false
		switch cr.kind {
		case Basic:
			ok = s.Kind == Basic
		case APIKey:
			ok = s.Kind == APIKey
		default: // a token: a bearer token, or an API key
			ok = s.Kind == Bearer || s.Kind == APIKey
		}
		if !ok {
			return fmt.Errorf("%s(%q): scheme %q takes %s", cr.option, name, name, kindWants(s.Kind))
		}
	}
	return nil
}

func kindWants(k SchemeKind) string {
	switch k {
	case Basic:
		return "a username and password (WithBasicAuth)"
	case APIKey:
		return "an API key (WithAPIKey or WithTokenFunc)"
	case MutualTLS:
		return "a client certificate, configured on the HTTP client's TLS config (WithHTTPClient)"
	}
	return "a token (WithBearerToken or WithTokenFunc)"
}

// authorize adds the credentials of the operation's first alternative that
// the client has credentials for. With none, the request goes without (a
// request editor may still add them; an optional requirement needs none).
// Credentials are headers, query parameters or cookies: they never enter the
// idempotency key, and the body the server fingerprints is untouched.
func (c *Invocation) authorize(ctx context.Context, req *http.Request) error {
	for _, alt := range c.op.Security {
		if len(alt) == 0 || !c.base.satisfies(alt) {
			continue
		}
		for _, name := range alt {
			if err := c.base.apply(ctx, req, name); err != nil {
				return fmt.Errorf("credentials of scheme %q: %w", name, err)
			}
		}
		return nil
	}
	return nil
}

func (b *Base) satisfies(alt Requirement) bool {
	for _, name := range alt {
		s, ok := b.schemes[name]
		if !ok {
			return false
		}
		if _, ok := b.credentials[name]; !ok && s.Kind != MutualTLS {
			return false
		}
	}
	return true
}

func (b *Base) apply(ctx context.Context, req *http.Request, name string) error {
	s := b.schemes[name]
	cr, ok := b.credentials[name]
	if !ok { // MutualTLS: the transport presents the certificate
		return nil
	}
	if s.Kind == Basic {
		req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(cr.user+":"+cr.pass)))
		return nil
	}
	tok, err := cr.token(ctx)
	if err != nil {
		return err
	}
	if s.Kind == Bearer {
		req.Header.Set("Authorization", s.AuthScheme+" "+tok)
		return nil
	}
	switch s.In {
	case "header":
		req.Header.Set(s.Param, tok)
	case "query":
		q := req.URL.Query()
		q.Set(s.Param, tok)
		req.URL.RawQuery = q.Encode()
	case "cookie":
		req.AddCookie(&http.Cookie{Name: s.Param, Value: tok})
	}
	return nil
}
