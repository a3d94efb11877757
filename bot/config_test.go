package bot

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func testKeyPEM(t testing.TB) []byte {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
}

func TestConfigFromEnv(t *testing.T) {
	t.Parallel()
	key := string(testKeyPEM(t))
	keyFile := filepath.Join(t.TempDir(), "key.pem")
	os.WriteFile(keyFile, []byte(key), 0o600)
	good := map[string]string{"APP_ID": "12", "PRIVATE_KEY": key, "WEBHOOK_SECRET": "s"}
	with := func(over map[string]string) func(string) string {
		m := map[string]string{}
		for k, v := range good {
			m[k] = v
		}
		for k, v := range over {
			m[k] = v
		}
		return func(k string) string { return m[k] }
	}
	c, err := ConfigFromEnv(with(nil))
	if err != nil || c.AppID != 12 || c.Port != 3000 {
		t.Fatalf("good config: %+v %v", c, err)
	}
	// Probot's one-line key with literal \n.
	if _, err := ConfigFromEnv(with(map[string]string{"PRIVATE_KEY": strings.ReplaceAll(key, "\n", `\n`)})); err != nil {
		t.Fatalf("one-line key: %v", err)
	}
	if _, err := ConfigFromEnv(with(map[string]string{"PRIVATE_KEY": "", "PRIVATE_KEY_PATH": keyFile})); err != nil {
		t.Fatalf("key path: %v", err)
	}
	bad := map[string]map[string]string{
		"APP_ID":               {"APP_ID": ""},
		"APP_ID ":              {"APP_ID": "twelve"},
		"PRIVATE_KEY":          {"PRIVATE_KEY": "not a key"},
		"PRIVATE_KEY_PATH":     {"PRIVATE_KEY": "", "PRIVATE_KEY_PATH": "/nonexistent/key.pem"},
		"WEBHOOK_SECRET":       {"WEBHOOK_SECRET": ""},
		"GITHUB_API_URL":       {"GITHUB_API_URL": "ghe.example.com"},
		"PORT":                 {"PORT": "eighty"},
		"SLACK_SIGNING_SECRET": {"SLACK_BOT_TOKEN": "xoxb-1"},
		"SLACK_API_URL":        {"SLACK_API_URL": "::"},
	}
	for setting, over := range bad {
		_, err := ConfigFromEnv(with(over))
		var ce *ConfigError
		if err == nil || !asConfigError(err, &ce) || ce.Setting != strings.TrimSpace(setting) {
			t.Errorf("%v: err = %v; want a ConfigError naming %s", over, err, setting)
		}
	}
}

func asConfigError(err error, target **ConfigError) bool {
	ce, ok := err.(*ConfigError)
	*target = ce
	return ok
}

func TestConfigLogsNoSecrets(t *testing.T) {
	t.Parallel()
	key := string(testKeyPEM(t))
	c, err := ConfigFromEnv(func(k string) string {
		return map[string]string{"APP_ID": "1", "PRIVATE_KEY": key, "WEBHOOK_SECRET": "wh-secret-value", "SLACK_BOT_TOKEN": "xoxb-token-value", "SLACK_SIGNING_SECRET": "slack-secret-value", "METRICS_TOKEN": "metrics-token-value"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	slog.New(slog.NewJSONHandler(&b, nil)).Info("config", "config", c)
	out := b.String()
	for _, secret := range []string{"wh-secret-value", "xoxb-token-value", "slack-secret-value", "metrics-token-value", "PRIVATE KEY"} {
		if strings.Contains(out, secret) {
			t.Fatalf("log line contains a secret: %s", out)
		}
	}
	if !strings.Contains(out, `"webhook_secret":"set"`) || !strings.Contains(out, `"metrics_token":"set"`) {
		t.Fatalf("log line = %s", out)
	}
	_ = fmt.Sprint
}
