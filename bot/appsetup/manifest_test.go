package appsetup

import (
	"os"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestAppManifest checks the repository's app.yml: the events Conveyor
// handles and the permissions it needs.
func TestAppManifest(t *testing.T) {
	b, err := os.ReadFile("../../app.yml")
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Name           string            `yaml:"name"`
		Public         bool              `yaml:"public"`
		HookAttributes map[string]any    `yaml:"hook_attributes"`
		DefaultEvents  []string          `yaml:"default_events"`
		Permissions    map[string]string `yaml:"default_permissions"`
		CallbackURLs   []string          `yaml:"callback_urls"`
		OAuthOnInstall *bool             `yaml:"request_oauth_on_install"`
	}
	if err := yaml.Unmarshal(b, &m); err != nil {
		t.Fatalf("app.yml: %v", err)
	}
	if m.Name == "" || m.Public || m.HookAttributes["url"] == nil {
		t.Errorf("app.yml name/public/hook url = %q/%v/%v, want a private app with a webhook URL", m.Name, m.Public, m.HookAttributes["url"])
	}
	for _, e := range []string{"pull_request", "issue_comment", "check_run", "check_suite", "push", "workflow_run", "membership", "status"} {
		if !slices.Contains(m.DefaultEvents, e) {
			t.Errorf("default_events lacks %s", e)
		}
	}
	// Delivered to every app without a subscription; the manifest format does not take them.
	for _, e := range []string{"installation", "installation_repositories"} {
		if slices.Contains(m.DefaultEvents, e) {
			t.Errorf("default_events lists %s, which GitHub delivers without subscription", e)
		}
	}
	want := map[string]string{
		"checks": "write", "contents": "read", "deployments": "write", "issues": "write", "pull_requests": "write",
		"statuses": "read", "actions": "write", "members": "read", "metadata": "read",
	}
	for p, level := range want {
		if m.Permissions[p] != level {
			t.Errorf("default_permissions.%s = %q, want %q", p, m.Permissions[p], level)
		}
	}
	if len(m.Permissions) != len(want) {
		t.Errorf("default_permissions = %v, want exactly %v (least privilege)", m.Permissions, want)
	}
	// The dashboard's sign-in: its callback, and no authorization asked at install.
	if len(m.CallbackURLs) != 1 || !strings.HasSuffix(m.CallbackURLs[0], OAuthCallbackPath) ||
		m.OAuthOnInstall == nil || *m.OAuthOnInstall {
		t.Errorf("callback_urls/request_oauth_on_install = %v/%v, want one .../oauth/callback and false", m.CallbackURLs, m.OAuthOnInstall)
	}
	manifestJSON, err := buildManifest(b, "", "http://127.0.0.1:3000/callback")
	if err != nil || !strings.Contains(manifestJSON, `"redirect_url":"http://127.0.0.1:3000/callback"`) {
		t.Errorf("app.yml does not convert to a manifest: %v", err)
	}
}

func TestSlackAppManifest(t *testing.T) {
	b, err := os.ReadFile("../../slack-app.yml")
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		DisplayInformation struct{ Name string } `yaml:"display_information"`
		OAuthConfig        struct {
			Scopes struct{ Bot []string }
		} `yaml:"oauth_config"`
		Settings struct {
			Interactivity struct {
				IsEnabled  bool   `yaml:"is_enabled"`
				RequestURL string `yaml:"request_url"`
			}
		}
	}
	if err := yaml.Unmarshal(b, &m); err != nil {
		t.Fatalf("slack-app.yml: %v", err)
	}
	if m.DisplayInformation.Name == "" {
		t.Error("slack-app.yml has no display name")
	}
	if got := m.OAuthConfig.Scopes.Bot; !slices.Equal(got, []string{"chat:write", "users:read", "users:read.email"}) {
		t.Errorf("bot scopes = %v", got)
	}
	if !m.Settings.Interactivity.IsEnabled || m.Settings.Interactivity.RequestURL != "https://conveyor.example.com/slack/interactions" {
		t.Errorf("interactivity = %+v", m.Settings.Interactivity)
	}
}
