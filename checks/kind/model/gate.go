package model

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/conveyor-dev/conveyor/checks/kind"
	"github.com/conveyor-dev/conveyor/internal/mlflow"
	"github.com/conveyor-dev/conveyor/policies"
)

// First-release settings of evaluation.first_release.
const (
	FirstReleaseAllow = "allow"
	FirstReleaseDeny  = "deny"
)

// gateResult is the Quality stage of a model, the evidence the policy
// reads, and the annotation title of a failure.
type gateResult struct {
	stage    kind.Stage
	evidence *policies.MetricsEvidence
	title    string
	// unseen says a gate failed on something the evidence does not show
	// the policy (a missing metric), so the failure is no one's to override.
	unseen bool
}

// gates judges the candidate against every metric gate and joins what each
// compared, each statement once. The evidence is the first failed gate's
// (else the first gate's), carrying every gate in Gates when there are
// several, so a policy written for one gate still reads the failure.
func gates(ptr *Pointer, evs []*Evaluation, cand map[string]float64, prod *mlflow.ModelVersion,
	prodMetrics map[string]float64, misspelled *mlflow.ModelVersion) gateResult {
	if len(evs) <= 1 {
		var ev *Evaluation
		if len(evs) == 1 {
			ev = evs[0]
		}
		g := gate(ptr, ev, cand, prod, prodMetrics, misspelled)
		g.unseen = g.stage.Result == kind.Fail && (g.evidence == nil || g.evidence.Passed)
		return g
	}
	var out gateResult
	var said []string
	seen := map[string]bool{}
	var all []policies.MetricsEvidence
	var primary *policies.MetricsEvidence
	out.stage.Result = kind.Pass
	for _, ev := range evs {
		g := gate(ptr, ev, cand, prod, prodMetrics, misspelled)
		for _, part := range strings.Split(g.stage.Summary, "; ") {
			if !seen[part] {
				seen[part] = true
				said = append(said, part)
			}
		}
		if g.evidence != nil {
			all = append(all, *g.evidence)
			if primary == nil || (primary.Passed && !g.evidence.Passed) {
				primary = g.evidence
			}
		}
		if g.stage.Result == kind.Fail {
			out.stage.Result = kind.Fail
			out.unseen = out.unseen || g.evidence == nil || g.evidence.Passed
			if out.title == "" {
				out.title = g.title
			}
		}
	}
	out.stage.Summary = strings.Join(said, "; ")
	if primary != nil {
		ev := *primary
		ev.Gates = all
		out.evidence = &ev
	}
	return out
}

// gate judges the candidate's gated metric against the minimum and the
// version serving in production. Every comparison it made, or could not
// make, is stated in the summary: nothing passes silently. prod is nil when
// the production alias is not set; misspelled is the version an alias
// "Production" points at, if any.
func gate(ptr *Pointer, ev *Evaluation, cand map[string]float64, prod *mlflow.ModelVersion,
	prodMetrics map[string]float64, misspelled *mlflow.ModelVersion) gateResult {
	if ev == nil {
		return gateResult{stage: kind.Stage{Result: kind.Pass,
			Summary: "no evaluation configured, nothing gated (add evaluation: {metric, min, max_regression} to gate it)"}}
	}
	c, ok := cand[ev.Metric]
	if !ok {
		if ev.Optional {
			return gateResult{stage: kind.Stage{Result: kind.Pass,
				Summary: fmt.Sprintf("v%s logged no %q metric; it is optional, so nothing was gated", ptr.Version, ev.Metric)}}
		}
		return gateResult{title: "Missing metric", stage: kind.Stage{Result: kind.Fail,
			Summary: fmt.Sprintf("the candidate v%s logged no %q metric; log it in the run that produced the version (or mark it optional: evaluation.optional: true)", ptr.Version, ev.Metric)}}
	}
	lower := ev.Direction == Lower
	me := &policies.MetricsEvidence{Metric: ev.Metric, Direction: direction(ev), Candidate: finite(c), Passed: true}
	var fails, said []string
	if math.IsNaN(c) {
		// NaN compares false with everything: without this it would pass.
		fails = append(fails, fmt.Sprintf("%s is NaN (not a number) on v%s; a NaN never passes a threshold, log a real value", ev.Metric, ptr.Version))
	}
	switch {
	case !lower && ev.Min != nil:
		me.Min = *ev.Min
		if c < *ev.Min {
			fails = append(fails, fmt.Sprintf("%s %s is below the minimum %s", ev.Metric, num(c), num(*ev.Min)))
		} else if !math.IsNaN(c) {
			said = append(said, fmt.Sprintf("%s %s ≥ minimum %s", ev.Metric, num(c), num(*ev.Min)))
		}
	case lower && ev.Max != nil:
		me.Max = *ev.Max
		if c > *ev.Max {
			fails = append(fails, fmt.Sprintf("%s %s is above the maximum %s (lower is better)", ev.Metric, num(c), num(*ev.Max)))
		} else if !math.IsNaN(c) {
			said = append(said, fmt.Sprintf("%s %s ≤ maximum %s", ev.Metric, num(c), num(*ev.Max)))
		}
	case lower:
		said = append(said, fmt.Sprintf("%s %s (no maximum set)", ev.Metric, num(c)))
	default:
		said = append(said, fmt.Sprintf("%s %s (no minimum set)", ev.Metric, num(c)))
	}
	if ev.MaxRegression != nil {
		me.MaxRegression = *ev.MaxRegression
	}
	p, hasP := prodMetrics[ev.Metric]
	switch {
	case prod == nil:
		first := "first release: nothing serving in production to compare with"
		if misspelled != nil {
			first += fmt.Sprintf(` (an alias "Production" points at v%s, but Conveyor reads the lowercase alias "production"; rename it to compare)`, misspelled.Version)
		}
		if ev.FirstRelease == FirstReleaseDeny {
			fails = append(fails, first+"; evaluation.first_release is deny")
		} else {
			said = append(said, first)
		}
	case prod.Version == ptr.Version:
		said = append(said, fmt.Sprintf("already serving in production (v%s)", prod.Version))
	case !hasP && ev.Optional:
		said = append(said, fmt.Sprintf("production v%s logged no %s, so no regression was measured (the metric is optional)", prod.Version, ev.Metric))
	case !hasP && ev.MaxRegression != nil:
		fails = append(fails, fmt.Sprintf("production v%s logged no %q metric, so the regression cannot be measured; log it on that version's run or mark the metric optional (evaluation.optional: true)", prod.Version, ev.Metric))
	case !hasP:
		said = append(said, fmt.Sprintf("production v%s logged no %s (no max_regression set, nothing gated against it)", prod.Version, ev.Metric))
	default:
		me.Production = finite(p)
		// The regression is how much worse the candidate is: a drop for
		// a higher-is-better metric, a rise for a lower-is-better one.
		reg := p - c
		if lower {
			reg = c - p
		}
		me.Regression = finite(round6(reg))
		switch {
		case ev.MaxRegression == nil:
			said = append(said, fmt.Sprintf("%s vs production v%s (%s; no max_regression set, not gated)", signed(c-p), prod.Version, num(p)))
		case math.IsNaN(p):
			fails = append(fails, fmt.Sprintf("production v%s logged %s as NaN, so the regression cannot be measured; a NaN never passes a threshold", prod.Version, ev.Metric))
		case math.IsNaN(reg) && !math.IsNaN(c):
			fails = append(fails, fmt.Sprintf("%s %s against production v%s (%s) gives no measurable regression", ev.Metric, num(c), prod.Version, num(p)))
		case round6(reg) > *ev.MaxRegression+1e-9:
			fails = append(fails, fmt.Sprintf("%s regresses %s against production v%s (%s, %s is better); at most %s is allowed",
				ev.Metric, num(reg), prod.Version, num(p), direction(ev), num(*ev.MaxRegression)))
		case !math.IsNaN(c):
			said = append(said, fmt.Sprintf("%s vs production v%s (%s), regression within %s", signed(c-p), prod.Version, num(p), num(*ev.MaxRegression)))
		}
	}
	if len(fails) > 0 {
		me.Passed = false
		return gateResult{stage: kind.Stage{Result: kind.Fail, Summary: strings.Join(fails, "; ")}, evidence: me, title: "Model evaluation failed"}
	}
	return gateResult{stage: kind.Stage{Result: kind.Pass, Summary: strings.Join(said, "; ")}, evidence: me}
}

// direction is the evaluation's direction, Higher when unset.
func direction(ev *Evaluation) string {
	if ev != nil && ev.Direction == Lower {
		return Lower
	}
	return Higher
}

// driftValue is a drift value as recorded on one version.
type driftValue struct {
	have  bool
	value float64 // NaN for NaN, and for a tag that is not a number
	raw   string  // a tag's text
}

// readDrift reads d's value from a version's metrics or tags.
func readDrift(d *Drift, metrics map[string]float64, tags map[string]string) driftValue {
	if d.Source == DriftFromTag {
		raw, ok := tags[d.Metric]
		if !ok {
			return driftValue{}
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(raw), 64)
		if err != nil {
			f = math.NaN()
		}
		return driftValue{have: true, value: f, raw: raw}
	}
	v, ok := metrics[d.Metric]
	return driftValue{have: ok, value: v}
}

// within says the value is recorded, a number, and at most max.
func (v driftValue) within(max float64) bool {
	return v.have && !math.IsNaN(v.value) && v.value <= max
}

// String writes the value; a tag that is not a number is quoted.
func (v driftValue) String() string {
	if v.raw != "" && math.IsNaN(v.value) && !strings.EqualFold(strings.TrimSpace(v.raw), "nan") {
		return strconv.Quote(v.raw) + " (not a number)"
	}
	return num(v.value)
}

// driftEvidence is the drift gate as the policy reads it.
func driftEvidence(d *Drift, prodV, candV driftValue, blocks bool) *policies.DriftEvidence {
	de := &policies.DriftEvidence{Metric: d.Metric, Source: d.Source, Max: d.Max, Block: d.Block, Passed: !blocks,
		Measured: prodV.have, Addressed: candV.within(d.Max)}
	if prodV.have {
		de.Production, de.Above = finite(prodV.value), !prodV.within(d.Max)
	}
	if candV.have {
		de.Candidate = finite(candV.value)
	}
	return de
}

// driftVerdict judges the drift recorded on the version serving in
// production. Shown always; it fails the candidate only with drift.block,
// when production's value is above the maximum (or not a number), and when
// the candidate does not address it.
//
// A candidate addresses the drift when it records its own value of the same
// metric (or tag) and that value is within the maximum. Conveyor cannot see
// the data a model was trained on, so it relies on what the team's pipeline
// measures and records on the candidate: typically the same drift score
// computed between the candidate's training data and recent production
// traffic, which is low when the candidate was retrained on data that has
// the shift. A candidate with no such value, or with one above the maximum
// too, does not address it.
//
// It returns the line for Quality's summary, the longer one for the ML
// engineer's view, and whether it fails the candidate.
func driftVerdict(d *Drift, ptr *Pointer, prod *mlflow.ModelVersion, prodV, candV driftValue) (string, string, bool) {
	name := "drift " + d.Metric
	recorded := "logged no " + d.Metric + " metric"
	record := "log " + d.Metric + " on its run"
	if d.Source == DriftFromTag {
		name = "drift tag " + d.Metric
		recorded = "has no " + d.Metric + " tag"
		record = "set the version tag " + d.Metric
	}
	cand := ""
	if candV.have {
		cand = fmt.Sprintf(" (candidate v%s: %s)", ptr.Version, candV)
	}
	var line string
	switch {
	case prod == nil:
		line = name + " not measured: nothing serving in production"
		return line, line + cand, false
	case !prodV.have:
		line = fmt.Sprintf("%s not measured: production v%s %s", name, prod.Version, recorded)
		return line, line + cand, false
	case prodV.within(d.Max):
		line = fmt.Sprintf("%s %s on production v%s, within %s", name, prodV, prod.Version, num(d.Max))
		return line, line + cand, false
	}
	line = fmt.Sprintf("%s %s on production v%s is above the maximum %s", name, prodV, prod.Version, num(d.Max))
	if math.IsNaN(prodV.value) {
		line = fmt.Sprintf("%s on production v%s is %s, which never passes the maximum %s", name, prod.Version, prodV, num(d.Max))
	}
	switch {
	case !d.Block:
		line += " (shown only: drift.block is off)"
		return line, line + cand, false
	case prod.Version == ptr.Version:
		line += "; the candidate is the version serving, so there is nothing to promote"
		return line, line, false
	case candV.within(d.Max):
		line += fmt.Sprintf("; the candidate v%s addresses it: its own %s is %s, within %s", ptr.Version, d.Metric, candV, num(d.Max))
		return line, line, false
	case candV.have:
		line += fmt.Sprintf("; the candidate v%s does not address it: its own %s is %s, not within %s (drift.block)", ptr.Version, d.Metric, candV, num(d.Max))
		return line, line, true
	}
	line += fmt.Sprintf("; the candidate v%s records no %s of its own, so nothing shows it addresses the drift: %s, measured against recent production data (drift.block)",
		ptr.Version, d.Metric, record)
	return line, line, true
}
