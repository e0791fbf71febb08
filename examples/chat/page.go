package main

import (
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
<input name="text" placeholder="message" required autofocus>
<button>Send</button> <small>(try a double click)</small>
</form>
</body>
</html>
{{- define "action"}}/rooms/{{.Room}}/form{{end}}
`))

// pageHandler serves GET /?room=NAME (default "general").
func pageHandler(board *Board) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		renderPage(w, r, board, pageTmpl, client.NewKey())
	})
}

// renderPage renders tmpl (pageTmpl or a variant) for the request's room with
// key in the form's hidden field.
func renderPage(w http.ResponseWriter, r *http.Request, board *Board, tmpl *template.Template, key string) {
	room := r.URL.Query().Get("room")
	if room == "" {
		room = "general"
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	// The page carries a one-time key: it must never come from a cache.
	w.Header().Set("Cache-Control", "no-store")
	err := tmpl.Execute(w, map[string]any{
		"Room":  room,
		"Posts": board.List(room),
		"Key":   key,
		"User":  r.URL.Query().Get("user"),
	})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}
