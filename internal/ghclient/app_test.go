package ghclient

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-github/v66/github"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/conveyor-dev/conveyor/internal/ghfake"
)

func str(s string) *string { return &s }

func newFakeApp(t *testing.T, o Options) (*ghfake.Server, *App) {
	t.Helper()
	fake := ghfake.NewTest(t)
	fake.AddRepo("acme/shop", "main", 42)
	fake.Commit("acme/shop", "main", map[string]*string{"README.md": str("hello\n")}, "first")
	o.AppID = fake.AppID()
	o.PrivateKey = fake.PrivateKeyPEM()
	o.APIURL = fake.URL()
	if o.Retry.BaseDelay == 0 {
		o.Retry = RetryPolicy{BaseDelay: time.Millisecond, MaxDelay: 2 * time.Second}
	}
	app, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return fake, app
}

func getReadme(t *testing.T, c *github.Client) string {
	t.Helper()
	fc, _, _, err := c.Repositories.GetContents(context.Background(), "acme", "shop", "README.md", &github.RepositoryContentGetOptions{Ref: "main"})
	if err != nil {
		t.Fatalf("get contents: %v", err)
	}
	s, _ := fc.GetContent()
	return s
}

func TestGitHubRetriesServerErrors(t *testing.T) {
	t.Parallel()
	m := NewMetrics(nil)
	fake, app := newFakeApp(t, Options{Metrics: m})
	c, err := app.Installation(42)
	if err != nil {
		t.Fatal(err)
	}
	fake.FailNext("GET", "/repos/acme/shop/contents/**", 2, 502)
	if got := getReadme(t, c); got != "hello\n" {
		t.Fatalf("content %q", got)
	}
	if r := testutil.ToFloat64(m.Retries.WithLabelValues("5xx")); r != 2 {
		t.Fatalf("5xx retries = %v, want 2", r)
	}
	if n := testutil.ToFloat64(m.Calls.WithLabelValues("GET /repos/{owner}/{repo}/contents/{ref}", "502")); n != 2 {
		t.Fatalf("502s counted = %v", n)
	}
	// A POST is retried too (its body is replayed).
	fake.FailNext("POST", "/repos/acme/shop/check-runs", 1, 500)
	cr, _, err := c.Checks.CreateCheckRun(context.Background(), "acme", "shop", github.CreateCheckRunOptions{Name: "conveyor", HeadSHA: fake.BranchSHA("acme/shop", "main")})
	if err != nil || cr.GetName() != "conveyor" {
		t.Fatalf("create check run after 500: %v %v", cr, err)
	}
	// Past MaxAttempts the error surfaces.
	fake.FailNext("GET", "/repos/acme/shop/contents/**", 10, 503)
	if _, _, _, err := c.Repositories.GetContents(context.Background(), "acme", "shop", "README.md", nil); err == nil {
		t.Fatal("want an error after repeated 503s")
	}
}

func TestGitHubWaitsOutSecondaryRateLimit(t *testing.T) {
	t.Parallel()
	m := NewMetrics(nil)
	fake, app := newFakeApp(t, Options{Metrics: m})
	c, _ := app.Installation(42)
	fake.SecondaryRateLimitNext("/repos/acme/shop/contents/**", 1, time.Second)
	if got := getReadme(t, c); got != "hello\n" {
		t.Fatalf("content %q", got)
	}
	if r := testutil.ToFloat64(m.Retries.WithLabelValues("secondary_rate_limit")); r != 1 {
		t.Fatalf("secondary retries = %v", r)
	}
}

func TestGitHubConditionalRequests(t *testing.T) {
	t.Parallel()
	m := NewMetrics(nil)
	fake, app := newFakeApp(t, Options{Metrics: m})
	c, _ := app.Installation(42)
	getReadme(t, c)
	fake.ResetCalls()
	if got := getReadme(t, c); got != "hello\n" {
		t.Fatalf("cached content %q", got)
	}
	calls := fake.CallsMatching("GET", "/repos/acme/shop/contents/README.md")
	if len(calls) != 1 || calls[0].Status != 304 {
		t.Fatalf("second GET = %+v; want one 304", calls)
	}
	// After a change the new content comes back.
	fake.Commit("acme/shop", "main", map[string]*string{"README.md": str("changed\n")}, "edit")
	if got := getReadme(t, c); got != "changed\n" {
		t.Fatalf("content after change %q", got)
	}
}

func TestGitHubPacesContentCreation(t *testing.T) {
	t.Parallel()
	m := NewMetrics(nil)
	fake, app := newFakeApp(t, Options{Metrics: m, Pace: PaceLimits{PerMinute: 2, PerHour: 500}})
	c, _ := app.Installation(42)
	sha := fake.BranchSHA("acme/shop", "main")
	for i := 0; i < 2; i++ {
		if _, _, err := c.Checks.CreateCheckRun(context.Background(), "acme", "shop", github.CreateCheckRunOptions{Name: "x", HeadSHA: sha}); err != nil {
			t.Fatal(err)
		}
	}
	// The third waits for the pace instead of hitting GitHub's limit.
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, _, err := c.Checks.CreateCheckRun(ctx, "acme", "shop", github.CreateCheckRunOptions{Name: "x", HeadSHA: sha})
	if err == nil || !errors.Is(err, context.DeadlineExceeded) && !strings.Contains(err.Error(), "deadline") && !strings.Contains(err.Error(), "exceed") {
		t.Fatalf("third create: %v; want it queued until the deadline", err)
	}
	if n := len(fake.CallsMatching("POST", "/repos/acme/shop/check-runs")); n != 2 {
		t.Fatalf("GitHub saw %d creates, want 2", n)
	}
	if testutil.ToFloat64(m.PacingWaits) < 1 {
		t.Fatal("pacing wait not counted")
	}
	// Reads are never paced.
	getReadme(t, c)
}

func TestRouteTemplate(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"/repos/acme/shop/contents/a/b/c.yml":                                    "/repos/{owner}/{repo}/contents/{ref}",
		"/api/v3/repos/acme/shop/check-runs/12":                                  "/repos/{owner}/{repo}/check-runs/{id}",
		"/repos/a/b/commits/0123456789abcdef0123456789abcdef01234567/check-runs": "/repos/{owner}/{repo}/commits/{ref}/check-runs",
		"/orgs/acme/teams/sre/memberships/dev":                                   "/orgs/{org}/teams/{name}/memberships/{name}",
		"/app/installations/42/access_tokens":                                    "/app/installations/{id}/access_tokens",
	}
	for in, want := range cases {
		if got := RouteTemplate(in); got != want {
			t.Errorf("RouteTemplate(%q) = %q, want %q", in, got, want)
		}
	}
}

// A spent primary rate limit is waited out until its reset, then retried;
// a reset too far away is returned at once instead of hanging the job.
func TestGitHubWaitsForPrimaryRateLimitReset(t *testing.T) {
	t.Parallel()
	m := NewMetrics(nil)
	var calls atomic.Int32
	resetIn := 1 * time.Second
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.Header().Set("X-RateLimit-Remaining", "0")
			w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(time.Now().Add(resetIn).Unix(), 10))
			w.WriteHeader(http.StatusForbidden)
			io.WriteString(w, `{"message":"API rate limit exceeded"}`)
			return
		}
		io.WriteString(w, `{"login":"octocat"}`)
	}))
	defer srv.Close()
	rt := &retryTransport{next: http.DefaultTransport, policy: RetryPolicy{}.withDefaults(), metrics: m, sleep: sleepCtx}
	resp, err := (&http.Client{Transport: rt}).Get(srv.URL + "/user")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("after the reset: %v %v", resp, err)
	}
	resp.Body.Close()
	if calls.Load() != 2 || testutil.ToFloat64(m.Retries.WithLabelValues("primary_rate_limit")) != 1 {
		t.Fatalf("calls = %d", calls.Load())
	}
	calls.Store(0)
	resetIn = time.Hour
	resp, err = (&http.Client{Transport: rt}).Get(srv.URL + "/user")
	if err != nil || resp.StatusCode != http.StatusForbidden || calls.Load() != 1 {
		t.Fatalf("reset an hour away: status %v, calls %d, err %v", resp.StatusCode, calls.Load(), err)
	}
	resp.Body.Close()
}
