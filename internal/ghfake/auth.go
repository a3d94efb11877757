package ghfake

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"strconv"
	"strings"
	"time"

	jwt "github.com/golang-jwt/jwt/v4"
)

type installationState struct {
	id      int64
	account string
}

type tokenState struct {
	installationID int64
	expires        time.Time
	repos          map[string]bool // nil: every repo of the installation
}

// authInfo is what the Authorization header proved, before route rules are applied.
type authInfo struct {
	installationID int64
	app            bool
	token          *tokenState
	user           string // login of a user access token (ghu_)
	problem        string // why the credentials were rejected, empty if none or valid
	present        bool
}

// authenticate reads the Authorization header: an app JWT or an installation token.
func (s *Server) authenticate(r *http.Request) authInfo {
	h := r.Header.Get("Authorization")
	if h == "" {
		return authInfo{}
	}
	scheme, cred, _ := strings.Cut(h, " ")
	cred = strings.TrimSpace(cred)
	scheme = strings.ToLower(scheme)
	if scheme != "bearer" && scheme != "token" {
		return authInfo{present: true, problem: "Bad credentials"}
	}
	if strings.HasPrefix(cred, "ghu_") {
		login := s.userOfToken(cred)
		if login == "" {
			return authInfo{present: true, problem: "Bad credentials"}
		}
		return authInfo{present: true, user: login}
	}
	if strings.HasPrefix(cred, "ghs_") {
		s.mu.Lock()
		t := s.tokens[cred]
		s.mu.Unlock()
		if t == nil || time.Now().After(t.expires) {
			return authInfo{present: true, problem: "Bad credentials"}
		}
		return authInfo{present: true, installationID: t.installationID, token: t}
	}
	if problem := s.verifyJWT(cred); problem != "" {
		return authInfo{present: true, problem: problem}
	}
	return authInfo{present: true, app: true}
}

// verifyJWT checks an app JWT the way GitHub does and returns GitHub's complaint, if any.
func (s *Server) verifyJWT(raw string) string {
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(raw, claims, func(t *jwt.Token) (any, error) {
		if t.Method.Alg() != jwt.SigningMethodRS256.Alg() {
			return nil, fmt.Errorf("alg %s", t.Method.Alg())
		}
		return &s.key.PublicKey, nil
	})
	if err != nil {
		var ve *jwt.ValidationError
		if asValidation(err, &ve) && ve.Errors&jwt.ValidationErrorExpired != 0 {
			return "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires"
		}
		return "A JSON web token could not be decoded"
	}
	exp, ok := claims["exp"].(float64)
	if !ok {
		return "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires"
	}
	if time.Unix(int64(exp), 0).After(time.Now().Add(10*time.Minute + 30*time.Second)) {
		return "'Expiration time' claim ('exp') is too far in the future"
	}
	var iss string
	switch v := claims["iss"].(type) {
	case string:
		iss = v
	case float64:
		iss = strconv.FormatInt(int64(v), 10)
	}
	if iss != strconv.FormatInt(s.appID, 10) {
		return "'Issuer' claim ('iss') must be an Integer"
	}
	return ""
}

func asValidation(err error, target **jwt.ValidationError) bool {
	ve, ok := err.(*jwt.ValidationError)
	if ok {
		*target = ve
	}
	return ok
}

// authorize applies GitHub's rule for the route class; it writes the error and returns false.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request, a authInfo) bool {
	p := r.URL.Path
	parts := strings.Split(strings.Trim(p, "/"), "/")
	switch {
	case strings.HasPrefix(p, "/app-manifests/"), strings.HasPrefix(p, "/_codeload/"), strings.HasPrefix(p, "/_artifacts/"),
		strings.HasPrefix(p, "/login/oauth/"),  // the web host's OAuth flow: client credentials in the form
		strings.HasPrefix(p, "/applications/"): // Basic authentication with the OAuth client (oauth.go)
		return true
	case p == "/app" || strings.HasPrefix(p, "/app/") ||
		(len(parts) == 4 && parts[0] == "repos" && parts[3] == "installation"):
		if a.problem != "" {
			return writeError(w, http.StatusUnauthorized, a.problem)
		}
		if !a.app {
			return writeError(w, http.StatusUnauthorized,
				"A JSON web token could not be decoded")
		}
		return true
	}
	if !a.present {
		return writeError(w, http.StatusUnauthorized, "Requires authentication")
	}
	if a.problem != "" {
		return writeError(w, http.StatusUnauthorized, a.problem)
	}
	if a.app {
		return writeError(w, http.StatusForbidden,
			"A JSON web token cannot be used for this endpoint; use an installation access token")
	}
	if a.user != "" {
		return s.authorizeUser(w, r, a.user, parts)
	}
	if p == "/user" {
		// An installation is not a user.
		return writeError(w, http.StatusForbidden, "Resource not accessible by integration")
	}
	if len(parts) >= 3 && parts[0] == "repos" {
		full := parts[1] + "/" + parts[2]
		s.mu.Lock()
		rs := s.repos[strings.ToLower(full)]
		ok := rs != nil && rs.installationID == a.installationID &&
			(a.token.repos == nil || a.token.repos[strings.ToLower(rs.name)])
		s.mu.Unlock()
		if !ok {
			return writeError(w, http.StatusNotFound, "Not Found")
		}
	}
	return true
}

// authorizeUser applies the rule of user access tokens: they reach only what both the
// user and the app can reach. Conveyor reads with them and never writes, so the emulator
// honours them for reads only (GitHub would also allow writes the user's role permits).
func (s *Server) authorizeUser(w http.ResponseWriter, r *http.Request, login string, parts []string) bool {
	if r.Method != http.MethodGet {
		return writeError(w, http.StatusForbidden, "Resource not accessible by integration")
	}
	if r.URL.Path == "/user" {
		return true
	}
	if len(parts) < 3 || parts[0] != "repos" {
		return writeError(w, http.StatusForbidden, "Resource not accessible by integration")
	}
	s.mu.Lock()
	rs := s.repos[strings.ToLower(parts[1]+"/"+parts[2])]
	ok := rs != nil && s.installations[rs.installationID] != nil && rs.canUserRead(login)
	s.mu.Unlock()
	if !ok {
		// Private repositories the token cannot reach are hidden, not forbidden.
		return writeError(w, http.StatusNotFound, "Not Found")
	}
	return true
}

// handleAccessToken is POST /app/installations/{id}/access_tokens.
func (s *Server) handleAccessToken(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	var req struct {
		Repositories  []string        `json:"repositories"`
		RepositoryIDs []int64         `json:"repository_ids"`
		Permissions   json.RawMessage `json:"permissions"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.installations[id] == nil {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	var scoped map[string]bool
	var repoList []any
	if len(req.Repositories) > 0 || len(req.RepositoryIDs) > 0 {
		scoped = map[string]bool{}
		for _, rs := range s.sortedRepos() {
			if rs.installationID != id {
				continue
			}
			for _, n := range req.Repositories {
				if strings.EqualFold(n, rs.name) {
					scoped[strings.ToLower(rs.name)] = true
				}
			}
			for _, rid := range req.RepositoryIDs {
				if rid == rs.id {
					scoped[strings.ToLower(rs.name)] = true
				}
			}
			if scoped[strings.ToLower(rs.name)] {
				repoList = append(repoList, s.repoJSON(rs))
			}
		}
		if len(scoped) != len(req.Repositories)+len(req.RepositoryIDs) {
			writeValidation(w, "There is at least one repository that does not exist or is not accessible to the parent installation.")
			return
		}
	}
	tok := "ghs_" + randomAlnum(36)
	exp := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	s.tokens[tok] = &tokenState{installationID: id, expires: exp, repos: scoped}
	out := map[string]any{
		"token":                tok,
		"expires_at":           exp.Format(time.RFC3339),
		"permissions":          appPermissions(),
		"repository_selection": "selected",
	}
	if repoList != nil {
		out["repositories"] = repoList
	}
	writeJSON(w, http.StatusCreated, out)
}

// ExpireTokens makes every installation token issued so far invalid, as if an hour had passed.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.tokens {
		t.expires = time.Now().Add(-time.Second)
	}
}

func appPermissions() map[string]string {
	return map[string]string{
		"checks": "write", "contents": "read", "deployments": "write", "issues": "write",
		"metadata": "read", "pull_requests": "write", "statuses": "write", "actions": "write",
		"members": "read",
	}
}

func appEvents() []string {
	return []string{"check_run", "check_suite", "deployment_status", "issue_comment", "pull_request",
		"push", "status", "workflow_run", "membership", "installation", "installation_repositories"}
}

const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

func randomAlnum(n int) string {
	b := make([]byte, n)
	for i := range b {
		v, err := rand.Int(rand.Reader, big.NewInt(int64(len(alnum))))
		if err != nil {
			panic(err)
		}
		b[i] = alnum[v.Int64()]
	}
	return string(b)
}
