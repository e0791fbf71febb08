package main

import (
	"bytes"
	"html/template"
	"net/http"

	"github.com/idemgen/idemgen/runtime/client"
)

// pageTmpl is the room page: the messages and a form whose hidden "key" field
// holds a fresh key per page load. Every submit of that one page load carries
// the same key, so a double click (or a browser resubmitting the form) posts
// one message; the next page load gets a new key for the next message.
var pageTmpl = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>#{{.Room}}</title>
<style>body{font:16px system-ui;max-width:40em;margin:2em auto}li{margin:.3em 0}small{color:#777}</style>
</head>
<body>
<h1>#{{.Room}}</h1>
{{- with .Notice}}
<p id="notice">{{.}}</p>
{{- end}}
<ol>
{{- range .Posts}}
<li><b>{{.User}}</b>: {{.Text}} <small>{{.PostedAt.Format "15:04:05"}}</small></li>
{{- else}}
<li><i>no messages yet</i></li>
{{- end}}
</ol>
<form method="post" action="{{template "action" .}}">
<input type="hidden" name="key" value="{{.Key}}">
<input name="user" placeholder="name" value="{{.User}}" required>
<input name="text" placeholder="message" required autofocus autocomplete="off">
<button>Send</button> <small>(try a double click)</small>
</form>
</body>
</html>
{{- define "action"}}/rooms/{{.Room}}/form{{end}}
`))

// plainPageTmpl is the page of pageTmpl whose form is answered with the page
// itself (200 HTML) instead of a redirect.
var plainPageTmpl = template.Must(template.Must(pageTmpl.Clone()).Parse(`{{define "action"}}/rooms/{{.Room}}/plain-form{{end}}`))

// page is what a room page shows.
type page struct {
	Room   string
	Posts  []Post
	Key    string // the form's hidden key, for the next message
	User   string // the name field's value
	Notice string // a line above the messages ("Sent.")
}

// pageHandler serves GET /?room=NAME (default "general") with tmpl, each
// load with a new client-made key.
func pageHandler(board *Board, tmpl *template.Template) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		renderPage(w, r, board, tmpl, client.NewKey())
	})
}

// renderPage renders tmpl (pageTmpl or a variant) for the request's room with
// key in the form's hidden field.
func renderPage(w http.ResponseWriter, r *http.Request, board *Board, tmpl *template.Template, key string) {
	room := r.URL.Query().Get("room")
	if room == "" {
		room = "general"
	}
	b, err := render(tmpl, page{Room: room, Posts: board.List(room), Key: key, User: r.URL.Query().Get("user")})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	// The page carries a one-time key: it must never come from a cache.
	w.Header().Set("Cache-Control", "no-store")
	w.Write(b)
}

func render(tmpl *template.Template, p page) ([]byte, error) {
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, p); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
