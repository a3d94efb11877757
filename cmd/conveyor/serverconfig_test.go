package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// serve, check, policy and the demo load the server config with the driver
// rules: a driver problem stops them at load, with the file's other
// problems, as before the rules moved to deploy/driver.
func TestLoadServerConfigAppliesTheDriverRules(t *testing.T) {
	p := filepath.Join(t.TempDir(), "conveyor.server.yml")
	if err := os.WriteFile(p, []byte("drivers: {web: {type: exec}, hook: {type: webhook, url: \"https://d\"}}\nteams: {ml: {}}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := loadServerConfig(p)
	want := "server config " + p + `: drivers.hook.secret_env: missing (webhook deploys are signed, so name the environment variable holding the shared secret); drivers.web.command: missing (an exec driver runs a command, for example ["/opt/deploy/web.sh"]); teams.ml: write the team as org/slug`
	if err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant %s", err, want)
	}
	if err := os.WriteFile(p, []byte("drivers: {web: {type: exec, command: [/opt/deploy/web.sh]}}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if c, err := loadServerConfig(p); err != nil || !strings.HasSuffix(c.Drivers["web"].Command[0], "web.sh") {
		t.Errorf("valid config: %+v, %v", c, err)
	}
}
