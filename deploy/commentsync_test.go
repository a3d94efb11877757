package deploy

import (
	"net/http"
	"strings"
	"testing"

	"github.com/conveyor-dev/conveyor/internal/store/storetest"
)

// GitHub creates the status comment and answers 502: the next write finds
// the comment by its marker instead of creating a second one.
func TestStatusCommentCreatedBehindA502IsNotDuplicated(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(string(dialect), func(t *testing.T) {
			e := newEnvOn(t, storetest.Open(t, dialect))
			e.gh.FailAfterNext("POST", "/repos/acme/shop/issues/*/comments", 1, http.StatusBadGateway)
			pr := e.openPR("feature")
			d := e.wait(e.startOK(request(pr, "staging", 100)).ID, StateSucceeded)
			d, _ = e.engine.Get(t.Context(), d.ID)
			e.commentOf(d, "✅ Deployed to staging.")
			cs := e.botComments(pr.Number)
			if len(cs) != 1 {
				t.Fatalf("%d status comments, want 1", len(cs))
			}
			if d.CommentID != cs[0].ID || !strings.Contains(cs[0].Body, commentMarker(d.ID)) {
				t.Fatalf("deployment comment %d, posted %d; body:\n%s", d.CommentID, cs[0].ID, cs[0].Body)
			}
		})
	}
}

// Every edit fails while GitHub answers 502, the last one (the outcome)
// included. Before, the comment then said "in progress" for good; now the
// failed edit is retried as a job until GitHub takes it.
func TestStatusCommentOutcomeIsWrittenAfterGitHubRecovers(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(string(dialect), func(t *testing.T) {
			e := newEnvOn(t, storetest.Open(t, dialect))
			pr := e.openPR("feature")
			e.gh.FailNext("PATCH", "/repos/acme/shop/issues/comments/*", 1000, http.StatusBadGateway)
			d := e.wait(e.startOK(request(pr, "staging", 100)).ID, StateSucceeded)
			if cs := e.botComments(pr.Number); len(cs) != 1 || strings.Contains(cs[0].Body, "Deployed to staging") {
				t.Fatalf("during the outage: %+v", cs)
			}
			e.gh.ClearFaults()
			e.commentOf(d, "✅ Deployed to staging.")
			if n := len(e.botComments(pr.Number)); n != 1 {
				t.Fatalf("%d status comments, want 1", n)
			}
		})
	}
}
