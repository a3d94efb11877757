package commands

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/google/go-github/v66/github"

	"github.com/conveyor-dev/conveyor/internal/ghfake"
)

// GitHub sends "head": {"repo": null} once a PR's fork is deleted (the
// pull_request object of webhooks and of GET /pulls/{n}); such a PR is a
// fork, never the repository's own branch.
func TestFromForkOnARealPayload(t *testing.T) {
	data, err := os.ReadFile("testdata/pull_request.deleted-fork.json")
	if err != nil {
		t.Fatal(err)
	}
	var ev github.PullRequestEvent
	if err := json.Unmarshal(data, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.GetPullRequest().GetHead().Repo != nil {
		t.Fatal("test payload: head.repo is not null")
	}
	if !fromFork(ev.GetPullRequest(), "acme/shop") {
		t.Error("a PR whose head repository is null is not treated as a fork")
	}

	// The same PR with its head in the repository, and in a live fork.
	same := strings.Replace(string(data), `"repo": null`, `"repo": {"full_name": "ACME/shop", "fork": false}`, 1)
	fork := strings.Replace(string(data), `"repo": null`, `"repo": {"full_name": "outsider/shop", "fork": true}`, 1)
	for _, tc := range []struct {
		payload string
		want    bool
	}{{same, false}, {fork, true}} {
		var ev github.PullRequestEvent
		if err := json.Unmarshal([]byte(tc.payload), &ev); err != nil {
			t.Fatal(err)
		}
		if got := fromFork(ev.GetPullRequest(), "acme/shop"); got != tc.want {
			t.Errorf("head.repo %s: fromFork = %v, want %v", ev.GetPullRequest().GetHead().GetRepo().GetFullName(), got, tc.want)
		}
	}
}

// End to end: /deploy on a PR whose fork was deleted meets the fork rule.
func TestDeletedForkPRDenied(t *testing.T) {
	e := newEnv(t)
	e.gh.SetPermission(testRepo, "dev", "write")
	pr := e.openPR("feature", "outsider", webChange(), ghfake.DeletedFork())
	e.comment(pr, "dev", "/deploy staging")
	mustContain(t, e.oneReply(pr), "comes from a fork and fork PRs are not deployed")
	if len(e.starts()) != 0 {
		t.Fatal("a PR from a deleted fork was deployed")
	}
}
