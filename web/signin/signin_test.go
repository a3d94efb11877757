package signin

import (
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/conveyor-dev/conveyor/internal/ghfake"
)

// bundle is a dashboard stand-in behind Auth, the GitHub emulator it signs in
// against, and a browser-like client (cookie jar, follows redirects).
type bundle struct {
	gh     *ghfake.Server
	auth   *Auth
	srv    *httptest.Server
	client *http.Client
	clock  *clock
}

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func setup(t *testing.T, mutate ...func(*Config)) *bundle {
	t.Helper()
	gh := ghfake.NewTest(t)
	gh.AddRepo("acme/shop", "main", 1)
	gh.AddRepo("acme/secret", "main", 1)
	gh.SetPermission("acme/shop", "dev", "write")
	gh.SetPermission("acme/secret", "sre-alice", "admin")
	gh.AutoAuthorize("dev")

	b := &bundle{gh: gh, clock: &clock{now: time.Now()}}
	var handler http.Handler
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(b.srv.Close)
	gh.SetOAuthCallbackURLs(b.srv.URL + CallbackPath)

	id, secret := gh.OAuthClient()
	cfg := Config{ClientID: id, ClientSecret: secret, GitHubURL: gh.URL(), APIURL: gh.URL(), PublicURL: b.srv.URL,
		SessionKey: []byte(strings.Repeat("k", 32)), Now: b.clock.Now}
	for _, m := range mutate {
		m(&cfg)
	}
	auth, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	b.auth = auth
	mux := http.NewServeMux()
	auth.Routes(mux)
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		login, ok := auth.Viewer(r)
		if !ok {
			http.Redirect(w, r, LoginURL(r.URL.RequestURI()), http.StatusFound)
			return
		}
		io.WriteString(w, "viewer="+login+" path="+r.URL.Path+" csrf="+auth.CSRFToken(r))
	})
	mux.HandleFunc("POST /act", func(w http.ResponseWriter, r *http.Request) {
		if err := auth.CheckCSRF(r); err != nil {
			http.Error(w, err.Error(), http.StatusForbidden)
			return
		}
		io.WriteString(w, "done")
	})
	handler = mux
	jar, _ := cookiejar.New(nil)
	b.client = &http.Client{Jar: jar, Timeout: 30 * time.Second}
	return b
}

func (b *bundle) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := b.client.Get(b.srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// request builds a request carrying the browser's cookies, for calling Auth directly.
func (b *bundle) request(t *testing.T, method, path string, body io.Reader) *http.Request {
	t.Helper()
	r := httptest.NewRequest(method, b.srv.URL+path, body)
	u, _ := url.Parse(b.srv.URL)
	for _, c := range b.client.Jar.Cookies(u) {
		r.AddCookie(c)
	}
	return r
}

func (b *bundle) signIn(t *testing.T) string {
	t.Helper()
	status, body := b.get(t, "/r/acme/shop/pull/1?tab=checks")
	if status != 200 || !strings.HasPrefix(body, "viewer=dev path=/r/acme/shop/pull/1") {
		t.Fatalf("after sign-in: %d %q, want the page asked for, as dev", status, body)
	}
	_, csrf, _ := strings.Cut(body, "csrf=")
	return csrf
}

func TestSignInRunsGitHubsFlowAndReturnsToThePage(t *testing.T) {
	b := setup(t)
	b.signIn(t)

	// The flow was GitHub's: a code exchanged with the client secret, then GET /user with the user's token.
	if calls := b.gh.CallsMatching("POST", "/login/oauth/access_token"); len(calls) != 1 {
		t.Errorf("token exchanges = %d, want 1", len(calls))
	} else if q, _ := url.ParseQuery(string(calls[0].Body)); q.Get("code_verifier") == "" || q.Get("client_secret") == "" {
		t.Errorf("exchange form = %v, want the client secret and a PKCE verifier", q)
	}
	if calls := b.gh.CallsMatching("GET", "/user"); len(calls) != 1 || calls[0].User != "dev" {
		t.Errorf("GET /user calls = %+v, want one with dev's token", calls)
	}

	// The cookie is HttpOnly, Lax, and holds no token in the clear.
	u, _ := url.Parse(b.srv.URL)
	cookies := b.client.Jar.Cookies(u)
	if len(cookies) != 1 || cookies[0].Name != "conveyor_session" {
		t.Fatalf("cookies after sign-in = %v, want only the session (the sign-in state cleared)", cookies)
	}
	for _, tok := range b.gh.UserTokens() {
		if strings.Contains(cookies[0].Value, tok) {
			t.Errorf("the session cookie carries the user token %s in the clear", tok[:8])
		}
	}
	resp, err := b.client.Get(b.srv.URL + "/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	setCookies := resp.Request.Response // the callback's answer, one redirect before the last page
	for setCookies != nil && setCookies.Request.URL.Path != CallbackPath {
		setCookies = setCookies.Request.Response
	}
	if setCookies == nil {
		t.Fatal("no callback response in the redirect chain")
	}
	raw := strings.Join(setCookies.Header.Values("Set-Cookie"), "\n")
	if !strings.Contains(raw, "conveyor_session=") || !strings.Contains(raw, "HttpOnly") || !strings.Contains(raw, "SameSite=Lax") || !strings.Contains(raw, "Expires=") {
		t.Errorf("Set-Cookie = %s, want HttpOnly, SameSite=Lax, an expiry", raw)
	}
	if strings.Contains(raw, "Secure") {
		t.Errorf("Set-Cookie = %s: Secure on plain-http localhost would lose the session", raw)
	}
}

func TestCookiesAreSecureOverHTTPS(t *testing.T) {
	b := setup(t, func(c *Config) { c.PublicURL = "https://conveyor.example.com" })
	rec := httptest.NewRecorder()
	b.auth.serveLogin(rec, httptest.NewRequest("GET", "/login?next=/audit", nil))
	set := rec.Header().Get("Set-Cookie")
	if !strings.HasPrefix(set, "__Host-conveyor_signin=") || !strings.Contains(set, "Secure") || !strings.Contains(set, "HttpOnly") || !strings.Contains(set, "Path=/") {
		t.Errorf("Set-Cookie = %s, want a __Host- cookie, Secure, HttpOnly, Path=/", set)
	}
	loc, _ := url.Parse(rec.Header().Get("Location"))
	q := loc.Query()
	if loc.Path != "/login/oauth/authorize" || q.Get("redirect_uri") != "https://conveyor.example.com/oauth/callback" ||
		q.Get("code_challenge_method") != "S256" || q.Get("state") == "" || q.Get("client_id") == "" {
		t.Errorf("authorize URL = %s", loc)
	}
}

func TestCanReadAsksGitHubWithTheUsersTokenAndCachesBriefly(t *testing.T) {
	b := setup(t)
	b.signIn(t)
	r := b.request(t, "GET", "/", nil)
	for range 3 {
		if ok, err := b.auth.CanRead(r, "acme/shop"); !ok || err != nil {
			t.Fatalf("CanRead(acme/shop) = %v, %v; want true", ok, err)
		}
		if ok, err := b.auth.CanRead(r, "acme/secret"); ok || err != nil {
			t.Fatalf("CanRead(acme/secret) = %v, %v; want false", ok, err)
		}
	}
	if ok, err := b.auth.CanRead(r, "acme/missing"); ok || err != nil {
		t.Errorf("CanRead(acme/missing) = %v, %v; want false", ok, err)
	}
	count := func(repo string) int {
		n := 0
		for _, c := range b.gh.CallsMatching("GET", "/repos/"+repo) {
			if c.User == "dev" {
				n++
			}
		}
		return n
	}
	if count("acme/shop") != 1 || count("acme/secret") != 1 {
		t.Errorf("GitHub asked %d/%d times, want once each within the cache time", count("acme/shop"), count("acme/secret"))
	}
	// A permission taken away shows once the answer is older than the cache time.
	b.gh.SetPermission("acme/shop", "dev", "none")
	if ok, _ := b.auth.CanRead(r, "acme/shop"); !ok {
		t.Error("the cached answer was not reused")
	}
	b.clock.Advance(61 * time.Second)
	if ok, err := b.auth.CanRead(r, "acme/shop"); ok || err != nil {
		t.Errorf("CanRead after the permission went = %v, %v; want false", ok, err)
	}

	for _, bad := range []string{"acme", "/shop", "acme/", "acme/shop/extra", "acme/shop?x=1"} {
		if _, err := b.auth.CanRead(r, bad); err == nil {
			t.Errorf("CanRead(%q) took it for a repository", bad)
		}
	}
	if _, err := b.auth.CanRead(httptest.NewRequest("GET", "/", nil), "acme/shop"); !errors.Is(err, ErrNotSignedIn) {
		t.Errorf("CanRead without a session = %v, want ErrNotSignedIn", err)
	}
	b.gh.ExpireUserTokens()
	if _, err := b.auth.CanRead(r, "acme/other"); !errors.Is(err, ErrSignInAgain) {
		t.Errorf("CanRead with an expired token = %v, want ErrSignInAgain", err)
	}
}

func TestSessionCannotBeForgedOrOutlived(t *testing.T) {
	b := setup(t, func(c *Config) { c.SessionTTL = time.Hour })
	b.signIn(t)
	r := b.request(t, "GET", "/", nil)
	c, err := r.Cookie("conveyor_session")
	if err != nil {
		t.Fatal(err)
	}
	forged := httptest.NewRequest("GET", "/", nil)
	v := []byte(c.Value)
	v[len(v)/2] ^= 1
	forged.AddCookie(&http.Cookie{Name: "conveyor_session", Value: string(v)})
	if login, ok := b.auth.Viewer(forged); ok {
		t.Errorf("a changed cookie signed in %s", login)
	}
	// Another deployment's key does not open this one's cookies.
	other := setup(t, func(c *Config) { c.SessionKey = []byte(strings.Repeat("x", 32)) })
	if _, ok := other.auth.Viewer(r); ok {
		t.Error("a cookie sealed under another key was accepted")
	}
	// A sign-in state cookie is not a session.
	stateAsSession := httptest.NewRequest("GET", "/", nil)
	val, _ := b.auth.seal.seal(purposeLogin, session{Login: "dev", Token: "ghu_x", Expires: time.Now().Add(time.Hour).Unix()})
	stateAsSession.AddCookie(&http.Cookie{Name: "conveyor_session", Value: val})
	if _, ok := b.auth.Viewer(stateAsSession); ok {
		t.Error("a value sealed for the sign-in state was taken as a session")
	}
	if login, ok := b.auth.Viewer(r); !ok || login != "dev" {
		t.Fatalf("Viewer = %q %v, want dev", login, ok)
	}
	b.clock.Advance(time.Hour)
	if _, ok := b.auth.Viewer(r); ok {
		t.Error("the session outlived SessionTTL")
	}
}

func TestCallbackRefusesASignInThisBrowserDidNotStart(t *testing.T) {
	b := setup(t)
	id, _ := b.gh.OAuthClient()
	// An attacker's own authorization code, pushed onto the victim's browser.
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(b.gh.URL() + "/login/oauth/authorize?" + url.Values{"client_id": {id}, "state": {"attacker"}}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cb := resp.Header.Get("Location")
	status, body := b.get(t, strings.TrimPrefix(cb, b.srv.URL))
	if status != http.StatusBadRequest || !strings.Contains(body, "not started in this browser") {
		t.Errorf("foreign callback = %d %s, want 400", status, body)
	}
	if _, ok := b.auth.Viewer(b.request(t, "GET", "/", nil)); ok {
		t.Error("a foreign callback signed the browser in")
	}
	if n := len(b.gh.CallsMatching("POST", "/login/oauth/access_token")); n != 0 {
		t.Errorf("the foreign code was exchanged %d times", n)
	}

	// A started sign-in with the state changed on the way back is refused as well.
	noFollow.Jar = b.client.Jar
	resp, err = noFollow.Get(b.srv.URL + "/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	authURL, _ := url.Parse(resp.Header.Get("Location"))
	q := authURL.Query()
	q.Set("state", "changed")
	authURL.RawQuery = q.Encode()
	resp, err = noFollow.Get(authURL.String())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	status, _ = b.get(t, strings.TrimPrefix(resp.Header.Get("Location"), b.srv.URL))
	if status != http.StatusBadRequest {
		t.Errorf("changed state = %d, want 400", status)
	}
}

func TestCallbackReportsGitHubsRefusal(t *testing.T) {
	t.Run("user cancels", func(t *testing.T) {
		b := setup(t)
		b.gh.AutoAuthorize("") // show the emulator's form
		status, body := b.get(t, "/")
		if status != 200 || !strings.Contains(body, "Authorize conveyor") {
			t.Fatalf("authorize page = %d %s", status, body)
		}
		// Submit the form's hidden fields with Cancel, as the browser would.
		form := url.Values{"decision": {"cancel"}, "login": {"dev"}}
		for _, f := range []string{"client_id", "redirect_uri", "state", "code_challenge", "code_challenge_method"} {
			i := strings.Index(body, `name="`+f+`" value="`)
			if i < 0 {
				t.Fatalf("form lacks %s", f)
			}
			rest := body[i+len(`name="`+f+`" value="`):]
			form.Set(f, htmlUnescape(rest[:strings.Index(rest, `"`)]))
		}
		resp, err := b.client.PostForm(b.gh.URL()+"/login/oauth/authorize", form)
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(page), "access_denied") {
			t.Errorf("cancelled sign-in = %d %s, want 403 naming access_denied", resp.StatusCode, page)
		}
	})
	t.Run("wrong client secret", func(t *testing.T) {
		b := setup(t, func(c *Config) { c.ClientSecret = "not-the-secret" })
		status, body := b.get(t, "/")
		if status != http.StatusBadGateway || !strings.Contains(body, "incorrect_client_credentials") || !strings.Contains(body, "GITHUB_CLIENT_SECRET") {
			t.Errorf("sign-in with a wrong secret = %d %s, want 502 naming the setting", status, body)
		}
		if _, ok := b.auth.Viewer(b.request(t, "GET", "/", nil)); ok {
			t.Error("signed in despite the refused exchange")
		}
	})
}

func htmlUnescape(s string) string {
	return strings.NewReplacer("&amp;", "&", "&#43;", "+", "&#34;", `"`, "&lt;", "<", "&gt;", ">").Replace(s)
}

func TestCheckCSRF(t *testing.T) {
	b := setup(t)
	csrf := b.signIn(t)
	post := func(form url.Values, header map[string]string) (int, string) {
		req, _ := http.NewRequest("POST", b.srv.URL+"/act", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := b.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if status, body := post(url.Values{CSRFField: {csrf}}, nil); status != 200 {
		t.Errorf("the page's own token = %d %s", status, body)
	}
	if status, _ := post(url.Values{}, map[string]string{CSRFHeader: csrf, "Origin": b.srv.URL}); status != 200 {
		t.Errorf("the token in the header from the same origin = %d", status)
	}
	cases := map[string]struct {
		form   url.Values
		header map[string]string
	}{
		"no token":     {url.Values{}, nil},
		"wrong token":  {url.Values{CSRFField: {"x" + csrf}}, nil},
		"other origin": {url.Values{CSRFField: {csrf}}, map[string]string{"Origin": "https://evil.example"}},
	}
	for name, c := range cases {
		if status, _ := post(c.form, c.header); status != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", name, status)
		}
	}
	anon := httptest.NewRequest("POST", "/act", strings.NewReader(CSRFField+"="+csrf))
	anon.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if err := b.auth.CheckCSRF(anon); !errors.Is(err, ErrNotSignedIn) {
		t.Errorf("CheckCSRF without a session = %v, want ErrNotSignedIn", err)
	}
	// Another sign-in (another session) gets another token.
	other := setup(t)
	if csrf2 := other.signIn(t); csrf2 == csrf || csrf2 == "" {
		t.Errorf("two sessions share the CSRF token %q", csrf)
	}
}

func TestLogout(t *testing.T) {
	b := setup(t)
	csrf := b.signIn(t)
	status, body := b.get(t, "/logout")
	if status != 200 || !strings.Contains(body, `name="csrf_token" value="`+csrf+`"`) {
		t.Fatalf("GET /logout = %d %s, want a form carrying the token", status, body)
	}
	page, err := b.client.Get(b.srv.URL + "/logout")
	if err != nil {
		t.Fatal(err)
	}
	page.Body.Close()
	if page.Header.Get("X-Frame-Options") != "DENY" || !strings.Contains(page.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Errorf("the sign-out page can be framed: %v", page.Header)
	}
	if resp, err := b.client.PostForm(b.srv.URL+"/logout", url.Values{}); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("POST /logout without the token = %v %v, want 403", resp.StatusCode, err)
	}
	if _, ok := b.auth.Viewer(b.request(t, "GET", "/", nil)); !ok {
		t.Fatal("a forged logout signed the user out")
	}
	before := b.request(t, "GET", "/", nil) // a copy of the cookie, taken while signed in
	resp, err := b.client.PostForm(b.srv.URL+"/logout", url.Values{CSRFField: {csrf}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if _, ok := b.auth.Viewer(b.request(t, "GET", "/", nil)); ok {
		t.Error("still signed in after logout")
	}
	// The token was revoked at GitHub: the copied cookie reads nothing any more.
	if calls := b.gh.CallsMatching("DELETE", "/applications/"); len(calls) != 1 || calls[0].Status != http.StatusNoContent {
		t.Errorf("token revocations = %+v, want one answered 204", calls)
	}
	if _, err := b.auth.CanRead(before, "acme/secret"); !errors.Is(err, ErrSignInAgain) {
		t.Errorf("CanRead with a copy of the signed-out cookie = %v, want ErrSignInAgain", err)
	}
}

func TestNextStaysOnThisSite(t *testing.T) {
	for next, want := range map[string]string{
		"/r/acme/shop/pull/1?tab=x": "/r/acme/shop/pull/1?tab=x",
		"https://evil.example/":     "/",
		"//evil.example/x":          "/",
		"/\\evil.example":           "/",
		"/\t/evil.example":          "/",
		"/\n/evil.example":          "/",
		"":                          "/",
		"javascript:alert(1)":       "/",
	} {
		if got := localPath(next); got != want {
			t.Errorf("localPath(%q) = %q, want %q", next, got, want)
		}
	}
	b := setup(t)
	status, body := b.get(t, "/login?next="+url.QueryEscape("https://evil.example/"))
	if status != 200 || !strings.Contains(body, "path=/ ") {
		t.Errorf("sign-in with an outside next = %d %s, want the overview", status, body)
	}
}
