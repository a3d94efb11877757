package ghfake

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	jwt "github.com/golang-jwt/jwt/v4"
)

func TestTokenExchangeAndRepoAccess(t *testing.T) {
	s, gh := fixture(t)
	repo, _, err := gh.Repositories.Get(ctx, "acme", "web")
	if err != nil {
		t.Fatalf("get repo: %v", err)
	}
	if repo.GetDefaultBranch() != "main" || repo.GetFullName() != "acme/web" {
		t.Fatalf("repo = %s/%s", repo.GetFullName(), repo.GetDefaultBranch())
	}
	tok := s.CallsMatching("POST", "/app/installations/11/access_tokens")
	if len(tok) != 1 || !tok[0].App || tok[0].Status != http.StatusCreated {
		t.Fatalf("token exchange calls = %+v", tok)
	}
	got := s.CallsMatching("GET", "/repos/acme/web")
	if len(got) != 1 || got[0].InstallationID != testInstallation {
		t.Fatalf("repo call = %+v", got)
	}

	// A repo of another installation is invisible to this token.
	s.AddRepo("other/secret", "main", 22)
	if _, _, err := gh.Repositories.Get(ctx, "other", "secret"); statusOf(err) != http.StatusNotFound {
		t.Fatalf("other installation's repo: err = %v, want 404", err)
	}
	repos, _, err := gh.Apps.ListRepos(ctx, nil)
	if err != nil || repos.GetTotalCount() != 1 || repos.Repositories[0].GetFullName() != "acme/web" {
		t.Fatalf("installation repos = %+v, %v", repos, err)
	}
}

func TestEnterpriseBaseURL(t *testing.T) {
	s, _ := fixture(t)
	gh := installationClient(t, s, testInstallation, "/api/v3")
	if _, _, err := gh.Repositories.Get(ctx, "acme", "web"); err != nil {
		t.Fatalf("get repo under /api/v3: %v", err)
	}
	if c := s.CallsMatching("GET", "/repos/acme/web"); len(c) != 1 {
		t.Fatalf("calls under /api/v3 should be recorded without the prefix: %+v", s.Calls())
	}
}

func postToken(t *testing.T, s *Server, auth string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", s.URL()+"/app/installations/11/access_tokens", nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Message string `json:"message"`
		Token   string `json:"token"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body.Message + body.Token
}

func signJWT(t *testing.T, key *rsa.PrivateKey, iss string, iat, exp time.Time) string {
	t.Helper()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.RegisteredClaims{
		Issuer: iss, IssuedAt: jwt.NewNumericDate(iat), ExpiresAt: jwt.NewNumericDate(exp),
	}).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestJWTRejection(t *testing.T) {
	s, _ := fixture(t)
	appID := strconv.FormatInt(s.AppID(), 10)
	key, err := jwt.ParseRSAPrivateKeyFromPEM(s.PrivateKeyPEM())
	if err != nil {
		t.Fatal(err)
	}
	forged, _ := rsa.GenerateKey(rand.Reader, 2048)
	now := time.Now()
	cases := []struct {
		name, auth, wantMsg string
		want                int
	}{
		{"valid", "Bearer " + signJWT(t, key, appID, now.Add(-30*time.Second), now.Add(time.Minute)), "ghs_", 201},
		{"forged key", "Bearer " + signJWT(t, forged, appID, now, now.Add(time.Minute)), "could not be decoded", 401},
		{"expired", "Bearer " + signJWT(t, key, appID, now.Add(-20*time.Minute), now.Add(-10*time.Minute)), "Expiration time", 401},
		{"too far", "Bearer " + signJWT(t, key, appID, now, now.Add(time.Hour)), "too far in the future", 401},
		{"wrong issuer", "Bearer " + signJWT(t, key, "999", now, now.Add(time.Minute)), "Issuer", 401},
		{"missing", "", "could not be decoded", 401},
		{"garbage", "Bearer not.a.jwt", "could not be decoded", 401},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, msg := postToken(t, s, tc.auth)
			if code != tc.want || !strings.Contains(msg, tc.wantMsg) {
				t.Fatalf("status %d %q, want %d containing %q", code, msg, tc.want, tc.wantMsg)
			}
		})
	}
}

func TestInstallationTokenRules(t *testing.T) {
	s, gh := fixture(t)
	if _, _, err := gh.Repositories.Get(ctx, "acme", "web"); err != nil {
		t.Fatal(err)
	}
	// Unauthenticated, bad token and JWT on a repo route.
	for _, tc := range []struct {
		auth string
		want int
	}{
		{"", 401}, {"token ghs_bogus", 401}, {"token nonsense", 401},
	} {
		req, _ := http.NewRequest("GET", s.URL()+"/repos/acme/web", nil)
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("auth %q: status %d, want %d", tc.auth, resp.StatusCode, tc.want)
		}
	}
	app := appClient(t, s)
	if _, _, err := app.Repositories.Get(ctx, "acme", "web"); statusOf(err) != http.StatusForbidden {
		t.Fatalf("JWT on repo route: %v, want 403", err)
	}
	if a, _, err := app.Apps.Get(ctx, ""); err != nil || a.GetID() != s.AppID() {
		t.Fatalf("GET /app = %v, %v", a, err)
	}
	if _, _, err := gh.Apps.Get(ctx, ""); statusOf(err) != http.StatusUnauthorized {
		t.Fatalf("installation token on /app: %v, want 401", err)
	}
	inst, _, err := app.Apps.FindRepositoryInstallation(ctx, "acme", "web")
	if err != nil || inst.GetID() != testInstallation {
		t.Fatalf("repo installation = %v, %v", inst, err)
	}
	// ghinstallation caches the token until near its expires_at, so after expiry the
	// cached token must be refused, and a fresh exchange must work again.
	s.ExpireTokens()
	if _, _, err := gh.Repositories.Get(ctx, "acme", "web"); statusOf(err) != http.StatusUnauthorized {
		t.Fatalf("expired token: %v, want 401", err)
	}
	gh2 := installationClient(t, s, testInstallation, "")
	if _, _, err := gh2.Repositories.Get(ctx, "acme", "web"); err != nil {
		t.Fatalf("fresh token after expiry: %v", err)
	}
}
