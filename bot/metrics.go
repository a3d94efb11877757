package bot

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/conveyor-dev/conveyor/internal/ghclient"
)

// Metrics are the Prometheus series the bot exports on /metrics. Each Server
// owns its registry so several can run in one test process.
type Metrics struct {
	Registry       *prometheus.Registry
	Deliveries     *prometheus.CounterVec   // event, outcome
	Rejected       *prometheus.CounterVec   // reason
	IntakeSeconds  prometheus.Histogram     // webhook request handling
	JobSeconds     *prometheus.HistogramVec // kind, outcome
	GitHub         *ghclient.Metrics        // the GitHub client's calls, on the same registry
	SlackRequests  *prometheus.CounterVec   // outcome
	CatchupResends prometheus.Counter
}

// NewMetrics registers every series on a fresh registry.
func NewMetrics() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		Deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "conveyor_deliveries_total", Help: "Webhook deliveries by event and outcome (accepted, duplicate, processed, ignored, failed).",
		}, []string{"event", "outcome"}),
		Rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "conveyor_webhook_rejected_total", Help: "Webhook requests rejected before storage, by reason.",
		}, []string{"reason"}),
		IntakeSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "conveyor_webhook_intake_seconds", Help: "Time from request to response on /webhooks/github.",
			Buckets: []float64{.0005, .001, .002, .005, .01, .02, .05, .1, .5, 1},
		}),
		JobSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "conveyor_job_seconds", Help: "Job run time by kind and outcome.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 10),
		}, []string{"kind", "outcome"}),
		SlackRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "conveyor_slack_interactions_total", Help: "Slack interaction requests by outcome.",
		}, []string{"outcome"}),
		CatchupResends: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "conveyor_catchup_redeliveries_total", Help: "Deliveries Conveyor asked GitHub to redeliver.",
		}),
	}
	m.GitHub = ghclient.NewMetrics(m.Registry)
	m.Registry.MustRegister(m.Deliveries, m.Rejected, m.IntakeSeconds, m.JobSeconds, m.SlackRequests, m.CatchupResends,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}
