package ghfake

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-github/v66/github"
)

func TestWorkflowDispatchAndCompletion(t *testing.T) {
	s, gh := fixture(t)
	rc, _ := newReceiver(t, s)
	s.Commit("acme/web", "main", map[string]*string{
		".github/workflows/deploy.yml": str("on:\n  push:\n    branches: [main]\n  schedule:\n    - cron: '0 0 * * *'\n  workflow_dispatch:\n    inputs:\n      environment:\n        required: true\n      percent:\n        default: '100'\n"),
		".github/workflows/ci.yml":     str("on: push\n"),
	}, "workflows")
	_, err := gh.Actions.CreateWorkflowDispatchEventByFileName(ctx, "acme", "web", "deploy.yml",
		github.CreateWorkflowDispatchEventRequest{Ref: "main", Inputs: map[string]any{"environment": "staging"}})
	if err != nil {
		t.Fatalf("dispatch: %v", err)
	}
	ds := s.WorkflowDispatches("acme/web")
	if len(ds) != 1 || ds[0].Workflow != ".github/workflows/deploy.yml" || ds[0].Inputs["environment"] != "staging" {
		t.Fatalf("dispatches = %+v", ds)
	}
	runs, _, err := gh.Actions.ListRepositoryWorkflowRuns(ctx, "acme", "web", &github.ListWorkflowRunsOptions{Event: "workflow_dispatch"})
	if err != nil || runs.GetTotalCount() != 1 || runs.WorkflowRuns[0].GetStatus() != "queued" || runs.WorkflowRuns[0].GetID() != ds[0].RunID {
		t.Fatalf("runs = %+v, %v", runs, err)
	}
	byFile, _, err := gh.Actions.ListWorkflowRunsByFileName(ctx, "acme", "web", "deploy.yml", nil)
	if err != nil || byFile.GetTotalCount() != 1 {
		t.Fatalf("runs by file = %v, %v", byFile, err)
	}

	guid, err := s.CompleteWorkflowRun("acme/web", ds[0].RunID, "success")
	if err != nil {
		t.Fatal(err)
	}
	got := rc.all()
	ev, ok := got[0].payload.(*github.WorkflowRunEvent)
	if !ok || got[0].guid != guid || ev.GetAction() != "completed" || ev.GetWorkflowRun().GetConclusion() != "success" ||
		ev.GetWorkflowRun().GetID() != ds[0].RunID || ev.GetInstallation().GetID() != testInstallation {
		t.Fatalf("webhook = %+v", got)
	}
	run, _, err := gh.Actions.GetWorkflowRunByID(ctx, "acme", "web", ds[0].RunID)
	if err != nil || run.GetStatus() != "completed" {
		t.Fatalf("run = %v, %v", run, err)
	}

	for _, tc := range []struct {
		file, ref string
		want      int
	}{{"missing.yml", "main", http.StatusNotFound}, {"ci.yml", "main", 422}, {"deploy.yml", "nope", 422}} {
		_, err := gh.Actions.CreateWorkflowDispatchEventByFileName(ctx, "acme", "web", tc.file,
			github.CreateWorkflowDispatchEventRequest{Ref: tc.ref})
		if statusOf(err) != tc.want {
			t.Errorf("%s@%s: %v, want %d", tc.file, tc.ref, err, tc.want)
		}
	}
	// Inputs are held to the workflow's declaration, as GitHub holds them.
	for _, tc := range []struct {
		inputs map[string]any
		want   string
	}{
		{map[string]any{"environment": "prod", "colour": "red"}, `Unexpected inputs provided: ["colour"]`},
		{map[string]any{"percent": "10"}, "Required input 'environment' not provided"},
	} {
		_, err := gh.Actions.CreateWorkflowDispatchEventByFileName(ctx, "acme", "web", "deploy.yml",
			github.CreateWorkflowDispatchEventRequest{Ref: "main", Inputs: tc.inputs})
		if statusOf(err) != 422 || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("inputs %v: %v, want 422 %q", tc.inputs, err, tc.want)
		}
	}
	if n := len(s.WorkflowDispatches("acme/web")); n != 1 {
		t.Errorf("refused dispatches were recorded: %d dispatches", n)
	}
	if _, err := s.CompleteWorkflowRun("acme/web", 1, "success"); err == nil {
		t.Error("completing an unknown run should fail")
	}
}

func TestManifestConversion(t *testing.T) {
	s, gh := fixture(t)
	code := s.ManifestCode(map[string]any{"name": "Conveyor Acme", "url": "https://conveyor.example",
		"hook_attributes": map[string]any{"url": "https://conveyor.example/webhooks/github"}})
	cfg, _, err := gh.Apps.CompleteAppManifest(ctx, code)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.GetID() != s.AppID() || cfg.GetSlug() != "conveyor-acme" || cfg.GetPEM() != string(s.PrivateKeyPEM()) ||
		cfg.GetWebhookSecret() != s.WebhookSecret() || cfg.GetClientID() == "" || cfg.GetClientSecret() == "" || cfg.GetHTMLURL() == "" {
		t.Fatalf("conversion = %+v", cfg)
	}
	if _, _, err := gh.Apps.CompleteAppManifest(ctx, code); statusOf(err) != http.StatusNotFound {
		t.Fatalf("codes are single use: %v", err)
	}
	// The returned credentials work against the emulator.
	if _, _, err := installationClient(t, s, testInstallation, "").Repositories.Get(ctx, "acme", "web"); err != nil {
		t.Fatal(err)
	}
}

// TestEventPayloadsDecode checks every builder against go-github's event types.
func TestEventPayloadsDecode(t *testing.T) {
	s, gh := fixture(t)
	sha := s.Commit("acme/web", "feature", map[string]*string{"a": str("1")}, "c")
	pr := s.OpenPR("acme/web", "feature", "main", "t", "alice")
	cr, _, err := gh.Checks.CreateCheckRun(ctx, "acme", "web", github.CreateCheckRunOptions{Name: "plan", HeadSHA: sha})
	if err != nil {
		t.Fatal(err)
	}
	_, commentPayload := s.CommentOnPR("acme/web", pr.Number, "alice", "/deploy")
	cases := []struct {
		event   string
		payload any
		check   func(any) bool
	}{
		{"pull_request", s.PullRequestEvent("synchronize", pr), func(e any) bool {
			ev := e.(*github.PullRequestEvent)
			return ev.GetAfter() == sha && ev.GetNumber() == pr.Number && ev.GetSender().GetType() == "User"
		}},
		{"issue_comment", commentPayload, func(e any) bool {
			ev := e.(*github.IssueCommentEvent)
			return ev.GetComment().GetBody() == "/deploy" && ev.GetIssue().IsPullRequest() && ev.GetRepo().GetOwner().GetLogin() == "acme"
		}},
		{"check_run", s.CheckRunEvent("requested_action", "acme/web", cr.GetID(), "override", "alice"), func(e any) bool {
			ev := e.(*github.CheckRunEvent)
			return ev.GetRequestedAction().Identifier == "override" && ev.GetCheckRun().GetID() == cr.GetID()
		}},
		{"status", s.StatusEvent("acme/web", sha, "ci", "failure"), func(e any) bool {
			ev := e.(*github.StatusEvent)
			return ev.GetSHA() == sha && ev.GetState() == "failure" && ev.GetContext() == "ci"
		}},
		{"installation", s.InstallationEvent("created", testInstallation), func(e any) bool {
			ev := e.(*github.InstallationEvent)
			return ev.GetInstallation().GetID() == testInstallation && len(ev.Repositories) == 1
		}},
		{"installation_repositories", s.InstallationRepositoriesEvent("added", testInstallation, []string{"acme/web"}, nil), func(e any) bool {
			ev := e.(*github.InstallationRepositoriesEvent)
			return len(ev.RepositoriesAdded) == 1 && ev.RepositoriesAdded[0].GetFullName() == "acme/web"
		}},
		{"push", s.PushEvent("acme/web", "feature", s.BranchSHA("acme/web", "main")), func(e any) bool {
			ev := e.(*github.PushEvent)
			return ev.GetRef() == "refs/heads/feature" && len(ev.Commits) == 1 && ev.GetAfter() == sha
		}},
		{"membership", s.MembershipEvent("added", "acme", "web-owners", "alice"), func(e any) bool {
			ev := e.(*github.MembershipEvent)
			return ev.GetMember().GetLogin() == "alice" && ev.GetTeam().GetSlug() == "web-owners"
		}},
	}
	for _, tc := range cases {
		raw, _ := json.Marshal(tc.payload)
		ev, err := github.ParseWebHook(tc.event, raw)
		if err != nil || !tc.check(ev) {
			t.Errorf("%s payload did not decode as expected: %v\n%s", tc.event, err, raw)
		}
	}
	if _, _, err := gh.Teams.GetTeamMembershipBySlug(ctx, "acme", "web-owners", "alice"); err != nil {
		t.Errorf("membership added event should add the member: %v", err)
	}
}
