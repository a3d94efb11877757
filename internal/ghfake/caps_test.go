package ghfake

import (
	"fmt"
	"testing"

	"github.com/google/go-github/v66/github"
)

// The compare API lists at most 300 files for the whole comparison ("includes up
// to 300 changed files", REST reference), however the commits are paged; a page
// of any list holds at most 100 items, whatever per_page asks.
func TestCompareListsAtMost300Files(t *testing.T) {
	s, gh := fixture(t)
	files := map[string]*string{}
	for i := range 305 {
		files[fmt.Sprintf("data/f%03d.txt", i)] = str("x")
	}
	s.Commit("acme/web", "feature", files, "many files")
	cmp, _, err := gh.Repositories.CompareCommits(ctx, "acme", "web", "main", "feature", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(cmp.Files) != 300 {
		t.Errorf("compare listed %d files, want GitHub's cap of 300", len(cmp.Files))
	}
	pr := s.OpenPR("acme/web", "feature", "main", "t", "alice")
	page, resp, err := gh.PullRequests.ListFiles(ctx, "acme", "web", pr.Number, &github.ListOptions{PerPage: 250})
	if err != nil || len(page) != 100 || resp.NextPage != 2 {
		t.Errorf("per_page=250 gave %d files, next page %d, %v; want 100 and a next page", len(page), resp.NextPage, err)
	}
}
