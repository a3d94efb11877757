package ghfake

// The web application flow of a GitHub App's user access tokens ("user-to-server"), as
// GitHub serves it on the web host (github.com, or the Enterprise host without /api/v3):
//
//	GET  /login/oauth/authorize     the user approves; GitHub redirects to the callback
//	POST /login/oauth/access_token  the app exchanges the code (or a refresh token)
//
// Rules followed, from GitHub's documentation ("Generating a user access token for a
// GitHub App", "Refreshing user access tokens", "Troubleshooting authorization request
// errors", "Troubleshooting OAuth app access token request errors", and the 2025-07-14
// changelog "PKCE support for OAuth and GitHub App authentication"):
//   - redirect_uri must match one of the app's callback URLs exactly; a mismatch at
//     authorization redirects to the first registered callback with
//     error=redirect_uri_mismatch; at exchange it answers that error;
//   - the exchange answers 200 even for errors, with {"error": ..., "error_description":
//     ..., "error_uri": ...}: incorrect_client_credentials, bad_verification_code (wrong,
//     expired, reused or another app's code), redirect_uri_mismatch; refresh answers
//     bad_refresh_token;
//   - the answer is JSON with "Accept: application/json", form-encoded otherwise;
//   - codes live 10 minutes and are single use; with token expiry on (GitHub's default for
//     new apps) the token is ghu_..., lives 8 hours (expires_in 28800) and comes with a
//     ghr_... refresh token living about 6 months; scope is empty (fine-grained
//     permissions instead);
//   - PKCE: only S256; a code bound to a challenge needs the matching code_verifier.
//   - a user access token reaches only what both the user and the app can reach.
//
// These endpoints are not part of the REST API, so GitHub's OpenAPI description (the
// contract) does not describe them; the contract check skips them. Where GitHub's exact
// answer is undocumented (a challenge method other than S256), the emulator picks the
// nearest documented one and says so.

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

const (
	oauthCodeLife    = 10 * time.Minute
	userTokenLife    = 8 * time.Hour
	refreshTokenLife = 184 * 24 * time.Hour // GitHub: refresh_token_expires_in 15897600
)

// oauthState is the app's OAuth client registration and what the flow has handed out;
// guarded by Server.mu.
type oauthState struct {
	clientID, clientSecret string
	callbacks              []string
	autoLogin              string // approve as this user without showing the form
	codes                  map[string]*oauthCode
	userTokens             map[string]*userToken
	refresh                map[string]*userToken // refresh token -> the token it renews
}

type oauthCode struct {
	clientID, redirectURI, login, challenge string
	expires                                 time.Time
}

type userToken struct {
	token, refresh string
	login          string
	expires        time.Time
	refreshExpires time.Time
}

func (o *oauthState) init() {
	o.clientID = "Iv1." + strings.ToLower(randomAlnum(16))
	o.clientSecret = strings.ToLower(randomAlnum(40))
	o.codes = map[string]*oauthCode{}
	o.userTokens = map[string]*userToken{}
	o.refresh = map[string]*userToken{}
}

// OAuthClient returns the app's client ID and client secret, the credentials of
// POST /login/oauth/access_token (GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET).
func (s *Server) OAuthClient() (id, secret string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.oauth.clientID, s.oauth.clientSecret
}

// SetOAuthCallbackURLs registers the app's callback URLs (its "Callback URL" settings):
// the redirect_uri values the authorization flow accepts.
func (s *Server) SetOAuthCallbackURLs(urls ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.oauth.callbacks = slices.Clone(urls)
}

// AutoAuthorize makes GET /login/oauth/authorize approve at once as login, as GitHub
// does for a signed-in user who authorized the app before; "" shows the emulator's
// form, where the visitor picks a user. The login must be a registered user.
func (s *Server) AutoAuthorize(login string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if login != "" {
		s.registerUser(login)
	}
	s.oauth.autoLogin = login
}

// UserTokens lists every user access and refresh token handed out so far (for tests
// that make sure none leaks where it must not).
func (s *Server) UserTokens() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, t := range s.oauth.userTokens {
		out = append(out, t.token, t.refresh)
	}
	slices.Sort(out)
	return out
}

// ExpireUserTokens makes every user access token issued so far invalid, as if eight
// hours had passed; refresh tokens stay valid.
func (s *Server) ExpireUserTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.oauth.userTokens {
		t.expires = time.Now().Add(-time.Second)
	}
}

// userOfToken returns the login a live user access token belongs to, or "".
func (s *Server) userOfToken(tok string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.oauth.userTokens[tok]
	if t == nil || time.Now().After(t.expires) {
		return ""
	}
	return t.login
}

// canUserRead reports whether login may read rs: a collaborator with any role but
// "none" (every emulated repository is private); callers hold s.mu.
func (rs *repoState) canUserRead(login string) bool {
	perm, ok := rs.perms[strings.ToLower(login)]
	return ok && perm != "none"
}

func (s *Server) oauthRoutes() {
	s.mux.HandleFunc("GET /login/oauth/authorize", s.handleAuthorize)
	s.mux.HandleFunc("POST /login/oauth/authorize", s.handleAuthorize)
	s.mux.HandleFunc("POST /login/oauth/access_token", s.handleOAuthToken)
	s.mux.HandleFunc("GET /user", s.handleGetUser)
	s.mux.HandleFunc("DELETE /applications/{client_id}/token", s.handleDeleteToken)
}

// handleDeleteToken is DELETE /applications/{client_id}/token ("Delete an app
// token"): the app revokes one user's token, authenticating with Basic
// authentication, its client ID and secret as user and password. Wrong
// credentials and an unknown token are answered 404, as GitHub hides what a
// caller may not see; a body without access_token is 422.
func (s *Server) handleDeleteToken(w http.ResponseWriter, r *http.Request) {
	user, pass, ok := r.BasicAuth()
	var req struct {
		AccessToken string `json:"access_token"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o := &s.oauth
	if !ok || user != r.PathValue("client_id") ||
		subtle.ConstantTimeCompare([]byte(user), []byte(o.clientID)) != 1 ||
		subtle.ConstantTimeCompare([]byte(pass), []byte(o.clientSecret)) != 1 {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	if req.AccessToken == "" {
		writeValidation(w, "Invalid request.\n\n\"access_token\" wasn't supplied.")
		return
	}
	t := o.userTokens[req.AccessToken]
	if t == nil {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	delete(o.userTokens, t.token)
	delete(o.refresh, t.refresh)
	w.WriteHeader(http.StatusNoContent)
}

// onWebHost reports whether the request came to the web host rather than under /api/v3:
// GitHub Enterprise serves the OAuth endpoints at the host root only.
func onWebHost(w http.ResponseWriter, r *http.Request) bool {
	if prefix, _ := r.Context().Value(prefixKey).(string); prefix != "" {
		http.NotFound(w, r)
		return false
	}
	return true
}

var authorizePage = template.Must(template.New("authorize").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>Authorize {{.App}}</title></head>
<body><h1>Authorize {{.App}}</h1>
<p>GitHub emulator: choose who signs in. {{.App}} will act on your behalf where you and the app both have access.</p>
<form method="post" action="/login/oauth/authorize">
{{range $k, $v := .Params}}<input type="hidden" name="{{$k}}" value="{{$v}}">
{{end}}<label>User <select name="login">{{range .Users}}<option>{{.}}</option>{{end}}</select></label>
<button type="submit" name="decision" value="authorize">Authorize {{.App}}</button>
<button type="submit" name="decision" value="cancel">Cancel</button>
</form></body></html>
`))

// handleAuthorize is the user's side of the flow: GET asks (or approves at once for the
// AutoAuthorize user), POST carries the emulator form's answer.
func (s *Server) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	if !onWebHost(w, r) {
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, "Bad Request", http.StatusBadRequest)
		return
	}
	q := r.Form
	s.mu.Lock()
	defer s.mu.Unlock()
	o := &s.oauth
	if q.Get("client_id") != o.clientID {
		// GitHub shows its 404 page for an unknown client_id.
		http.NotFound(w, r)
		return
	}
	if len(o.callbacks) == 0 {
		http.Error(w, "The app has no callback URL; add one in its settings.", http.StatusBadRequest)
		return
	}
	state := q.Get("state")
	redirect := q.Get("redirect_uri")
	if redirect == "" {
		redirect = o.callbacks[0]
	} else if !slices.Contains(o.callbacks, redirect) {
		redirectError(w, r, o.callbacks[0], state, "redirect_uri_mismatch",
			"The redirect_uri MUST match the registered callback URL for this application.",
			"/apps/managing-oauth-apps/troubleshooting-authorization-request-errors/#redirect-uri-mismatch")
		return
	}
	challenge := q.Get("code_challenge")
	if m := q.Get("code_challenge_method"); challenge != "" && m != "S256" {
		// GitHub accepts only S256; its answer to another method is undocumented, so
		// this is the RFC 6749 error for a malformed request.
		redirectError(w, r, redirect, state, "invalid_request", "Only the S256 code_challenge_method is supported.", "")
		return
	}
	login := o.autoLogin
	if r.Method == http.MethodPost {
		if q.Get("decision") != "authorize" {
			redirectError(w, r, redirect, state, "access_denied", "The user has denied your application access.",
				"/apps/managing-oauth-apps/troubleshooting-authorization-request-errors/#access-denied")
			return
		}
		login = q.Get("login")
		if _, known := s.users[strings.ToLower(login)]; !known || s.userType(login) != "User" {
			http.Error(w, "Unknown user "+login, http.StatusUnprocessableEntity)
			return
		}
	}
	if login == "" {
		params := map[string]string{}
		for _, k := range []string{"client_id", "redirect_uri", "state", "code_challenge", "code_challenge_method"} {
			if v := q.Get(k); v != "" {
				params[k] = v
			}
		}
		var users []string
		for l, typ := range s.users {
			if typ == "User" {
				users = append(users, l)
			}
		}
		slices.Sort(users)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = authorizePage.Execute(w, map[string]any{"App": s.appSlug, "Params": params, "Users": users})
		return
	}
	code := strings.ToLower(randomAlnum(20))
	o.codes[code] = &oauthCode{clientID: o.clientID, redirectURI: q.Get("redirect_uri"), login: login,
		challenge: challenge, expires: time.Now().Add(oauthCodeLife)}
	v := url.Values{"code": {code}}
	if state != "" {
		v.Set("state", state)
	}
	http.Redirect(w, r, withQuery(redirect, v), http.StatusFound)
}

func redirectError(w http.ResponseWriter, r *http.Request, callback, state, code, desc, uri string) {
	v := url.Values{"error": {code}, "error_description": {desc}}
	if uri != "" {
		v.Set("error_uri", uri)
	}
	if state != "" {
		v.Set("state", state)
	}
	http.Redirect(w, r, withQuery(callback, v), http.StatusFound)
}

func withQuery(u string, v url.Values) string {
	if strings.Contains(u, "?") {
		return u + "&" + v.Encode()
	}
	return u + "?" + v.Encode()
}

// handleOAuthToken exchanges a code, or a refresh token, for a user access token.
func (s *Server) handleOAuthToken(w http.ResponseWriter, r *http.Request) {
	if !onWebHost(w, r) {
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, "Bad Request", http.StatusBadRequest)
		return
	}
	q := r.Form
	s.mu.Lock()
	defer s.mu.Unlock()
	o := &s.oauth
	if subtle.ConstantTimeCompare([]byte(q.Get("client_id")), []byte(o.clientID)) != 1 ||
		subtle.ConstantTimeCompare([]byte(q.Get("client_secret")), []byte(o.clientSecret)) != 1 {
		oauthError(w, r, "incorrect_client_credentials", "The client_id and/or client_secret passed are incorrect.",
			"/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#incorrect-client-credentials")
		return
	}
	var login string
	switch q.Get("grant_type") {
	case "", "authorization_code":
		code := o.codes[q.Get("code")]
		delete(o.codes, q.Get("code")) // single use, whatever the outcome
		badCode := func() {
			oauthError(w, r, "bad_verification_code", "The code passed is incorrect or expired.",
				"/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#bad-verification-code")
		}
		if code == nil || code.clientID != o.clientID || time.Now().After(code.expires) {
			badCode()
			return
		}
		if ru := q.Get("redirect_uri"); ru != "" && (code.redirectURI != "" && ru != code.redirectURI ||
			code.redirectURI == "" && !slices.Contains(o.callbacks, ru)) {
			oauthError(w, r, "redirect_uri_mismatch", "The redirect_uri MUST match the registered callback URL for this application.",
				"/apps/managing-oauth-apps/troubleshooting-authorization-request-errors/#redirect-uri-mismatch2")
			return
		}
		if code.challenge != "" && !pkceMatches(code.challenge, q.Get("code_verifier")) {
			badCode()
			return
		}
		login = code.login
	case "refresh_token":
		old := o.refresh[q.Get("refresh_token")]
		if old == nil || time.Now().After(old.refreshExpires) {
			oauthError(w, r, "bad_refresh_token", "The refresh token passed is incorrect or expired.",
				"/apps/creating-github-apps/authenticating-with-a-github-app/refreshing-user-access-tokens")
			return
		}
		// A refresh retires the old pair.
		delete(o.refresh, old.refresh)
		delete(o.userTokens, old.token)
		login = old.login
	default:
		oauthError(w, r, "unsupported_grant_type", "The grant type is not supported.", "")
		return
	}
	now := time.Now()
	t := &userToken{token: "ghu_" + randomAlnum(36), refresh: "ghr_" + randomAlnum(76), login: login,
		expires: now.Add(userTokenLife), refreshExpires: now.Add(refreshTokenLife)}
	o.userTokens[t.token] = t
	o.refresh[t.refresh] = t
	oauthAnswer(w, r, [][2]any{
		{"access_token", t.token}, {"expires_in", int(userTokenLife / time.Second)},
		{"refresh_token", t.refresh}, {"refresh_token_expires_in", int(refreshTokenLife / time.Second)},
		{"scope", ""}, {"token_type", "bearer"},
	})
}

// pkceMatches checks RFC 7636's S256: BASE64URL(SHA256(verifier)) == challenge.
func pkceMatches(challenge, verifier string) bool {
	if verifier == "" {
		return false
	}
	sum := sha256.Sum256([]byte(verifier))
	return subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(challenge)) == 1
}

func oauthError(w http.ResponseWriter, r *http.Request, code, desc, uri string) {
	fields := [][2]any{{"error", code}, {"error_description", desc}}
	if uri != "" {
		fields = append(fields, [2]any{"error_uri", "https://docs.github.com" + uri})
	}
	oauthAnswer(w, r, fields)
}

// oauthAnswer writes fields with status 200 (GitHub's status for errors here too), as
// JSON when the client accepts it and form-encoded otherwise.
func oauthAnswer(w http.ResponseWriter, r *http.Request, fields [][2]any) {
	if strings.Contains(r.Header.Get("Accept"), "application/json") {
		m := map[string]any{}
		for _, f := range fields {
			m[f[0].(string)] = f[1]
		}
		writeJSON(w, http.StatusOK, m)
		return
	}
	v := url.Values{}
	for _, f := range fields {
		switch x := f[1].(type) {
		case string:
			v.Set(f[0].(string), x)
		case int:
			v.Set(f[0].(string), strconv.Itoa(x))
		}
	}
	w.Header().Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(v.Encode()))
}

// handleGetUser is GET /user: the user a user access token belongs to (the outer handler
// has refused every other credential).
func (s *Server) handleGetUser(w http.ResponseWriter, r *http.Request) {
	_, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	login := s.userOfToken(strings.TrimSpace(tok))
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.userJSON(login)
	// GitHub answers the token's own user as a private-user.
	created := "2020-01-01T00:00:00Z"
	for k, v := range map[string]any{
		"name": login, "company": nil, "blog": "", "location": nil, "email": nil, "hireable": nil, "bio": nil,
		"twitter_username": nil, "public_repos": 0, "public_gists": 0, "followers": 0, "following": 0,
		"created_at": created, "updated_at": created, "private_gists": 0, "total_private_repos": 0,
		"owned_private_repos": 0, "disk_usage": 0, "collaborators": 0, "two_factor_authentication": true,
	} {
		u[k] = v
	}
	writeJSON(w, http.StatusOK, u)
}
