package signin

import (
	"html/template"
	"net/http"
)

// The sign-in's own pages are plain and readable without JavaScript.
const pageHead = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{{.Title}} · Conveyor</title>
<style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#1f2328}
a,button{font:inherit}button{padding:.4rem 1rem;border:1px solid #1f883d;background:#1f883d;color:#fff;border-radius:6px;cursor:pointer}</style>
</head><body>`

var messageTemplate = template.Must(template.New("message").Parse(pageHead +
	`<h1>{{.Title}}</h1><p>{{.Text}}</p>{{if .Link}}<p><a href="{{.Link}}">Sign in with GitHub</a></p>{{end}}</body></html>
`))

var logoutTemplate = template.Must(template.New("logout").Parse(pageHead + `
<h1>Sign out</h1><p>Signed in as {{.Login}}.</p>
<form method="post" action="/logout"><input type="hidden" name="{{.Field}}" value="{{.Token}}">
<button type="submit">Sign out</button></form></body></html>
`))

// pageHeaders keep the sign-in's pages from being framed or running scripts.
func pageHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
}

func (a *Auth) page(w http.ResponseWriter, status int, title, text, link string) {
	pageHeaders(w)
	w.WriteHeader(status)
	_ = messageTemplate.Execute(w, map[string]string{"Title": title, "Text": text, "Link": link})
}
