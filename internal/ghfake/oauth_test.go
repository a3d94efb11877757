package ghfake

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v66/github"
	"golang.org/x/oauth2"
)

const testCallback = "https://conveyor.example.com/oauth/callback"

// oauthFixture is an emulator with acme/web (dev reads, intern has role none) and
// acme/secret (nobody but sre-alice reads), the callback registered.
func oauthFixture(t *testing.T) *Server {
	t.Helper()
	s := NewTest(t)
	s.AddRepo("acme/web", "main", testInstallation)
	s.AddRepo("acme/secret", "main", testInstallation)
	s.SetPermission("acme/web", "dev", "read")
	s.SetPermission("acme/web", "intern", "none")
	s.SetPermission("acme/secret", "sre-alice", "admin")
	s.SetOAuthCallbackURLs(testCallback)
	return s
}

func oauthConfig(s *Server) *oauth2.Config {
	id, secret := s.OAuthClient()
	return &oauth2.Config{ClientID: id, ClientSecret: secret, RedirectURL: testCallback,
		Endpoint: oauth2.Endpoint{AuthURL: s.URL() + "/login/oauth/authorize", TokenURL: s.URL() + "/login/oauth/access_token",
			AuthStyle: oauth2.AuthStyleInParams}}
}

// noRedirect is a client that hands back redirects instead of following them.
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// authorize runs GET authorizeURL and returns the query of the redirect GitHub sends.
func authorize(t *testing.T, authorizeURL string) (string, url.Values) {
	t.Helper()
	resp, err := noRedirect.Get(authorizeURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("authorize = %d, want 302", resp.StatusCode)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	q := loc.Query()
	loc.RawQuery = ""
	return loc.String(), q
}

func userClient(t *testing.T, s *Server, tok *oauth2.Token) *github.Client {
	t.Helper()
	return clientAt(t, oauth2.NewClient(ctx, oauth2.StaticTokenSource(tok)), s.URL()+"/")
}

func TestOAuthWebFlowWithPKCE(t *testing.T) {
	s := oauthFixture(t)
	s.AutoAuthorize("dev")
	conf := oauthConfig(s)
	verifier := oauth2.GenerateVerifier()
	to, q := authorize(t, conf.AuthCodeURL("st-1", oauth2.S256ChallengeOption(verifier)))
	if to != testCallback || q.Get("state") != "st-1" || q.Get("code") == "" {
		t.Fatalf("redirect = %s %v, want the callback with a code and state st-1", to, q)
	}
	tok, err := conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	if !strings.HasPrefix(tok.AccessToken, "ghu_") || !strings.HasPrefix(tok.RefreshToken, "ghr_") || tok.TokenType != "bearer" {
		t.Errorf("token = %q %q %q, want ghu_, ghr_, bearer", tok.AccessToken, tok.RefreshToken, tok.TokenType)
	}
	if left := time.Until(tok.Expiry); left < 7*time.Hour || left > 9*time.Hour {
		t.Errorf("token expires in %s, want about 8h", left)
	}

	gh := userClient(t, s, tok)
	u, _, err := gh.Users.Get(ctx, "")
	if err != nil || u.GetLogin() != "dev" {
		t.Fatalf("GET /user = %v, %v; want dev", u.GetLogin(), err)
	}
	if _, _, err := gh.Repositories.Get(ctx, "acme", "web"); err != nil {
		t.Errorf("dev reads acme/web: %v", err)
	}
	if _, _, err := gh.Repositories.Get(ctx, "acme", "secret"); statusOf(err) != http.StatusNotFound {
		t.Errorf("dev reads acme/secret: %v, want 404", err)
	}
	if _, _, err := gh.Issues.CreateComment(ctx, "acme", "web", 1, &github.IssueComment{Body: github.String("hi")}); statusOf(err) != http.StatusForbidden {
		t.Errorf("a write with a user token = %v, want 403", err)
	}
	calls := s.CallsMatching("GET", "/user")
	if len(calls) != 1 || calls[0].User != "dev" || calls[0].InstallationID != 0 {
		t.Errorf("GET /user recorded as %+v, want user dev", calls)
	}
}

func TestOAuthUserTokenSeesOnlyWhatTheUserReads(t *testing.T) {
	s := oauthFixture(t)
	s.AutoAuthorize("intern")
	conf := oauthConfig(s)
	_, q := authorize(t, conf.AuthCodeURL("x"))
	tok, err := conf.Exchange(ctx, q.Get("code"))
	if err != nil {
		t.Fatal(err)
	}
	gh := userClient(t, s, tok)
	if _, _, err := gh.Repositories.Get(ctx, "acme", "web"); statusOf(err) != http.StatusNotFound {
		t.Errorf("intern (role none) reads acme/web: %v, want 404", err)
	}
	if _, _, err := gh.Repositories.Get(ctx, "acme", "nothere"); statusOf(err) != http.StatusNotFound {
		t.Errorf("missing repo: %v, want 404", err)
	}
	s.ExpireUserTokens()
	if _, _, err := gh.Users.Get(ctx, ""); statusOf(err) != http.StatusUnauthorized {
		t.Errorf("expired token: %v, want 401", err)
	}
	// The refresh token renews it once; the old refresh token is then spent.
	fresh, err := conf.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken, Expiry: time.Now().Add(-time.Minute)}).Token()
	if err != nil || fresh.AccessToken == tok.AccessToken {
		t.Fatalf("refresh = %v, %v; want a new token", fresh, err)
	}
	if u, _, err := userClient(t, s, fresh).Users.Get(ctx, ""); err != nil || u.GetLogin() != "intern" {
		t.Errorf("refreshed token: %v %v", u.GetLogin(), err)
	}
	_, err = conf.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken, Expiry: time.Now().Add(-time.Minute)}).Token()
	if code := retrieveCode(err); code != "bad_refresh_token" {
		t.Errorf("reused refresh token: %v, want bad_refresh_token", err)
	}
}

func retrieveCode(err error) string {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		return re.ErrorCode
	}
	return ""
}

// exchangeForm posts form to the token endpoint with accept and returns status, type and body.
func exchangeForm(t *testing.T, s *Server, accept string, form url.Values) (int, string, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", s.URL()+"/login/oauth/access_token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
}

func TestOAuthExchangeRefusesWhatGitHubRefuses(t *testing.T) {
	s := oauthFixture(t)
	s.AutoAuthorize("dev")
	conf := oauthConfig(s)
	id, secret := s.OAuthClient()
	code := func(opts ...oauth2.AuthCodeOption) string {
		_, q := authorize(t, conf.AuthCodeURL("s", opts...))
		return q.Get("code")
	}
	errorOf := func(body string) string {
		var m map[string]string
		if err := json.Unmarshal([]byte(body), &m); err != nil {
			t.Fatalf("answer %q is not JSON: %v", body, err)
		}
		return m["error"]
	}
	cases := []struct {
		name string
		form url.Values
		want string
	}{
		{"wrong secret", url.Values{"client_id": {id}, "client_secret": {"nope"}, "code": {code()}}, "incorrect_client_credentials"},
		{"unknown client", url.Values{"client_id": {"Iv1.other"}, "client_secret": {secret}, "code": {code()}}, "incorrect_client_credentials"},
		{"unknown code", url.Values{"client_id": {id}, "client_secret": {secret}, "code": {"abc"}}, "bad_verification_code"},
		{"wrong redirect", url.Values{"client_id": {id}, "client_secret": {secret}, "code": {code()}, "redirect_uri": {"https://evil.example/cb"}}, "redirect_uri_mismatch"},
		{"PKCE without verifier", url.Values{"client_id": {id}, "client_secret": {secret}, "code": {code(oauth2.S256ChallengeOption("v-123"))}}, "bad_verification_code"},
		{"PKCE wrong verifier", url.Values{"client_id": {id}, "client_secret": {secret}, "code": {code(oauth2.S256ChallengeOption("v-123"))}, "code_verifier": {"v-456"}}, "bad_verification_code"},
		{"unknown grant", url.Values{"client_id": {id}, "client_secret": {secret}, "grant_type": {"password"}}, "unsupported_grant_type"},
	}
	for _, c := range cases {
		status, _, body := exchangeForm(t, s, "application/json", c.form)
		if status != http.StatusOK || errorOf(body) != c.want {
			t.Errorf("%s: %d %s, want 200 with error %s", c.name, status, body, c.want)
		}
	}

	// A code is single use.
	good := code()
	form := url.Values{"client_id": {id}, "client_secret": {secret}, "code": {good}, "redirect_uri": {testCallback}}
	if _, _, body := exchangeForm(t, s, "application/json", form); !strings.Contains(body, `"access_token":"ghu_`) {
		t.Fatalf("first exchange = %s, want a token", body)
	}
	if _, _, body := exchangeForm(t, s, "application/json", form); errorOf(body) != "bad_verification_code" {
		t.Errorf("second exchange = %s, want bad_verification_code", body)
	}
	// Without Accept: application/json GitHub answers form-encoded.
	form.Set("code", code())
	_, ctype, body := exchangeForm(t, s, "", form)
	v, _ := url.ParseQuery(body)
	if !strings.HasPrefix(ctype, "application/x-www-form-urlencoded") || !strings.HasPrefix(v.Get("access_token"), "ghu_") || v.Get("expires_in") != "28800" {
		t.Errorf("form answer = %s %q", ctype, body)
	}
	// The oauth2 client reads GitHub's 200-with-error as an error.
	if _, err := conf.Exchange(ctx, "not-a-code"); retrieveCode(err) != "bad_verification_code" {
		t.Errorf("oauth2 exchange of a bad code: %v", err)
	}
}

func TestOAuthAuthorizePage(t *testing.T) {
	s := oauthFixture(t)
	conf := oauthConfig(s)

	resp, err := http.Get(strings.Replace(conf.AuthCodeURL("s"), conf.ClientID, "Iv1.unknown", 1))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown client_id = %d, want 404", resp.StatusCode)
	}

	bad := *conf
	bad.RedirectURL = "https://evil.example/cb"
	to, q := authorize(t, bad.AuthCodeURL("s2"))
	if to != testCallback || q.Get("error") != "redirect_uri_mismatch" || q.Get("state") != "s2" || q.Get("code") != "" {
		t.Errorf("unregistered redirect_uri went to %s %v, want the registered callback with redirect_uri_mismatch", to, q)
	}
	_, q = authorize(t, conf.AuthCodeURL("s3", oauth2.SetAuthURLParam("code_challenge", "c"), oauth2.SetAuthURLParam("code_challenge_method", "plain")))
	if q.Get("error") != "invalid_request" {
		t.Errorf("plain PKCE = %v, want invalid_request", q)
	}

	// Without AutoAuthorize the visitor picks a user on a form.
	resp, err = http.Get(conf.AuthCodeURL("s4"))
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), "<option>dev</option>") || !strings.Contains(string(page), `name="state" value="s4"`) {
		t.Fatalf("authorize page = %d %s", resp.StatusCode, page)
	}
	post := func(decision, login string) url.Values {
		form := url.Values{"client_id": {conf.ClientID}, "redirect_uri": {testCallback}, "state": {"s4"}, "decision": {decision}, "login": {login}}
		resp, err := noRedirect.PostForm(s.URL()+"/login/oauth/authorize", form)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusFound {
			return url.Values{"status": {resp.Status}}
		}
		loc, _ := url.Parse(resp.Header.Get("Location"))
		return loc.Query()
	}
	if q := post("cancel", "dev"); q.Get("error") != "access_denied" {
		t.Errorf("cancel = %v, want access_denied", q)
	}
	if q := post("authorize", "nobody"); q.Get("status") == "" {
		t.Errorf("an unknown user was authorized: %v", q)
	}
	q = post("authorize", "sre-alice")
	tok, err := conf.Exchange(ctx, q.Get("code"))
	if err != nil {
		t.Fatalf("exchange of the form's code: %v", err)
	}
	if _, _, err := userClient(t, s, tok).Repositories.Get(ctx, "acme", "secret"); err != nil {
		t.Errorf("sre-alice reads acme/secret: %v", err)
	}

	// The flow is on the web host only, not under the Enterprise API prefix.
	resp, err = noRedirect.Get(s.URL() + "/api/v3/login/oauth/authorize?client_id=" + conf.ClientID)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("/api/v3/login/oauth/authorize = %d, want 404", resp.StatusCode)
	}
}

func TestGetUserRefusesAnInstallation(t *testing.T) {
	s, gh := fixture(t)
	if _, _, err := gh.Users.Get(ctx, ""); statusOf(err) != http.StatusForbidden {
		t.Errorf("GET /user with an installation token = %v, want 403", err)
	}
	if _, _, err := appClient(t, s).Users.Get(ctx, ""); statusOf(err) != http.StatusForbidden {
		t.Errorf("GET /user with the app JWT = %v, want 403", err)
	}
}

func TestDeleteAppTokenRevokesAUserToken(t *testing.T) {
	s := oauthFixture(t)
	s.AutoAuthorize("dev")
	conf := oauthConfig(s)
	_, q := authorize(t, conf.AuthCodeURL("s"))
	tok, err := conf.Exchange(ctx, q.Get("code"))
	if err != nil {
		t.Fatal(err)
	}
	del := func(user, pass, body string) int {
		req, _ := http.NewRequest("DELETE", s.URL()+"/applications/"+user+"/token", strings.NewReader(body))
		req.SetBasicAuth(user, pass)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := del(conf.ClientID, "wrong", `{"access_token":"`+tok.AccessToken+`"}`); got != http.StatusNotFound {
		t.Errorf("wrong client secret = %d, want 404", got)
	}
	if got := del(conf.ClientID, conf.ClientSecret, `{"access_token":"ghu_unknown"}`); got != http.StatusNotFound {
		t.Errorf("unknown token = %d, want 404", got)
	}
	if got := del(conf.ClientID, conf.ClientSecret, `{"access_token":"`+tok.AccessToken+`"}`); got != http.StatusNoContent {
		t.Fatalf("revoke = %d, want 204", got)
	}
	if _, _, err := userClient(t, s, tok).Users.Get(ctx, ""); statusOf(err) != http.StatusUnauthorized {
		t.Errorf("a revoked token still works: %v", err)
	}
	if got := del(conf.ClientID, conf.ClientSecret, `{}`); got != http.StatusUnprocessableEntity {
		t.Errorf("no access_token = %d, want 422", got)
	}
	// The body without access_token departs from the description: the contract saw it.
	if v := s.TakeContractViolations(); len(v) != 1 || !strings.Contains(v[0], "access_token") {
		t.Errorf("contract violations = %v, want the missing access_token", v)
	}
}
