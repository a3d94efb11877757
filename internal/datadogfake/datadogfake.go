// Package datadogfake emulates the part of Datadog's API that Conveyor's
// metric health gates use: GET /api/v1/query ("query timeseries points",
// https://docs.datadoghq.com/api/latest/metrics/#query-timeseries-points).
//
// It is strict the way Datadog is: a request without a valid DD-API-KEY and
// DD-APPLICATION-KEY is refused with 403 and Datadog's {"errors": [...]}
// body; a missing or malformed from/to/query is a 400 with the same shape;
// a query that does not parse is a 400. Series are set per exact query
// string. It owns no product logic and is for tests and the demo only.
package datadogfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/conveyor-dev/conveyor/internal/fakeapi"
)

// Call is one request the emulator received.
type Call struct {
	Path   string
	Query  string // the query parameter
	Status int
}

// Fault is an injected failure for the next matching requests.
type Fault struct {
	Status int    // e.g. 429 or 500
	Error  string // the text in {"errors": [...]}
}

// Server is a running emulator.
type Server struct {
	srv     *httptest.Server
	apiKey  string
	appKey  string
	mu      sync.Mutex
	series  map[string][]float64 // query -> values, oldest first
	log     fakeapi.Log[Call]
	faults  fakeapi.Faults[Fault]
	Latency fakeapi.Latency
}

// New starts an emulator that accepts exactly apiKey and appKey.
func New(apiKey, appKey string) *Server {
	s := &Server{apiKey: apiKey, appKey: appKey, series: map[string][]float64{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// URL is the emulator's base URL (the API host).
func (s *Server) URL() string { return s.srv.URL }

// Close stops the emulator.
func (s *Server) Close() { s.srv.Close() }

// Set makes query answer one series whose points are values, the last
// being the newest. No values makes the query answer no series.
func (s *Server) Set(query string, values ...float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.series[query] = append([]float64(nil), values...)
}

// Fail makes the next n requests answer f.
func (s *Server) Fail(f Fault, n int) { s.faults.Add(f, n) }

// Calls returns the requests received, oldest first.
func (s *Server) Calls() []Call { return s.log.Calls() }

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	status := s.handle(w, r)
	s.log.Record(Call{Path: r.URL.Path, Query: r.URL.Query().Get("query"), Status: status})
}

func (s *Server) handle(w http.ResponseWriter, r *http.Request) int {
	if !s.Latency.Wait(r.Context()) {
		return 0
	}
	if r.URL.Path != "/api/v1/query" {
		return writeErrors(w, http.StatusNotFound, "Not found")
	}
	if r.Method != http.MethodGet {
		return writeErrors(w, http.StatusMethodNotAllowed, "Method Not Allowed")
	}
	// Datadog checks the keys before anything else and answers a bare
	// "Forbidden" whichever one is wrong.
	if r.Header.Get("DD-API-KEY") != s.apiKey || r.Header.Get("DD-APPLICATION-KEY") != s.appKey || s.apiKey == "" {
		return writeErrors(w, http.StatusForbidden, "Forbidden")
	}
	if f, ok := s.faults.Take(func(Fault) bool { return true }); ok {
		if f.Status == http.StatusTooManyRequests {
			w.Header().Set("X-RateLimit-Limit", "1600")
			w.Header().Set("X-RateLimit-Period", "3600")
			w.Header().Set("X-RateLimit-Remaining", "0")
			w.Header().Set("X-RateLimit-Reset", "60")
		}
		return writeErrors(w, f.Status, f.Error)
	}
	q := r.URL.Query()
	from, ferr := strconv.ParseInt(q.Get("from"), 10, 64)
	to, terr := strconv.ParseInt(q.Get("to"), 10, 64)
	query := q.Get("query")
	switch {
	case q.Get("from") == "" || q.Get("to") == "" || query == "":
		return writeErrors(w, http.StatusBadRequest, "The parameters 'from', 'to' and 'query' are required")
	case ferr != nil || terr != nil:
		return writeErrors(w, http.StatusBadRequest, "'from' and 'to' must be integers (seconds since the Unix epoch)")
	case from > to:
		return writeErrors(w, http.StatusBadRequest, "'from' must be before 'to'")
	}
	if err := checkQuery(query); err != nil {
		return writeErrors(w, http.StatusBadRequest, "Error parsing query: "+err.Error())
	}
	s.mu.Lock()
	values := s.series[query]
	s.mu.Unlock()
	resp := map[string]any{
		"status": "ok", "res_type": "time_series", "query": query,
		"from_date": from * 1000, "to_date": to * 1000, "group_by": []string{}, "message": "",
		"series": []any{},
	}
	if len(values) > 0 {
		interval := max((to-from)/int64(len(values)), 1)
		points := make([][2]float64, len(values))
		for i, v := range values {
			points[i] = [2]float64{float64((from + int64(i)*interval) * 1000), v}
		}
		metric, scope := metricAndScope(query)
		resp["series"] = []any{map[string]any{
			"metric": metric, "display_name": metric, "scope": scope, "expression": query,
			"aggr": nil, "unit": nil, "tag_set": []string{},
			"start": from * 1000, "end": to * 1000, "interval": interval, "length": len(points),
			"pointlist": points,
		}}
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(resp)
	return http.StatusOK
}

func writeErrors(w http.ResponseWriter, status int, msg string) int {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string][]string{"errors": {msg}})
	return status
}

var (
	// term is one metric query: [space_aggr:]metric{scope}[ by {tags}] and
	// any number of .function() suffixes.
	term    = regexp.MustCompile(`^\s*(?:(?:avg|sum|min|max):)?[a-zA-Z][a-zA-Z0-9_.]*\{([^{}]*)\}(?:\s+by\s+\{[^{}]*\})?(?:\.[a-z_]+\([^()]*\))*\s*$`)
	tagItem = regexp.MustCompile(`^!?[a-zA-Z][a-zA-Z0-9_.:/-]*$`)
)

// checkQuery accepts arithmetic between metric terms whose scopes are "*"
// or comma-separated tags, as Datadog's query editor writes them.
func checkQuery(q string) error {
	for _, t := range splitTerms(q) {
		// Grouping parentheses, not a function's: drop unmatched ones.
		t = strings.TrimLeft(strings.TrimSpace(t), "( ")
		for strings.Count(t, ")") > strings.Count(t, "(") && strings.HasSuffix(t, ")") {
			t = strings.TrimSpace(strings.TrimSuffix(t, ")"))
		}
		if _, err := strconv.ParseFloat(t, 64); err == nil {
			continue // a constant, as in "... * 100"
		}
		m := term.FindStringSubmatch(t)
		if m == nil {
			return fmt.Errorf("%q is not a metric query (want aggregator:metric.name{scope})", t)
		}
		if scope := strings.TrimSpace(m[1]); scope != "*" {
			for _, item := range strings.Split(scope, ",") {
				if !tagItem.MatchString(strings.TrimSpace(item)) {
					return fmt.Errorf("%q is not a tag in the scope of %q", item, t)
				}
			}
		}
	}
	return nil
}

// metricAndScope picks the first term's metric name and scope for the
// series metadata.
func metricAndScope(q string) (string, string) {
	name, rest, _ := strings.Cut(q, "{")
	if _, after, ok := strings.Cut(name, ":"); ok {
		name = after
	}
	scope, _, _ := strings.Cut(rest, "}")
	return strings.TrimSpace(strings.Trim(name, "( ")), scope
}

// splitTerms splits q at the arithmetic operators outside scopes (a tag
// value may hold "-" or "/").
func splitTerms(q string) []string {
	var terms []string
	depth, start := 0, 0
	for i, c := range q {
		switch {
		case c == '{':
			depth++
		case c == '}':
			depth--
		case depth == 0 && strings.ContainsRune("+-*/", c):
			terms = append(terms, q[start:i])
			start = i + 1
		}
	}
	return append(terms, q[start:])
}
