package loader

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idemgen/idemgen/generator/model"
)

// TestSecurityModel: every scheme kind, with its Go name and where its
// credential lives, and each operation's effective requirement: its own, the
// root's, none ([]), optional ({}), AND and OR.
func TestSecurityModel(t *testing.T) {
	api := load(t, filepath.Join("..", "gentest", "security", "openapi.yaml"))
	for _, d := range api.Diagnostics {
		t.Errorf("diagnostic: %s", d.Error())
	}
	var schemes []string
	for _, s := range api.Schemes {
		schemes = append(schemes, fmt.Sprintf("%s=%s/%s/%s/%s:%s", s.Name, s.GoName, s.Type, s.Kind, s.AuthScheme, s.In+model.ParamIn(s.Param)))
	}
	want := "basic=Basic/http/basic/Basic:, bearer=Bearer/http/bearer/Bearer:, clientCert=ClientCert/mutualTLS/mutualTLS/:, cookieKey=CookieKey/apiKey/apiKey/:cookiesession, " +
		"headerKey=HeaderKey/apiKey/apiKey/:headerX-API-Key, oauth=Oauth/oauth2/bearer/Bearer:, queryKey=QueryKey/apiKey/apiKey/:queryapi_key"
	if got := strings.Join(schemes, ", "); got != want {
		t.Errorf("schemes:\n got %s\nwant %s", got, want)
	}
	if got := strings.Join(api.SecurityHeaders, ","); got != "Authorization,X-Api-Key" {
		t.Errorf("SecurityHeaders = %s", got)
	}
	for id, want := range map[string]string{
		"createOrder":  "oauth[orders:write] (secured)",
		"createReport": "bearer[]+headerKey[] | basic[] (secured)",
		"getFeed":      "queryKey[] | cookieKey[] (secured)",
		"getMe":        "bearer[] (secured)",
		"getPublic":    "{} | bearer[] (secured)",
		"getHealth":    "none",
		"getInternal":  "clientCert[] (secured)",
	} {
		if got := requirement(findOp(t, api, id)); got != want {
			t.Errorf("%s: %s, want %s", id, got, want)
		}
	}
}

func requirement(op *model.Operation) string {
	if op.Security == nil {
		return "none"
	}
	var alts []string
	for _, alt := range op.Security {
		if len(alt.Schemes) == 0 {
			alts = append(alts, "{}")
			continue
		}
		var uses []string
		for _, u := range alt.Schemes {
			uses = append(uses, fmt.Sprintf("%s%v", u.Scheme.Name, u.Scopes))
		}
		alts = append(alts, strings.Join(uses, "+"))
	}
	s := strings.Join(alts, " | ")
	if op.Secured {
		s += " (secured)"
	}
	return s
}
