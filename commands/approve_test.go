package commands

import (
	"strings"
	"testing"

	"github.com/conveyor-dev/conveyor/deploy"
)

// awaitingProduction makes the fake engine report pr's production deployment
// as awaiting approval.
func awaitingProduction(e *env, pr int, sha string) {
	e.dep.report.PendingApprovals = []*deploy.Deployment{{ID: 41, PR: pr, Environment: "production", SHA: sha, State: "awaiting_approval",
		Requester: "lead", Artifacts: []deploy.ArtifactState{{Name: "web", Kind: "app"}},
		Quorum: deploy.Quorum{Groups: []deploy.Group{{Count: 2, From: []string{"acme/sre"}}}}}}
}

func TestApproveBySRE(t *testing.T) {
	e := newEnv(t)
	e.gh.SetPermission(testRepo, "sre1", "write")
	e.gh.AddTeamMember("acme", "sre", "sre1")
	pr := e.openPR("feature", "dev", webChange())
	awaitingProduction(e, pr.Number, pr.HeadSHA)

	id := e.comment(pr, "sre1", "/approve")
	if e.reactions(id) != "eyes,rocket" || len(e.dep.approvals) != 1 {
		t.Fatalf("reactions %q, approvals %+v; replies %q", e.reactions(id), e.dep.approvals, e.replies(pr))
	}
	a := e.dep.approvals[0]
	if a.Login != "sre1" || a.Via != "github" || a.SHA != pr.HeadSHA || strings.Join(a.Teams, ",") != "acme/sre" {
		t.Fatalf("approval = %+v, want sre1 via github bound to %s with team acme/sre", a, pr.HeadSHA)
	}
}

func TestApproveRefusals(t *testing.T) {
	e := newEnv(t)
	e.gh.SetPermission(testRepo, "dev", "write")
	e.gh.SetPermission(testRepo, "lead", "maintain")
	e.gh.SetPermission(testRepo, "other", "write")
	e.gh.AddTeamMember("acme", "sre", "dev")
	e.gh.AddTeamMember("acme", "sre", "lead")
	pr := e.openPR("feature", "dev", webChange())

	e.comment(pr, "other", "/approve")
	mustContain(t, e.replies(pr)[0], "no deployment of this PR awaits approval")

	awaitingProduction(e, pr.Number, pr.HeadSHA)
	e.comment(pr, "dev", "/approve production")
	mustContain(t, e.replies(pr)[1], "Approval refused", "@dev opened PR #1 and cannot approve its own deployment")
	e.comment(pr, "lead", "/approve")
	mustContain(t, e.replies(pr)[2], "@lead asked for this deployment and cannot approve it")
	e.comment(pr, "other", "/approve")
	mustContain(t, e.replies(pr)[3], "@other is not in acme/sre and cannot approve this deployment to production")
	e.comment(pr, "other", "/approve staging")
	mustContain(t, e.replies(pr)[4], "no deployment of this PR to staging awaits approval")
	if len(e.dep.approvals) != 0 {
		t.Fatalf("refused approvals reached the engine: %+v", e.dep.approvals)
	}
}

func TestRejectAndCancel(t *testing.T) {
	e := newEnv(t)
	e.gh.SetPermission(testRepo, "sre1", "write")
	e.gh.SetPermission(testRepo, "dev", "write")
	e.gh.SetPermission(testRepo, "reader", "triage")
	e.gh.AddTeamMember("acme", "sre", "sre1")
	pr := e.openPR("feature", "dev", webChange())
	awaitingProduction(e, pr.Number, pr.HeadSHA)

	e.comment(pr, "sre1", `/reject production "not during the sale"`)
	if len(e.dep.rejects) != 1 || e.dep.rejects[0] != "41 sre1 github not during the sale" {
		t.Fatalf("rejects = %q", e.dep.rejects)
	}

	e.comment(pr, "dev", "/deploy staging")
	e.comment(pr, "reader", "/cancel")
	mustContain(t, e.oneReply(pr), "Not cancelling", "@reader has triage permission")
	e.comment(pr, "dev", "/cancel")
	if e.dep.cancels != 1 {
		t.Fatalf("cancels = %d, want 1", e.dep.cancels)
	}
	mustContain(t, e.replies(pr)[1], "Cancelled:", "- staging at `"+pr.HeadSHA[:7]+"`: cancelled")
}

func TestLockUnlockAndRollback(t *testing.T) {
	e := newEnv(t)
	e.gh.SetPermission(testRepo, "dev", "write")
	e.gh.SetPermission(testRepo, "reader", "triage")
	pr := e.openPR("feature", "dev", webChange())

	e.comment(pr, "reader", "/lock staging")
	mustContain(t, e.oneReply(pr), "Not locking staging", "locking an environment needs write")
	if len(e.gate.refreshed) != 0 {
		t.Errorf("a refused /lock re-evaluated the checks of %v", e.gate.refreshed)
	}
	e.comment(pr, "dev", `/lock staging "load test"`)
	e.comment(pr, "dev", "/unlock staging")
	if strings.Join(e.dep.locks, ";") != "staging #1 @dev load test" || strings.Join(e.dep.unlocks, ";") != "staging @dev" {
		t.Fatalf("locks %q, unlocks %q", e.dep.locks, e.dep.unlocks)
	}
	// Each lock change has the repository's pull requests evaluated again,
	// so their Readiness shows it.
	if strings.Join(e.gate.refreshed, ";") != testRepo+";"+testRepo {
		t.Errorf("refreshed = %q, want %s twice", e.gate.refreshed, testRepo)
	}

	e.comment(pr, "dev", "/rollback staging")
	if len(e.dep.rollbacks) != 1 || e.dep.rollbacks[0].Environment != "staging" || e.dep.rollbacks[0].Artifacts[0].Name != "web" {
		t.Fatalf("rollbacks = %+v, want staging web", e.dep.rollbacks)
	}
	if len(e.starts()) != 0 {
		t.Fatal("/rollback called Start")
	}
}
