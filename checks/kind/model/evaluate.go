package model

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/sourcegraph/conc/pool"

	"github.com/conveyor-dev/conveyor/checks/kind"
	"github.com/conveyor-dev/conveyor/internal/mlflow"
	"github.com/conveyor-dev/conveyor/policies"
)

// repoconfigPath is where annotations about the artifact block point.
const repoconfigPath = ".github/conveyor.yml"

// productionAlias is the alias regressions are measured against.
const productionAlias = "production"

// RegistryBudget bounds all registry calls of one model evaluation,
// retries included.
const RegistryBudget = 20 * time.Second

// Evaluate implements kind.Kind: the pointer and the registry version, then its
// metrics against the minimum and the version serving in production.
func (Kind) Evaluate(ctx context.Context, env kind.Env, art kind.Artifact) kind.Outcome {
	var k kind.Outcome
	a := specOf(art.Spec)
	notEvaluated := kind.NotEvaluated
	data, err := env.ReadFile(ctx, kind.Head, a.Pointer)
	if errors.Is(err, fs.ErrNotExist) {
		k.Validate = kind.Stage{Result: kind.Fail, Summary: fmt.Sprintf("pointer file %s is missing; add it with registry, model and version", a.Pointer)}
		k.Annotations = append(k.Annotations, kind.Annotation{Path: repoconfigPath, Line: max(art.Line, 1), Level: "failure",
			Title: "Missing model pointer", Message: k.Validate.Summary})
		k.Quality = notEvaluated
		return k
	}
	if tl, ok := kind.IsTooLarge(err); ok {
		k.Validate = kind.Stage{Result: kind.Fail, Summary: fmt.Sprintf("pointer file %s; a pointer names registry, model and version in a few lines", tl.Error())}
		k.Annotations = append(k.Annotations, kind.Annotation{Path: a.Pointer, Line: 1, Level: "failure", Title: "Model pointer too large", Message: k.Validate.Summary})
		k.Quality = notEvaluated
		return k
	}
	if err != nil {
		k.Validate = kind.Stage{Result: kind.Error, Summary: fmt.Sprintf("could not read %s; retry with Re-run", a.Pointer), Details: []string{err.Error()}}
		k.Quality = notEvaluated
		return k
	}
	ptr, probs := ParsePointer(data)
	if len(probs) > 0 || ptr == nil {
		k.Validate = kind.Stage{Result: kind.Fail, Summary: fmt.Sprintf("%s in %s", kind.Plural(len(probs), "problem"), a.Pointer)}
		for _, p := range probs {
			p.File = a.Pointer
			k.Validate.Details = append(k.Validate.Details, p.String())
			k.Annotations = append(k.Annotations, kind.Annotation{Path: a.Pointer, Line: max(p.Line, 1), Level: "failure", Title: "Invalid model pointer", Message: p.Message})
		}
		k.Quality = notEvaluated
		return k
	}
	at := func(title, msg string) kind.Annotation {
		return kind.Annotation{Path: a.Pointer, Line: max(ptr.Line, 1), Level: "failure", Title: title, Message: msg}
	}
	reg, err := env.Registry(ptr.Registry)
	if errors.Is(err, kind.ErrNoServerConfig) {
		k.Validate, k.Quality = kind.NotChecked(fmt.Sprintf("registry %q", ptr.Registry)), kind.NotChecked("metrics")
		return k
	}
	if err != nil {
		k.Validate = kind.Stage{Result: kind.Fail, Summary: fmt.Sprintf("registry %q is not defined in the server config; write one of: %s", ptr.Registry, env.RegistryNames())}
		k.Annotations = append(k.Annotations, at("Unknown registry", k.Validate.Summary))
		k.Quality = notEvaluated
		return k
	}
	if msg := checkName(reg, ptr.Model); msg != "" {
		k.Validate = kind.Stage{Result: kind.Fail, Summary: fmt.Sprintf("registry %q: %s", ptr.Registry, msg)}
		k.Annotations = append(k.Annotations, at("Model name does not fit the registry", k.Validate.Summary))
		k.Quality = notEvaluated
		return k
	}
	// One budget for every registry call of this evaluation: the client
	// retries within it, and a registry that stays down makes the check wait
	// and come back rather than fail.
	ctx, cancel := context.WithTimeout(ctx, RegistryBudget)
	defer cancel()
	unreachable := func(err error) kind.Stage {
		if mlflow.IsUnavailable(err) {
			k.Retry = true
			return kind.Stage{Result: kind.Wait, Summary: fmt.Sprintf("registry %q unreachable", ptr.Registry), Details: []string{err.Error()}}
		}
		return kind.Stage{Result: kind.Error, Summary: fmt.Sprintf("registry %q refused the request; check its access for this model (see details)", ptr.Registry), Details: []string{err.Error()}}
	}
	var mv *mlflow.ModelVersion
	registering := false
	if ptr.Alias != "" {
		mv, err = reg.GetModelVersionByAlias(ctx, ptr.Model, ptr.Alias)
		switch {
		case err != nil:
			k.Validate, k.Quality = unreachable(err), notEvaluated
			if k.Validate.Result == kind.Wait {
				k.Quality = kind.Stage{Result: kind.Wait, Summary: "waits for the registry"}
			}
			return k
		case mv == nil:
			k.Validate = kind.Stage{Result: kind.Fail, Summary: fmt.Sprintf("alias %q of model %s is not set in registry %q; set it or name a version", ptr.Alias, ptr.Model, ptr.Registry)}
			k.Annotations = append(k.Annotations, at("Unknown model alias", k.Validate.Summary))
			k.Quality = notEvaluated
			return k
		}
		// The deploy ships the version evaluated here, not whatever the
		// alias points at by then.
		ptr.Version = mv.Version
		k.Selection = []string{mv.Version}
	} else {
		mv, err = reg.GetModelVersion(ctx, ptr.Model, ptr.Version)
	}
	switch {
	case mlflow.IsNotFound(err):
		k.Validate = kind.Stage{Result: kind.Fail, Summary: fmt.Sprintf("version %s of model %s does not exist in registry %q; register it or point at an existing version", ptr.Version, ptr.Model, ptr.Registry)}
		k.Annotations = append(k.Annotations, at("Unknown model version", k.Validate.Summary))
	case err != nil:
		k.Validate = unreachable(err)
	case mv.Status == mlflow.StatusPending:
		// Nothing says when registration ends: MLflow's registry webhooks
		// (mlflow.webhooks: model version created, tag set, alias set or
		// deleted) have no event for a status change. Look again.
		k.Validate = kind.Stage{Result: kind.Wait, Summary: fmt.Sprintf("%s v%s is still registering (%s)", ptr.Model, ptr.Version, mv.Status)}
		k.Retry, registering = true, true
	case mv.Status != mlflow.StatusReady:
		k.Validate = kind.Stage{Result: kind.Fail, Summary: fmt.Sprintf("%s v%s is %s, not READY; register a new version", ptr.Model, ptr.Version, mv.Status)}
		k.Annotations = append(k.Annotations, at("Model version not ready", k.Validate.Summary))
	default:
		k.Validate = kind.Stage{Result: kind.Pass, Summary: fmt.Sprintf("%s v%s is READY in %s", ptr.Model, ptr.Version, ptr.Registry)}
		if ptr.Alias != "" {
			k.Validate.Summary = fmt.Sprintf("%s@%s is v%s, READY in %s", ptr.Model, ptr.Alias, ptr.Version, ptr.Registry)
		}
	}
	if k.Validate.Result != kind.Pass {
		k.Quality = notEvaluated
		if k.Validate.Result == kind.Wait {
			k.Quality = kind.Stage{Result: kind.Wait, Summary: "waits for the version to be READY"}
			if k.Retry && !registering {
				k.Quality.Summary = "waits for the registry"
			}
		}
		return k
	}
	// The candidate's metrics and what each environment serves do not
	// depend on each other: read them side by side.
	envs := env.Environments()
	if !slices.Contains(envs, productionAlias) {
		envs = append(envs, productionAlias)
	}
	var cand map[string]float64
	served := make([]*mlflow.ModelVersion, len(envs))
	servedMetrics := make([]map[string]float64, len(envs))
	// Drift recorded as version tags is read beside the metrics.
	tags, _ := reg.(tagReader)
	wantTags := a.Drift != nil && a.Drift.Source == DriftFromTag && tags != nil
	var candTags, prodTags map[string]string
	p := pool.New().WithErrors().WithFirstError().WithContext(ctx)
	p.Go(func(ctx context.Context) error {
		var err error
		cand, err = reg.VersionMetrics(ctx, mv)
		return err
	})
	if wantTags {
		p.Go(func(ctx context.Context) error {
			var err error
			candTags, err = tags.VersionTags(ctx, ptr.Model, mv.Version)
			return err
		})
	}
	for i, alias := range envs {
		p.Go(func(ctx context.Context) error {
			v, err := reg.GetModelVersionByAlias(ctx, ptr.Model, alias)
			if err != nil || v == nil {
				return err
			}
			if wantTags && alias == productionAlias {
				if prodTags, err = tags.VersionTags(ctx, ptr.Model, v.Version); err != nil {
					return err
				}
			}
			m, err := reg.VersionMetrics(ctx, v)
			served[i], servedMetrics[i] = v, m
			return err
		})
	}
	if err := p.Wait(); err != nil {
		k.Quality = unreachable(err)
		return k
	}
	serving := map[string]*mlflow.ModelVersion{}
	servingMetrics := map[string]map[string]float64{}
	for i, alias := range envs {
		if served[i] != nil {
			serving[alias], servingMetrics[alias] = served[i], servedMetrics[i]
		}
	}
	k.Persona = metricTable(reg, ptr, mv, a.Evaluation, a.Drift, cand, env.Environments(), serving, servingMetrics) +
		paramsChanged(ctx, reg, mv, serving[productionAlias])
	var misspelled *mlflow.ModelVersion
	if serving[productionAlias] == nil {
		// A team that named its alias "Production" would otherwise read as a
		// first release without a word; the hint is best effort.
		misspelled, _ = reg.GetModelVersionByAlias(ctx, ptr.Model, "Production")
	}
	g := gates(ptr, a.Evaluation, cand, serving[productionAlias], servingMetrics[productionAlias], misspelled)
	driftBlocks, signatureBreaks := false, false
	k.Quality, k.Evidence.Metrics = g.stage, g.evidence
	if a.Drift != nil && k.Quality.Result != kind.Wait {
		prodV := readDrift(a.Drift, servingMetrics[productionAlias], prodTags)
		candV := readDrift(a.Drift, cand, candTags)
		line, view, blocks := driftVerdict(a.Drift, ptr, serving[productionAlias], prodV, candV)
		if a.Drift.Source == DriftFromTag && tags == nil {
			line, blocks = fmt.Sprintf("drift tag %s not measured: registry %q does not serve model version tags", a.Drift.Metric, ptr.Registry), false
			view = line
			prodV = driftValue{}
		}
		// The policy judges the drift too (gates.rego), so an override
		// team can take a blocked candidate further, as with a regression.
		if k.Evidence.Metrics == nil {
			k.Evidence.Metrics = &policies.MetricsEvidence{Passed: true}
		}
		k.Evidence.Metrics.Drift = driftEvidence(a.Drift, prodV, candV, blocks)
		driftBlocks = blocks
		k.Persona += "\nDrift: " + view + ".\n"
		switch {
		case blocks && k.Quality.Result == kind.Fail:
			k.Quality.Summary += "; " + line
		case blocks:
			// The drift fails it; what the offline gate compared still shows.
			k.Quality = kind.Stage{Result: kind.Fail, Summary: line + "; " + k.Quality.Summary}
			g.title = "Drift above its maximum"
		default:
			k.Quality.Summary += "; " + line
		}
	}
	if k.Quality.Result != kind.Wait {
		// signature.go: the candidate's signature against production's.
		sc := checkSignature(ctx, reg, a.Signature, mv, serving[productionAlias])
		k.Persona += sc.text
		switch {
		case sc.wait != nil:
			k.Retry = true
			k.Quality = kind.Stage{Result: kind.Wait, Summary: fmt.Sprintf("registry %q unreachable while reading the model signature", ptr.Registry), Details: []string{sc.wait.Error()}}
		case sc.breaking != "" && k.Quality.Result != kind.Fail:
			signatureBreaks = true
			k.Quality = kind.Stage{Result: kind.Fail, Summary: k.Quality.Summary + "; " + sc.breaking}
			g.title = "Model signature breaks production"
		case sc.breaking != "":
			signatureBreaks = true
			k.Quality.Summary += "; " + sc.breaking
		case sc.note != "":
			k.Quality.Summary += "; " + sc.note
		}
	}
	if k.Quality.Result == kind.Fail {
		k.Annotations = append(k.Annotations, at(g.title, k.Quality.Summary))
	}
	k.Card = card(ptr, serving, k.Quality)
	// Gated only when the policy sees every finding that failed Quality: a
	// regression and a blocking drift are in its evidence; a signature
	// break and a missing metric are not, so they are no one's to override.
	k.Gated = ((g.evidence != nil && !g.evidence.Passed) || driftBlocks) && !signatureBreaks && !g.unseen
	return k
}

// tagReader is implemented by registries that read model version tags
// (*mlflow.Client).
type tagReader interface {
	VersionTags(ctx context.Context, name, version string) (map[string]string, error)
}

// linker is implemented by registries that know their web UI
// (*mlflow.Client with a ui_url).
type linker interface {
	VersionURL(name, version string) string
	RunURL(runID string) string
}

// link renders text as a markdown link when url is known.
func link(text, url string) string {
	if url == "" {
		return text
	}
	return "[" + text + "](" + url + ")"
}

// metricTable is the ML engineer's view: every metric of the candidate,
// the gate on it, against the version each environment's alias serves,
// with links to the versions and the run when the registry's UI is known.
func metricTable(reg kind.Registry, ptr *Pointer, mv *mlflow.ModelVersion, evs []*Evaluation, drift *Drift, cand map[string]float64, envs []string,
	serving map[string]*mlflow.ModelVersion, metrics map[string]map[string]float64) string {
	lk, _ := reg.(linker)
	versionLink := func(v string) string {
		if lk == nil {
			return "v" + v
		}
		return link("v"+v, lk.VersionURL(ptr.Model, v))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "### %s: candidate v%s vs what serves\n\n", ptr.Model, ptr.Version)
	fmt.Fprintf(&b, "Candidate %s", versionLink(ptr.Version))
	if ptr.Alias != "" {
		fmt.Fprintf(&b, " (alias %s)", ptr.Alias)
	}
	if mv != nil && mv.RunID != "" {
		run := mv.RunID
		if lk != nil {
			run = link(run, lk.RunURL(mv.RunID))
		}
		fmt.Fprintf(&b, ", from run %s", run)
	}
	b.WriteString(". Aliases: ")
	for i, env := range envs {
		if i > 0 {
			b.WriteString(", ")
		}
		switch v := serving[env]; {
		case v == nil:
			fmt.Fprintf(&b, "%s not set", env)
		case v.Version == ptr.Version:
			fmt.Fprintf(&b, "%s → %s (already serving this version)", env, versionLink(v.Version))
		default:
			fmt.Fprintf(&b, "%s → %s", env, versionLink(v.Version))
		}
	}
	b.WriteString(".\n\n| metric | gate | candidate v" + ptr.Version + " |")
	for _, env := range envs {
		if v := serving[env]; v != nil {
			fmt.Fprintf(&b, " %s v%s |", env, v.Version)
		} else {
			fmt.Fprintf(&b, " %s (none) |", env)
		}
	}
	b.WriteString(" delta vs production |\n|---|---|---|")
	b.WriteString(strings.Repeat("---|", len(envs)))
	b.WriteString("---|\n")
	names := make([]string, 0, len(cand)+1)
	for n := range cand {
		names = append(names, n)
	}
	rank := map[string]int{} // gated metrics first, in the config's order
	for i, ev := range evs {
		rank[ev.Metric] = i + 1
		if _, ok := cand[ev.Metric]; !ok {
			names = append(names, ev.Metric)
		}
	}
	if drift != nil && drift.Source == DriftFromMetric && gateOf(evs, drift.Metric) == nil {
		_, inCand := cand[drift.Metric]
		if _, inProd := metrics[productionAlias][drift.Metric]; inProd && !inCand {
			names = append(names, drift.Metric)
		}
	}
	sort.Slice(names, func(i, j int) bool {
		ri, rj := rank[names[i]], rank[names[j]]
		switch {
		case ri > 0 && rj > 0:
			return ri < rj
		case ri > 0 || rj > 0:
			return ri > 0
		}
		return names[i] < names[j]
	})
	for _, n := range names {
		c, has := cand[n]
		cell := "–"
		if has {
			cell = num(c)
		}
		fmt.Fprintf(&b, "| %s | %s | %s |", n, gateText(gateOf(evs, n), drift, n), cell)
		for _, env := range envs {
			if v, ok := metrics[env][n]; ok {
				fmt.Fprintf(&b, " %s |", num(v))
			} else {
				b.WriteString(" – |")
			}
		}
		if p, ok := metrics[productionAlias][n]; ok && has {
			fmt.Fprintf(&b, " %s%s |\n", signed(c-p), judged(gateOf(evs, n), n, c-p))
		} else {
			b.WriteString(" – |\n")
		}
	}
	return b.String()
}

// gateOf returns the gate on metric n, or nil.
func gateOf(evs []*Evaluation, n string) *Evaluation {
	for _, ev := range evs {
		if ev.Metric == n {
			return ev
		}
	}
	return nil
}

// gateText states the gate on metric n with its thresholds and direction.
func gateText(ev *Evaluation, d *Drift, n string) string {
	if d != nil && d.Source == DriftFromMetric && d.Metric == n && (ev == nil || ev.Metric != n) {
		t := "drift: production's at most " + num(d.Max)
		if d.Block {
			return t + "; blocks a candidate without its own within it"
		}
		return t + "; shown only"
	}
	if ev == nil || ev.Metric != n {
		return "not gated"
	}
	var parts []string
	lower := direction(ev) == Lower
	if ev.Min != nil && !lower {
		parts = append(parts, "≥ "+num(*ev.Min))
	}
	if ev.Max != nil && lower {
		parts = append(parts, "≤ "+num(*ev.Max))
	}
	if ev.MaxRegression != nil {
		side := " below production"
		if lower {
			side = " above production"
		}
		parts = append(parts, "at most "+num(*ev.MaxRegression)+side)
	}
	parts = append(parts, direction(ev)+" is better")
	if ev.Optional {
		parts = append(parts, "optional")
	}
	return strings.Join(parts, "; ")
}

// judged says whether delta (candidate minus production) of the gated
// metric n is better or worse, in its direction; "" for other metrics, no
// change or NaN.
func judged(ev *Evaluation, n string, delta float64) string {
	d := round6(delta)
	if ev == nil || ev.Metric != n || d == 0 || math.IsNaN(d) {
		return ""
	}
	if (d > 0) == (direction(ev) == Higher) {
		return " (better)"
	}
	return " (worse)"
}

// num writes a metric value; non-finite values read as MLflow writes them.
func num(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	return fmt.Sprintf("%.4g", round6(f))
}

// finite keeps non-finite values out of the policy evidence, which is JSON
// (encoding/json refuses NaN); the stage's result already failed on them.
func finite(f float64) float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0
	}
	return f
}

func signed(f float64) string {
	f = round6(f)
	if math.IsNaN(f) {
		return "NaN"
	}
	if f >= 0 {
		return "+" + num(f)
	}
	return num(f)
}

func round6(f float64) float64 { return math.Round(f*1e6) / 1e6 }
