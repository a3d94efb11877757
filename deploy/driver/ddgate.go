package driver

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/conveyor-dev/conveyor/internal/serverconfig"
)

// datadogSource answers Datadog metrics queries with the v1 "query
// timeseries points" API: GET /api/v1/query?from=&to=&query= with the
// DD-API-KEY and DD-APPLICATION-KEY headers
// (https://docs.datadoghq.com/api/latest/metrics/#query-timeseries-points).
type datadogSource struct {
	cfg     serverconfig.DatadogSource
	timeout time.Duration
	deps    Deps
}

func newDatadogSource(cfg serverconfig.DatadogSource, timeout time.Duration, deps Deps) *datadogSource {
	if cfg.URL == "" {
		cfg.URL = "https://api.datadoghq.com"
	}
	if cfg.Window.Duration <= 0 {
		cfg.Window.Duration = 5 * time.Minute
	}
	return &datadogSource{cfg: cfg, timeout: timeout, deps: deps}
}

func (s *datadogSource) name() string { return "datadog" }

// DatadogQueryResponse is the body of a successful GET /api/v1/query
// (Datadog's MetricsQueryResponse); internal/datadogfake answers with it.
type DatadogQueryResponse struct {
	Status   string          `json:"status"`
	ResType  string          `json:"res_type"`
	Query    string          `json:"query"`
	FromDate int64           `json:"from_date"`
	ToDate   int64           `json:"to_date"`
	GroupBy  []string        `json:"group_by"`
	Message  string          `json:"message,omitempty"`
	Error    string          `json:"error,omitempty"`
	Series   []DatadogSeries `json:"series"`
}

// DatadogSeries is one series of a query result (Datadog's
// MetricsQueryMetadata); each point is [milliseconds, value or null].
type DatadogSeries struct {
	Metric      string        `json:"metric"`
	DisplayName string        `json:"display_name"`
	Scope       string        `json:"scope"`
	Expression  string        `json:"expression"`
	Aggr        *string       `json:"aggr"`
	Start       int64         `json:"start"`
	End         int64         `json:"end"`
	Interval    int64         `json:"interval"`
	Length      int64         `json:"length"`
	TagSet      []string      `json:"tag_set"`
	Pointlist   [][2]*float64 `json:"pointlist"`
}

// DatadogErrors is Datadog's APIErrorResponse: {"errors": ["..."]}.
type DatadogErrors struct {
	Errors []string `json:"errors"`
}

// value runs q over the last Window and returns the series' latest point.
func (s *datadogSource) value(ctx context.Context, q string) (float64, error) {
	apiKey, appKey := s.deps.Env(s.cfg.APIKeyEnv), s.deps.Env(s.cfg.AppKeyEnv)
	if apiKey == "" || appKey == "" {
		return 0, fmt.Errorf("the Datadog keys are not set (%s and %s must both hold a value)", s.cfg.APIKeyEnv, s.cfg.AppKeyEnv)
	}
	to := time.Now()
	v := url.Values{
		"from":  {strconv.FormatInt(to.Add(-s.cfg.Window.Duration).Unix(), 10)},
		"to":    {strconv.FormatInt(to.Unix(), 10)},
		"query": {q},
	}
	u := strings.TrimRight(s.cfg.URL, "/") + "/api/v1/query?" + v.Encode()
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, fmt.Errorf("datadog url %q: %v", s.cfg.URL, err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("DD-API-KEY", apiKey)
	req.Header.Set("DD-APPLICATION-KEY", appKey)
	resp, err := s.deps.HTTP.Do(req)
	if err != nil {
		return 0, fmt.Errorf("datadog at %s did not answer within %s: %v", s.cfg.URL, s.timeout, unwrapURLError(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return 0, fmt.Errorf("datadog answer cut short: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		var e DatadogErrors
		if json.Unmarshal(body, &e) == nil && len(e.Errors) > 0 {
			return 0, fmt.Errorf("datadog answered %d: %s", resp.StatusCode, strings.Join(e.Errors, "; "))
		}
		return 0, fmt.Errorf("datadog answered %d (%s)", resp.StatusCode, snippet(body))
	}
	var r DatadogQueryResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return 0, fmt.Errorf("datadog answered something that is not a query result: %v", err)
	}
	if r.Status != "ok" {
		return 0, fmt.Errorf("datadog query status %q: %s", r.Status, r.Error)
	}
	switch len(r.Series) {
	case 0:
		return 0, fmt.Errorf("no data in the last %s (is the metric reported and are the tags right?)", s.cfg.Window.Duration)
	case 1:
	default:
		return 0, fmt.Errorf("%d series, want one (drop the \"by {...}\" grouping or aggregate)", len(r.Series))
	}
	pts := r.Series[0].Pointlist
	for i := len(pts) - 1; i >= 0; i-- {
		if pts[i][1] != nil {
			return *pts[i][1], nil
		}
	}
	return 0, fmt.Errorf("no data in the last %s (every point is null)", s.cfg.Window.Duration)
}

// datadogTagValue is what a substituted value may hold: Datadog tags
// "may contain alphanumerics, underscores, minuses, colons, periods, and
// slashes" and are stored lowercased
// (https://docs.datadoghq.com/getting_started/tagging/). Any other
// character could end the scope or start a new query term, and Datadog's
// query language has no escape for it, so such a value is refused.
var datadogTagValue = regexp.MustCompile(`^[A-Za-z0-9_.:/-]+$`)

func (s *datadogSource) substitute(q string, t Target) (string, error) {
	vals := placeholderValues(t)
	pairs := make([]string, 0, 2*len(vals))
	for _, p := range placeholders {
		if !strings.Contains(q, p) {
			continue
		}
		if !datadogTagValue.MatchString(vals[p]) {
			return "", fmt.Errorf("%s is %q, which cannot be a Datadog tag value (letters, digits, _ . : / - only)", p, vals[p])
		}
		pairs = append(pairs, p, strings.ToLower(vals[p]))
	}
	if len(pairs) == 0 {
		return q, nil
	}
	return strings.NewReplacer(pairs...).Replace(q), nil
}
