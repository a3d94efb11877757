package datadogfake

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func get(t *testing.T, s *Server, method, path string, q url.Values, keys ...string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, s.URL()+path+"?"+q.Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) == 2 {
		req.Header.Set("DD-API-KEY", keys[0])
		req.Header.Set("DD-APPLICATION-KEY", keys[1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var body map[string]any
	if err := json.Unmarshal(b, &body); err != nil {
		t.Fatalf("%s %s answered %d with non-JSON %q", method, path, resp.StatusCode, b)
	}
	return resp.StatusCode, body
}

func params(query string) url.Values {
	return url.Values{"from": {"1700000000"}, "to": {"1700000300"}, "query": {query}}
}

func errorsOf(body map[string]any) string {
	list, _ := body["errors"].([]any)
	var out []string
	for _, e := range list {
		out = append(out, e.(string))
	}
	return strings.Join(out, "; ")
}

func TestQueryAnswersTheSeriesSet(t *testing.T) {
	s := New("api", "app")
	defer s.Close()
	q := "avg:trace.http.request.duration{service:fraud-model,env:production}"
	s.Set(q, 0.1, 0.25)
	code, body := get(t, s, http.MethodGet, "/api/v1/query", params(q), "api", "app")
	if code != 200 || body["status"] != "ok" || body["res_type"] != "time_series" || body["from_date"] != float64(1700000000000) {
		t.Fatalf("%d %v", code, body)
	}
	series := body["series"].([]any)
	if len(series) != 1 {
		t.Fatalf("series %v", series)
	}
	sr := series[0].(map[string]any)
	pts := sr["pointlist"].([]any)
	if sr["metric"] != "trace.http.request.duration" || sr["scope"] != "service:fraud-model,env:production" || len(pts) != 2 || pts[1].([]any)[1] != 0.25 {
		t.Errorf("series %v", sr)
	}
	// An unknown query has no data: an empty list, not an error.
	code, body = get(t, s, http.MethodGet, "/api/v1/query", params("avg:other{*}"), "api", "app")
	if code != 200 || len(body["series"].([]any)) != 0 {
		t.Errorf("%d %v", code, body)
	}
}

func TestQueryIsStrict(t *testing.T) {
	s := New("api", "app")
	defer s.Close()
	ok := params("avg:m{*}")
	for _, tc := range []struct {
		name   string
		method string
		path   string
		q      url.Values
		keys   []string
		status int
		errors string
	}{
		{"no keys", "GET", "/api/v1/query", ok, nil, 403, "Forbidden"},
		{"wrong api key", "GET", "/api/v1/query", ok, []string{"x", "app"}, 403, "Forbidden"},
		{"wrong app key", "GET", "/api/v1/query", ok, []string{"api", "x"}, 403, "Forbidden"},
		{"POST", "POST", "/api/v1/query", ok, []string{"api", "app"}, 405, "Method Not Allowed"},
		{"other path", "GET", "/api/v2/query", ok, []string{"api", "app"}, 404, "Not found"},
		{"no from", "GET", "/api/v1/query", url.Values{"to": {"1"}, "query": {"avg:m{*}"}}, []string{"api", "app"}, 400, "are required"},
		{"from not a number", "GET", "/api/v1/query", url.Values{"from": {"yesterday"}, "to": {"1"}, "query": {"avg:m{*}"}}, []string{"api", "app"}, 400, "must be integers"},
		{"from after to", "GET", "/api/v1/query", url.Values{"from": {"5"}, "to": {"1"}, "query": {"avg:m{*}"}}, []string{"api", "app"}, 400, "before"},
		{"unparsable query", "GET", "/api/v1/query", params("avg:m{service:a b}"), []string{"api", "app"}, 400, "Error parsing query"},
		{"no scope", "GET", "/api/v1/query", params("avg:m"), []string{"api", "app"}, 400, "Error parsing query"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := get(t, s, tc.method, tc.path, tc.q, tc.keys...)
			if code != tc.status || !strings.Contains(errorsOf(body), tc.errors) {
				t.Errorf("%d %v, want %d with %q", code, body, tc.status, tc.errors)
			}
		})
	}
}

func TestQueryAcceptsArithmeticAndFunctions(t *testing.T) {
	s := New("api", "app")
	defer s.Close()
	for _, q := range []string{
		"sum:errors{service:fraud-model,env:prod-eu}.as_count() / sum:hits{service:fraud-model,env:prod-eu}.as_count()",
		"(sum:errors{*} / sum:hits{*}) * 100",
		"max:latency.p95{!env:staging} by {service}",
	} {
		if code, body := get(t, s, "GET", "/api/v1/query", params(q), "api", "app"); code != 200 {
			t.Errorf("%q: %d %v", q, code, body)
		}
	}
}

func TestRateLimitFault(t *testing.T) {
	s := New("api", "app")
	defer s.Close()
	s.Fail(Fault{Status: 429, Error: "Too many requests"}, 1)
	if code, body := get(t, s, "GET", "/api/v1/query", params("avg:m{*}"), "api", "app"); code != 429 || errorsOf(body) != "Too many requests" {
		t.Errorf("%d %v", code, body)
	}
	if code, _ := get(t, s, "GET", "/api/v1/query", params("avg:m{*}"), "api", "app"); code != 200 {
		t.Errorf("the fault outlived its one use: %d", code)
	}
	if n := len(s.Calls()); n != 2 {
		t.Errorf("%d calls logged", n)
	}
}
