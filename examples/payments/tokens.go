package main

import (
	"context"
	"fmt"

	"github.com/idemgen/idemgen/examples/payments/api"
	"github.com/idemgen/idemgen/runtime/serverkit"
)

// Grant is what an access token allows: one account, some scopes.
type Grant struct {
	Account string
	Scopes  []string
}

// Tokens implements the generated api.SecurityHandler with a fixed table of
// access tokens (a real server verifies a JWT or asks its OAuth2 server).
// The account it returns is the principal: the handlers never see a token,
// and the keys of createTransfer and createPayment (scope: [principal]) are
// partitioned by it without any code here or in Bank.
type Tokens map[string]Grant

var _ api.SecurityHandler = Tokens(nil)

// HandleBearerAuth checks an access token against the operation's scopes and
// against the account in the path: a token is good for its own account only.
func (t Tokens) HandleBearerAuth(ctx context.Context, token string, info serverkit.AuthInfo) (string, error) {
	g, ok := t[token]
	if !ok {
		return "", serverkit.ErrInvalidCredentials
	}
	if err := serverkit.RequireScopes(g.Scopes, info.Scopes); err != nil {
		return "", err
	}
	if acct := info.Request.PathValue("accountId"); acct != "" && acct != g.Account {
		return "", fmt.Errorf("%w: the token is for account %q, not %q", serverkit.ErrInsufficientScope, g.Account, acct)
	}
	return g.Account, nil
}

// allScopes are every scope of the spec's bearerAuth scheme.
var allScopes = []string{"accounts:read", "transfers:write", "payments:write"}

// DemoTokens are the tokens of the runnable example: "tok_<account>" for
// ana, bo and cy, with every scope, and "tok_ana_readonly".
func DemoTokens() Tokens {
	t := Tokens{"tok_ana_readonly": {Account: "ana", Scopes: []string{"accounts:read"}}}
	for _, a := range []string{"ana", "bo", "cy"} {
		t["tok_"+a] = Grant{Account: a, Scopes: allScopes}
	}
	return t
}
