package appsetup

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRunRejectsBadOptions(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"github url", Options{GitHubURL: "github.com", Manifest: []byte(testManifest)}, `--github-url "github.com" is not an http(s) URL`},
		{"api url", Options{APIURL: "ftp://x", Manifest: []byte(testManifest)}, `--api-url "ftp://x" is not an http(s) URL`},
		{"webhook url", Options{WebhookURL: "/webhooks/github", Manifest: []byte(testManifest)}, "--webhook-url"},
		{"org", Options{Org: "acme/shop", Manifest: []byte(testManifest)}, "write just the login"},
		{"empty manifest", Options{}, "pass --manifest"},
		{"bad yaml", Options{Manifest: []byte("name: [")}, "not valid YAML"},
		{"no name", Options{Manifest: []byte("url: https://x\n")}, "has no name"},
		{"no webhook", Options{Manifest: []byte("name: Conveyor\n")}, "no webhook URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Listen = "127.0.0.1:0"
			tt.opts.EnvPath = filepath.Join(dir, tt.name+".env")
			tt.opts.Open = func(string) error { t.Error("Run opened the page despite bad options"); return nil }
			_, err := Run(context.Background(), tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Run = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestRunRefusesExistingEnvFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".env")
	if err := os.WriteFile(path, []byte("KEEP=1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Run(context.Background(), Options{Manifest: []byte(testManifest), EnvPath: path, Listen: "127.0.0.1:0"})
	if err == nil || !strings.Contains(err.Error(), "already exists; move it away or pass --force") {
		t.Errorf("Run = %v, want a refusal to overwrite", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "KEEP=1\n" {
		t.Errorf("the existing file changed to %q", b)
	}
}

func TestWriteEnvFileForceOverwritesWithMode0600(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".env")
	if err := os.WriteFile(path, []byte("OLD=1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	creds := &Credentials{AppID: 7, PrivateKeyPEM: testPEM, WebhookSecret: "w", ClientID: "c", ClientSecret: "s"}
	if err := writeEnvFile(path, envEntries(creds, defaultGitHubURL, defaultAPIURL, "k"), false); err == nil {
		t.Error("writeEnvFile without force overwrote an existing file")
	}
	if err := writeEnvFile(path, envEntries(creds, defaultGitHubURL, defaultAPIURL, "k"), true); err != nil {
		t.Fatal(err)
	}
	info, _ := os.Stat(path)
	if info.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, want 0600", info.Mode().Perm())
	}
	env := readEnv(t, path)
	if env["APP_ID"] != "7" || env["PRIVATE_KEY"] != testPEM || env["OLD"] != "" {
		t.Errorf(".env = %v", env)
	}
	if _, ok := env["GITHUB_API_URL"]; ok {
		t.Error("GITHUB_API_URL written for github.com; it belongs only to Enterprise")
	}
	leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".env-conveyor-*"))
	if len(leftovers) != 0 {
		t.Errorf("temporary files left behind: %v", leftovers)
	}
}

func TestQuoteEnvValue(t *testing.T) {
	tests := map[string]string{
		"42":                     "42",
		"https://ghe.x/api/v3":   "https://ghe.x/api/v3",
		"":                       `""`,
		"a b":                    `"a b"`,
		"line1\r\nline2\n":       `"line1\nline2\n"`,
		`say "hi" \ $HOME`:       `"say \"hi\" \\ \$HOME"`,
		"-----BEGIN KEY-----\nx": `"-----BEGIN KEY-----\nx"`,
	}
	for in, want := range tests {
		if got := quoteEnvValue(in); got != want {
			t.Errorf("quoteEnvValue(%q) = %s, want %s", in, got, want)
		}
		if strings.Contains(quoteEnvValue(in), "\n") {
			t.Errorf("quoteEnvValue(%q) spans lines", in)
		}
	}
}

func TestNewCommandFlags(t *testing.T) {
	t.Setenv("GITHUB_API_URL", "https://ghe.example.com/api/v3")
	cmd := NewCommand()
	if cmd.Name() != "setup" {
		t.Errorf("command name = %q, want setup", cmd.Name())
	}
	defaults := map[string]string{
		"github-url": "https://github.com", "api-url": "https://ghe.example.com/api/v3", "org": "",
		"manifest": "app.yml", "webhook-url": "", "env-file": ".env", "listen": "127.0.0.1:3000", "force": "false",
	}
	for name, want := range defaults {
		f := cmd.Flags().Lookup(name)
		if f == nil {
			t.Errorf("flag --%s missing", name)
			continue
		}
		if f.DefValue != want {
			t.Errorf("--%s default = %q, want %q", name, f.DefValue, want)
		}
	}
}

func TestNewCommandMissingManifest(t *testing.T) {
	cmd := NewCommand()
	cmd.SetArgs([]string{"--manifest", filepath.Join(t.TempDir(), "nope.yml")})
	cmd.SetOut(&strings.Builder{})
	cmd.SetErr(&strings.Builder{})
	err := cmd.ExecuteContext(context.Background())
	if err == nil || !strings.Contains(err.Error(), "read the app manifest") || !strings.Contains(err.Error(), "--manifest") {
		t.Errorf("setup with a missing manifest = %v, want a read error naming --manifest", err)
	}
}

func TestEnvEntriesNameEnterpriseHosts(t *testing.T) {
	creds := &Credentials{AppID: 7, PrivateKeyPEM: testPEM, WebhookSecret: "w", ClientID: "c", ClientSecret: "s"}
	got := map[string]string{}
	for _, e := range envEntries(creds, "https://ghe.example.com", "https://ghe.example.com/api/v3", "k") {
		got[e.key] = e.value
	}
	if got["GITHUB_URL"] != "https://ghe.example.com" || got["GITHUB_API_URL"] != "https://ghe.example.com/api/v3" ||
		got["GITHUB_CLIENT_ID"] != "c" || got["GITHUB_CLIENT_SECRET"] != "s" || got["CONVEYOR_SESSION_KEY"] != "k" {
		t.Errorf("entries = %v", got)
	}
	for _, e := range envEntries(creds, defaultGitHubURL, defaultAPIURL, "k") {
		if e.key == "GITHUB_URL" || e.key == "GITHUB_API_URL" {
			t.Errorf("%s written for github.com", e.key)
		}
	}
}
