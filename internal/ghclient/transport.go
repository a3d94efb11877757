package ghclient

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"golang.org/x/time/rate"
)

// The GitHub transport is one stack of small RoundTrippers, bottom up:
//
//	http.Transport -> limit (a body past Options.MaxBody fails the read, clearly)
//	               -> metrics (every attempt, by route and status)
//	               -> etag (conditional GETs: unchanged answers cost no rate limit)
//	               -> retry (5xx, secondary and primary rate limits, network errors)
//	               -> pace (content-creating calls per installation: 80/min, 500/h)
//	               -> ghinstallation (installation token) -> go-github

// RetryPolicy bounds retries of GitHub calls.
type RetryPolicy struct {
	MaxAttempts  int           // total attempts (default 5)
	BaseDelay    time.Duration // first backoff (default 250ms), doubled each time, with jitter
	MaxDelay     time.Duration // cap of one backoff or Retry-After wait (default 2m)
	MaxResetWait time.Duration // longest wait for a primary rate limit reset (default 15m)
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.MaxAttempts == 0 {
		p.MaxAttempts = 5
	}
	if p.BaseDelay == 0 {
		p.BaseDelay = 250 * time.Millisecond
	}
	if p.MaxDelay == 0 {
		p.MaxDelay = 2 * time.Minute
	}
	if p.MaxResetWait == 0 {
		p.MaxResetWait = 15 * time.Minute
	}
	return p
}

type metricsTransport struct {
	next    http.RoundTripper
	metrics *Metrics
	scope   string // installation ID or "app"
}

var (
	numericSeg = regexp.MustCompile(`^[0-9]+$`)
	shaSeg     = regexp.MustCompile(`^[0-9a-f]{40}$`)
)

// RouteTemplate turns a GitHub API path into a low-cardinality label.
func RouteTemplate(path string) string {
	if i := strings.Index(path, "/api/v3/"); i >= 0 {
		path = path[i+len("/api/v3"):]
	}
	segs := strings.Split(strings.Trim(path, "/"), "/")
	start := 0
	var b strings.Builder
	if len(segs) >= 3 && segs[0] == "repos" {
		b.WriteString("/repos/{owner}/{repo}")
		start = 3
	} else if len(segs) >= 2 && (segs[0] == "orgs" || segs[0] == "users") {
		b.WriteString("/" + segs[0] + "/{org}")
		start = 2
	}
	for i := start; i < len(segs); i++ {
		s := segs[i]
		switch {
		case s == "contents" || s == "tarball" || s == "compare" || (s == "commits" && i+1 < len(segs)):
			b.WriteString("/" + s + "/{ref}")
			if s != "commits" {
				return b.String()
			}
			i++
		case numericSeg.MatchString(s):
			b.WriteString("/{id}")
		case shaSeg.MatchString(s):
			b.WriteString("/{sha}")
		case i > 0 && (segs[i-1] == "memberships" || segs[i-1] == "collaborators" || segs[i-1] == "teams" || segs[i-1] == "statuses" || segs[i-1] == "workflows" || segs[i-1] == "deliveries" || segs[i-1] == "installations"):
			b.WriteString("/{name}")
		default:
			b.WriteString("/" + s)
		}
	}
	return b.String()
}

func (t *metricsTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	status := "error"
	if err == nil {
		status = strconv.Itoa(resp.StatusCode)
		if rem := resp.Header.Get("X-RateLimit-Remaining"); rem != "" {
			if n, perr := strconv.Atoi(rem); perr == nil {
				t.metrics.RateRemaining.WithLabelValues(t.scope).Set(float64(n))
			}
		}
	}
	t.metrics.Calls.WithLabelValues(req.Method+" "+RouteTemplate(req.URL.Path), status).Inc()
	return resp, err
}

type retryTransport struct {
	next    http.RoundTripper
	policy  RetryPolicy
	metrics *Metrics
	sleep   func(ctx context.Context, d time.Duration) error
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// retryDecision says whether and how long to wait before another attempt.
func (t *retryTransport) retryDecision(resp *http.Response, attempt int) (time.Duration, string, bool) {
	backoff := func() time.Duration {
		d := t.policy.BaseDelay << (attempt - 1)
		if d > t.policy.MaxDelay || d <= 0 {
			d = t.policy.MaxDelay
		}
		return d/2 + rand.N(d/2+1) // jitter
	}
	retryAfter := func() (time.Duration, bool) {
		if s := resp.Header.Get("Retry-After"); s != "" {
			if n, err := strconv.Atoi(s); err == nil && n >= 0 {
				return min(time.Duration(n)*time.Second, t.policy.MaxDelay), true
			}
		}
		return 0, false
	}
	switch {
	case resp.StatusCode >= 500:
		if d, ok := retryAfter(); ok {
			return d, "5xx", true
		}
		return backoff(), "5xx", true
	case resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusTooManyRequests:
		if resp.Header.Get("X-RateLimit-Remaining") == "0" {
			if reset, err := strconv.ParseInt(resp.Header.Get("X-RateLimit-Reset"), 10, 64); err == nil {
				wait := time.Until(time.Unix(reset, 0)) + time.Second
				if wait > t.policy.MaxResetWait {
					return 0, "", false
				}
				return max(wait, 0), "primary_rate_limit", true
			}
		}
		if d, ok := retryAfter(); ok {
			return d, "secondary_rate_limit", true
		}
		// GitHub's secondary limit without Retry-After: say so in the body.
		// Only its start is looked at; the caller still gets all of it.
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body = prefixed(body, resp.Body)
		if bytes.Contains(bytes.ToLower(body), []byte("secondary rate limit")) {
			return max(time.Minute, backoff()), "secondary_rate_limit", true
		}
	}
	return 0, "", false
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	idempotent := req.Method == http.MethodGet || req.Method == http.MethodHead || req.Method == http.MethodPut || req.Method == http.MethodDelete
	for attempt := 1; ; attempt++ {
		if attempt > 1 && req.Body != nil && req.GetBody != nil {
			body, err := req.GetBody()
			if err != nil {
				return nil, err
			}
			req = req.Clone(req.Context())
			req.Body = body
		}
		resp, err := t.next.RoundTrip(req)
		if err != nil {
			if errors.Is(err, ErrBodyTooLarge) {
				return nil, err // asking again gets the same answer
			}
			if !idempotent || attempt >= t.policy.MaxAttempts || req.Context().Err() != nil {
				return nil, err
			}
			t.metrics.Retries.WithLabelValues("network").Inc()
			if serr := t.sleep(req.Context(), t.policy.BaseDelay<<(attempt-1)); serr != nil {
				return nil, err
			}
			continue
		}
		wait, reason, retry := t.retryDecision(resp, attempt)
		if !retry || attempt >= t.policy.MaxAttempts || (req.Body != nil && req.GetBody == nil) {
			return resp, nil
		}
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		t.metrics.Retries.WithLabelValues(reason).Inc()
		if err := t.sleep(req.Context(), wait); err != nil {
			return nil, err
		}
	}
}

// pacer queues content-creating calls of one installation under GitHub's
// secondary limits (80 a minute, 500 an hour) instead of failing them.
type pacer struct {
	minute, hour *rate.Limiter
}

// PaceLimits are the per-installation limits for content-creating calls.
type PaceLimits struct {
	PerMinute int // default 80
	PerHour   int // default 500
}

func newPacer(l PaceLimits) *pacer {
	if l.PerMinute == 0 {
		l.PerMinute = 80
	}
	if l.PerHour == 0 {
		l.PerHour = 500
	}
	return &pacer{
		minute: rate.NewLimiter(rate.Limit(float64(l.PerMinute)/60), l.PerMinute),
		hour:   rate.NewLimiter(rate.Limit(float64(l.PerHour)/3600), l.PerHour),
	}
}

type paceTransport struct {
	next    http.RoundTripper
	pacer   *pacer
	metrics *Metrics
}

func (t *paceTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodPost || req.Method == http.MethodPatch || req.Method == http.MethodPut || req.Method == http.MethodDelete {
		if !strings.Contains(req.URL.Path, "/access_tokens") {
			if !t.pacer.minute.Allow() {
				t.metrics.PacingWaits.Inc()
				if err := t.pacer.minute.Wait(req.Context()); err != nil {
					return nil, err
				}
			}
			if err := t.pacer.hour.Wait(req.Context()); err != nil {
				return nil, err
			}
		}
	}
	return t.next.RoundTrip(req)
}
