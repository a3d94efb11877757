package appsetup

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const testPEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu\n-----END RSA PRIVATE KEY-----\n"

const testManifest = `name: Conveyor
url: https://github.com/conveyor-dev/conveyor
hook_attributes: {url: https://placeholder.example.com/webhooks/github}
default_events: [pull_request]
default_permissions: {checks: write}
`

// fakeGitHub stands in for POST /app-manifests/{code}/conversions: "good"
// converts, every other code is unknown.
func fakeGitHub(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("POST /app-manifests/{code}/conversions", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			t.Errorf("the code exchange sent an Authorization header; it must be unauthenticated")
		}
		w.Header().Set("Content-Type", "application/json")
		if r.PathValue("code") != "good" {
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"message":"Not Found","documentation_url":"https://docs.github.com/rest"}`)
			return
		}
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(map[string]any{
			"id": 42, "slug": "conveyor-acme", "html_url": "https://github.com/apps/conveyor-acme",
			"client_id": "Iv1.abc123", "client_secret": "cs_0123456789abcdef", "webhook_secret": "whsec_e4d2",
			"pem": testPEM,
		})
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// session is a Run in the background, driven like a browser would.
type session struct {
	t      *testing.T
	page   string // URL of the set-up page
	done   chan result
	cancel context.CancelFunc
}

func start(t *testing.T, opts Options) *session {
	t.Helper()
	opened := make(chan string, 1)
	opts.Listen = "127.0.0.1:0"
	opts.Open = func(u string) error { opened <- u; return nil }
	opts.Out = io.Discard
	ctx, cancel := context.WithCancel(context.Background())
	s := &session{t: t, done: make(chan result, 1), cancel: cancel}
	go func() {
		c, err := Run(ctx, opts)
		s.done <- result{c, err}
	}()
	t.Cleanup(cancel)
	select {
	case s.page = <-opened:
	case r := <-s.done:
		t.Fatalf("Run ended before opening the page: %v", r.err)
	}
	return s
}

var (
	actionRE   = regexp.MustCompile(`action="([^"]*)"`)
	manifestRE = regexp.MustCompile(`name="manifest" value="([^"]*)"`)
)

// form loads the set-up page and returns the form's target and manifest.
func (s *session) form() (action *url.URL, manifest map[string]any) {
	s.t.Helper()
	body, status := get(s.t, s.page)
	if status != http.StatusOK {
		s.t.Fatalf("GET %s = %d", s.page, status)
	}
	a, m := actionRE.FindStringSubmatch(body), manifestRE.FindStringSubmatch(body)
	if a == nil || m == nil {
		s.t.Fatalf("the set-up page has no manifest form:\n%s", body)
	}
	action, err := url.Parse(html.UnescapeString(a[1]))
	if err != nil {
		s.t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(html.UnescapeString(m[1])), &manifest); err != nil {
		s.t.Fatalf("the posted manifest is not JSON: %v", err)
	}
	return action, manifest
}

// redirect plays GitHub sending the browser back to redirect_url.
func (s *session) redirect(manifest map[string]any, code, state string) (string, int) {
	s.t.Helper()
	u := manifest["redirect_url"].(string) + "?" + url.Values{"code": {code}, "state": {state}}.Encode()
	return get(s.t, u)
}

func get(t *testing.T, u string) (string, int) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b), resp.StatusCode
}

func TestRunExchangesCodeAndWritesEnv(t *testing.T) {
	gh := fakeGitHub(t)
	envPath := filepath.Join(t.TempDir(), ".env")
	s := start(t, Options{APIURL: gh.URL, Manifest: []byte(testManifest),
		WebhookURL: "https://conveyor.acme.dev/webhooks/github", EnvPath: envPath})

	action, manifest := s.form()
	if got := action.Scheme + "://" + action.Host + action.Path; got != "https://github.com/settings/apps/new" {
		t.Errorf("form posts to %s, want https://github.com/settings/apps/new", got)
	}
	state := action.Query().Get("state")
	if len(state) < 32 {
		t.Errorf("state %q is too short to be unguessable", state)
	}
	if got := manifest["hook_attributes"].(map[string]any)["url"]; got != "https://conveyor.acme.dev/webhooks/github" {
		t.Errorf("hook_attributes.url = %v, want the --webhook-url", got)
	}
	if got := manifest["redirect_url"].(string); !strings.HasPrefix(s.page, strings.TrimSuffix(got, "callback")) {
		t.Errorf("redirect_url = %s, want the callback of the page %s", got, s.page)
	}
	if cbs, _ := manifest["callback_urls"].([]any); len(cbs) != 1 || cbs[0] != "https://conveyor.acme.dev/oauth/callback" {
		t.Errorf("callback_urls = %v, want the sign-in callback on the --webhook-url's host", manifest["callback_urls"])
	}
	if manifest["name"] != "Conveyor" {
		t.Errorf("manifest name = %v, want it kept from app.yml", manifest["name"])
	}

	body, status := s.redirect(manifest, "good", state)
	if status != http.StatusOK || !strings.Contains(body, "https://github.com/apps/conveyor-acme/installations/new") {
		t.Errorf("callback = %d %s, want 200 with the install link", status, body)
	}
	if strings.Contains(body, "cs_0123456789abcdef") || strings.Contains(body, "BEGIN RSA") {
		t.Error("the callback page shows a secret")
	}
	r := <-s.done
	if r.err != nil {
		t.Fatalf("Run: %v", r.err)
	}
	if r.creds.AppID != 42 || r.creds.PrivateKeyPEM != testPEM || r.creds.WebhookSecret != "whsec_e4d2" {
		t.Errorf("credentials = %+v", *r.creds)
	}
	if s := r.creds.String(); strings.Contains(s, "whsec") || !strings.Contains(s, "conveyor-acme") {
		t.Errorf("Credentials.String() = %q, want the slug and no secrets", s)
	}

	info, err := os.Stat(envPath)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf(".env mode = %v, want 0600", info.Mode().Perm())
	}
	got := readEnv(t, envPath)
	want := map[string]string{
		"APP_ID": "42", "PRIVATE_KEY": testPEM, "WEBHOOK_SECRET": "whsec_e4d2",
		"GITHUB_CLIENT_ID": "Iv1.abc123", "GITHUB_CLIENT_SECRET": "cs_0123456789abcdef", "GITHUB_API_URL": gh.URL,
		"CONVEYOR_SESSION_KEY": got["CONVEYOR_SESSION_KEY"], "CONVEYOR_PUBLIC_URL": "https://conveyor.acme.dev",
	}
	if k, err := hex.DecodeString(got["CONVEYOR_SESSION_KEY"]); err != nil || len(k) != 32 {
		t.Errorf("CONVEYOR_SESSION_KEY = %q, want 32 random bytes in hex", got["CONVEYOR_SESSION_KEY"])
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf(".env %s = %q, want %q", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf(".env has %d keys, want %d: %v", len(got), len(want), got)
	}
}

// readEnv parses the .env file the way `conveyor serve` will see it after a
// dotenv loader: quotes removed and \n turned into newlines.
func readEnv(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf(".env line %q is not KEY=value", line)
		}
		if strings.HasPrefix(v, `"`) {
			v = strings.ReplaceAll(strings.Trim(v, `"`), `\n`, "\n")
		}
		env[k] = v
	}
	return env
}

func TestRunOrgFormOnEnterprise(t *testing.T) {
	gh := fakeGitHub(t)
	s := start(t, Options{GitHubURL: "https://ghe.example.com/", APIURL: gh.URL, Org: "acme",
		Manifest: []byte(testManifest), EnvPath: filepath.Join(t.TempDir(), ".env")})
	action, manifest := s.form()
	if got := action.Scheme + "://" + action.Host + action.Path; got != "https://ghe.example.com/organizations/acme/settings/apps/new" {
		t.Errorf("form posts to %s, want the organization's new-app page on the Enterprise host", got)
	}
	if got := manifest["hook_attributes"].(map[string]any)["url"]; got != "https://placeholder.example.com/webhooks/github" {
		t.Errorf("hook_attributes.url = %v, want the manifest's own when --webhook-url is not set", got)
	}
}

func TestRunRejectsBadStateAndKeepsWaiting(t *testing.T) {
	gh := fakeGitHub(t)
	envPath := filepath.Join(t.TempDir(), ".env")
	s := start(t, Options{APIURL: gh.URL, Manifest: []byte(testManifest), EnvPath: envPath})
	action, manifest := s.form()

	for _, bad := range []string{"forged", ""} {
		body, status := s.redirect(manifest, "good", bad)
		if status != http.StatusBadRequest || !strings.Contains(body, "State does not match") {
			t.Errorf("callback with state %q = %d %s, want 400 State does not match", bad, status, body)
		}
	}
	if _, err := os.Stat(envPath); !os.IsNotExist(err) {
		t.Fatalf("a forged redirect wrote %s", envPath)
	}
	if _, status := s.redirect(manifest, "", action.Query().Get("state")); status != http.StatusBadRequest {
		t.Errorf("callback without a code = %d, want 400", status)
	}
	if _, status := s.redirect(manifest, "good", action.Query().Get("state")); status != http.StatusOK {
		t.Errorf("the real redirect after a forged one = %d, want 200", status)
	}
	if r := <-s.done; r.err != nil {
		t.Fatalf("Run: %v", r.err)
	}
}

func TestCallbackHandlesOneCodeOnly(t *testing.T) {
	gh := fakeGitHub(t)
	f := &flow{state: "s1", done: make(chan result, 1), opts: Options{
		APIURL: gh.URL, EnvPath: filepath.Join(t.TempDir(), ".env"), HTTPClient: gh.Client()}}
	srv := httptest.NewServer(f.routes())
	defer srv.Close()
	if _, status := get(t, srv.URL+"/callback?code=good&state=s1"); status != http.StatusOK {
		t.Fatalf("first callback = %d, want 200", status)
	}
	if body, status := get(t, srv.URL+"/callback?code=good&state=s1"); status != http.StatusGone || !strings.Contains(body, "Already done") {
		t.Errorf("second callback = %d %s, want 410 Already done", status, body)
	}
	if r := <-f.done; r.err != nil || r.creds.AppID != 42 {
		t.Errorf("result = %+v", r)
	}
}

func TestRunSurfacesConversionError(t *testing.T) {
	gh := fakeGitHub(t)
	envPath := filepath.Join(t.TempDir(), ".env")
	s := start(t, Options{APIURL: gh.URL, Manifest: []byte(testManifest), EnvPath: envPath})
	action, manifest := s.form()
	body, status := s.redirect(manifest, "expired", action.Query().Get("state"))
	if status != http.StatusBadGateway || !strings.Contains(body, "404 Not Found") {
		t.Errorf("callback = %d %s, want 502 naming GitHub's answer", status, body)
	}
	r := <-s.done
	if r.err == nil {
		t.Fatal("Run succeeded on a refused code")
	}
	for _, want := range []string{"GitHub refused the manifest code (404 Not Found)", "run conveyor setup again"} {
		if !strings.Contains(r.err.Error(), want) {
			t.Errorf("error %q lacks %q", r.err, want)
		}
	}
	if _, err := os.Stat(envPath); !os.IsNotExist(err) {
		t.Errorf("a failed exchange wrote %s", envPath)
	}
}

func TestRunStopsWithContext(t *testing.T) {
	s := start(t, Options{APIURL: "https://api.github.com", Manifest: []byte(testManifest), EnvPath: filepath.Join(t.TempDir(), ".env")})
	s.cancel()
	if r := <-s.done; r.err == nil || !strings.Contains(r.err.Error(), "setup stopped before GitHub redirected back") {
		t.Errorf("Run after cancel = %v, want a stop error", r.err)
	}
}
