package deploy

import (
	"strings"
	"testing"
)

// TestWhatWentWrongShowsTheLogOnce: a driver's error quotes its last output
// lines, and the comment used to print them twice: under "What went wrong"
// and again in the folded output. The failure is now said once, with the
// log folded below it.
func TestWhatWentWrongShowsTheLogOnce(t *testing.T) {
	d := &Deployment{ID: 7, SHA: "4f2a9c1e", Environment: "staging", Mode: "deploy", State: StateFailed, Steps: []int{100}, Requester: "alice",
		Error: "web: driver \"web\" (exec): deploy.sh exited with code 3; last output:\nstarting deploy of web\nboom: image not found",
		Artifacts: []ArtifactState{{Name: "web", Kind: "app", Driver: "web", State: "failed",
			Output: "starting deploy of web\nboom: image not found\n"}}}
	got := renderComment(d, "")
	if n := strings.Count(got, "boom: image not found"); n != 1 {
		t.Errorf("the log line appears %d times, want once:\n%s", n, got)
	}
	want := "**What went wrong:**\n> web: driver \"web\" (exec): deploy.sh exited with code 3; last output (folded below)\n"
	if !strings.Contains(got, want) {
		t.Errorf("comment lacks %q:\n%s", want, got)
	}
	if !strings.Contains(got, "<details><summary>web output (last lines)</summary>") {
		t.Errorf("the output is not folded below:\n%s", got)
	}
	// An error whose lines are not in any output keeps them all.
	d.Error = "web: the driver timed out\nafter 10m"
	if got := renderComment(d, ""); !strings.Contains(got, "> web: the driver timed out\n> after 10m\n") {
		t.Errorf("lines not in the output were dropped:\n%s", got)
	}
}

// TestCommentLinksTheDashboard: with a public address the status comment
// links the pull request page; without one it has no link.
func TestCommentLinksTheDashboard(t *testing.T) {
	d := &Deployment{ID: 3, Repository: "acme/shop", PR: 12, SHA: "4f2a9c1e", Environment: "staging", Mode: "deploy",
		State: StateSucceeded, Steps: []int{100}, Requester: "alice", Artifacts: []ArtifactState{{Name: "web", Kind: "app", State: "succeeded"}}}
	got := renderComment(d, "https://conveyor.example.com/")
	if !strings.Contains(got, "(https://conveyor.example.com/r/acme/shop/pull/12)") {
		t.Errorf("comment does not link the PR page:\n%s", got)
	}
	if got := renderComment(d, ""); strings.Contains(got, "dashboard") {
		t.Errorf("comment links a dashboard without an address:\n%s", got)
	}
}
