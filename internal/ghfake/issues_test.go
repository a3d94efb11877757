package ghfake

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-github/v66/github"
)

func TestCommentsAndReactions(t *testing.T) {
	s, gh := fixture(t)
	s.Commit("acme/web", "feature", map[string]*string{"a": str("1")}, "c")
	pr := s.OpenPR("acme/web", "feature", "main", "t", "alice")
	userComment, _ := s.CommentOnPR("acme/web", pr.Number, "alice", "/deploy staging")

	c, _, err := gh.Issues.CreateComment(ctx, "acme", "web", pr.Number, &github.IssueComment{Body: str("Deploying…")})
	if err != nil || c.GetUser().GetLogin() != "conveyor[bot]" || c.GetUser().GetType() != "Bot" {
		t.Fatalf("create = %+v, %v", c, err)
	}
	if _, _, err := gh.Issues.EditComment(ctx, "acme", "web", c.GetID(), &github.IssueComment{Body: str("Deployed")}); err != nil {
		t.Fatal(err)
	}
	got, _, err := gh.Issues.GetComment(ctx, "acme", "web", c.GetID())
	if err != nil || got.GetBody() != "Deployed" {
		t.Fatalf("get = %q, %v", got.GetBody(), err)
	}
	list, _, err := gh.Issues.ListComments(ctx, "acme", "web", pr.Number, nil)
	if err != nil || len(list) != 2 || list[0].GetID() != userComment || list[0].GetAuthorAssociation() != "CONTRIBUTOR" {
		t.Fatalf("list = %v, %v", list, err)
	}
	if st := s.Comments("acme/web", pr.Number); len(st) != 2 || st[1].Body != "Deployed" {
		t.Fatalf("state = %+v", st)
	}
	if _, _, err := gh.Issues.CreateComment(ctx, "acme", "web", 404, &github.IssueComment{Body: str("x")}); statusOf(err) != http.StatusNotFound {
		t.Fatalf("comment on missing PR: %v", err)
	}
	if _, _, err := gh.Issues.CreateComment(ctx, "acme", "web", pr.Number, &github.IssueComment{Body: str("")}); statusOf(err) != 422 {
		t.Fatalf("empty body: %v", err)
	}

	r1, resp, err := gh.Reactions.CreateIssueCommentReaction(ctx, "acme", "web", userComment, "eyes")
	if err != nil || resp.StatusCode != http.StatusCreated || r1.GetContent() != "eyes" {
		t.Fatalf("reaction = %v, %v", r1, err)
	}
	r2, resp, err := gh.Reactions.CreateIssueCommentReaction(ctx, "acme", "web", userComment, "eyes")
	if err != nil || resp.StatusCode != http.StatusOK || r2.GetID() != r1.GetID() {
		t.Fatalf("repeat reaction should return the existing one with 200: %v %v", resp.StatusCode, err)
	}
	_, _, err = gh.Reactions.CreateIssueCommentReaction(ctx, "acme", "web", userComment, "thumbsup")
	if v := s.TakeContractViolations(); len(v) != 1 || !strings.Contains(v[0], "/content") {
		t.Fatalf("contract violations = %q, want the bad reaction", v)
	}
	if statusOf(err) != 422 || !strings.Contains(err.Error(), "+1") {
		t.Fatalf("bad content: %v", err)
	}
	if rs := s.Reactions("acme/web", userComment); len(rs) != 1 || rs[0].Login != "conveyor[bot]" {
		t.Fatalf("reactions = %+v", rs)
	}
}

func TestPermissionsAndTeams(t *testing.T) {
	s, gh := fixture(t)
	s.SetPermission("acme/web", "alice", "maintain")
	s.SetPermission("acme/web", "bob", "triage")
	s.AddUser("carol", "User")
	for login, want := range map[string][2]string{"alice": {"write", "maintain"}, "bob": {"read", "triage"}, "carol": {"none", "none"}} {
		p, _, err := gh.Repositories.GetPermissionLevel(ctx, "acme", "web", login)
		if err != nil || p.GetPermission() != want[0] || p.GetRoleName() != want[1] || p.GetUser().GetLogin() != login {
			t.Errorf("%s = %s/%s, %v; want %v", login, p.GetPermission(), p.GetRoleName(), err, want)
		}
	}
	if _, _, err := gh.Repositories.GetPermissionLevel(ctx, "acme", "web", "ghost"); statusOf(err) != http.StatusNotFound {
		t.Errorf("unknown user: %v, want 404", err)
	}
	s.AddTeamMember("acme", "web-owners", "alice")
	m, _, err := gh.Teams.GetTeamMembershipBySlug(ctx, "acme", "web-owners", "alice")
	if err != nil || m.GetState() != "active" || m.GetRole() != "member" {
		t.Fatalf("membership = %+v, %v", m, err)
	}
	if _, _, err := gh.Teams.GetTeamMembershipBySlug(ctx, "acme", "web-owners", "bob"); statusOf(err) != http.StatusNotFound {
		t.Fatalf("non-member: %v, want 404", err)
	}
}
