package driver

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/conveyor-dev/conveyor/internal/datadogfake"
	"github.com/conveyor-dev/conveyor/internal/serverconfig"
)

const ddQuery = "sum:trace.http.request.errors{service:{artifact},env:{environment}}.as_count() / sum:trace.http.request.hits{service:{artifact},env:{environment}}.as_count()"

func threshold(v float64) *float64 { return &v }

// fakeClock runs a bake without waiting: sleep advances now.
type fakeClock struct {
	now    time.Time
	sleeps int
	onTick func(n int) // called after each sleep with the number of sleeps so far
}

func (c *fakeClock) install(g *Gates) {
	c.now = time.Unix(1_700_000_000, 0)
	g.now = func() time.Time { return c.now }
	g.sleep = func(ctx context.Context, d time.Duration) error {
		c.now = c.now.Add(d)
		c.sleeps++
		if c.onTick != nil {
			c.onTick(c.sleeps)
		}
		return ctx.Err()
	}
}

func datadogGates(t *testing.T, dd *datadogfake.Server, bake time.Duration, env map[string]string) *Gates {
	t.Helper()
	cfg := serverconfig.Health{
		Bake: serverconfig.Duration{Duration: bake}, Every: serverconfig.Duration{Duration: time.Minute},
		Datadog: &serverconfig.DatadogSource{URL: dd.URL(), APIKeyEnv: "DD_API_KEY", AppKeyEnv: "DD_APP_KEY"},
		Metrics: []serverconfig.MetricGate{{Name: "error ratio", Datadog: ddQuery, Compare: "<", Threshold: threshold(0.01)}},
	}
	return NewGates(cfg, Deps{Env: func(k string) string { return env[k] }})
}

var ddKeys = map[string]string{"DD_API_KEY": "api-key-1", "DD_APP_KEY": "app-key-1"}

func ddTarget() Target {
	return Target{Artifact: "fraud-model", Environment: "production", Kind: "model", Spec: EncodeSpec(&ModelRef{Name: "fraud", Version: "14"}), Percent: 10}
}

func wantQuery(artifact, env string) string {
	return strings.NewReplacer("{artifact}", artifact, "{environment}", env).Replace(ddQuery)
}

func TestDatadogGatePassesOverTheBake(t *testing.T) {
	dd := datadogfake.New("api-key-1", "app-key-1")
	defer dd.Close()
	dd.Set(wantQuery("fraud-model", "production"), 0.004, 0.002)
	g := datadogGates(t, dd, 5*time.Minute, ddKeys)
	var clock fakeClock
	clock.install(g)
	if err := g.Healthy(context.Background(), ddTarget()); err != nil {
		t.Fatalf("Healthy: %v", err)
	}
	// A 5-minute bake evaluated every minute: at 0, 1, 2, 3, 4 and 5 minutes.
	if n := len(dd.Calls()); n != 6 {
		t.Errorf("%d queries over a 5m bake every 1m, want 6: %+v", n, dd.Calls())
	}
	for _, c := range dd.Calls() {
		if c.Status != http.StatusOK || c.Query != wantQuery("fraud-model", "production") {
			t.Errorf("call %+v", c)
		}
	}
}

func TestDatadogGateFailsWhenTheValueTurnsBadDuringTheBake(t *testing.T) {
	dd := datadogfake.New("api-key-1", "app-key-1")
	defer dd.Close()
	q := wantQuery("fraud-model", "production")
	dd.Set(q, 0.002)
	g := datadogGates(t, dd, 5*time.Minute, ddKeys)
	clock := fakeClock{onTick: func(n int) {
		if n == 2 {
			dd.Set(q, 0.002, 0.034)
		}
	}}
	clock.install(g)
	err := g.Healthy(context.Background(), ddTarget())
	if err == nil {
		t.Fatal("a 3.4% error ratio passed a < 0.01 gate")
	}
	for _, want := range []string{`metric gate "error ratio" (datadog)`, q, "= 0.034", "want < 0.01", "evaluation 3", "2m0s into a 5m0s bake", "rolls back"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if n := len(dd.Calls()); n != 3 {
		t.Errorf("%d queries, want the gate to stop at the first bad one (3)", n)
	}
}

func TestDatadogGateUnanswerable(t *testing.T) {
	for _, tc := range []struct {
		name  string
		env   map[string]string
		setup func(dd *datadogfake.Server)
		want  string
	}{
		{"wrong key", map[string]string{"DD_API_KEY": "stale", "DD_APP_KEY": "app-key-1"}, nil, "datadog answered 403: Forbidden"},
		{"keys unset", map[string]string{}, nil, "DD_API_KEY and DD_APP_KEY must both hold a value"},
		{"rate limited", ddKeys, func(dd *datadogfake.Server) {
			dd.Fail(datadogfake.Fault{Status: 429, Error: "Too many requests"}, 1)
		}, "datadog answered 429: Too many requests"},
		{"no data", ddKeys, func(dd *datadogfake.Server) {}, "no data in the last 5m0s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dd := datadogfake.New("api-key-1", "app-key-1")
			defer dd.Close()
			if tc.setup != nil {
				tc.setup(dd)
			} else {
				dd.Set(wantQuery("fraud-model", "production"), 0.001)
			}
			g := datadogGates(t, dd, 0, tc.env)
			err := g.Healthy(context.Background(), ddTarget())
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "could not be evaluated") || !strings.Contains(err.Error(), "want < 0.01") {
				t.Errorf("err = %v, want it unanswerable with %q", err, tc.want)
			}
		})
	}
}

func TestDatadogGateRefusesAValueThatIsNotATag(t *testing.T) {
	dd := datadogfake.New("api-key-1", "app-key-1")
	defer dd.Close()
	g := datadogGates(t, dd, 0, ddKeys)
	tg := ddTarget()
	tg.Artifact = "web} OR sum:other{*"
	err := g.Healthy(context.Background(), tg)
	if err == nil || !strings.Contains(err.Error(), "cannot be a Datadog tag value") {
		t.Errorf("err = %v", err)
	}
	if n := len(dd.Calls()); n != 0 {
		t.Errorf("the query was sent anyway: %+v", dd.Calls())
	}
}

func TestMetricGatesApplyOnlyToTheirEnvironments(t *testing.T) {
	dd := datadogfake.New("api-key-1", "app-key-1")
	defer dd.Close()
	g := datadogGates(t, dd, 0, ddKeys)
	g.metrics[0].cfg.Environments = []string{"production"}
	tg := ddTarget()
	tg.Environment = "staging"
	if err := g.Healthy(context.Background(), tg); err != nil {
		t.Fatalf("a production-only gate ran in staging: %v", err)
	}
	if n := len(dd.Calls()); n != 0 {
		t.Errorf("%d queries in staging", n)
	}
}

func TestPrometheusPlaceholdersAreEscapedAsStrings(t *testing.T) {
	s := newPrometheusSource(serverconfig.PrometheusSource{URL: "http://127.0.0.1:1"}, time.Second, Deps{}.withDefaults())
	tg := Target{Artifact: `web",job=~".*`, Environment: "prod\nuction", SHA: "abc"}
	got, err := s.substitute(`sum(up{app="{artifact}",env="{environment}",v="{version}"})`, tg)
	if err != nil {
		t.Fatal(err)
	}
	want := `sum(up{app="web\",job=~\".*",env="prod\nuction",v="abc"})`
	if got != want {
		t.Errorf("substituted\n %s\nwant\n %s", got, want)
	}
}

func TestCompare(t *testing.T) {
	for _, tc := range []struct {
		v, th float64
		op    string
		want  bool
	}{
		{0.005, 0.01, "<", true}, {0.01, 0.01, "<", false}, {0.01, 0.01, "<=", true},
		{0.3, 0.2, ">", true}, {0.2, 0.2, ">=", true}, {0.1, 0.2, ">=", false},
	} {
		if got := compare(tc.v, tc.op, tc.th); got != tc.want {
			t.Errorf("%g %s %g = %v", tc.v, tc.op, tc.th, got)
		}
	}
	var nan float64
	nan = nan / nan // a ratio of no requests
	if compare(nan, "<", 1) || compare(nan, ">", 1) {
		t.Error("NaN compared true")
	}
}

func TestHealthRules(t *testing.T) {
	doc := `
drivers:
  web: {type: exec, command: [/bin/true]}
health:
  web:
    every: 10m
    bake: 5m
    prometheus: {}
    metrics:
      - {prometheus: 'sum(up{app={artifact}})', compare: "<", threshold: 1}
      - {prometheus: 'up', datadog: 'avg:x{*}', compare: "<", threshold: 1}
      - {datadog: 'avg:x{*}', compare: "~", threshold: 1}
      - {prometheus: 'sum(up{app="{artifact}"})', compare: "<"}
  bare: {}
`
	_, err := serverconfig.Parse([]byte(doc), Rules)
	if err == nil {
		t.Fatal("a broken health section was accepted")
	}
	for _, want := range []string{
		"health.bare: write http (a URL to probe), metrics (queries to watch), or both",
		"health.web.prometheus.url: missing",
		"health.web.every: 10m0s is longer than the bake time 5m0s",
		`health.web.metrics[0].prometheus: {artifact} must sit inside a double-quoted label value`,
		"health.web.metrics[1]: write exactly one of prometheus",
		"health.web.metrics[2].datadog: health.web.datadog is not configured",
		`health.web.metrics[2].compare: "~" is not a comparison`,
		"health.web.metrics[3].threshold: missing",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("problems lack %q:\n%v", want, err)
		}
	}
	ok := `
drivers:
  web: {type: exec, command: ["./deploy.sh"]}
health:
  web:
    http: "https://web.{environment}.internal/healthz"
    bake: 5m
    every: 30s
    prometheus: {url: "http://prometheus:9090"}
    datadog: {api_key_env: DD_API_KEY, app_key_env: DD_APP_KEY}
    metrics:
      - {name: error ratio, prometheus: 'sum(rate(errors{app="{artifact}"}[1m])) / sum(rate(requests{app="{artifact}"}[1m]))', compare: "<", threshold: 0.01}
      - {name: p95, datadog: 'avg:latency.p95{service:{artifact}}', compare: "<", threshold: 0.3, environments: [production]}
`
	c, err := serverconfig.Parse([]byte(ok), Rules)
	if err != nil {
		t.Fatalf("a valid health section was refused: %v", err)
	}
	if d := c.Health["web"].Datadog; d.URL != "https://api.datadoghq.com" || d.Window.Duration != 5*time.Minute {
		t.Errorf("datadog defaults not applied: %+v", d)
	}
}
