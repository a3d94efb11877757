package signin

import (
	"errors"
	"strings"
	"testing"
)

func TestWebURL(t *testing.T) {
	for api, want := range map[string]string{
		"https://api.github.com":         "https://github.com",
		"https://api.github.com/":        "https://github.com",
		"https://ghe.example.com/api/v3": "https://ghe.example.com",
		"https://api.acme.ghe.com":       "https://acme.ghe.com",
		"http://127.0.0.1:4000":          "http://127.0.0.1:4000",
	} {
		if got := WebURL(api); got != want {
			t.Errorf("WebURL(%q) = %q, want %q", api, got, want)
		}
	}
}

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestConfigFromEnv(t *testing.T) {
	base := map[string]string{
		"GITHUB_CLIENT_ID": "Iv1.abc", "GITHUB_CLIENT_SECRET": "s3cret",
		"GITHUB_API_URL": "https://ghe.example.com/api/v3", "CONVEYOR_PUBLIC_URL": "https://conveyor.example.com",
	}
	key := []byte("-----BEGIN RSA PRIVATE KEY-----\nabc\n-----END RSA PRIVATE KEY-----\n")
	c, err := ConfigFromEnv(env(base), key)
	if err != nil {
		t.Fatal(err)
	}
	if c.GitHubURL != "https://ghe.example.com" || len(c.SessionKey) != 32 {
		t.Errorf("config = web %q, key %d bytes; want the Enterprise host and a derived 32-byte key", c.GitHubURL, len(c.SessionKey))
	}
	again, _ := ConfigFromEnv(env(base), key)
	other, _ := ConfigFromEnv(env(base), append([]byte("x"), key...))
	if string(again.SessionKey) != string(c.SessionKey) || string(other.SessionKey) == string(c.SessionKey) {
		t.Error("the derived session key is not a function of the private key")
	}

	hex := strings.Repeat("ab", 32)
	with := func(k, v string) map[string]string {
		m := map[string]string{}
		for a, b := range base {
			m[a] = b
		}
		m[k] = v
		return m
	}
	if c, err := ConfigFromEnv(env(with("CONVEYOR_SESSION_KEY", hex)), key); err != nil || len(c.SessionKey) != 32 || c.SessionKey[0] != 0xab {
		t.Errorf("hex session key: %v %x", err, c.SessionKey)
	}
	if c, _ := ConfigFromEnv(env(with("GITHUB_URL", "https://github.acme.dev")), key); c.GitHubURL != "https://github.acme.dev" {
		t.Errorf("GITHUB_URL = %q, want it to win over the derivation", c.GitHubURL)
	}
	if _, err := ConfigFromEnv(env(with("GITHUB_CLIENT_ID", "")), key); !errors.Is(err, ErrNotConfigured) {
		t.Errorf("no client ID: %v, want ErrNotConfigured", err)
	}
	for name, c := range map[string]struct {
		env     map[string]string
		key     []byte
		setting string
	}{
		"no secret":          {with("GITHUB_CLIENT_SECRET", ""), key, "GITHUB_CLIENT_SECRET"},
		"short session key":  {with("CONVEYOR_SESSION_KEY", "short"), key, "CONVEYOR_SESSION_KEY"},
		"nothing to derive":  {base, nil, "CONVEYOR_SESSION_KEY"},
		"no public URL":      {with("CONVEYOR_PUBLIC_URL", ""), key, "CONVEYOR_PUBLIC_URL"},
		"plain http afar":    {with("CONVEYOR_PUBLIC_URL", "http://conveyor.example.com"), key, "CONVEYOR_PUBLIC_URL"},
		"public URL path":    {with("CONVEYOR_PUBLIC_URL", "https://x.example.com/dash"), key, "CONVEYOR_PUBLIC_URL"},
		"malformed web host": {with("GITHUB_URL", "github.com"), key, "GITHUB_URL"},
	} {
		_, err := ConfigFromEnv(env(c.env), c.key)
		if err == nil || !strings.HasPrefix(err.Error(), c.setting) {
			t.Errorf("%s: %v, want an error naming %s", name, err, c.setting)
		}
	}
	if _, err := ConfigFromEnv(env(with("CONVEYOR_PUBLIC_URL", "http://127.0.0.1:3000")), key); err != nil {
		t.Errorf("plain http on loopback (the demo): %v", err)
	}
}
