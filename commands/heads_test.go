package commands

import (
	"strings"
	"testing"
	"time"
)

// stamp sets payload[object][field] to t as GitHub writes times, and returns
// payload.
func stamp(payload map[string]any, object, field string, t time.Time) map[string]any {
	payload[object].(map[string]any)[field] = t.UTC().Format(time.RFC3339)
	return payload
}

// headsWorld opens a PR whose opened event says it was opened ten minutes
// ago, and returns its first head.
func headsWorld(t *testing.T) (*env, int, string) {
	e := newEnv(t)
	e.gh.SetPermission(testRepo, "dev", "write")
	e.gh.Commit(testRepo, "feature", webChange(), "change")
	pr := e.gh.OpenPR(testRepo, "feature", "main", "a change", "dev")
	e.gate.set(pr.HeadSHA, "success")
	e.send("pull_request.opened", stamp(e.gh.PullRequestEvent("opened", pr), "pull_request", "updated_at", time.Now().Add(-10*time.Minute)))
	return e, pr.Number, pr.HeadSHA
}

// push commits to the PR's branch and returns its synchronize event, stamped
// by GitHub at at; the gate is green on the new head.
func (e *env) push(number int, at time.Time) (string, map[string]any) {
	e.gh.Commit(testRepo, "feature", map[string]*string{"services/web/extra.go": strp("package main\n// " + at.String() + "\n")}, "more")
	pr := e.gh.PR(testRepo, number)
	e.gate.set(pr.HeadSHA, "success")
	return pr.HeadSHA, stamp(e.gh.PullRequestEvent("synchronize", pr), "pull_request", "updated_at", at)
}

// commentAt writes body as dev, stamped by GitHub at at, and returns its
// event without delivering it.
func (e *env) commentAt(number int, body string, at time.Time) map[string]any {
	_, payload := e.gh.CommentOnPR(testRepo, number, "dev", body)
	return stamp(payload, "comment", "created_at", at)
}

// A synchronize that reaches Conveyor after the comment (a redelivery after
// an outage) is placed by GitHub's time: the comment, written after the
// push, deploys the pushed head. Before, the head was stamped on arrival,
// after the comment, and the comment acted on the older head.
func TestLateSynchronizeStillActsOnTheHeadTheCommentSaw(t *testing.T) {
	e, number, _ := headsWorld(t)
	pushed, sync := e.push(number, time.Now().Add(-5*time.Minute))
	comment := e.commentAt(number, "/deploy staging", time.Now().Add(-time.Minute))

	e.clock.Set(time.Now().Add(time.Hour)) // both arrive an hour late, the push last
	e.send("pull_request.synchronize", sync)
	e.send("issue_comment.created", comment)

	starts := e.starts()
	if len(starts) != 1 || starts[0].HeadSHA != pushed {
		t.Fatalf("deployed %+v, want the pushed head %s the comment saw", starts, pushed)
	}
}

// The same late synchronize with no earlier head known (opened was never
// delivered): before, the only head was stamped after the comment and the
// command was refused.
func TestLateSynchronizeIsNotRefused(t *testing.T) {
	e := newEnv(t)
	e.gh.SetPermission(testRepo, "dev", "write")
	e.gh.Commit(testRepo, "feature", webChange(), "change")
	pr := e.gh.OpenPR(testRepo, "feature", "main", "a change", "dev")
	pushed, sync := e.push(pr.Number, time.Now().Add(-5*time.Minute))
	comment := e.commentAt(pr.Number, "/deploy staging", time.Now().Add(-time.Minute))

	e.clock.Set(time.Now().Add(time.Hour))
	e.send("pull_request.synchronize", sync)
	e.send("issue_comment.created", comment)

	if starts := e.starts(); len(starts) != 1 || starts[0].HeadSHA != pushed {
		t.Fatalf("deployed %+v, want %s; replies %q", starts, pushed, e.replies(e.gh.PR(testRepo, pr.Number)))
	}
}

// A comment written before a push acts on the head before the push, even
// when the push is handled first.
func TestCommentWrittenBeforePushActsOnOldHead(t *testing.T) {
	e, number, first := headsWorld(t)
	comment := e.commentAt(number, "/deploy staging", time.Now().Add(-5*time.Minute))
	_, sync := e.push(number, time.Now().Add(-time.Minute))
	e.send("pull_request.synchronize", sync)
	e.send("issue_comment.created", comment)

	if starts := e.starts(); len(starts) != 1 || starts[0].HeadSHA != first {
		t.Fatalf("deployed %+v, want the head before the push %s", starts, first)
	}
}

// A push in the same second as the comment cannot be ordered against it
// (GitHub's times are whole seconds): refused, never guessed.
func TestPushInTheCommentsSecondIsRefused(t *testing.T) {
	e, number, _ := headsWorld(t)
	at := time.Now().Add(-time.Minute).Truncate(time.Second)
	_, sync := e.push(number, at)
	e.send("pull_request.synchronize", sync)
	e.send("issue_comment.created", e.commentAt(number, "/deploy staging", at))

	if len(e.starts()) != 0 {
		t.Fatal("a comment in the push's second deployed")
	}
	r := e.replies(e.gh.PR(testRepo, number))
	if len(r) != 1 || !strings.Contains(r[0], "cannot tell which commit it was written for") {
		t.Fatalf("replies = %q, want the refusal", r)
	}
}

// A comment written before any head Conveyor knows of is refused.
func TestCommentBeforeEveryKnownHeadIsRefused(t *testing.T) {
	e, number, _ := headsWorld(t)
	e.send("issue_comment.created", e.commentAt(number, "/deploy staging", time.Now().Add(-time.Hour)))
	if len(e.starts()) != 0 {
		t.Fatal("deployed a head newer than the comment")
	}
	mustContain(t, e.oneReply(e.gh.PR(testRepo, number)), "cannot tell which commit it was written for")
}
