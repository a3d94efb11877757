package ghfake

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-github/v66/github"
)

func TestCheckRunsCreateUpdateList(t *testing.T) {
	s, gh := fixture(t)
	sha := s.Commit("acme/web", "feature", map[string]*string{"a": str("1")}, "c")

	cr, _, err := gh.Checks.CreateCheckRun(ctx, "acme", "web", github.CreateCheckRunOptions{
		Name: "conveyor/plan", HeadSHA: sha, Status: str("in_progress"),
		Output: &github.CheckRunOutput{Title: str("Planning"), Summary: str("working")},
	})
	if err != nil || cr.GetStatus() != "in_progress" || cr.GetApp().GetID() != s.AppID() {
		t.Fatalf("create = %+v, %v", cr, err)
	}
	upd, _, err := gh.Checks.UpdateCheckRun(ctx, "acme", "web", cr.GetID(), github.UpdateCheckRunOptions{
		Name: "conveyor/plan", Conclusion: str("failure"),
		Output: &github.CheckRunOutput{Title: str("Denied"), Summary: str("policy says no"),
			Annotations: []*github.CheckRunAnnotation{{Path: str("conveyor.yml"), StartLine: github.Int(3), EndLine: github.Int(3),
				AnnotationLevel: str("failure"), Message: str("unknown key")}}},
		Actions: []*github.CheckRunAction{{Label: "Deploy anyway", Description: "Override the policy", Identifier: "override"}},
	})
	if err != nil || upd.GetStatus() != "completed" || upd.GetConclusion() != "failure" || upd.CompletedAt == nil {
		t.Fatalf("update = %+v, %v", upd, err)
	}
	got, _, err := gh.Checks.GetCheckRun(ctx, "acme", "web", cr.GetID())
	if err != nil || got.GetOutput().GetSummary() != "policy says no" || got.GetOutput().GetAnnotationsCount() != 1 {
		t.Fatalf("get = %+v, %v", got, err)
	}
	stored := s.CheckRuns("acme/web", sha)
	if len(stored) != 1 || stored[0].Annotations[0].Message != "unknown key" || stored[0].Actions[0].Identifier != "override" {
		t.Fatalf("state = %+v", stored)
	}

	// A second run with the same name supersedes the first under filter=latest.
	if _, _, err := gh.Checks.CreateCheckRun(ctx, "acme", "web", github.CreateCheckRunOptions{Name: "conveyor/plan", HeadSHA: sha}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := gh.Checks.CreateCheckRun(ctx, "acme", "web", github.CreateCheckRunOptions{Name: "other", HeadSHA: sha}); err != nil {
		t.Fatal(err)
	}
	list, _, err := gh.Checks.ListCheckRunsForRef(ctx, "acme", "web", "feature", &github.ListCheckRunsOptions{CheckName: str("conveyor/plan")})
	if err != nil || list.GetTotal() != 1 || list.CheckRuns[0].GetStatus() != "queued" {
		t.Fatalf("latest list = %+v, %v", list, err)
	}
	all, _, err := gh.Checks.ListCheckRunsForRef(ctx, "acme", "web", sha, &github.ListCheckRunsOptions{Filter: str("all")})
	if err != nil || all.GetTotal() != 3 {
		t.Fatalf("all = %d, %v", all.GetTotal(), err)
	}
}

func TestCheckRunValidation(t *testing.T) {
	s, gh := fixture(t)
	sha := s.BranchSHA("acme/web", "main")
	cases := []struct {
		name string
		opt  github.CreateCheckRunOptions
		want string
	}{
		{"unknown sha", github.CreateCheckRunOptions{Name: "x", HeadSHA: strings.Repeat("a", 40)}, "No commit found"},
		{"completed without conclusion", github.CreateCheckRunOptions{Name: "x", HeadSHA: sha, Status: str("completed")}, "conclusion"},
		{"bad conclusion", github.CreateCheckRunOptions{Name: "x", HeadSHA: sha, Conclusion: str("great")}, "not a member"},
		{"summary missing", github.CreateCheckRunOptions{Name: "x", HeadSHA: sha, Output: &github.CheckRunOutput{Title: str("t")}}, "summary"},
		{"summary too long", github.CreateCheckRunOptions{Name: "x", HeadSHA: sha,
			Output: &github.CheckRunOutput{Title: str("t"), Summary: str(strings.Repeat("s", 65536))}}, "65535"},
		{"label too long", github.CreateCheckRunOptions{Name: "x", HeadSHA: sha,
			Actions: []*github.CheckRunAction{{Label: strings.Repeat("l", 21), Description: "d", Identifier: "i"}}}, "max 20"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := gh.Checks.CreateCheckRun(ctx, "acme", "web", tc.opt)
			if statusOf(err) != http.StatusUnprocessableEntity || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want 422 mentioning %q", err, tc.want)
			}
			// The published description must catch the same mistakes where it states them.
			v := s.TakeContractViolations()
			if described := tc.name != "unknown sha" && tc.name != "completed without conclusion"; described != (len(v) > 0) {
				t.Fatalf("contract violations = %q, want some: %v", v, described)
			}
		})
	}
	if n := len(s.CheckRuns("acme/web", sha)); n != 0 {
		t.Fatalf("rejected requests stored %d check runs", n)
	}
}

func TestCommitStatuses(t *testing.T) {
	s, gh := fixture(t)
	sha := s.BranchSHA("acme/web", "main")
	combined := func() *github.CombinedStatus {
		c, _, err := gh.Repositories.GetCombinedStatus(ctx, "acme", "web", "main", nil)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if c := combined(); c.GetState() != "pending" || c.GetTotalCount() != 0 {
		t.Fatalf("no statuses = %s/%d", c.GetState(), c.GetTotalCount())
	}
	if _, _, err := gh.Repositories.CreateStatus(ctx, "acme", "web", sha, &github.RepoStatus{State: str("pending"), Context: str("ci")}); err != nil {
		t.Fatal(err)
	}
	s.SetStatus("acme/web", sha, "lint", "success")
	if c := combined(); c.GetState() != "pending" || c.GetTotalCount() != 2 {
		t.Fatalf("pending ci = %s/%d", c.GetState(), c.GetTotalCount())
	}
	if _, _, err := gh.Repositories.CreateStatus(ctx, "acme", "web", sha, &github.RepoStatus{State: str("success"), Context: str("ci")}); err != nil {
		t.Fatal(err)
	}
	if c := combined(); c.GetState() != "success" || c.GetTotalCount() != 2 {
		t.Fatalf("all green = %s/%d", c.GetState(), c.GetTotalCount())
	}
	if _, _, err := gh.Repositories.CreateStatus(ctx, "acme", "web", sha, &github.RepoStatus{State: str("fine")}); statusOf(err) != 422 {
		t.Fatalf("bad state: %v", err)
	}
	if v := s.TakeContractViolations(); len(v) != 1 || !strings.Contains(v[0], "/state") {
		t.Fatalf("contract violations = %q, want the bad state", v)
	}
	if got := s.Statuses("acme/web", sha); len(got) != 3 || got[0].Creator != "conveyor[bot]" {
		t.Fatalf("stored statuses = %+v", got)
	}
}
