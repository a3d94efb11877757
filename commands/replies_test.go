package commands

import (
	"net/http"
	"strings"
	"testing"

	"github.com/conveyor-dev/conveyor/internal/serverconfig"
	"github.com/conveyor-dev/conveyor/internal/store"
	"github.com/conveyor-dev/conveyor/internal/store/storetest"
)

const commentsPath = "/repos/acme/shop/issues/*/comments"

// lockWorld is a PR and a writer's "/lock staging" comment (a command with a
// side effect and a reply) not delivered yet.
func lockWorld(t *testing.T, st *store.Store) (*env, int, int64, map[string]any) {
	e := newEnvOn(t, serverconfig.Default(), st)
	e.gh.SetPermission(testRepo, "dev", "write")
	pr := e.openPR("feature", "dev", webChange())
	id, payload := e.gh.CommentOnPR(testRepo, pr.Number, "dev", "/lock staging")
	e.gh.ResetCalls()
	return e, pr.Number, id, payload
}

// GitHub answers 502 to the reply three times (issue #12 item 7). The
// delivery fails each time, so the queue retries it; a retry posts what is
// missing without running the command again, and once GitHub recovers the
// reply is posted exactly once, followed by the final reaction.
func TestReplyIsPostedOnceAfterGitHubRecovers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e, number, id, payload := lockWorld(t, st)
		e.gh.FailNext("POST", commentsPath, 3, http.StatusBadGateway)

		for attempt := 1; attempt <= 3; attempt++ {
			err := e.handle("issue_comment.created", "d-1", payload)
			if err == nil || !strings.Contains(err.Error(), "not accepted by GitHub yet") {
				t.Fatalf("attempt %d: err = %v, want the reply pending (the delivery is retried)", attempt, err)
			}
			if r := e.replies(e.gh.PR(testRepo, number)); len(r) != 0 {
				t.Fatalf("attempt %d: %d replies during the outage", attempt, len(r))
			}
		}
		if err := e.handle("issue_comment.created", "d-1", payload); err != nil {
			t.Fatalf("after recovery: %v", err)
		}
		if err := e.handle("issue_comment.created", "d-1", payload); err != nil {
			t.Fatalf("a redelivery after success: %v", err)
		}

		mustContain(t, e.oneReply(e.gh.PR(testRepo, number)), "staging is locked by @dev", "<!-- conveyor:reply:d-1:1 -->")
		if got := strings.Join(e.dep.locks, ";"); got != "staging #1 @dev " {
			t.Fatalf("locks = %q, want the command run once", got)
		}
		if got := e.reactions(id); got != "eyes,rocket" {
			t.Fatalf("reactions = %q, want eyes,rocket", got)
		}
		if n := len(e.gh.CallsMatching("POST", "/repos/acme/shop/issues/"+itoa(int64(number))+"/comments")); n != 4 {
			t.Fatalf("%d comment posts, want 3 failed and 1 accepted", n)
		}
		rs, err := st.Replies(t.Context(), "d-1")
		if err != nil || len(rs) != 3 {
			t.Fatalf("stored replies = %+v, %v", rs, err)
		}
		for _, r := range rs {
			if r.State != store.ReplyDone {
				t.Fatalf("reply %d is %s, want done", r.N, r.State)
			}
		}
		if rs[1].Attempts != 4 || rs[1].PostedID == 0 {
			t.Fatalf("reply = %+v, want 4 attempts and the posted comment's ID", rs[1])
		}
	})
}

// GitHub creates the reply and then answers 502: the retry finds the reply
// by its marker and does not post it again.
func TestReplyCreatedBeforeA502IsNotDuplicated(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e, number, _, payload := lockWorld(t, st)
		e.gh.FailAfterNext("POST", commentsPath, 1, http.StatusBadGateway)

		if err := e.handle("issue_comment.created", "d-1", payload); err == nil {
			t.Fatal("the 502 was not seen: the delivery would be marked processed without knowing")
		}
		if err := e.handle("issue_comment.created", "d-1", payload); err != nil {
			t.Fatalf("retry: %v", err)
		}
		mustContain(t, e.oneReply(e.gh.PR(testRepo, number)), "staging is locked by @dev")
		if n := len(e.gh.CallsMatching("POST", "/repos/acme/shop/issues/"+itoa(int64(number))+"/comments")); n != 1 {
			t.Fatalf("%d comment posts, want 1: the retry must look before it creates", n)
		}
		if n := len(e.gh.CallsMatching("GET", "/repos/acme/shop/issues/"+itoa(int64(number))+"/comments")); n != 1 {
			t.Fatalf("%d comment listings, want 1", n)
		}
		if len(e.dep.locks) != 1 {
			t.Fatalf("locks = %q, want the command run once", e.dep.locks)
		}
		rs, _ := st.Replies(t.Context(), "d-1")
		if len(rs) != 3 || rs[1].State != store.ReplyDone || rs[1].PostedID == 0 {
			t.Fatalf("stored replies = %+v, want the reply done with the found comment's ID", rs)
		}
	})
}

// A reply GitHub refuses for good (here 404: the PR is gone) is recorded as
// failed and the delivery is done with; it is not retried forever.
func TestReplyRefusedForGoodEndsTheDelivery(t *testing.T) {
	e, number, _, payload := lockWorld(t, storetest.Open(t, store.SQLite))
	e.gh.FailNext("POST", commentsPath, 1, http.StatusNotFound)
	if err := e.handle("issue_comment.created", "d-1", payload); err != nil {
		t.Fatalf("a refused reply kept the delivery pending: %v", err)
	}
	if r := e.replies(e.gh.PR(testRepo, number)); len(r) != 0 {
		t.Fatalf("replies = %q", r)
	}
	rs, _ := e.store.Replies(t.Context(), "d-1")
	if len(rs) != 3 || rs[1].State != store.ReplyFailed || !strings.Contains(rs[1].LastError, "404") || rs[2].State != store.ReplyDone {
		t.Fatalf("stored replies = %+v, want the reply failed and the reaction after it posted", rs)
	}
}

// Reactions are retried too: the :eyes: reaction that failed when the comment
// was taken is posted with the rest.
func TestFailedReactionIsRetried(t *testing.T) {
	e, _, id, payload := lockWorld(t, storetest.Open(t, store.SQLite))
	e.gh.FailNext("POST", "/repos/acme/shop/issues/comments/*/reactions", 2, http.StatusServiceUnavailable)
	if err := e.handle("issue_comment.created", "d-1", payload); err == nil {
		t.Fatal("want the delivery retried while a reaction is missing")
	}
	if err := e.handle("issue_comment.created", "d-1", payload); err != nil {
		t.Fatalf("retry: %v", err)
	}
	if got := e.reactions(id); got != "eyes,rocket" {
		t.Fatalf("reactions = %q, want eyes,rocket", got)
	}
}
