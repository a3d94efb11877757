// Package web is Conveyor's dashboard: server-rendered pages, embedded in the
// binary, that show what serves where, each pull request's check stages and
// decisions, each artifact's deployment history and the audit trail.
//
// The dashboard reads through internal/store and acts only through the same
// paths as Slack and the /approve command; it holds no delivery or permission
// logic of its own. Sign-in is a seam (Auth): this package never knows how a
// viewer was authenticated, only who they are and which repositories they may
// read.
package web

import (
	"errors"
	"net/http"
)

// Auth is the sign-in seam of the dashboard. The dashboard asks it who the
// viewer is and which repositories they may read; it never decides either
// itself. web/signin implements it with GitHub's OAuth flow; tests use a small
// in-memory one.
type Auth interface {
	// Routes mounts the sign-in endpoints (/login, /oauth/callback, /logout).
	Routes(mux *http.ServeMux)
	// Viewer reports the signed-in user's GitHub login; ok is false when
	// nobody is signed in.
	Viewer(r *http.Request) (login string, ok bool)
	// CanRead reports whether the signed-in user may read repo ("owner/name"),
	// checked with the user's own token (cached briefly by the implementation).
	CanRead(r *http.Request, repo string) (bool, error)
	// CSRFToken is the token a form rendered for this request must carry.
	CSRFToken(r *http.Request) string
	// CheckCSRF rejects a state-changing request whose token does not match
	// the viewer's session.
	CheckCSRF(r *http.Request) error
}

// ErrSignInAgain is what Auth.CanRead's error wraps when the viewer's
// sign-in no longer holds (GitHub refuses their token: it expired or they
// revoked the app's authorization). The dashboard then sends them to sign in
// again instead of failing the page.
var ErrSignInAgain = errors.New("GitHub no longer accepts your sign-in; sign in again")

// CSRFField is the form field name that carries Auth.CSRFToken in the
// dashboard's POST forms; CheckCSRF implementations read it from there.
const CSRFField = "csrf_token"
