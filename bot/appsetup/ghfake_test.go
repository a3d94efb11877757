package appsetup

import (
	"context"
	"net/http"
	"path/filepath"
	"strconv"
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
}
