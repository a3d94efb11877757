package checks

import (
	"bytes"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/conveyor-dev/conveyor/examples"
)

// A check that stops being deployable loses its buttons on GitHub: the update
// carries an explicit empty "actions" array (go-github's omitempty would drop
// an empty list, and GitHub keeps the buttons of a run when the field is absent).
func TestCheckRunButtonsClearedWhenNoLongerDeployable(t *testing.T) {
	e := newGHEnv(t, 2, 20*time.Millisecond)
	if _, err := examples.LoadChange(filepath.Join(exampleDir, "changes", "good")); err != nil {
		t.Fatal(err)
	}
	pr := e.openChange("buttons", "good")
	e.postCI(pr.HeadSHA, "build", "completed", "success")
	e.postCI(pr.HeadSHA, "test", "completed", "success")
	for _, cr := range e.gh.CheckRuns(testRepo, pr.HeadSHA) {
		e.send("check_run", e.gh.CheckRunEvent("completed", testRepo, cr.ID, "", ""))
	}
	e.send("pull_request", e.gh.PullRequestEvent("opened", pr))
	web := e.waitSettled(pr.HeadSHA)[CheckName("web")]
	if web.Conclusion != "success" || len(web.Actions) == 0 {
		t.Fatalf("web = %s with actions %+v, want success with buttons", web.Conclusion, web.Actions)
	}

	// The build is re-run and fails: the web check turns red in place.
	id := e.postCI(pr.HeadSHA, "build", "completed", "failure")
	e.send("check_run", e.gh.CheckRunEvent("completed", testRepo, id, "", ""))
	deadline := time.Now().Add(20 * time.Second)
	for e.checkRuns(pr.HeadSHA)[CheckName("web")].Conclusion == "success" {
		if time.Now().After(deadline) {
			t.Fatalf("web check never turned from success: %+v", e.checkRuns(pr.HeadSHA)[CheckName("web")])
		}
		time.Sleep(10 * time.Millisecond)
	}
	web = e.waitSettled(pr.HeadSHA)[CheckName("web")]
	if web.Conclusion == "success" || len(web.Actions) != 0 {
		t.Fatalf("web = %s with actions %+v, want no buttons once not deployable", web.Conclusion, web.Actions)
	}
	sent := false
	for _, c := range e.gh.CallsMatching("PATCH", fmt.Sprintf("/repos/%s/check-runs/%d", testRepo, web.ID)) {
		sent = sent || bytes.Contains(c.Body, []byte(`"actions":[]`))
	}
	if !sent {
		t.Errorf("no update of check run %d sent an explicit empty actions array", web.ID)
	}
}
