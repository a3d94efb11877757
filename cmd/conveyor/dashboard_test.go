package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/conveyor-dev/conveyor/internal/ghfake"
)

// serve with the app's OAuth client configured serves the dashboard, and
// signs a visitor in through GitHub's flow (here the emulator's).
func TestServeSignsDashboardVisitorsInWithGitHub(t *testing.T) {
	t.Parallel()
	gh := ghfake.NewTest(t)
	gh.AddRepo("acme/shop", "main", 7)
	gh.SetPermission("acme/shop", "dev", "write")
	gh.AutoAuthorize("dev")
	id, secret := gh.OAuthClient()
	port := freePort(t)
	public := fmt.Sprintf("http://127.0.0.1:%d", port)
	gh.SetOAuthCallbackURLs(public + "/oauth/callback")
	p := startServeEnv(t, []string{"APP_ID=" + fmt.Sprint(gh.AppID()), "PRIVATE_KEY=" + string(gh.PrivateKeyPEM()),
		"DATABASE_URL=sqlite:" + filepath.Join(t.TempDir(), "c.db"), "GITHUB_API_URL=" + gh.URL(),
		"GITHUB_CLIENT_ID=" + id, "GITHUB_CLIENT_SECRET=" + secret, "CONVEYOR_PUBLIC_URL=" + public, fmt.Sprintf("PORT=%d", port),
	})

	// Nobody signed in: the dashboard sends the visitor to sign in.
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }, Timeout: 30 * time.Second}
	resp, err := noFollow.Get(p.url + "/audit")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode/100 != 3 || loc != "/login?next=%2Faudit" {
		t.Fatalf("GET /audit signed out = %d %q, want a redirect to /login", resp.StatusCode, loc)
	}

	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	resp, err = browser.Get(p.url + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "@dev") || !strings.Contains(string(body), "What runs where") {
		t.Fatalf("overview after sign-in = %d %s", resp.StatusCode, body)
	}
	if n := len(gh.CallsMatching("POST", "/login/oauth/access_token")); n != 1 {
		t.Errorf("code exchanges = %d, want 1", n)
	}
	// The app's own routes are still the app's.
	resp, err = http.Get(p.url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("/healthz = %d", resp.StatusCode)
	}
}
