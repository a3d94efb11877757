package signin

import (
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// CallbackPath is where GitHub sends the user back after authorizing; the
// app's callback URL (app.yml callback_urls) is the public address plus it.
const CallbackPath = "/oauth/callback"

// Config is what sign-in needs to know. ConfigFromEnv fills it from the
// environment `conveyor serve` reads.
type Config struct {
	// ClientID and ClientSecret are the GitHub App's OAuth client
	// (GITHUB_CLIENT_ID, GITHUB_CLIENT_SECRET), not its App ID and key.
	ClientID, ClientSecret string
	// GitHubURL is GitHub's web host, where users authorize:
	// https://github.com, or https://ghe.example.com for Enterprise Server.
	GitHubURL string
	// APIURL is the REST base the user's token is used against:
	// https://api.github.com or https://ghe.example.com/api/v3.
	APIURL string
	// PublicURL is Conveyor's address as browsers reach it
	// (CONVEYOR_PUBLIC_URL); the OAuth callback is PublicURL + CallbackPath.
	// https is required except on a loopback address (the demo).
	PublicURL string
	// SessionKey is the secret the session cookies are sealed with; at
	// least 32 bytes.
	SessionKey []byte
	// SessionTTL bounds a session (default 8h, the life of GitHub's user
	// access tokens).
	SessionTTL time.Duration
	// ReadCacheTTL is how long a CanRead answer is reused (default 60s).
	ReadCacheTTL time.Duration
	// HTTPClient talks to GitHub (default: a client with a 15 s timeout).
	HTTPClient *http.Client
	// Log records sign-ins and refusals (default: discarded).
	Log *slog.Logger
	// Now is the clock (default time.Now); tests move it.
	Now func() time.Time
}

// ErrNotConfigured means no OAuth client is configured: GITHUB_CLIENT_ID is
// unset, so the dashboard cannot sign anyone in.
var ErrNotConfigured = errors.New("GITHUB_CLIENT_ID is not set: the dashboard needs the GitHub App's OAuth client to sign users in (conveyor setup writes GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET to .env)")

// ConfigFromEnv reads GITHUB_CLIENT_ID, GITHUB_CLIENT_SECRET, GITHUB_URL,
// GITHUB_API_URL, CONVEYOR_PUBLIC_URL and CONVEYOR_SESSION_KEY with getenv.
// Without CONVEYOR_SESSION_KEY the session key is derived from the app's
// private key (privateKeyPEM), so every replica agrees on it; sessions then
// end when the key is rotated. It returns ErrNotConfigured when
// GITHUB_CLIENT_ID is unset and an error naming the setting when one is
// malformed.
func ConfigFromEnv(getenv func(string) string, privateKeyPEM []byte) (Config, error) {
	c := Config{
		ClientID:     getenv("GITHUB_CLIENT_ID"),
		ClientSecret: getenv("GITHUB_CLIENT_SECRET"),
		APIURL:       getenv("GITHUB_API_URL"),
		GitHubURL:    getenv("GITHUB_URL"),
		PublicURL:    getenv("CONVEYOR_PUBLIC_URL"),
	}
	if c.ClientID == "" {
		return Config{}, ErrNotConfigured
	}
	if c.ClientSecret == "" {
		return Config{}, errors.New("GITHUB_CLIENT_SECRET: missing (the GitHub App's client secret, next to its client ID on the app's settings page)")
	}
	if c.APIURL == "" {
		c.APIURL = "https://api.github.com"
	}
	if c.GitHubURL == "" {
		c.GitHubURL = WebURL(c.APIURL)
	}
	if k := getenv("CONVEYOR_SESSION_KEY"); k != "" {
		key, err := parseSessionKey(k)
		if err != nil {
			return Config{}, fmt.Errorf("CONVEYOR_SESSION_KEY: %w", err)
		}
		c.SessionKey = key
	} else {
		if len(privateKeyPEM) == 0 {
			return Config{}, errors.New("CONVEYOR_SESSION_KEY: missing, and there is no app private key to derive it from (generate one with: openssl rand -hex 32)")
		}
		key, err := hkdf.Key(sha256.New, privateKeyPEM, nil, "conveyor dashboard session key from the app's private key", 32)
		if err != nil {
			return Config{}, fmt.Errorf("derive the session key: %w", err)
		}
		c.SessionKey = key
	}
	return c, c.validate()
}

// parseSessionKey takes 64 hex digits (what `conveyor setup` writes and
// `openssl rand -hex 32` prints) or any other string of at least 32 bytes.
func parseSessionKey(k string) ([]byte, error) {
	if b, err := hex.DecodeString(k); err == nil && len(b) >= 32 {
		return b, nil
	}
	if len(k) < 32 {
		return nil, fmt.Errorf("%d characters is too short; write at least 32 random bytes, e.g. the output of openssl rand -hex 32", len(k))
	}
	return []byte(k), nil
}

// WebURL derives GitHub's web host from its API base: api.github.com ->
// github.com, https://ghe.example.com/api/v3 -> https://ghe.example.com,
// api.acme.ghe.com (GHE.com) -> acme.ghe.com; any other base (an emulator
// serving both) is its own web host. Set GITHUB_URL when none of these fit.
func WebURL(apiURL string) string {
	u, err := url.Parse(strings.TrimRight(apiURL, "/"))
	if err != nil || u.Host == "" {
		return strings.TrimRight(apiURL, "/")
	}
	u.RawQuery, u.Fragment = "", ""
	switch {
	case u.Host == "api.github.com":
		u.Host = "github.com"
		u.Path = ""
	case strings.HasPrefix(u.Host, "api.") && strings.HasSuffix(u.Host, ".ghe.com"):
		u.Host = strings.TrimPrefix(u.Host, "api.")
		u.Path = ""
	case strings.HasSuffix(u.Path, "/api/v3"):
		u.Path = strings.TrimSuffix(u.Path, "/api/v3")
	}
	return strings.TrimRight(u.String(), "/")
}

func (c *Config) validate() error {
	if c.ClientID == "" || c.ClientSecret == "" {
		return errors.New("GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET: both are needed to sign users in")
	}
	for _, s := range []struct{ name, value, example string }{
		{"GITHUB_URL", c.GitHubURL, "https://github.com or https://ghe.example.com"},
		{"GITHUB_API_URL", c.APIURL, "https://api.github.com or https://ghe.example.com/api/v3"},
	} {
		if u, err := url.Parse(s.value); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("%s: %q is not an http(s) URL; write something like %s", s.name, s.value, s.example)
		}
	}
	if c.PublicURL == "" {
		return errors.New("CONVEYOR_PUBLIC_URL: missing; sign-in needs Conveyor's address as browsers reach it, e.g. https://conveyor.example.com (GitHub sends users back to it + " + CallbackPath + ")")
	}
	u, err := url.Parse(c.PublicURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
		return fmt.Errorf("CONVEYOR_PUBLIC_URL: %q is not an address like https://conveyor.example.com (scheme and host, no path)", c.PublicURL)
	}
	if u.Scheme == "http" && !isLoopback(u.Hostname()) {
		return fmt.Errorf("CONVEYOR_PUBLIC_URL: %q is plain http; session cookies are Secure, so serve the dashboard over https (plain http is allowed only on localhost)", c.PublicURL)
	}
	if len(c.SessionKey) < 32 {
		return errors.New("CONVEYOR_SESSION_KEY: the session key needs at least 32 bytes")
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
