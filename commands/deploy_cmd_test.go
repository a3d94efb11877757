package commands

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v66/github"

	"github.com/conveyor-dev/conveyor/deploy"
	"github.com/conveyor-dev/conveyor/deploy/driver"
	"github.com/conveyor-dev/conveyor/internal/ghfake"
	"github.com/conveyor-dev/conveyor/policies"
)

func TestDeployStagingByWriter(t *testing.T) {
	e := newEnv(t)
	e.gh.SetPermission(testRepo, "dev", "write")
	pr := e.openPR("feature", "dev", webChange())
	e.gh.ResetCalls()

	id := e.comment(pr, "dev", "Looks good.\n/deploy staging")

	repoCalls := e.gh.CallsMatching("", "/repos/")
	if len(repoCalls) == 0 || repoCalls[0].Method != "POST" || !strings.HasSuffix(repoCalls[0].Path, "/reactions") {
		t.Fatalf("first repository call = %+v, want the eyes reaction", repoCalls[0])
	}
	if got := e.reactions(id); got != "eyes,rocket" {
		t.Fatalf("reactions = %q, want eyes,rocket", got)
	}
	starts := e.starts()
	if len(starts) != 1 {
		t.Fatalf("%d Start calls, want 1", len(starts))
	}
	r := starts[0]
	if r.HeadSHA != pr.HeadSHA || r.Environment != "staging" || r.SourceKey != "comment:"+itoa(id) || r.Requester != "dev" || r.Production {
		t.Fatalf("request = %+v; want head %s, staging, comment:%d, requester dev", r, pr.HeadSHA, id)
	}
	if len(r.Artifacts) != 1 || r.Artifacts[0].Name != "web" || r.Artifacts[0].Driver != "web-argo" || r.Artifacts[0].Kind != "app" {
		t.Fatalf("artifacts = %+v, want only web via web-argo", r.Artifacts)
	}
	// The deployment records the base config's owners, for the quotas of
	// other repositories' checks (deploy.Engine.RunningElsewhere).
	if got := r.Artifacts[0].Owners; len(got) != 1 || got[0] != "acme/web" {
		t.Fatalf("owners recorded = %v, want the base config's [acme/web]", got)
	}
	if got := e.dep.fleetAsked(); len(got) == 0 || got[0] != testRepo+" staging" {
		t.Fatalf("what other repositories run in staging was asked as %v, want for %s", got, testRepo)
	}
	if len(r.Quorum.Groups) != 0 {
		t.Fatalf("staging quorum = %+v, want none", r.Quorum)
	}
	if got := e.replies(pr); len(got) != 0 {
		t.Fatalf("a started deployment needs no reply (the engine comments); got %q", got)
	}
}

func TestDeployModelCarriesPointer(t *testing.T) {
	e := newEnv(t)
	e.gh.SetPermission(testRepo, "ml", "write")
	pr := e.openPR("bump", "ml", map[string]*string{"models/fraud.yaml": strp("registry: main\nmodel: fraud-detector\nversion: \"14\"\n")})
	e.comment(pr, "ml", "/deploy staging fraud-model")
	starts := e.starts()
	if len(starts) != 1 || len(starts[0].Artifacts) != 1 {
		t.Fatalf("starts = %+v, want one with fraud-model", starts)
	}
	m := driver.Target{Kind: "model", Spec: starts[0].Artifacts[0].Spec}.ModelRef()
	if m == nil || m.Registry != "main" || m.Name != "fraud-detector" || m.Version != "14" {
		t.Fatalf("model ref = %+v, want main/fraud-detector/14 read at the head", m)
	}
	if s := starts[0].Artifacts[0].Summary; s != "fraud-detector v14" {
		t.Fatalf("summary = %q", s)
	}
}

func TestDeployDeniedWithoutWrite(t *testing.T) {
	e := newEnv(t)
	e.gh.SetPermission(testRepo, "dev", "write")
	// Triage is admitted to the policy (read is not: see
	// TestReaderCommentIsAnsweredBeforeValidation), which denies.
	e.gh.SetPermission(testRepo, "reader", "triage")
	pr := e.openPR("feature", "dev", webChange())
	id := e.comment(pr, "reader", "/deploy staging")
	if len(e.starts()) != 0 {
		t.Fatal("a reader started a deployment")
	}
	if got := e.reactions(id); got != "eyes,confused" {
		t.Fatalf("reactions = %q, want eyes,confused", got)
	}
	mustContain(t, e.oneReply(pr), "the policy denies it", "@reader has triage permission on acme/shop; deploying needs write")
}

func TestUsageReplies(t *testing.T) {
	for _, tc := range []struct{ body, want, usage string }{
		{"/deplyo staging", "did you mean /deploy?", "/deploy <env> [artifact ...]"},
		{"/deploy", "needs an environment", "/deploy <env> [artifact ...]"},
		{"/deploy qa", `environment "qa" is not defined`, "/deploy <env> [artifact ...]"},
		{"/plan staging nosuch", `artifact "nosuch" is not defined`, "/plan <env> [artifact ...]"},
		// Misspelt names get a suggestion, as misspelt commands do.
		{"/deploy stagign", `environment "stagign" is not defined in .github/conveyor.yml on the base branch; did you mean staging? use one of: staging, production.`, "/deploy <env> [artifact ...]"},
		{"/deploy prod", "did you mean production? use one of", "/deploy <env> [artifact ...]"},
		{"/deploy staging wbe", `artifact "wbe" is not defined in .github/conveyor.yml; did you mean web? use one of:`, "/deploy <env> [artifact ...]"},
	} {
		t.Run(tc.body, func(t *testing.T) {
			e := newEnv(t)
			e.gh.SetPermission(testRepo, "dev", "write")
			pr := e.openPR("feature", "dev", webChange())
			id := e.comment(pr, "dev", tc.body)
			mustContain(t, e.oneReply(pr), tc.want, tc.usage)
			if len(e.starts()) != 0 {
				t.Fatal("a bad command started a deployment")
			}
			if got := e.reactions(id); got != "eyes,confused" {
				t.Fatalf("reactions = %q, want eyes,confused", got)
			}
		})
	}
}

func TestIgnoredComments(t *testing.T) {
	e := newEnv(t)
	e.gh.SetPermission(testRepo, "dev", "write")
	pr := e.openPR("feature", "dev", webChange())
	id, _ := e.gh.CommentOnPR(testRepo, pr.Number, "dev", "/deploy staging")
	e.gh.ResetCalls()

	e.send("issue_comment.edited", e.gh.IssueCommentEvent("edited", pr, id, "/deploy staging", "dev"))
	e.send("issue_comment.created", e.gh.IssueCommentEvent("created", pr, 0, "/deploy staging", "conveyor[bot]"))
	e.gh.AddUser("renovate", "Bot")
	e.send("issue_comment.created", e.gh.IssueCommentEvent("created", pr, 0, "/deploy staging", "renovate"))
	plain := e.gh.IssueCommentEvent("created", pr, 0, "/deploy staging", "dev")
	delete(plain["issue"].(map[string]any), "pull_request")
	e.send("issue_comment.created", plain)
	e.send("issue_comment.created", e.gh.IssueCommentEvent("created", pr, 0, "thanks, no commands here", "dev"))

	if calls := e.gh.CallsMatching("", "/"); len(calls) != 0 {
		t.Fatalf("ignored comments made %d GitHub calls, first %s %s", len(calls), calls[0].Method, calls[0].Path)
	}
	if len(e.starts()) != 0 {
		t.Fatal("an ignored comment started a deployment")
	}
}

func TestPushAfterCommentDeploysOldSHA(t *testing.T) {
	e := newEnv(t)
	e.gh.SetPermission(testRepo, "dev", "write")
	pr := e.openPR("feature", "dev", webChange()) // recorded an hour ago
	old := pr.HeadSHA
	_, payload := e.gh.CommentOnPR(testRepo, pr.Number, "dev", "/deploy staging")

	// A push lands after the comment was written but before it is handled.
	e.clock.Set(time.Now().Add(time.Hour))
	e.gh.Commit(testRepo, "feature", map[string]*string{"services/web/extra.go": strp("package main\n")}, "more")
	e.send("pull_request.synchronize", stamp(e.gh.PullRequestEvent("synchronize", e.gh.PR(testRepo, pr.Number)), "pull_request", "updated_at", time.Now().Add(30*time.Minute)))
	e.gate.set(e.gh.PR(testRepo, pr.Number).HeadSHA, "success")
	e.send("issue_comment.created", payload)

	starts := e.starts()
	if len(starts) != 1 || starts[0].HeadSHA != old {
		t.Fatalf("deployed %+v, want the head the comment saw (%s)", starts, old)
	}
}

func TestNoHistoryFallsBackAndSaysSo(t *testing.T) {
	e := newEnv(t)
	e.gh.SetPermission(testRepo, "dev", "write")
	e.gh.Commit(testRepo, "feature", webChange(), "change")
	pr := e.gh.OpenPR(testRepo, "feature", "main", "a change", "dev") // opened before Conveyor ran: no event
	e.gate.set(pr.HeadSHA, "success")
	_, payload := e.gh.CommentOnPR(testRepo, pr.Number, "dev", "/deploy staging")
	e.send("issue_comment.created", payload)
	e.send("issue_comment.created", payload) // redelivered

	if n := len(e.dep.bySource); n != 1 {
		t.Fatalf("%d deployments, want 1 for a redelivered comment", n)
	}
	if starts := e.starts(); starts[0].HeadSHA != pr.HeadSHA {
		t.Fatalf("deployed %s, want the current head %s", starts[0].HeadSHA, pr.HeadSHA)
	}
	mustContain(t, e.oneReply(pr), "no record of this PR's head", "current head "+pr.HeadSHA[:7])
}

func TestGateNotGreen(t *testing.T) {
	cases := map[string][]string{
		"failure":     {"the conveyor check failed on ", "fix what it reports"},
		"timed_out":   {"the conveyor check timed out on ", "fix what it reports"},
		"in_progress": {"the conveyor check is still running on ", "wait until it is green"},
		"":            {"the conveyor check has not finished on ", "wait until it is green"},
	}
	for state, want := range cases {
		// A subtest named "" would be "#00", and a "#" in the store's
		// temporary path ends its SQLite DSN: every run would share one file.
		t.Run("state="+state, func(t *testing.T) {
			e := newEnv(t)
			e.gh.SetPermission(testRepo, "dev", "write")
			pr := e.openPR("feature", "dev", webChange())
			e.gate.set(pr.HeadSHA, state)
			id := e.comment(pr, "dev", "/deploy staging")
			mustContain(t, e.oneReply(pr), want[0]+pr.HeadSHA[:7], want[1])
			if len(e.starts()) != 0 || e.reactions(id) != "eyes,confused" {
				t.Fatalf("starts %d, reactions %q; want none and confused", len(e.starts()), e.reactions(id))
			}
		})
	}
}

func TestProductionNeedsUpToDateBranch(t *testing.T) {
	e := newEnv(t)
	e.gh.SetPermission(testRepo, "lead", "maintain")
	pr := e.openPR("feature", "dev", webChange())
	e.dep.last["staging"] = map[string]string{"web": pr.HeadSHA}
	e.gh.Commit(testRepo, "main", map[string]*string{"README.md": strp("shop v2\n")}, "main moves on")

	e.comment(pr, "lead", "/deploy production")
	mustContain(t, e.oneReply(pr), "1 commit(s) behind main", "update the branch")
	if len(e.starts()) != 0 {
		t.Fatal("deployed a branch that is behind main to production")
	}
}

func TestProductionStartsWithQuorumAndRollout(t *testing.T) {
	e := newEnv(t)
	e.gh.SetPermission(testRepo, "lead", "maintain")
	pr := e.openPR("feature", "dev", webChange())
	e.dep.last["staging"] = map[string]string{"web": pr.HeadSHA}
	e.comment(pr, "lead", "/deploy production")
	starts := e.starts()
	if len(starts) != 1 {
		t.Fatalf("replies %q; want a production start", e.replies(pr))
	}
	r := starts[0]
	if !r.Production || len(r.Quorum.Groups) != 1 || r.Quorum.Groups[0].Count != 2 || strings.Join(r.Quorum.Groups[0].From, ",") != "acme/sre" {
		t.Fatalf("production request = %+v, want quorum 2 from acme/sre", r)
	}
	if fmtInts(r.Steps) != "[10 50 100]" || r.Pause != 2*time.Minute {
		t.Fatalf("rollout = %v / %v, want 10,50,100 / 2m", r.Steps, r.Pause)
	}
}

func TestProductionRequiresStagingFirst(t *testing.T) {
	e := newEnv(t)
	e.gh.SetPermission(testRepo, "lead", "maintain")
	pr := e.openPR("feature", "dev", webChange())
	e.comment(pr, "lead", "/deploy production")
	mustContain(t, e.oneReply(pr), "production requires a successful deployment of "+pr.HeadSHA[:7]+" to staging first")
}

func TestForkPRDenied(t *testing.T) {
	e := newEnv(t)
	e.gh.SetPermission(testRepo, "dev", "write")
	pr := e.openPR("feature", "outsider", webChange(), ghfake.FromFork())
	e.comment(pr, "dev", "/deploy staging")
	mustContain(t, e.oneReply(pr), "comes from a fork and fork PRs are not deployed")
	if len(e.starts()) != 0 {
		t.Fatal("a fork PR was deployed")
	}
}

func TestLockedEnvironmentNamesHolder(t *testing.T) {
	e := newEnv(t)
	e.gh.SetPermission(testRepo, "dev", "write")
	pr := e.openPR("feature", "dev", webChange())
	since := time.Date(2025, 3, 1, 9, 30, 0, 0, time.UTC)
	e.dep.lockErr = &deploy.LockedError{Environment: "staging", HolderPR: 3, HolderLogin: "ops", Reason: "db migration", Since: since}
	e.comment(pr, "dev", "/deploy staging")
	mustContain(t, e.oneReply(pr), "staging is locked by @ops for PR #3 since 2025-03-01T09:30:00Z", "db migration", "/unlock staging")
}

func TestCheckRunButtonTakesTheSamePath(t *testing.T) {
	e := newEnv(t)
	e.gh.SetPermission(testRepo, "dev", "write")
	pr := e.openPR("feature", "dev", webChange())
	gh, err := e.gh.InstallationClient(testInst)
	if err != nil {
		t.Fatal(err)
	}
	cr, _, err := gh.Checks.CreateCheckRun(t.Context(), "acme", "shop", github.CreateCheckRunOptions{
		Name: "conveyor / web", HeadSHA: pr.HeadSHA,
		Actions: []*github.CheckRunAction{{Label: "Deploy to staging", Description: "deploy", Identifier: "deploy-staging"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	delivery := e.send("check_run.requested_action", e.gh.CheckRunEvent("requested_action", testRepo, cr.GetID(), "deploy-staging", "dev"))
	starts := e.starts()
	if len(starts) != 1 || starts[0].HeadSHA != pr.HeadSHA || starts[0].SourceKey != "action:"+itoa(cr.GetID())+":"+delivery || starts[0].Environment != "staging" {
		t.Fatalf("starts = %+v, want staging at the check run's SHA keyed by action", starts)
	}

	e.gh.SetPermission(testRepo, "reader", "read")
	e.send("check_run.requested_action", e.gh.CheckRunEvent("requested_action", testRepo, cr.GetID(), "deploy-staging", "reader"))
	mustContain(t, e.oneReply(pr), "@reader has read permission")
	if len(e.starts()) != 1 {
		t.Fatal("a reader's button press started a deployment")
	}
}

func TestBusyEnvironmentNamesTheRunningDeployment(t *testing.T) {
	e := newEnv(t)
	e.gh.SetPermission(testRepo, "dev", "write")
	pr := e.openPR("feature", "dev", webChange())
	since := time.Date(2025, 3, 1, 9, 30, 0, 0, time.UTC)
	e.dep.lockErr = &deploy.LockedError{Environment: "staging", HolderPR: 3, HolderLogin: "ops", Since: since, DeploymentID: 12}
	e.comment(pr, "dev", "/deploy staging")
	mustContain(t, e.oneReply(pr), "staging is busy: deployment 12 of PR #3, asked by @ops, has not finished (since 2025-03-01T09:30:00Z)", "`/cancel` it from PR #3")
}

func TestForkPRAllowedWhenServerPolicySaysSo(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	rule := "package conveyor\n\nfork_deploy_allowed if input.environment.name == \"staging\"\n"
	if err := os.WriteFile(filepath.Join(dir, "forks.rego"), []byte(rule), 0o644); err != nil {
		t.Fatal(err)
	}
	pol, err := policies.New(t.Context(), policies.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	e.h.o.Policy = pol
	e.gh.SetPermission(testRepo, "dev", "write")
	pr := e.openPR("feature", "outsider", webChange(), ghfake.FromFork())
	e.comment(pr, "dev", "/deploy staging")
	if len(e.starts()) != 1 {
		t.Fatalf("a fork PR allowed by the server policy was not deployed; replies %q", e.replies(pr))
	}
}
