package deploy

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/conveyor-dev/conveyor/deploy/driver"
	"github.com/conveyor-dev/conveyor/internal/promtest"
	"github.com/conveyor-dev/conveyor/internal/serverconfig"
	"github.com/conveyor-dev/conveyor/internal/testwait"
)

// withHealth makes h the health gate of every driver.
func withHealth(h driver.HealthChecker) option {
	return func(e *env) {
		e.opts.Health = func(string) (driver.HealthChecker, bool) { return h, true }
	}
}

// TestRolloutWatchedByARealPrometheus runs two rollouts through a metric
// gate on a real Prometheus: one passes while the exporter reports a 0.1%
// error ratio, the next rolls back once fraud's ratio is 20%.
func TestRolloutWatchedByARealPrometheus(t *testing.T) {
	prom, exp := promtest.Start(t)
	exp.SetErrorRatio("web", "production", 0.001)
	exp.SetErrorRatio("fraud", "production", 0.001)
	threshold := 0.01
	gates := driver.NewGates(serverconfig.Health{
		// A short bake keeps the test in seconds; each step is still
		// watched over several evaluations.
		Bake: serverconfig.Duration{Duration: 600 * time.Millisecond}, Every: serverconfig.Duration{Duration: 200 * time.Millisecond},
		Prometheus: &serverconfig.PrometheusSource{URL: prom.URL},
		Metrics:    []serverconfig.MetricGate{{Name: "error ratio", Prometheus: promtest.ErrorRatioQuery, Compare: "<", Threshold: &threshold}},
	}, driver.Deps{})
	once := driver.NewGates(serverconfig.Health{
		Prometheus: &serverconfig.PrometheusSource{URL: prom.URL},
		Metrics:    []serverconfig.MetricGate{{Prometheus: promtest.ErrorRatioQuery, Compare: "<", Threshold: &threshold}},
	}, driver.Deps{})
	// waitRatio is the sync point: Prometheus has scraped enough for fraud's
	// ratio to read as healthy (or not).
	waitRatio := func(healthy bool) {
		var err error
		testwait.Within(t, time.Minute, "prometheus to see fraud's error ratio", func() bool {
			err = once.Healthy(context.Background(), driver.Target{Artifact: "fraud", Environment: "production"})
			if healthy {
				return err == nil
			}
			return err != nil && strings.Contains(err.Error(), "failed:")
		}, func() string { return err.Error() })
	}
	e := newEnv(t, withHealth(gates))

	waitRatio(true)
	d := e.startOK(request(e.openPR("feature"), "production", 10, 100))
	if d = e.wait(d.ID, StateSucceeded, StateRolledBack, StateFailed); d.State != StateSucceeded {
		t.Fatalf("a healthy rollout ended %s: %s", d.State, d.Error)
	}

	exp.SetErrorRatio("fraud", "production", 0.2)
	waitRatio(false)
	d = e.startOK(request(e.openPR("fix"), "production", 10, 50, 100))
	d = e.wait(d.ID, StateRolledBack)
	for _, want := range []string{
		"fraud: health gate failed at 10%",
		`metric gate "error ratio" (prometheus) for fraud in production failed`,
		`app="fraud",env="production"`, "want < 0.01",
	} {
		if !strings.Contains(d.Error, want) {
			t.Errorf("deployment error lacks %q:\n%s", want, d.Error)
		}
	}
	// The value read is fraud's ratio, somewhere above the threshold while
	// the 5s rate window fills with bad scrapes.
	if !regexp.MustCompile(`\) = 0\.[0-9]+, want < 0\.01`).MatchString(d.Error) {
		t.Errorf("deployment error lacks the value read: %s", d.Error)
	}
	e.commentOf(d, `(prometheus) for fraud in production failed: sum(rate(http_requests_total{app="fraud"`)
	if detail := e.notes.detail(d.ID, "failed"); !strings.Contains(detail, "want < 0.01") || !strings.Contains(detail, `http_requests_total{app="fraud"`) {
		t.Errorf("the Slack thread's failure detail lacks the query, value and threshold: %q", detail)
	}
	for _, c := range e.drv.Calls("deploy", "") {
		if c.Percent > 10 && c.SHA == d.Artifacts[0].SHA {
			t.Errorf("the rollout went on past a failed gate: %+v", c)
		}
	}
	if n := len(e.drv.Calls("rollback", "")); n != 2 {
		t.Errorf("%d rollbacks, want both artifacts", n)
	}
}
