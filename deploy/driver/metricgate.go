package driver

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/conveyor-dev/conveyor/internal/serverconfig"
)

// Gates is the whole health gate of one driver (health.<driver> in the
// server config): the HTTP probe, if any, then every metric gate that
// applies to the environment, evaluated again and again for the bake time.
// The first failing or unanswerable evaluation fails the step, which stops
// the rollout and rolls it back.
type Gates struct {
	http    *HTTPGate
	metrics []metricGate
	bake    time.Duration
	every   time.Duration
	// now and sleep are the clock; tests replace them so a five-minute bake
	// takes no time.
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error
}

// metricGate is one configured query with the source that answers it.
type metricGate struct {
	cfg    serverconfig.MetricGate
	source metricSource
}

// metricSource answers one query with one number.
type metricSource interface {
	name() string
	// value evaluates q; an error means the gate cannot be answered.
	value(ctx context.Context, q string) (float64, error)
	// substitute puts the placeholders' values into q, escaped for the
	// source's query language.
	substitute(q string, t Target) (string, error)
}

// NewGates builds the health gate cfg describes. The Prometheus and
// Datadog clients use deps.HTTP and read their secrets through deps.Env
// when a query runs, so a key set after start is picked up.
func NewGates(cfg serverconfig.Health, deps Deps) *Gates {
	deps = deps.withDefaults()
	if cfg.Timeout.Duration <= 0 {
		cfg.Timeout.Duration = 5 * time.Second
	}
	if cfg.Every.Duration <= 0 {
		cfg.Every.Duration = 30 * time.Second
	}
	g := &Gates{bake: cfg.Bake.Duration, every: cfg.Every.Duration, now: time.Now, sleep: sleepCtx}
	if cfg.HTTP != "" {
		g.http = NewHealthGate(cfg, deps.HTTP)
	}
	var prom, dd metricSource
	if cfg.Prometheus != nil {
		prom = newPrometheusSource(*cfg.Prometheus, cfg.Timeout.Duration, deps)
	}
	if cfg.Datadog != nil {
		dd = newDatadogSource(*cfg.Datadog, cfg.Timeout.Duration, deps)
	}
	for _, m := range cfg.Metrics {
		src := prom
		if m.Datadog != "" {
			src = dd
		}
		if src == nil {
			src = missingSource{}
		}
		g.metrics = append(g.metrics, metricGate{cfg: m, source: src})
	}
	return g
}

// Healthy runs the HTTP probe once, then evaluates the metric gates that
// apply to t's environment until the bake time has passed.
func (g *Gates) Healthy(ctx context.Context, t Target) error {
	if g.http != nil {
		if err := g.http.Healthy(ctx, t); err != nil {
			return err
		}
	}
	var gates []metricGate
	for _, m := range g.metrics {
		if len(m.cfg.Environments) == 0 || slices.Contains(m.cfg.Environments, t.Environment) {
			gates = append(gates, m)
		}
	}
	if len(gates) == 0 {
		return nil
	}
	start := g.now()
	for n := 1; ; n++ {
		for _, m := range gates {
			if err := m.check(ctx, t); err != nil {
				into := g.now().Sub(start).Round(time.Second)
				return fmt.Errorf("%w (evaluation %d, %s into a %s bake); the rollout stops here and rolls back", err, n, into, g.bake)
			}
		}
		left := g.bake - g.now().Sub(start)
		if left <= 0 {
			return nil
		}
		if err := g.sleep(ctx, min(g.every, left)); err != nil {
			return fmt.Errorf("metric gates for %s in %s stopped during the bake: %w", t.Artifact, t.Environment, err)
		}
	}
}

// check evaluates m once for t: nil when the value compares true.
func (m metricGate) check(ctx context.Context, t Target) error {
	label := m.label()
	q, err := m.source.substitute(m.query(), t)
	if err != nil {
		return fmt.Errorf("%s for %s in %s: %v", label, t.Artifact, t.Environment, err)
	}
	want := fmt.Sprintf("%s %s", m.cfg.Compare, formatValue(*m.cfg.Threshold))
	v, err := m.source.value(ctx, q)
	if err != nil {
		return fmt.Errorf("%s for %s in %s could not be evaluated: %s: %v; want %s", label, t.Artifact, t.Environment, q, err, want)
	}
	if !compare(v, m.cfg.Compare, *m.cfg.Threshold) {
		return fmt.Errorf("%s for %s in %s failed: %s = %s, want %s", label, t.Artifact, t.Environment, q, formatValue(v), want)
	}
	return nil
}

func (m metricGate) query() string {
	if m.cfg.Datadog != "" {
		return m.cfg.Datadog
	}
	return m.cfg.Prometheus
}

func (m metricGate) label() string {
	if m.cfg.Name != "" {
		return fmt.Sprintf("metric gate %q (%s)", m.cfg.Name, m.source.name())
	}
	return fmt.Sprintf("metric gate (%s)", m.source.name())
}

// compare reports whether v op threshold holds. NaN never holds: a ratio
// of no requests is no evidence of health.
func compare(v float64, op string, threshold float64) bool {
	if math.IsNaN(v) {
		return false
	}
	switch op {
	case "<":
		return v < threshold
	case "<=":
		return v <= threshold
	case ">":
		return v > threshold
	case ">=":
		return v >= threshold
	}
	return false
}

func formatValue(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }

// placeholderValues are the values a gate's query may name.
func placeholderValues(t Target) map[string]string {
	return map[string]string{
		"{artifact}":    t.Artifact,
		"{environment}": t.Environment,
		"{version}":     servingAfterDeploy(t),
	}
}

// placeholders lists the names in the order they are documented.
var placeholders = []string{"{artifact}", "{environment}", "{version}"}

// missingSource answers a gate whose source block is absent; Rules refuse
// such a config, so this is only reached by a config built in code.
type missingSource struct{}

func (missingSource) name() string { return "no source" }
func (missingSource) value(context.Context, string) (float64, error) {
	return 0, errors.New("no prometheus: or datadog: block is configured for this gate")
}
func (missingSource) substitute(q string, _ Target) (string, error) { return q, nil }

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

// compareOps are the comparisons a metric gate may use.
var compareOps = []string{"<", "<=", ">", ">="}

// checkHealth returns the problems of the health: section's metric parts,
// each naming its setting (health.<driver>.metrics[i].<key>).
func checkHealth(c *serverconfig.Config) []string {
	var problems []string
	add := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }
	names := make([]string, 0, len(c.Health))
	for name := range c.Health {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		h := c.Health[name]
		if p := h.Prometheus; p != nil && p.URL == "" {
			add("health.%s.prometheus.url: missing (write the Prometheus server's base URL, for example http://prometheus:9090)", name)
		}
		if d := h.Datadog; d != nil && (d.APIKeyEnv == "" || d.AppKeyEnv == "") {
			add("health.%s.datadog: name the environment variables holding the keys (api_key_env and app_key_env)", name)
		}
		if h.Bake.Duration > 0 && h.Every.Duration > h.Bake.Duration {
			add("health.%s.every: %s is longer than the bake time %s", name, h.Every.Duration, h.Bake.Duration)
		}
		for i, m := range h.Metrics {
			at := fmt.Sprintf("health.%s.metrics[%d]", name, i)
			switch {
			case (m.Prometheus == "") == (m.Datadog == ""):
				add("%s: write exactly one of prometheus (a PromQL expression) and datadog (a metrics query)", at)
			case m.Prometheus != "" && h.Prometheus == nil:
				add("%s.prometheus: health.%s.prometheus.url is not configured", at, name)
			case m.Datadog != "" && h.Datadog == nil:
				add("%s.datadog: health.%s.datadog is not configured", at, name)
			case m.Prometheus != "":
				if err := checkPromQLPlaceholders(m.Prometheus); err != nil {
					add("%s.prometheus: %v", at, err)
				}
			}
			if !slices.Contains(compareOps, m.Compare) {
				add("%s.compare: %q is not a comparison (write one of %s)", at, m.Compare, strings.Join(compareOps, " "))
			}
			if m.Threshold == nil {
				add("%s.threshold: missing (the number the value is compared with, for example 0.01)", at)
			}
		}
	}
	return problems
}

// HealthSecretValues returns the secrets a health gate reads (the
// Prometheus token, the Datadog keys), for the server's masker.
func HealthSecretValues(h serverconfig.Health, getenv func(string) string) []string {
	var names []string
	if h.Prometheus != nil {
		names = append(names, h.Prometheus.TokenEnv)
	}
	if h.Datadog != nil {
		names = append(names, h.Datadog.APIKeyEnv, h.Datadog.AppKeyEnv)
	}
	var out []string
	for _, n := range names {
		if n != "" {
			out = append(out, getenv(n))
		}
	}
	return out
}
