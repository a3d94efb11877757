package checks

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// failingCommits is MemFacts whose commit list cannot be read.
type failingCommits struct{ *MemFacts }

func (failingCommits) Commits(context.Context) ([]Commit, error) {
	return nil, errors.New("list commits of #7: 502 Bad Gateway")
}

// TestAppListsCommits: the app check lists the change's newest commits
// (subjects made safe for markdown, older ones counted), and a list that
// cannot be read is said so without changing any stage.
func TestAppListsCommits(t *testing.T) {
	s := New(Options{Server: serverConfig(t), Policy: examplePolicy(t)})
	f := exampleFacts(t, "good", newMLflow(t))
	for i := range 12 {
		f.CommitList = append(f.CommitList, Commit{SHA: fmt.Sprintf("%040d", i), Message: fmt.Sprintf("step %d | of the work", i), Author: "@octocat"})
	}
	res, err := s.Evaluate(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	web := artifactByName(res, "web")
	for _, want := range []string{
		"### Commits (12)",
		"- … 2 older commits before these",
		"- `0000000` step 2 \\| of the work (@octocat)",
		"- `0000000` step 11 \\| of the work (@octocat)",
	} {
		if !strings.Contains(web.Persona, want) {
			t.Errorf("web persona lacks %q:\n%s", want, web.Persona)
		}
	}
	if strings.Contains(web.Persona, "step 1 |") || strings.Contains(web.Persona, "step 0 ") {
		t.Errorf("web persona lists more than the newest 10:\n%s", web.Persona)
	}

	failed, err := s.Evaluate(context.Background(), failingCommits{exampleFacts(t, "good", newMLflow(t))})
	if err != nil {
		t.Fatal(err)
	}
	web = artifactByName(failed, "web")
	if !strings.Contains(web.Persona, "The commits of this change could not be read") || web.Conclusion != Success {
		t.Errorf("unreadable commits: conclusion %s, persona:\n%s", web.Conclusion, web.Persona)
	}
}
