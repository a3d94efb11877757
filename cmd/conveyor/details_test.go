package main

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/conveyor-dev/conveyor/examples"
)

// TestEveryCheckRunHasAWorkingDetailsLink: on the real server with the
// dashboard, each check run Conveyor writes links its pull request page
// (the artifact's section), the link opens for a signed-in visitor and
// shows the stages, and the deployment's status comment links the page too.
func TestEveryCheckRunHasAWorkingDetailsLink(t *testing.T) {
	w := newGovWorld(t)
	ch, err := examples.LoadChange("../../examples/changes/good")
	if err != nil {
		t.Fatal(err)
	}
	pr, err := w.d.openPR(w.ctx, "details-links", "details links", "dev", ch)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"build", "test"} {
		w.d.gh.SetStatus(demoRepo, pr.HeadSHA, name, "success")
		if _, _, err := w.d.gh.Send("status", w.d.gh.StatusEvent(demoRepo, pr.HeadSHA, name, "success")); err != nil {
			t.Fatal(err)
		}
	}
	runs := w.runs(pr, completed("conveyor", "conveyor / web"))
	page := w.d.url + "/r/" + demoRepo + "/pull/" + strconv.Itoa(pr.Number)
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	for name, r := range runs {
		want := page
		if art, ok := strings.CutPrefix(name, "conveyor / "); ok {
			want += "#artifact-" + art
		}
		if r.DetailsURL != want {
			t.Errorf("%s: details_url = %q, want %q", name, r.DetailsURL, want)
		}
	}
	// The link works: through sign-in, to the page with the stages.
	resp, err := browser.Get(runs["conveyor / web"].DetailsURL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	mustHave(t, "the details page", string(body), `id="artifact-web"`, "<td>Validate</td>", "<td>Quality</td>", "<td>Policy</td>", "<td>Readiness</td>")

	w.reply(pr, "dev", "/deploy staging")
	err = wait(w.ctx, "the status comment's dashboard link", func() bool {
		for _, c := range w.d.botComments(pr) {
			if strings.Contains(c.Body, "[Open this pull request in the Conveyor dashboard]("+page+")") {
				return true
			}
		}
		return false
	})
	if err != nil {
		t.Fatal(err)
	}
}
