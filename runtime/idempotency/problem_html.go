package idempotency

import (
	"html"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// WriteProblemFor writes p for r: application/problem+json as WriteProblem
// does, unless r's Accept prefers text/html to JSON, which is what a browser
// sends when a person submits a form or follows a link. Such a request gets
// the same status and headers with a small HTML page instead: a person reads
// what happened and what to do next, not a JSON dump. API clients (no
// Accept, */*, application/json or application/problem+json) keep
// problem+json.
func WriteProblemFor(w http.ResponseWriter, r *http.Request, p Problem) {
	if r == nil || !PrefersHTML(r.Header.Values("Accept")) {
		WriteProblem(w, p)
		return
	}
	h := w.Header()
	p = problemHeaders(h, p, "text/html; charset=utf-8")
	body := problemPage(p, backLink(r))
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(p.Status)
	_, _ = w.Write(body)
}

// problemPage is the HTML page of p: the title, what the person can do (by
// status), the problem's detail and, when known, a link back to the page the
// request came from (for a form: a fresh copy of it, with a new key).
func problemPage(p Problem, back string) []byte {
	var b strings.Builder
	title := html.EscapeString(strconv.Itoa(p.Status) + " " + p.Title)
	b.WriteString(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>`)
	b.WriteString(title)
	b.WriteString(`</title>
<style>body{font:16px system-ui,sans-serif;max-width:40em;margin:2em auto;padding:0 1em;line-height:1.4}small{color:#666}</style>
</head>
<body>
<h1>`)
	b.WriteString(html.EscapeString(p.Title))
	b.WriteString("</h1>\n")
	if hint := problemHint(p.Status); hint != "" {
		b.WriteString("<p>" + html.EscapeString(hint) + "</p>\n")
	}
	if p.Detail != "" {
		b.WriteString("<p><small>" + html.EscapeString(p.Detail) + "</small></p>\n")
	}
	if back != "" {
		b.WriteString(`<p><a href="` + html.EscapeString(back) + `">Back to the page you came from</a></p>` + "\n")
	}
	b.WriteString("</body>\n</html>\n")
	return []byte(b.String())
}

// problemHint tells a person what a problem status means for them. Every
// problem the runtime answers before the handler ran did nothing, which is
// what a person most needs to know after an error on a form.
func problemHint(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "Nothing was done: the request could not be used. Go back, reload the page and try again."
	case http.StatusUnauthorized:
		return "Nothing was done: you are not signed in. Sign in, then try again."
	case http.StatusConflict:
		return "Your first request is still being processed. Wait a moment, then reload this page to see its result."
	case http.StatusRequestEntityTooLarge:
		return "Nothing was done: what you sent is too large."
	case http.StatusUnprocessableEntity:
		return "Nothing more was done: this form was already sent, with other contents. Go back, reload the page and send it again."
	case http.StatusServiceUnavailable:
		return "Nothing was done. Try again in a moment."
	}
	if status >= 500 {
		return "Something went wrong on our side."
	}
	return ""
}

// backLink returns the path and query of r's Referer when it is a page of
// the same site, so the error page can link back to the form: its reload
// carries a new key. Other referers give no link.
func backLink(r *http.Request) string {
	ref := r.Header.Get("Referer")
	if ref == "" {
		return ""
	}
	u, err := url.Parse(ref)
	if err != nil || u.Host != r.Host || (u.Scheme != "http" && u.Scheme != "https") {
		return ""
	}
	back := u.EscapedPath()
	if u.RawQuery != "" {
		back += "?" + u.RawQuery
	}
	return back
}

// PrefersHTML reports whether the Accept header values (RFC 9110, 12.5.1)
// rank text/html above JSON: the quality of text/html is positive and higher
// than that of both application/problem+json and application/json, each
// taken from the most specific range that matches it. A tie keeps JSON, so
// "*/*" and a missing Accept are not HTML.
func PrefersHTML(accept []string) bool {
	if len(accept) == 0 {
		return false
	}
	htmlQ := acceptQ(accept, "text", "html")
	if htmlQ <= 0 {
		return false
	}
	return htmlQ > acceptQ(accept, "application", "problem+json") && htmlQ > acceptQ(accept, "application", "json")
}

// acceptQ is the quality that the Accept values give typ/sub: the q of the
// most specific matching range (type/sub over type/* over */*), 0 when none
// matches.
func acceptQ(accept []string, typ, sub string) float64 {
	best, q := -1, 0.0
	for _, v := range accept {
		for _, item := range strings.Split(v, ",") {
			mt, params, _ := strings.Cut(item, ";")
			t, s, ok := strings.Cut(strings.TrimSpace(mt), "/")
			if !ok {
				continue
			}
			spec := -1
			switch {
			case strings.EqualFold(t, typ) && strings.EqualFold(s, sub):
				spec = 2
			case strings.EqualFold(t, typ) && s == "*":
				spec = 1
			case t == "*" && s == "*":
				spec = 0
			}
			if spec <= best {
				continue
			}
			best, q = spec, 1
			for _, p := range strings.Split(params, ";") {
				k, val, _ := strings.Cut(strings.TrimSpace(p), "=")
				if strings.EqualFold(k, "q") {
					if f, err := strconv.ParseFloat(strings.TrimSpace(val), 64); err == nil && f >= 0 && f <= 1 {
						q = f
					}
				}
			}
		}
	}
	return q
}
