// Package signin is the dashboard's "Sign in with GitHub": the GitHub App's
// user-to-server OAuth web flow (with state bound to the browser and PKCE),
// the session cookie it ends in, the CSRF token of every form, and the check
// that the signed-in user may read a repository, asked of GitHub with the
// user's own token and remembered briefly.
//
// It implements the web package's Auth seam and owns nothing else: it never
// decides who may approve or deploy (the policy does, through the same paths
// as Slack and /approve), and it never lets the browser read the user's token
// (the session cookie is sealed with AES-GCM).
package signin

import (
	"crypto/subtle"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/oauth2"

	"github.com/conveyor-dev/conveyor/web"
)

// CSRFField is the form field that carries the CSRF token (the dashboard's
// forms name it); scripts may send the token in the CSRFHeader instead.
const (
	CSRFField  = web.CSRFField
	CSRFHeader = "X-CSRF-Token"
)

// loginLife bounds how long a started sign-in may take; GitHub's codes live
// ten minutes.
const loginLife = 10 * time.Minute

// Auth signs users in with GitHub and answers the dashboard's questions about
// them. It is safe for concurrent use.
type Auth struct {
	cfg           Config
	oauth         *oauth2.Config
	seal          *sealer
	secure        bool
	origin        string // scheme://host of the public address
	sessionCookie string
	stateCookie   string
	reads         *lru.Cache[readKey, readAnswer]
	log           *slog.Logger
}

// New checks cfg and builds the sign-in.
func New(cfg Config) (*Auth, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 8 * time.Hour
	}
	if cfg.ReadCacheTTL <= 0 {
		cfg.ReadCacheTTL = 60 * time.Second
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 15 * time.Second}
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	cfg.GitHubURL = strings.TrimRight(cfg.GitHubURL, "/")
	cfg.APIURL = strings.TrimRight(cfg.APIURL, "/")
	seal, err := newSealer(cfg.SessionKey)
	if err != nil {
		return nil, err
	}
	reads, err := lru.New[readKey, readAnswer](10000)
	if err != nil {
		return nil, err
	}
	pub, _ := url.Parse(cfg.PublicURL) // validated above
	a := &Auth{
		cfg: cfg,
		// The GitHub App's endpoints on the web host ("Generating a user access
		// token for a GitHub App"); client credentials go in the form, as
		// GitHub documents them.
		oauth: &oauth2.Config{
			ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret,
			RedirectURL: cfg.PublicURL + CallbackPath,
			Endpoint: oauth2.Endpoint{
				AuthURL:   cfg.GitHubURL + "/login/oauth/authorize",
				TokenURL:  cfg.GitHubURL + "/login/oauth/access_token",
				AuthStyle: oauth2.AuthStyleInParams,
			},
		},
		seal:   seal,
		secure: pub.Scheme == "https",
		origin: pub.Scheme + "://" + pub.Host,
		reads:  reads,
		log:    cfg.Log,
	}
	a.sessionCookie = a.cookieName("conveyor_session")
	a.stateCookie = a.cookieName("conveyor_signin")
	return a, nil
}

func (a *Auth) now() time.Time { return a.cfg.Now() }

// Routes mounts GET /login, GET /oauth/callback, GET and POST /logout.
func (a *Auth) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /login", a.serveLogin)
	mux.HandleFunc("GET "+CallbackPath, a.serveCallback)
	mux.HandleFunc("GET /logout", a.serveLogoutPage)
	mux.HandleFunc("POST /logout", a.serveLogout)
}

// LoginURL is where to send a visitor who must sign in before seeing next (a
// path on the dashboard).
func LoginURL(next string) string {
	return "/login?" + url.Values{"next": {localPath(next)}}.Encode()
}

// localPath keeps next only when it is a path on this site, so a crafted
// link cannot send a freshly signed-in user elsewhere. Browsers read "/\x"
// as "//x" and drop tabs and newlines from addresses, so those are refused
// too.
func localPath(next string) string {
	if next == "" || next[0] != '/' || strings.HasPrefix(next, "//") ||
		strings.ContainsFunc(next, func(r rune) bool { return r == '\\' || r < 0x20 || r == 0x7f }) {
		return "/"
	}
	if u, err := url.Parse(next); err != nil || u.Scheme != "" || u.Host != "" {
		return "/"
	}
	return next
}

// serveLogin starts the flow: a fresh state and PKCE verifier, sealed in a
// cookie of this browser, and a redirect to GitHub's authorize page.
func (a *Auth) serveLogin(w http.ResponseWriter, r *http.Request) {
	st := loginState{State: randomToken(), Verifier: oauth2.GenerateVerifier(),
		Next: localPath(r.URL.Query().Get("next")), Expires: a.now().Add(loginLife).Unix()}
	val, err := a.seal.seal(purposeLogin, st)
	if err != nil {
		a.page(w, http.StatusInternalServerError, "Sign-in failed", "Conveyor could not start the sign-in: "+err.Error(), "")
		return
	}
	http.SetCookie(w, a.cookie(a.stateCookie, val, a.now().Add(loginLife)))
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, a.oauth.AuthCodeURL(st.State, oauth2.S256ChallengeOption(st.Verifier)), http.StatusFound)
}

// serveCallback finishes the flow GitHub redirected back to.
func (a *Auth) serveCallback(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer") // the code is in this URL
	q := r.URL.Query()
	var st loginState
	c, err := r.Cookie(a.stateCookie)
	if err != nil || !a.seal.open(purposeLogin, c.Value, &st) || a.now().Unix() >= st.Expires ||
		subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(st.State)) != 1 {
		// Login CSRF: a redirect this browser did not start must not sign it in.
		a.log.Warn("sign-in callback refused: state does not match this browser's", "has_cookie", err == nil)
		a.page(w, http.StatusBadRequest, "Sign-in not started here",
			"This sign-in was not started in this browser, or took longer than ten minutes. Sign in again.", "/login")
		return
	}
	http.SetCookie(w, a.cookie(a.stateCookie, "", time.Time{}))
	if e := q.Get("error"); e != "" {
		a.page(w, http.StatusForbidden, "GitHub did not sign you in",
			"GitHub answered "+e+": "+q.Get("error_description"), LoginURL(st.Next))
		return
	}
	ctx := oauth2NewContext(r, a.cfg.HTTPClient)
	tok, err := a.oauth.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(st.Verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		msg := "GitHub refused the sign-in code: " + err.Error()
		if errors.As(err, &re) && re.ErrorCode != "" {
			msg = "GitHub refused the sign-in code (" + re.ErrorCode + ": " + re.ErrorDescription + ")."
			if re.ErrorCode == "incorrect_client_credentials" {
				msg += " Check GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET against the app's settings page."
			}
		}
		a.log.Warn("sign-in code exchange failed", "err", msg)
		a.page(w, http.StatusBadGateway, "Sign-in failed", msg, LoginURL(st.Next))
		return
	}
	login, err := a.user(ctx, tok.AccessToken)
	if err != nil {
		a.log.Warn("sign-in: GET /user failed", "err", err)
		a.page(w, http.StatusBadGateway, "Sign-in failed", "GitHub did not say who you are: "+err.Error(), LoginURL(st.Next))
		return
	}
	expires := a.now().Add(a.cfg.SessionTTL)
	if !tok.Expiry.IsZero() && tok.Expiry.Before(expires) {
		expires = tok.Expiry // the token cannot answer CanRead after that
	}
	s := session{Login: login, Token: tok.AccessToken, CSRF: randomToken(), Expires: expires.Unix()}
	val, err := a.seal.seal(purposeSession, s)
	if err != nil {
		a.page(w, http.StatusInternalServerError, "Sign-in failed", err.Error(), "")
		return
	}
	http.SetCookie(w, a.cookie(a.sessionCookie, val, expires))
	a.log.Info("signed in", "login", login)
	http.Redirect(w, r, st.Next, http.StatusFound)
}

// Viewer reports the signed-in user's login.
func (a *Auth) Viewer(r *http.Request) (string, bool) {
	s, ok := a.session(r)
	if !ok {
		return "", false
	}
	return s.Login, true
}

// CSRFToken is the token forms rendered for this request carry in
// CSRFField; "" when nobody is signed in.
func (a *Auth) CSRFToken(r *http.Request) string {
	s, ok := a.session(r)
	if !ok {
		return ""
	}
	return s.CSRF
}

// Errors of CheckCSRF.
var (
	ErrNotSignedIn = errors.New("not signed in: sign in with GitHub first")
	ErrCSRF        = errors.New("the form's CSRF token does not match this session; reload the page and try again")
	ErrCrossOrigin = errors.New("the request comes from another site")
)

// CheckCSRF accepts a state-changing request only from the signed-in
// session's own pages: the token in CSRFField (or CSRFHeader) must be the
// session's, and a browser-sent Origin must be the dashboard's.
func (a *Auth) CheckCSRF(r *http.Request) error {
	s, ok := a.session(r)
	if !ok {
		return ErrNotSignedIn
	}
	if o := r.Header.Get("Origin"); o != "" && o != a.origin {
		return ErrCrossOrigin
	}
	got := r.Header.Get(CSRFHeader)
	if got == "" {
		got = r.PostFormValue(CSRFField)
	}
	if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(s.CSRF)) != 1 {
		return ErrCSRF
	}
	return nil
}

// serveLogoutPage answers a GET /logout (a link) with a button: signing out
// changes state, so it takes a POST with the CSRF token.
func (a *Auth) serveLogoutPage(w http.ResponseWriter, r *http.Request) {
	s, ok := a.session(r)
	if !ok {
		http.Redirect(w, r, "/", http.StatusFound)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	pageHeaders(w)
	_ = logoutTemplate.Execute(w, map[string]string{"Title": "Sign out", "Login": s.Login, "Field": CSRFField, "Token": s.CSRF})
}

// serveLogout ends the session: the cookie is cleared and the user's token
// revoked at GitHub, so a copy of the cookie taken earlier reads nothing.
func (a *Auth) serveLogout(w http.ResponseWriter, r *http.Request) {
	if err := a.CheckCSRF(r); err != nil && !errors.Is(err, ErrNotSignedIn) {
		a.page(w, http.StatusForbidden, "Not signed out", err.Error(), "/logout")
		return
	}
	if s, ok := a.session(r); ok {
		if err := a.revoke(r.Context(), s.Token); err != nil {
			a.log.Warn("sign-out: GitHub did not revoke the token; it lapses when it expires", "login", s.Login, "err", err)
		}
	}
	http.SetCookie(w, a.cookie(a.sessionCookie, "", time.Time{}))
	// A page, not a redirect to the dashboard: that would send the visitor
	// straight back through GitHub, which signs an authorized user in again.
	w.Header().Set("Cache-Control", "no-store")
	a.page(w, http.StatusOK, "Signed out", "You are signed out of Conveyor in this browser. Your GitHub session is unchanged.", "/login")
}
