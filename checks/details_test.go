package checks

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/conveyor-dev/conveyor/internal/store"
	"github.com/conveyor-dev/conveyor/web/pageurl"
)

// TestEveryCheckRunLinksItsPRPage: with a dashboard address, every check run
// Conveyor writes carries the pull request page as its details_url (the
// artifact's section for an artifact check), and what the run shows is
// kept for that page: the stages, the summary and the owners.
func TestEveryCheckRunLinksItsPRPage(t *testing.T) {
	e := newGHEnv(t, 2, 20*time.Millisecond, func(o *Options) { o.Pages = pageurl.Base("https://conveyor.example.com") })
	pr := e.openChange("details", "good")
	e.send("pull_request", e.gh.PullRequestEvent("opened", pr))
	runs := e.waitSettled(pr.HeadSHA)
	if len(runs) < 2 {
		t.Fatalf("check runs = %v, want the gate and at least one artifact", runs)
	}
	base := "https://conveyor.example.com/r/acme/shop/pull/" + strconv.Itoa(pr.Number)
	outs, err := store.CheckOutputs(context.Background(), e.st.DB, testRepo, pr.Number, pr.HeadSHA)
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]store.CheckOutput{}
	for _, o := range outs {
		stored[o.Name] = o
	}
	for name, cr := range runs {
		want := base
		if name != GateName {
			want = base + "#artifact-" + cr.Name[len(GateName+" / "):]
		}
		if cr.DetailsURL != want {
			t.Errorf("%s: details_url = %q, want %q", name, cr.DetailsURL, want)
		}
		o, ok := stored[name]
		if !ok {
			t.Errorf("%s: no output stored for the dashboard", name)
			continue
		}
		if o.Summary != cr.Summary || o.Conclusion != cr.Conclusion {
			t.Errorf("%s: stored %q/%q, GitHub shows %q/%q", name, o.Conclusion, o.Summary, cr.Conclusion, cr.Summary)
		}
		if name == GateName {
			continue
		}
		var stages []Stage
		if err := json.Unmarshal([]byte(o.Stages), &stages); err != nil || len(stages) != 4 || stages[2].Name != StagePolicy {
			t.Errorf("%s: stored stages %s (%v), want the four", name, o.Stages, err)
		}
	}
	owners, err := store.ArtifactOwners(context.Background(), e.st.DB, store.ServingFilter{Repos: []string{testRepo}})
	if err != nil || len(owners) == 0 || len(owners[0].Owners) == 0 {
		t.Errorf("artifact owners = %+v, %v; want the touched artifacts with their owners", owners, err)
	}
}

// TestNoDetailsURLWithoutAnAddress: without CONVEYOR_PUBLIC_URL no check run
// gets a details link that would lead nowhere.
func TestNoDetailsURLWithoutAnAddress(t *testing.T) {
	e := newGHEnv(t, 2, 20*time.Millisecond)
	pr := e.openChange("nodetails", "good")
	e.send("pull_request", e.gh.PullRequestEvent("opened", pr))
	for name, cr := range e.waitSettled(pr.HeadSHA) {
		if cr.DetailsURL != "" {
			t.Errorf("%s: details_url = %q, want none", name, cr.DetailsURL)
		}
	}
}
