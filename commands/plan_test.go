package commands

import (
	"strings"
	"testing"
	"time"

	"github.com/conveyor-dev/conveyor/deploy"
	"github.com/conveyor-dev/conveyor/internal/serverconfig"
)

func TestPlanReportsWithoutStarting(t *testing.T) {
	e := newEnv(t)
	e.gh.SetPermission(testRepo, "dev", "write")
	pr := e.openPR("feature", "dev", webChange())
	e.gate.set(pr.HeadSHA, "")
	id := e.comment(pr, "dev", "/plan production")
	if len(e.starts()) != 0 || len(e.dep.rollbacks) != 0 {
		t.Fatal("/plan started something")
	}
	if got := e.reactions(id); got != "eyes,rocket" {
		t.Fatalf("reactions = %q, want eyes,rocket", got)
	}
	mustContain(t, e.oneReply(pr),
		"Plan for **production** at `"+pr.HeadSHA[:7]+"`",
		"| web | app | nothing yet | "+pr.HeadSHA[:7]+" | - | web-argo |",
		"Policy: **deny**",
		"production requires a successful deployment of "+pr.HeadSHA[:7]+" to staging first",
		"@dev has write permission; production needs maintain or membership in acme/sre",
		"Approvals needed: 2 from acme/sre",
		"Preconditions not yet met:",
		"the conveyor check has not finished",
		"Rollout: 10% -> 50% -> 100%, 2m0s between steps.")
}

// withDrivers is the default server config with the drivers the test
// repository's config names (a PR's config is validated against them).
func withDrivers() *serverconfig.Config {
	scfg := serverconfig.Default()
	scfg.Drivers = map[string]serverconfig.Driver{
		"web-argo": {Type: "exec", Command: []string{"true"}},
		"mlflow":   {Type: "mlflow", Registry: "main"},
	}
	return scfg
}

func TestGovernanceComesFromTheBaseBranch(t *testing.T) {
	e := newEnvConfig(t, withDrivers())
	e.gh.SetPermission(testRepo, "lead", "maintain")
	// The PR drops production's approvals and staging requirement in its own
	// config, and adds an artifact.
	weakened := strings.Replace(baseConfig, "    requires: [staging]\n    approvals: {count: 2, from: [\"@acme/sre\"]}\n", "", 1)
	weakened = strings.Replace(weakened, "environments:", "  api:\n    kind: app\n    paths: [\"services/api/**\"]\n    owners: [\"@acme/web\"]\n    deploy: {driver: web-argo}\nenvironments:", 1)
	if weakened == baseConfig {
		t.Fatal("test setup: the config was not weakened")
	}
	pr := e.openPR("weaken", "dev", map[string]*string{
		".github/conveyor.yml": strp(weakened),
		"services/api/main.go": strp("package main\n"),
	})

	e.comment(pr, "lead", "/plan production")
	mustContain(t, e.oneReply(pr), "Approvals needed: 2 from acme/sre", "requires a successful deployment",
		"artifact api is new in this PR: it is checked, but it can be deployed only after the .github/conveyor.yml that defines it is merged",
		"Governance changes take effect after merge",
		"- `environments.production.approvals.count`: 2 -> (none)",
		"- `artifacts.api.deploy.driver`: (none) -> web-argo")

	// Even with staging done, the new artifact does not ship before merge:
	// its driver is the PR's own word.
	e.dep.last["staging"] = map[string]string{"api": pr.HeadSHA}
	e.comment(pr, "lead", "/deploy production")
	if starts := e.starts(); len(starts) != 0 {
		t.Fatalf("started %+v: a PR deployed an artifact its own config defines", starts)
	}
	mustContain(t, e.replies(pr)[1], "artifact api is new in this PR")
}

func TestStatusTable(t *testing.T) {
	e := newEnv(t)
	e.gh.SetPermission(testRepo, "dev", "write")
	pr := e.openPR("feature", "dev", webChange())
	at := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	e.dep.report = deploy.StatusReport{
		Repository: testRepo,
		Environments: []deploy.EnvironmentStatus{
			{Name: "production", Artifacts: []deploy.ArtifactStatus{{Name: "fraud-model", Kind: "model", Serving: "14", SHA: "0123456789", State: "in_progress", DeploymentID: 9, PR: 5, By: "ml", At: at}}},
			{Name: "staging", Artifacts: []deploy.ArtifactStatus{{Name: "web", Kind: "app", Serving: "abcdef1234", SHA: "abcdef1234", State: "succeeded", DeploymentID: 8, PR: 4, By: "dev", At: at}}},
		},
		Locks:            []deploy.Lock{{Environment: "production", PR: 5, Login: "ml", Reason: "model rollout", Manual: true, Since: at}},
		PendingApprovals: []*deploy.Deployment{{ID: 10, PR: 6, Environment: "production", SHA: "feedbeef99", Requester: "dev", Quorum: deploy.Quorum{Groups: []deploy.Group{{Count: 2}}}, Approvals: []deploy.Approval{{Login: "sre1"}}}},
	}
	id := e.comment(pr, "dev", "/status")
	mustContain(t, e.oneReply(pr),
		"| environment | artifact |",
		"| production | fraud-model | 14 |",
		"| staging | web | abcdef1",
		"succeeded (#8, PR #4) | @dev |",
		"- production: PR #5 by @ml since 2025-03-01T10:00:00Z (/lock: model rollout)",
		"- deployment 10: feedbee", "to production (PR #6), 1/2 approvals")
	if e.reactions(id) != "eyes,rocket" {
		t.Fatalf("reactions = %q", e.reactions(id))
	}
}

func TestHelpAndSeveralCommands(t *testing.T) {
	e := newEnv(t)
	e.gh.SetPermission(testRepo, "dev", "write")
	pr := e.openPR("feature", "dev", webChange())
	id := e.comment(pr, "dev", "/help\n/deploy staging\n/plan staging")
	reply := e.oneReply(pr)
	mustContain(t, reply, "### Conveyor commands", "Plan for **staging**", "Policy: **allow**", "Approvals: none needed")
	if len(e.starts()) != 1 || e.reactions(id) != "eyes,rocket" {
		t.Fatalf("starts %d, reactions %q", len(e.starts()), e.reactions(id))
	}
}

// A freeze on the base branch holds even when the PR deletes it from its
// own config; the reply lists the deletion as taking effect after merge.
func TestHeadCannotLiftAFreeze(t *testing.T) {
	e := newEnvConfig(t, withDrivers())
	e.gh.SetPermission(testRepo, "dev", "write")
	frozen := strings.Replace(baseConfig, "  staging: {}\n", "  staging: {freeze: [\"Wed 00:00-Thu 00:00 UTC\"]}\n", 1)
	e.gh.Commit(testRepo, "main", map[string]*string{".github/conveyor.yml": strp(frozen)}, "freeze staging on Wednesdays")
	e.clock.Set(time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)) // a Wednesday
	files := webChange()
	files[".github/conveyor.yml"] = strp(baseConfig) // the PR lifts the freeze
	pr := e.openPR("thaw", "dev", files)
	e.comment(pr, "dev", "/deploy staging")
	mustContain(t, e.oneReply(pr), "staging is frozen now", "Governance changes take effect after merge",
		"- `environments.staging.freeze`: [Wed 00:00-Thu 00:00 UTC] -> (none)")
	if len(e.starts()) != 0 {
		t.Fatal("a PR lifted the freeze it is deployed under")
	}
}
