package repoconfig

import (
	"strings"
	"testing"
)

const governBase = `version: 1
artifacts:
  web:
    kind: app
    paths: ["web/**"]
    owners: ["@acme/web"]
    ci: [build]
    deploy: {driver: web}
  old:
    kind: app
    paths: ["old/**"]
environments:
  staging: {}
  production: {requires: [staging], approvals: {count: 1, from: [acme/sre]}, rollout: {steps: [50, 100], pause: 1m}}
`

func TestGovernKeepsTheBaseAndAddsOnlyNewArtifacts(t *testing.T) {
	base := mustParse(t, governBase)
	head := mustParse(t, `version: 1
artifacts:
  web:
    kind: app
    paths: ["nothing/**"]
    owners: ["@dev"]
    deploy: {driver: root}
  api:
    kind: app
    paths: ["api/**"]
    owners: ["@dev"]
    ci: [lint]
    resources: {gpu: 4}
    deploy: {driver: root}
environments:
  production: {rollout: {steps: [100]}}
  canary: {}
`)
	eff, changes := Govern(base, head)
	if eff.Artifact("web") != base.Artifact("web") || eff.Artifact("old") != base.Artifact("old") {
		t.Fatalf("an artifact the base defines is not the base's")
	}
	api := eff.Artifact("api")
	if api == nil || strings.Join(paths(api), ",") != "api/**" || api.Kind != "app" {
		t.Fatalf("the new artifact's location is not the head's: %+v", api)
	}
	if len(api.Owners) != 0 || len(api.CI) != 0 || api.Resources.GPU != 0 || api.Deploy.Driver != "" {
		t.Fatalf("the new artifact took governing fields from the head: %+v", api)
	}
	if head.Artifact("api").Deploy.Driver != "root" {
		t.Fatal("Govern modified the head's config")
	}
	if len(eff.Environments) != 2 || eff.Environment("canary") != nil || eff.Environment("production") != base.Environment("production") {
		t.Fatalf("environments are not the base's: %+v", eff.Environments)
	}
	got := map[string]string{}
	for _, c := range changes {
		got[c.Field] = c.Base + " -> " + c.Head
	}
	for field, want := range map[string]string{
		"artifacts.web.paths":                     "[web/**] -> [nothing/**]",
		"artifacts.web.owners":                    "[acme/web] -> [dev]",
		"artifacts.web.ci":                        "[build] -> (none)",
		"artifacts.web.deploy.driver":             "web -> root",
		"artifacts.old":                           "defined -> removed",
		"artifacts.api.owners":                    "(none) -> [dev]",
		"artifacts.api.ci":                        "(none) -> [lint]",
		"artifacts.api.resources.gpu":             "(none) -> 4",
		"artifacts.api.deploy.driver":             "(none) -> root",
		"environments.staging":                    "defined -> removed",
		"environments.production.requires":        "[staging] -> (none)",
		"environments.production.approvals.count": "1 -> (none)",
		"environments.production.rollout.steps":   "[50, 100] -> [100]",
		"environments.production.rollout.pause":   "1m0s -> (none)",
		"environments.canary":                     "(none) -> added",
	} {
		if got[field] != want {
			t.Errorf("%s = %q, want %q", field, got[field], want)
		}
	}
	if _, ok := got["artifacts.api.paths"]; ok {
		t.Error("a new artifact's paths are listed as a governance change; they apply now")
	}
}

func TestGovernWithoutOneSide(t *testing.T) {
	base := mustParse(t, governBase)
	eff, changes := Govern(base, nil)
	if len(changes) != 0 || len(eff.Artifacts) != 2 || len(eff.Environments) != 2 {
		t.Fatalf("Govern(base, nil) = %+v, %v", eff, changes)
	}
	eff, changes = Govern(base, base)
	if len(changes) != 0 {
		t.Fatalf("an unchanged config has governance changes %v", changes)
	}
	// The PR that adds the first config: its artifacts are checked, but no
	// environment exists and nothing is deployable before merge.
	eff, changes = Govern(nil, base)
	if len(eff.Environments) != 0 || len(eff.Artifacts) != 2 || eff.Artifact("web").Deploy.Driver != "" || len(changes) == 0 {
		t.Fatalf("Govern(nil, head) = %+v, %v", eff, changes)
	}
	if !IsNew(nil, "web") || IsNew(base, "web") || !IsNew(base, "api") {
		t.Fatal("IsNew")
	}
}
