package ghclient

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the GitHub call series. Labels are bounded: routes are
// templated (RouteTemplate), never raw paths.
type Metrics struct {
	Calls         *prometheus.CounterVec // route, status
	RateRemaining *prometheus.GaugeVec   // installation
	PacingWaits   prometheus.Counter
	Retries       *prometheus.CounterVec // reason
	TooLarge      prometheus.Counter
}

// NewMetrics creates the series and registers them on reg (nil: not
// registered anywhere, as in tests).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "conveyor_github_requests_total", Help: "GitHub API calls by route template and status.",
		}, []string{"route", "status"}),
		RateRemaining: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "conveyor_github_rate_limit_remaining", Help: "Last X-RateLimit-Remaining seen, by installation.",
		}, []string{"installation"}),
		PacingWaits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "conveyor_github_pacing_waits_total", Help: "Content-creating calls that waited for the per-installation pace.",
		}),
		Retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "conveyor_github_retries_total", Help: "GitHub calls retried, by reason (5xx, secondary_rate_limit, primary_rate_limit, network).",
		}, []string{"reason"}),
		TooLarge: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "conveyor_github_responses_too_large_total", Help: "GitHub answers refused because their body passed the size limit.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.Calls, m.RateRemaining, m.PacingWaits, m.Retries, m.TooLarge)
	}
	return m
}
