package ghfake

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"time"

	"github.com/bmatcuk/doublestar/v4"
)

// secondaryRateLimitMessage is the message GitHub sends with a secondary rate limit 403.
const secondaryRateLimitMessage = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. " +
	"If you reach out to GitHub Support for help, please include the request ID."

const secondaryRateLimitDocs = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"

// fault is one planned failure; fakeapi.Faults counts how many requests it has left.
type fault struct {
	method     string
	pattern    string
	status     int
	retryAfter time.Duration
	secondary  bool
	after      bool // carry the request out, then answer status
}

type rateState struct {
	limit int
	used  int
	reset time.Time
}

// FailNext makes the next n requests whose method ("" for any) and path (without /api/v3)
// match pathPattern fail with status. The pattern is a doublestar glob: "*" matches one path
// segment, "**" any number, so "/repos/acme/web/check-runs/*" or "/repos/**".
func (s *Server) FailNext(method, pathPattern string, n int, status int) {
	s.addFault(fault{method: method, pattern: pathPattern, status: status}, n)
}

// FailAfterNext makes the next n successful requests whose method ("" for any) and path
// match pathPattern take effect and then answer status instead of their real answer: the
// ambiguous failure of a 502 or 504 from GitHub's front end after the API made the change
// (a comment created, yet the client sees an error). Requests the API refuses keep their
// own answer and do not use the fault up.
func (s *Server) FailAfterNext(method, pathPattern string, n int, status int) {
	s.addFault(fault{method: method, pattern: pathPattern, status: status, after: true}, n)
}

// SecondaryRateLimitNext makes the next n requests matching pathPattern fail the way GitHub's
// secondary rate limit does: 403, a Retry-After header in seconds and GitHub's message.
func (s *Server) SecondaryRateLimitNext(pathPattern string, n int, retryAfter time.Duration) {
	s.addFault(fault{pattern: pathPattern, status: http.StatusForbidden,
		retryAfter: retryAfter, secondary: true}, n)
}

func (s *Server) addFault(f fault, n int) {
	if _, err := doublestar.Match(f.pattern, "/"); err != nil {
		panic(fmt.Sprintf("ghfake: bad path pattern %q: %v; write a glob like /repos/*/*/check-runs/**", f.pattern, err))
	}
	s.faults.Add(f, n)
}

// ClearFaults drops every fault not used up yet: GitHub has recovered.
func (s *Server) ClearFaults() { s.faults.Reset() }

// SetLatency delays every response by d (0 to turn it off).
func (s *Server) SetLatency(d time.Duration) { s.latency.Set(d) }

// SetRateLimitRemaining sets how many primary rate limit calls are left this hour.
func (s *Server) SetRateLimitRemaining(remaining int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rate.used = max(s.rate.limit-remaining, 0)
}

// injectFault writes a planned failure that replaces the request if one matches and
// reports whether it did.
func (s *Server) injectFault(w http.ResponseWriter, method, path string) bool {
	return s.writeFault(w, method, path, false)
}

// injectFaultAfter replaces the answer of a request that was carried out with a planned
// failure if one matches, and reports whether it did. rec holds the real answer.
func (s *Server) injectFaultAfter(rec *httptest.ResponseRecorder, method, path string) bool {
	if rec.Code >= 300 {
		return false
	}
	fresh := httptest.NewRecorder()
	if !s.writeFault(fresh, method, path, true) {
		return false
	}
	*rec = *fresh
	return true
}

func (s *Server) writeFault(w http.ResponseWriter, method, path string, after bool) bool {
	hit, ok := s.faults.Take(func(f fault) bool {
		if f.after != after || f.method != "" && !strings.EqualFold(f.method, method) {
			return false
		}
		ok, _ := doublestar.Match(f.pattern, path)
		return ok
	})
	if !ok {
		return false
	}
	if hit.secondary {
		secs := int((hit.retryAfter + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		writeJSON(w, http.StatusForbidden, map[string]any{
			"message": secondaryRateLimitMessage, "documentation_url": secondaryRateLimitDocs})
		return true
	}
	writeJSON(w, hit.status, map[string]any{
		"message":           http.StatusText(hit.status),
		"documentation_url": "https://docs.github.com/rest",
	})
	return true
}

// rateAllows writes GitHub's primary rate limit error when the hour's budget is spent.
func (s *Server) rateAllows(w http.ResponseWriter) bool {
	s.mu.Lock()
	s.rollRate()
	spent := s.rate.used >= s.rate.limit
	s.mu.Unlock()
	if !spent {
		return true
	}
	writeJSON(w, http.StatusForbidden, map[string]any{
		"message":           "API rate limit exceeded for installation. If you reach out to GitHub Support for help, please include the request ID.",
		"documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-the-primary-rate-limit",
	})
	return false
}

// rollRate starts a new hour when the reset time has passed; callers hold s.mu.
func (s *Server) rollRate() {
	if now := time.Now(); now.After(s.rate.reset) {
		s.rate.used = 0
		s.rate.reset = now.Add(time.Hour)
	}
}

// applyRateHeaders counts the call (unless it was a 304) and sets the X-RateLimit-* headers.
func (s *Server) applyRateHeaders(h http.Header, counted bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rollRate()
	if counted && s.rate.used < s.rate.limit {
		s.rate.used++
	}
	h.Set("X-RateLimit-Limit", strconv.Itoa(s.rate.limit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(s.rate.limit-s.rate.used))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(s.rate.reset.Unix(), 10))
	h.Set("X-RateLimit-Used", strconv.Itoa(s.rate.used))
	h.Set("X-RateLimit-Resource", "core")
}

func etagOf(body []byte) string {
	sum := sha256.Sum256(body)
	return `"` + hex.EncodeToString(sum[:16]) + `"`
}

// etagMatches compares an If-None-Match header (possibly a list, possibly weak) with an ETag.
func etagMatches(header, etag string) bool {
	for _, part := range strings.Split(header, ",") {
		part = strings.TrimPrefix(strings.TrimSpace(part), "W/")
		if part == etag || part == "*" {
			return true
		}
	}
	return false
}
