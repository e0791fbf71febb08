package main

import (
	"context"
	"crypto/rand"
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/idemgen/idemgen/examples/chat/api"
	"github.com/idemgen/idemgen/runtime/issuedkey"
)

// newIssuer returns the Issuer of the /issued page's keys. The example makes a
// random secret per process, so keys do not survive a restart; a real server
// reads its secrets from configuration (issuedkey.Config.Previous for
// rotation) so that every process verifies every other's keys.
func newIssuer() (*issuedkey.Issuer, error) {
	return issuedkey.New(issuedkey.Config{Secret: []byte(rand.Text() + rand.Text())})
}

// SubmitIssuedForm posts the /issued page's form and redirects back to it. The
// runtime accepted the key only because this server issued it, less than an
// hour ago.
func (c *Chat) SubmitIssuedForm(ctx context.Context, req api.SubmitIssuedFormRequestObject) (api.SubmitIssuedFormResponseObject, error) {
	b := req.Body
	if strings.TrimSpace(b.User) == "" || strings.TrimSpace(b.Text) == "" {
		return api.SubmitIssuedForm400JSONResponse{Body: problem(400, "invalid message", "user and text must not be empty")}, nil
	}
	c.board.Add(req.Room, b.User, b.Text, nil)
	back := "/issued?" + url.Values{"room": {req.Room}, "user": {b.User}}.Encode()
	return api.SubmitIssuedForm303Response{Headers: api.SubmitIssuedForm303ResponseHeaders{Location: back}}, nil
}

// issuedPageTmpl is the page of pageTmpl with a server-issued key.
var issuedPageTmpl = template.Must(template.Must(pageTmpl.Clone()).Parse(`{{define "action"}}/rooms/{{.Room}}/issued-form{{end}}`))

// issuedPageHandler serves GET /issued?room=NAME: the room page whose form
// carries a key the server issues (and signs) as it renders the page.
func issuedPageHandler(board *Board, issuer *issuedkey.Issuer) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k, err := issuer.Issue(r.Context(), "")
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		renderPage(w, r, board, issuedPageTmpl, k.Key)
	})
}
