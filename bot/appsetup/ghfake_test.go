package appsetup

import (
	"context"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/bradleyfalzon/ghinstallation/v2"
	"github.com/google/go-github/v66/github"

	"github.com/conveyor-dev/conveyor/internal/ghfake"
)

// The whole manifest flow against the GitHub emulator: the code GitHub hands
// out converts into credentials that then authenticate as the app.
func TestRunAgainstGitHubEmulator(t *testing.T) {
	fake := ghfake.NewTest(t)
	envPath := filepath.Join(t.TempDir(), ".env")
	s := start(t, Options{APIURL: fake.URL(), Manifest: []byte(testManifest),
		WebhookURL: "https://conveyor.acme.dev/webhooks/github", EnvPath: envPath})
	action, manifest := s.form()
	code := fake.ManifestCode(manifest)
	if body, status := s.redirect(manifest, code, action.Query().Get("state")); status != http.StatusOK {
		t.Fatalf("callback = %d %s", status, body)
	}
	r := <-s.done
	if r.err != nil {
		t.Fatalf("Run: %v", r.err)
	}
	env := readEnv(t, envPath)
	if env["APP_ID"] != strconv.FormatInt(fake.AppID(), 10) || env["GITHUB_API_URL"] != fake.URL() || env["WEBHOOK_SECRET"] == "" {
		t.Fatalf(".env = %v", env)
	}
	// The written key signs app JWTs the emulator accepts.
	tr, err := ghinstallation.NewAppsTransport(http.DefaultTransport, fake.AppID(), []byte(env["PRIVATE_KEY"]))
	if err != nil {
		t.Fatal(err)
	}
	tr.BaseURL = fake.URL()
	c := github.NewClient(&http.Client{Transport: tr})
	c.BaseURL, _ = c.BaseURL.Parse(fake.URL() + "/")
	if _, _, err := c.Apps.Get(context.Background(), ""); err != nil {
		t.Fatalf("GET /app with the new credentials: %v", err)
	}
	// The OAuth client written for the dashboard's sign-in is the new app's, and
	// its callback is registered on the --webhook-url's host.
	if id, secret := fake.OAuthClient(); env["GITHUB_CLIENT_ID"] != id || env["GITHUB_CLIENT_SECRET"] != secret {
		t.Errorf(".env OAuth client = %q/%q, want the app's %q", env["GITHUB_CLIENT_ID"], env["GITHUB_CLIENT_SECRET"], id)
	}
	fake.AutoAuthorize("octocat")
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	q := url.Values{"client_id": {env["GITHUB_CLIENT_ID"]}, "redirect_uri": {"https://conveyor.acme.dev/oauth/callback"}, "state": {"s"}}
	resp, err := noFollow.Get(fake.URL() + "/login/oauth/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, "https://conveyor.acme.dev/oauth/callback?code=") {
		t.Errorf("sign-in redirect = %d %q, want the registered callback with a code", resp.StatusCode, loc)
	}
}
