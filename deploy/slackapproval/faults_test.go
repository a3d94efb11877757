package slackapproval_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/conveyor-dev/conveyor/internal/testwait"
)

func TestSlack5xxOnPostIsRetried(t *testing.T) {
	w := newWorld(t, time.Hour)
	w.slack.FailNext("chat.postMessage", 1, http.StatusServiceUnavailable)
	d := w.start("production")
	m := w.message(d)
	if !strings.Contains(string(m.BlocksJSON), "Approval needed") {
		t.Fatalf("message after retry: %s", m.BlocksJSON)
	}
	var statuses []int
	for _, c := range w.slack.Calls() {
		if c.Method == "chat.postMessage" {
			statuses = append(statuses, c.Status)
		}
	}
	if len(statuses) != 2 || statuses[0] != http.StatusServiceUnavailable || statuses[1] != http.StatusOK {
		t.Fatalf("chat.postMessage statuses %v, want [503 200]", statuses)
	}
	if n := len(w.slack.Messages(prodChannel)); n != 1 {
		t.Fatalf("%d messages posted, want 1", n)
	}
}

func TestSlackDownCommentsOnThePROnceAndKeepsTrying(t *testing.T) {
	w := newWorld(t, time.Hour)
	w.slack.FailNext("chat.postMessage", 4, http.StatusBadGateway)
	d := w.start("production")
	w.message(d) // posted once Slack is back
	if got := w.commentsWith("Slack is unreachable"); len(got) != 1 {
		t.Fatalf("PR comments about Slack: %d, want exactly 1: %q", len(got), got)
	} else if !strings.Contains(got[0], "/approve production") {
		t.Errorf("the comment should say how to approve meanwhile: %s", got[0])
	}
}

func TestRateLimitedPostWaitsAndPosts(t *testing.T) {
	w := newWorld(t, time.Hour)
	w.slack.RateLimitNext("chat.postMessage", 1, time.Second)
	d := w.start("production")
	w.message(d)
	if got := w.commentsWith("Slack"); len(got) != 0 {
		t.Errorf("a rate limit is not an outage, yet the PR got: %q", got)
	}
}

func TestPermanentSlackErrorTellsThePR(t *testing.T) {
	w := newWorld(t, time.Hour)
	w.slack.ErrorNext("chat.postMessage", "channel_not_found", 1)
	w.start("production")
	testwait.For(t, "a PR comment about the refused request", func() bool {
		return len(w.commentsWith("Slack refused the approval request")) == 1
	})
	body := w.commentsWith("Slack refused")[0]
	for _, want := range []string{"channel_not_found", "slack.channels.production", "/approve production"} {
		if !strings.Contains(body, want) {
			t.Errorf("comment lacks %q: %s", want, body)
		}
	}
	if n := len(w.slack.Messages(prodChannel)); n != 0 {
		t.Errorf("a refused post must not be retried into a message; got %d", n)
	}
}

func TestNoChannelForEnvironmentMeansApproveOnGitHub(t *testing.T) {
	w := newWorld(t, time.Hour)
	d := w.start("staging")
	testwait.For(t, "the PR comment that approvals go through /approve", func() bool {
		return len(w.commentsWith("No Slack channel is configured for staging")) == 1
	})
	if got := w.get(d.ID); got.SlackTS != "" {
		t.Errorf("deployment got Slack message %s with no channel configured", got.SlackTS)
	}
	for _, c := range w.slack.Calls() {
		if c.Method == "chat.postMessage" {
			t.Errorf("posted to Slack without a channel: %v", c.Params)
		}
	}
}

// A Slack outage longer than the queue's default retries (8) loses no line:
// the flush keeps trying, so a deployment that changes no more still shows
// what happened once Slack is back.
func TestLongSlackOutageLosesNothing(t *testing.T) {
	w := newWorld(t, time.Hour)
	w.slack.FailNext("chat.postMessage", 12, http.StatusBadGateway)
	d := w.start("production")
	m := w.message(d)
	if !strings.Contains(string(m.BlocksJSON), "Approval needed") {
		t.Fatalf("message after the outage: %s", m.BlocksJSON)
	}
	var failed int
	for _, c := range w.slack.Calls() {
		if c.Method == "chat.postMessage" && c.Status == http.StatusBadGateway {
			failed++
		}
	}
	if failed != 12 {
		t.Fatalf("%d failed posts, want the 12 of the outage", failed)
	}
}
