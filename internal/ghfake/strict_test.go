package ghfake

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-github/v66/github"
)

// Omitting required_contexts makes GitHub verify every status context on the commit;
// a failing or pending one refuses the deployment with 409 and names the contexts.
func TestDeploymentRequiredContexts(t *testing.T) {
	s, gh := fixture(t)
	sha := s.BranchSHA("acme/web", "main")
	s.SetStatus("acme/web", sha, "ci", "failure")
	s.SetStatus("acme/web", sha, "lint", "success")
	create := func(req *github.DeploymentRequest) error {
		req.Ref, req.AutoMerge = str("main"), github.Bool(false)
		_, _, err := gh.Repositories.CreateDeployment(ctx, "acme", "web", req)
		return err
	}
	err := create(&github.DeploymentRequest{})
	var er *github.ErrorResponse
	if !errors.As(err, &er) || er.Response.StatusCode != http.StatusConflict || !strings.Contains(er.Message, "Commit status checks failed for main") {
		t.Fatalf("omitted required_contexts with a failing status: %v, want 409", err)
	}
	if !strings.Contains(string(mustJSON(t, er.Errors)), `"field":"required_contexts"`) {
		t.Errorf("409 errors = %+v, want the required_contexts field", er.Errors)
	}
	if err := create(&github.DeploymentRequest{RequiredContexts: &[]string{"lint", "security"}}); statusOf(err) != http.StatusConflict {
		t.Errorf("a required context without a status: %v, want 409", err)
	}
	if err := create(&github.DeploymentRequest{RequiredContexts: &[]string{"lint"}}); err != nil {
		t.Errorf("only passing contexts required: %v", err)
	}
	if err := create(&github.DeploymentRequest{RequiredContexts: &[]string{}}); err != nil {
		t.Errorf("an empty list bypasses the checks: %v", err)
	}
	if n := len(s.Deployments("acme/web")); n != 2 {
		t.Errorf("deployments = %d, want the 2 allowed", n)
	}
}

// GitHub's limits on comment bodies (65,536) and check-run summaries (65,535) are
// characters, not bytes.
func TestLimitsCountCharacters(t *testing.T) {
	s, gh := fixture(t)
	s.Commit("acme/web", "feature", map[string]*string{"a": str("1")}, "c")
	pr := s.OpenPR("acme/web", "feature", "main", "t", "alice")
	wide := func(n int) *string { return str(strings.Repeat("é", n)) } // 2 bytes each
	if _, _, err := gh.Issues.CreateComment(ctx, "acme", "web", pr.Number, &github.IssueComment{Body: wide(65536)}); err != nil {
		t.Errorf("65,536 two-byte characters: %v", err)
	}
	if _, _, err := gh.Issues.CreateComment(ctx, "acme", "web", pr.Number, &github.IssueComment{Body: wide(65537)}); statusOf(err) != 422 {
		t.Errorf("65,537 characters: %v, want 422", err)
	}
	sha := s.BranchSHA("acme/web", "feature")
	out := func(n int) *github.CheckRunOutput { return &github.CheckRunOutput{Title: str("t"), Summary: wide(n)} }
	if _, _, err := gh.Checks.CreateCheckRun(ctx, "acme", "web", github.CreateCheckRunOptions{Name: "x", HeadSHA: sha, Output: out(65535)}); err != nil {
		t.Errorf("summary of 65,535 two-byte characters: %v", err)
	}
	if _, _, err := gh.Checks.CreateCheckRun(ctx, "acme", "web", github.CreateCheckRunOptions{Name: "x", HeadSHA: sha, Output: out(65536)}); statusOf(err) != 422 {
		t.Errorf("summary of 65,536 characters: %v, want 422", err)
	}
	// Both over-long requests broke the published maxLength too.
	if v := s.TakeContractViolations(); len(v) != 1 || !strings.Contains(v[0], "/output/summary") {
		t.Errorf("contract violations = %q, want the summary's maxLength", v)
	}
}

// An update without "actions" keeps a run's buttons; an explicit [] clears them.
func TestCheckRunActionsKeptUnlessSent(t *testing.T) {
	s, gh := fixture(t)
	sha := s.BranchSHA("acme/web", "main")
	cr, _, err := gh.Checks.CreateCheckRun(ctx, "acme", "web", github.CreateCheckRunOptions{Name: "x", HeadSHA: sha,
		Actions: []*github.CheckRunAction{{Label: "Deploy", Description: "d", Identifier: "deploy"}}})
	if err != nil {
		t.Fatal(err)
	}
	// go-github drops an empty Actions list (omitempty): GitHub sees no field.
	if _, _, err := gh.Checks.UpdateCheckRun(ctx, "acme", "web", cr.GetID(), github.UpdateCheckRunOptions{Name: "x", Actions: []*github.CheckRunAction{}}); err != nil {
		t.Fatal(err)
	}
	if got := s.CheckRuns("acme/web", sha)[0].Actions; len(got) != 1 {
		t.Fatalf("actions after an update without the field = %+v, want kept", got)
	}
	req, _ := gh.NewRequest("PATCH", "repos/acme/web/check-runs/"+strconv.FormatInt(cr.GetID(), 10), map[string]any{"actions": []any{}})
	if _, err := gh.Do(ctx, req, nil); err != nil {
		t.Fatal(err)
	}
	if got := s.CheckRuns("acme/web", sha)[0].Actions; len(got) != 0 {
		t.Fatalf("actions after \"actions\": [] = %+v, want none", got)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
