package driver

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/conveyor-dev/conveyor/internal/promtest"
	"github.com/conveyor-dev/conveyor/internal/serverconfig"
	"github.com/conveyor-dev/conveyor/internal/testwait"
)

// TestPrometheusGateAgainstARealPrometheus evaluates the gate through a
// real Prometheus scraping a test exporter every second.
func TestPrometheusGateAgainstARealPrometheus(t *testing.T) {
	prom, exp := promtest.Start(t)
	exp.SetErrorRatio("web", "production", 0.001)
	exp.SetErrorRatio("fraud", "production", 0.2)
	gates := func(query string) *Gates {
		return NewGates(serverconfig.Health{
			Prometheus: &serverconfig.PrometheusSource{URL: prom.URL},
			Metrics:    []serverconfig.MetricGate{{Name: "error ratio", Prometheus: query, Compare: "<", Threshold: threshold(0.01)}},
		}, Deps{})
	}
	g := gates(promtest.ErrorRatioQuery)
	web := Target{Artifact: "web", Environment: "production", SHA: "abc"}
	fraud := Target{Artifact: "fraud", Environment: "production", SHA: "abc"}
	// rate() needs two scrapes: wait until both apps have a ratio.
	var last error
	testwait.Within(t, time.Minute, "prometheus to have an error ratio for both apps", func() bool {
		last = g.Healthy(context.Background(), web)
		if last != nil {
			return false
		}
		last = g.Healthy(context.Background(), fraud)
		return last != nil && strings.Contains(last.Error(), "failed:")
	}, func() string { return last.Error() })
	for _, want := range []string{`metric gate "error ratio" (prometheus) for fraud in production failed`, `app="fraud"`, "= 0.2", "want < 0.01"} {
		if !strings.Contains(last.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, last)
		}
	}

	t.Run("an escaped value matches nothing instead of everything", func(t *testing.T) {
		// Unescaped, this name would close the string and add a matcher of
		// its own (app="fraud",app!=""), reading fraud's series.
		evil := Target{Artifact: `fraud",app!="`, Environment: "production"}
		err := g.Healthy(context.Background(), evil)
		if err == nil || !strings.Contains(err.Error(), "no data") {
			t.Errorf("err = %v, want no data", err)
		}
	})
	t.Run("a query Prometheus refuses is unanswerable", func(t *testing.T) {
		err := gates(`sum(rate(http_requests_total{app="{artifact}"}[5s]) /`).Healthy(context.Background(), web)
		if err == nil || !strings.Contains(err.Error(), "prometheus refused the query (bad_data)") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("several series are refused", func(t *testing.T) {
		err := gates(`http_requests_total{env="{environment}"}`).Healthy(context.Background(), web)
		if err == nil || !strings.Contains(err.Error(), "series, want one number") {
			t.Errorf("err = %v", err)
		}
	})
}
