package ghfake

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v66/github"
)

func TestETagConditionalRequest(t *testing.T) {
	s, gh := fixture(t)
	if _, _, err := gh.Repositories.Get(ctx, "acme", "web"); err != nil {
		t.Fatal(err)
	}
	call := func(etag string) *http.Response {
		req, _ := gh.NewRequest("GET", "repos/acme/web/commits/main", nil)
		if etag != "" {
			req.Header.Set("If-None-Match", etag)
		}
		resp, err := gh.BareDo(ctx, req)
		if err != nil && resp.StatusCode != http.StatusNotModified {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.Response
	}
	first := call("")
	etag := first.Header.Get("ETag")
	if first.StatusCode != 200 || etag == "" {
		t.Fatalf("first GET: %d etag %q", first.StatusCode, etag)
	}
	used := first.Header.Get("X-RateLimit-Used")
	second := call(etag)
	if second.StatusCode != http.StatusNotModified || second.Header.Get("X-RateLimit-Used") != used {
		t.Fatalf("conditional GET: %d used %s (was %s); want 304 without spending rate limit",
			second.StatusCode, second.Header.Get("X-RateLimit-Used"), used)
	}
	s.Commit("acme/web", "main", map[string]*string{"x": str("1")}, "change")
	if got := call(etag); got.StatusCode != 200 || got.Header.Get("ETag") == etag {
		t.Fatalf("after a new commit the old ETag must not match: %d", got.StatusCode)
	}
}

func TestFailNext(t *testing.T) {
	s, gh := fixture(t)
	s.FailNext("GET", "/repos/acme/web", 2, http.StatusBadGateway)
	for i := range 2 {
		if _, _, err := gh.Repositories.Get(ctx, "acme", "web"); statusOf(err) != http.StatusBadGateway {
			t.Fatalf("attempt %d: %v, want 502", i, err)
		}
	}
	if _, _, err := gh.Repositories.Get(ctx, "acme", "web"); err != nil {
		t.Fatalf("third attempt should succeed: %v", err)
	}
	s.FailNext("POST", "/repos/*/*/check-runs", 1, http.StatusInternalServerError)
	sha := s.BranchSHA("acme/web", "main")
	if _, _, err := gh.Checks.CreateCheckRun(ctx, "acme", "web", github.CreateCheckRunOptions{Name: "x", HeadSHA: sha}); statusOf(err) != 500 {
		t.Fatalf("glob fault: %v", err)
	}
	if n := len(s.CheckRuns("acme/web", sha)); n != 0 {
		t.Fatalf("a failed request must not change state, got %d runs", n)
	}
	if c := s.CallsMatching("POST", "/repos/acme/web/check-runs"); len(c) != 1 || c[0].Status != 500 || !strings.Contains(string(c[0].Body), `"name":"x"`) {
		t.Fatalf("recorded = %+v", c)
	}
}

func TestSecondaryRateLimit(t *testing.T) {
	s, gh := fixture(t)
	s.SecondaryRateLimitNext("/repos/acme/web/**", 1, 30*time.Second)
	_, _, err := gh.Repositories.GetCommit(ctx, "acme", "web", "main", nil)
	var abuse *github.AbuseRateLimitError
	if !errors.As(err, &abuse) || abuse.RetryAfter == nil || *abuse.RetryAfter != 30*time.Second ||
		!strings.Contains(abuse.Message, "secondary rate limit") {
		t.Fatalf("err = %#v, want AbuseRateLimitError with RetryAfter 30s", err)
	}
}

func TestPrimaryRateLimit(t *testing.T) {
	s, gh := fixture(t)
	s.SetRateLimitRemaining(1) // the JWT token exchange does not spend it
	_, resp, err := gh.Repositories.Get(ctx, "acme", "web")
	if err != nil || resp.Rate.Remaining != 0 || resp.Rate.Limit != 5000 {
		t.Fatalf("last allowed call: rate %+v, %v", resp.Rate, err)
	}
	gh2 := installationClient(t, s, testInstallation, "") // fresh client: no local rate memory
	_, _, err = gh2.Repositories.Get(ctx, "acme", "web")
	if err == nil {
		t.Fatal("want a rate limit error once the budget is spent")
	}
	var rl *github.RateLimitError
	if !errors.As(err, &rl) || rl.Rate.Remaining != 0 || rl.Rate.Reset.Before(time.Now()) {
		t.Fatalf("err = %#v, want a primary RateLimitError", err)
	}
}

func TestLatency(t *testing.T) {
	s, gh := fixture(t)
	if _, _, err := gh.Repositories.Get(ctx, "acme", "web"); err != nil {
		t.Fatal(err)
	}
	s.SetLatency(time.Hour)
	c, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	_, _, err := gh.Repositories.Get(c, "acme", "web")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the client's deadline to fire while the server is slow", err)
	}
	s.SetLatency(0)
	if _, _, err := gh.Repositories.Get(ctx, "acme", "web"); err != nil {
		t.Fatalf("after latency off: %v", err)
	}
}

func TestFaultPatternValidation(t *testing.T) {
	s, _ := fixture(t)
	defer func() {
		r := recover()
		if r == nil || !strings.Contains(r.(string), "write a glob") {
			t.Fatalf("recover = %v, want a panic explaining the pattern", r)
		}
	}()
	s.FailNext("GET", "/repos/[", 1, 500)
}

func TestFailAfterNext(t *testing.T) {
	s, gh := fixture(t)
	s.Commit("acme/web", "feature", map[string]*string{"x": str("1")}, "change")
	pr := s.OpenPR("acme/web", "feature", "main", "a change", "dev")
	s.FailAfterNext("POST", "/repos/*/*/issues/*/comments", 1, http.StatusBadGateway)

	// A refused request keeps its own answer and leaves the fault for the next one.
	if _, _, err := gh.Issues.CreateComment(ctx, "acme", "web", 999, &github.IssueComment{Body: str("x")}); statusOf(err) != http.StatusNotFound {
		t.Fatalf("comment on a missing PR: %v, want 404", err)
	}
	_, _, err := gh.Issues.CreateComment(ctx, "acme", "web", pr.Number, &github.IssueComment{Body: str("hello")})
	if statusOf(err) != http.StatusBadGateway {
		t.Fatalf("first create: %v, want 502", err)
	}
	if cs := s.Comments("acme/web", pr.Number); len(cs) != 1 || cs[0].Body != "hello" {
		t.Fatalf("comments = %+v, want the one created before the 502", cs)
	}
	if _, _, err := gh.Issues.CreateComment(ctx, "acme", "web", pr.Number, &github.IssueComment{Body: str("again")}); err != nil {
		t.Fatalf("the fault was good for one request: %v", err)
	}
	if c := s.CallsMatching("POST", "/repos/acme/web/issues/"); len(c) != 3 || c[1].Status != http.StatusBadGateway || c[2].Status != http.StatusCreated {
		t.Fatalf("recorded = %+v", c)
	}
}

func TestListCommentsSince(t *testing.T) {
	s, gh := fixture(t)
	s.Commit("acme/web", "feature", map[string]*string{"x": str("1")}, "change")
	pr := s.OpenPR("acme/web", "feature", "main", "a change", "dev")
	s.CommentOnPR("acme/web", pr.Number, "dev", "one")
	since := time.Now().Add(time.Hour)
	if cs, _, err := gh.Issues.ListComments(ctx, "acme", "web", pr.Number, &github.IssueListCommentsOptions{Since: &since}); err != nil || len(cs) != 0 {
		t.Fatalf("since an hour ahead: %d comments, %v; want none", len(cs), err)
	}
	since = time.Now().Add(-time.Hour)
	if cs, _, err := gh.Issues.ListComments(ctx, "acme", "web", pr.Number, &github.IssueListCommentsOptions{Since: &since}); err != nil || len(cs) != 1 {
		t.Fatalf("since an hour ago: %d comments, %v; want one", len(cs), err)
	}
	req, _ := gh.NewRequest("GET", "repos/acme/web/issues/1/comments?since=yesterday", nil)
	if _, err := gh.Do(ctx, req, nil); statusOf(err) != http.StatusUnprocessableEntity {
		t.Fatalf("bad since: %v, want 422", err)
	}
}
