package web

import (
	"encoding/base64"
	"net/http"
)

// flashCookie carries what an Approve or Reject came to from the POST to
// the page it redirects to, once. A cookie, not the URL: a link must not be
// able to make the page say something the server did not.
const flashCookie = "conveyor_said"

func setFlash(w http.ResponseWriter, text string) {
	if len(text) > 2000 {
		text = text[:2000]
	}
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Value: base64.RawURLEncoding.EncodeToString([]byte(text)), Path: "/",
		MaxAge: 60, HttpOnly: true, SameSite: http.SameSiteLaxMode})
}

func takeFlash(w http.ResponseWriter, r *http.Request) string {
	c, err := r.Cookie(flashCookie)
	if err != nil {
		return ""
	}
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	b, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil {
		return ""
	}
	return string(b)
}
