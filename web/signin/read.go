package signin

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/conveyor-dev/conveyor/web"
)

// ErrSignInAgain means GitHub no longer accepts the session's token (it
// expired or the user revoked the app's authorization); the dashboard sends
// the viewer to sign in again.
var ErrSignInAgain = web.ErrSignInAgain

// readKey identifies one answer: the token that asked (never stored in the
// clear) and the repository.
type readKey struct {
	token [32]byte
	repo  string
}

type readAnswer struct {
	ok bool
	at time.Time
}

// CanRead reports whether the signed-in user may read repo ("owner/name"),
// as GitHub answers GET /repos/{owner}/{repo} with the user's own token: 200
// is yes; 404 and 403 are no (GitHub hides private repositories a token
// cannot reach behind 404, and a user access token reaches only what both the
// user and the app reach). Answers are reused for ReadCacheTTL, so a revoked
// permission shows within that time.
func (a *Auth) CanRead(r *http.Request, repo string) (bool, error) {
	s, ok := a.session(r)
	if !ok {
		return false, ErrNotSignedIn
	}
	owner, name, ok := strings.Cut(repo, "/")
	if !ok || owner == "" || name == "" || strings.ContainsAny(name, "/?#") || strings.ContainsAny(owner, "?#") {
		return false, fmt.Errorf("%q is not a repository; write owner/name", repo)
	}
	key := readKey{token: sha256.Sum256([]byte(s.Token)), repo: strings.ToLower(repo)}
	if ans, ok := a.reads.Get(key); ok && a.now().Sub(ans.at) < a.cfg.ReadCacheTTL {
		return ans.ok, nil
	}
	status, err := a.get(r.Context(), s.Token, "/repos/"+url.PathEscape(owner)+"/"+url.PathEscape(name), nil)
	if err != nil {
		return false, err
	}
	var yes bool
	switch status {
	case http.StatusOK:
		yes = true
	case http.StatusNotFound, http.StatusForbidden:
	case http.StatusUnauthorized:
		return false, ErrSignInAgain
	default:
		return false, fmt.Errorf("GitHub answered %d to GET /repos/%s with your token", status, repo)
	}
	a.reads.Add(key, readAnswer{ok: yes, at: a.now()})
	return yes, nil
}

// user asks GitHub whose token this is.
func (a *Auth) user(ctx context.Context, token string) (string, error) {
	var u struct {
		Login string `json:"login"`
	}
	status, err := a.get(ctx, token, "/user", &u)
	if err != nil {
		return "", err
	}
	if status != http.StatusOK || u.Login == "" {
		return "", fmt.Errorf("GET /user answered %d", status)
	}
	return u.Login, nil
}

// get sends an authenticated GET to the REST API and decodes a 200's JSON
// into out (when not nil).
func (a *Auth) get(ctx context.Context, token, path string, out any) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.cfg.APIURL+path, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
	resp, err := a.cfg.HTTPClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("ask GitHub (GET %s): %w", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return 0, fmt.Errorf("read GitHub's answer to GET %s: %w", path, err)
	}
	if resp.StatusCode == http.StatusOK && out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			return 0, fmt.Errorf("GitHub's answer to GET %s is not JSON: %w", path, err)
		}
	}
	return resp.StatusCode, nil
}

// revoke asks GitHub to delete the user's token ("Delete an app token":
// DELETE /applications/{client_id}/token, Basic authentication with the
// OAuth client).
func (a *Auth) revoke(ctx context.Context, token string) error {
	body, _ := json.Marshal(map[string]string{"access_token": token})
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete,
		a.cfg.APIURL+"/applications/"+url.PathEscape(a.cfg.ClientID)+"/token", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.SetBasicAuth(a.cfg.ClientID, a.cfg.ClientSecret)
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
	resp, err := a.cfg.HTTPClient.Do(req)
	if err != nil {
		return fmt.Errorf("DELETE /applications/{client_id}/token: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("DELETE /applications/{client_id}/token answered %d", resp.StatusCode)
	}
	return nil
}

// oauth2NewContext hands the configured HTTP client to the oauth2 package.
func oauth2NewContext(r *http.Request, hc *http.Client) context.Context {
	return context.WithValue(r.Context(), oauth2.HTTPClient, hc)
}
