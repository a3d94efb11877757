// Package model is the model kind: a registered model version named by a
// pointer file (registry, model, version) and shipped by moving the
// registry alias named after the environment. It owns the `pointer:` and
// `evaluation:` blocks, the pointer file format, Validate (the version is
// READY in the registry) and Quality (the evaluation metric against the
// minimum and against production), the metrics evidence the policy reads,
// the ML engineer's metric table, and Ref, what the mlflow driver receives.
package model

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/conveyor-dev/conveyor/checks/kind"
)

// Kind is the model kind; register it with kind.Register(model.Kind{}).
type Kind struct{}

// Spec is a model's config block.
type Spec struct {
	Pointer string // path of the registry pointer file
	// Evaluation lists the metric gates, in the config's order: one for an
	// evaluation mapping, several for a list; nil when not configured.
	Evaluation []*Evaluation
	Drift      *Drift // nil when not configured
	Signature  *SignatureRule
	pointerAt  kind.Pos
}

// Directions of evaluation.direction: which way a gated metric improves.
const (
	Higher = "higher" // auc, accuracy, recall: the default
	Lower  = "lower"  // rmse, latency, log_loss
)

// Evaluation is the quality gate for a model's candidate version. It
// governs: a pull request's own evaluation block takes effect after merge.
type Evaluation struct {
	Metric string
	// Direction is Higher (the default) or Lower: which way the metric
	// improves. Min goes with Higher, Max with Lower, and MaxRegression is
	// measured in the direction that makes the metric worse.
	Direction     string
	Min           *float64 // Higher: the candidate's metric must be at least this
	Max           *float64 // Lower: the candidate's metric must be at most this
	MaxRegression *float64 // and at most this much worse than the version serving in production
	// Optional lets a version that did not log the metric pass (the
	// summary says nothing was gated); otherwise a missing metric fails.
	Optional bool
	// FirstRelease is "allow" (the default) or "deny": whether a candidate
	// may pass with nothing serving in production to compare with.
	FirstRelease string
}

// Where a drift value is recorded, drift.source.
const (
	DriftFromMetric = "metric" // a metric of the version's run (or logged model): the default
	DriftFromTag    = "tag"    // a model version tag holding a number
)

// Drift is a drift or live-quality value the team records on the version
// serving in production (psi), shown beside the offline metrics. It
// governs, like Evaluation.
type Drift struct {
	// Metric names the value: a run metric, or a version tag with Source
	// DriftFromTag.
	Metric string
	Max    float64
	// Source is DriftFromMetric (the default) or DriftFromTag.
	Source string
	// Block makes a drift above Max fail a candidate that does not address
	// it: one without its own value of Metric within Max (see driftVerdict);
	// by default the drift is only shown.
	Block bool
}

// Ref names the candidate model version of a model artifact: the payload
// the model kind gives deploy drivers (the mlflow driver reads it).
type Ref struct {
	Registry string `json:"registry"`
	Name     string `json:"name"`
	Version  string `json:"version"`
}

var evaluationKeys = []string{"metric", "direction", "min", "max", "max_regression", "optional", "first_release"}

// Name implements kind.Kind.
func (Kind) Name() string { return "model" }

// Persona implements kind.Kind.
func (Kind) Persona() string { return "the ML engineer" }

// Keys implements kind.Kind.
func (Kind) Keys() []string { return []string{"pointer", "evaluation", "drift", "signature"} }

// Schema implements kind.Kind.
func (Kind) Schema() map[string]any {
	return kind.MustSchema(strings.ReplaceAll(`{
		"pointer": {"$ref": "#/$defs/relativePath", "description": "model: path of the pointer file (registry, model, version)."},
		"evaluation": {"description": "one metric gate, or a list of them (one per metric)", "oneOf": [GATE, {"type": "array", "minItems": 1, "items": GATE}]},
		"drift": {"type": "object", "required": ["metric", "max"], "additionalProperties": false,
			"properties": {"metric": {"type": "string", "minLength": 1, "description": "the drift value recorded on the version serving in production (psi): a run metric, or a version tag with source: tag"},
				"max": {"type": "number"},
				"source": {"enum": ["metric", "tag"], "description": "where the value is recorded: the version's run metrics (default) or a model version tag"},
				"block": {"type": "boolean", "description": "a drift above max fails a candidate that does not record its own value within max (default: shown only)"}}},
		"signature": {"type": "object", "additionalProperties": false,
			"properties": {"breaking": {"enum": ["allow", "deny"], "description": "a breaking change of the model signature against production: deny (default) fails Quality, allow shows it only"}}}}`, "GATE", evaluationSchema))
}

// evaluationSchema is one metric gate of evaluation:.
const evaluationSchema = `{"type": "object", "required": ["metric"], "additionalProperties": false,
	"allOf": [{"if": {"required": ["direction"], "properties": {"direction": {"const": "lower"}}}, "then": {"properties": {"min": false}}, "else": {"properties": {"max": false}}}],
	"properties": {"metric": {"type": "string", "minLength": 1},
		"direction": {"enum": ["higher", "lower"], "description": "which way the metric improves: higher (default; auc) or lower (rmse, latency, log_loss)"},
		"min": {"type": "number", "description": "direction higher: the candidate's value must be at least this"},
		"max": {"type": "number", "description": "direction lower: the candidate's value must be at most this"},
		"max_regression": {"type": "number", "minimum": 0, "description": "at most this much worse than the version serving in production, in the metric's direction"},
		"optional": {"type": "boolean", "description": "a version without the metric passes, saying nothing was gated"},
		"first_release": {"enum": ["allow", "deny"], "description": "with nothing serving in production: allow (default) passes, deny fails"}}}`

// Parse implements kind.Kind.
func (Kind) Parse(r *kind.Doc, a kind.Ident, fields []kind.Field) kind.Spec {
	s := &Spec{}
	what := "artifact " + strconv.Quote(a.Name)
	seen := false
	for _, f := range fields {
		switch f.Key {
		case "pointer":
			seen = true
			if p, ok := r.Str(f.Value, what+": pointer", "pointer: models/fraud.yaml"); ok {
				if msg := kind.CheckFilePath(p, "models/fraud.yaml"); msg != "" {
					r.Add(f.Value, "%s: pointer %q %s", what, p, msg)
				} else {
					s.Pointer, s.pointerAt = p, kind.Pos{Line: f.Value.Line, Col: f.Value.Column}
				}
			}
		case "evaluation":
			s.Evaluation = evaluations(r, f.Node, f.Value, what)
		case "drift":
			s.Drift = drift(r, f.Node, f.Value, what)
		case "signature":
			s.Signature = signatureRule(r, f.Value, what)
		}
	}
	if !seen {
		r.Add(a.Node, "%s is a model and needs pointer; write for example pointer: models/%s.yaml", what, a.Name)
	}
	return s
}

// evaluations reads evaluation: one gate as a mapping, or a list of them
// for a model judged on several metrics (auc and p95 latency).
func evaluations(r *kind.Doc, k, v *yaml.Node, what string) []*Evaluation {
	n := kind.Resolve(v)
	if n == nil || n.Kind != yaml.SequenceNode {
		return []*Evaluation{evaluation(r, k, v, what+": evaluation")}
	}
	if len(n.Content) == 0 {
		r.Add(v, "%s: evaluation lists no gate; write for example evaluation: [{metric: auc, min: 0.90}, {metric: p95_latency_ms, direction: lower, max: 300}]", what)
		return nil
	}
	var out []*Evaluation
	seen := map[string]bool{}
	for i, item := range n.Content {
		e := evaluation(r, item, item, fmt.Sprintf("%s: evaluation[%d]", what, i))
		if e.Metric != "" && seen[e.Metric] {
			r.Add(item, "%s: evaluation[%d] gates %s again; each metric takes one gate", what, i, e.Metric)
			continue
		}
		seen[e.Metric] = true
		out = append(out, e)
	}
	return out
}

// evaluation reads one metric gate; what names it in problems.
func evaluation(r *kind.Doc, k, v *yaml.Node, what string) *Evaluation {
	e := &Evaluation{FirstRelease: FirstReleaseAllow, Direction: Higher}
	example := "evaluation: {metric: auc, min: 0.90, max_regression: 0.005}"
	var minAt, maxAt *yaml.Node
	ok := r.Fields(v, what, example, evaluationKeys, func(k, v *yaml.Node) {
		switch k.Value {
		case "metric":
			e.Metric, _ = r.Str(v, what+".metric", "metric: auc")
		case "direction":
			if s, ok := r.Str(v, what+".direction", "direction: lower"); ok {
				if s != Higher && s != Lower {
					r.Add(v, "%s.direction must be higher or lower, not %q; write for example direction: lower (for rmse, latency, log_loss)", what, s)
				} else {
					e.Direction = s
				}
			}
		case "min":
			if f, ok := r.Number(v, what+".min", "min: 0.90"); ok {
				e.Min, minAt = &f, v
			}
		case "max":
			if f, ok := r.Number(v, what+".max", "max: 0.25"); ok {
				e.Max, maxAt = &f, v
			}
		case "max_regression":
			if f, ok := r.Number(v, what+".max_regression", "max_regression: 0.005"); ok {
				if f < 0 {
					r.Add(v, "%s.max_regression must not be negative; write for example max_regression: 0.005", what)
				} else {
					e.MaxRegression = &f
				}
			}
		case "optional":
			if b, ok := boolean(r, v, what+".optional", "optional: true"); ok {
				e.Optional = b
			}
		case "first_release":
			if s, ok := r.Str(v, what+".first_release", "first_release: deny"); ok {
				if s != FirstReleaseAllow && s != FirstReleaseDeny {
					r.Add(v, "%s.first_release must be allow or deny, not %q; write for example first_release: deny", what, s)
				} else {
					e.FirstRelease = s
				}
			}
		}
	})
	if ok && e.Metric == "" && !kind.Has(v, "metric") {
		r.Add(k, "%s needs metric, the run metric to gate on; write for example %s", what, example)
	}
	// A bound on the wrong side would gate nothing a reader expects: a
	// minimum on a lower-is-better metric rewards the worse model.
	if e.Direction == Lower && minAt != nil {
		r.Add(minAt, "%s.min does not apply to a metric where lower is better (direction: lower); write max: %s, the highest value allowed", what, num(*e.Min))
		e.Min = nil
	}
	if e.Direction == Higher && maxAt != nil {
		r.Add(maxAt, "%s.max applies only to a metric where lower is better; write direction: lower for %s, or min: %s for a higher-is-better metric", what, orMetric(e.Metric), num(*e.Max))
		e.Max = nil
	}
	return e
}

// orMetric names the metric, or says "it" when none was given.
func orMetric(m string) string {
	if m == "" {
		return "it"
	}
	return m
}

func drift(r *kind.Doc, k, v *yaml.Node, what string) *Drift {
	d := &Drift{Source: DriftFromMetric}
	what += ": drift"
	example := "drift: {metric: psi, max: 0.2}"
	seen := map[string]bool{}
	ok := r.Fields(v, what, example, []string{"metric", "max", "source", "block"}, func(k, v *yaml.Node) {
		seen[k.Value] = true
		switch k.Value {
		case "metric":
			d.Metric, _ = r.Str(v, what+".metric", "metric: psi")
		case "max":
			d.Max, _ = r.Number(v, what+".max", "max: 0.2")
		case "source":
			if s, ok := r.Str(v, what+".source", "source: tag"); ok {
				if s != DriftFromMetric && s != DriftFromTag {
					r.Add(v, "%s.source must be metric (a run metric of the version) or tag (a model version tag), not %q; write for example source: tag", what, s)
				} else {
					d.Source = s
				}
			}
		case "block":
			d.Block, _ = boolean(r, v, what+".block", "block: true")
		}
	})
	if ok && (!seen["metric"] || !seen["max"]) {
		r.Add(k, "%s needs metric and max; write for example %s", what, example)
	}
	return d
}

// boolean reads true or false.
func boolean(r *kind.Doc, n *yaml.Node, what, example string) (bool, bool) {
	n = kind.Resolve(n)
	var b bool
	if n == nil || n.Kind != yaml.ScalarNode || n.Tag != "!!bool" || n.Decode(&b) != nil {
		r.Add(n, "%s must be true or false, not %s; write for example %s", what, kind.Describe(n), example)
		return false, false
	}
	return b, true
}

// Claims implements kind.Spec: a model is touched by its pointer file.
func (s *Spec) Claims() []kind.Claim {
	return []kind.Claim{{Kind: kind.File, Path: s.Pointer}}
}

// Validate implements kind.Spec: the pointer file exists and parses.
func (s *Spec) Validate(t kind.Tree, report func(kind.Problem)) {
	at := func(msg string) kind.Problem {
		return kind.Problem{Line: s.pointerAt.Line, Column: s.pointerAt.Col, Message: msg}
	}
	if s.Pointer == "" {
		return
	}
	if !t.Has(s.Pointer) {
		report(at("pointer file " + s.Pointer + " does not exist at this commit; create it with registry, model and version, or correct the path"))
		return
	}
	data, err := t.ReadFile(s.Pointer)
	if err != nil {
		report(at("pointer file " + s.Pointer + " could not be read; check that it is a regular file"))
		return
	}
	_, probs := ParsePointer(data)
	for _, p := range probs {
		p.File = s.Pointer
		report(p)
	}
}

// Fields implements kind.Spec: the pointer says where the model is named;
// the evaluation gate governs.
func (s *Spec) Fields() []kind.FieldValue {
	var dMetric, dMax, dSource, dBlock string
	if d := s.Drift; d != nil {
		dMetric, dMax, dSource = d.Metric, strconv.FormatFloat(d.Max, 'g', -1, 64), d.Source
		if d.Block {
			dBlock = "true"
		}
	}
	out := []kind.FieldValue{
		{Name: "pointer", Value: s.Pointer},
		{Name: "drift.metric", Value: dMetric, Governs: true},
		{Name: "drift.max", Value: dMax, Governs: true},
		{Name: "drift.source", Value: dSource, Governs: true},
		{Name: "drift.block", Value: dBlock, Governs: true},
		{Name: "signature.breaking", Value: s.Signature.breaking(), Governs: true},
	}
	// The first gate keeps the names of the single-gate form, so turning
	// evaluation into a list shows only the gates added.
	out = append(out, s.evaluationFields(0, "evaluation.")...)
	for i := 1; i < len(s.Evaluation); i++ {
		out = append(out, s.evaluationFields(i, fmt.Sprintf("evaluation[%d].", i))...)
	}
	return out
}

// evaluationFields are the governing fields of gate i, named with prefix;
// empty values when there is no such gate.
func (s *Spec) evaluationFields(i int, prefix string) []kind.FieldValue {
	var metric, direction, min, maxV, maxReg, optional, first string
	if i < len(s.Evaluation) && s.Evaluation[i] != nil {
		e := s.Evaluation[i]
		metric, direction, first = e.Metric, e.Direction, e.FirstRelease
		if e.Optional {
			optional = "true"
		}
		if e.Min != nil {
			min = strconv.FormatFloat(*e.Min, 'g', -1, 64)
		}
		if e.Max != nil {
			maxV = strconv.FormatFloat(*e.Max, 'g', -1, 64)
		}
		if e.MaxRegression != nil {
			maxReg = strconv.FormatFloat(*e.MaxRegression, 'g', -1, 64)
		}
	}
	return []kind.FieldValue{
		{Name: prefix + "metric", Value: metric, Governs: true},
		{Name: prefix + "direction", Value: direction, Governs: true},
		{Name: prefix + "min", Value: min, Governs: true},
		{Name: prefix + "max", Value: maxV, Governs: true},
		{Name: prefix + "max_regression", Value: maxReg, Governs: true},
		{Name: prefix + "optional", Value: optional, Governs: true},
		{Name: prefix + "first_release", Value: first, Governs: true},
	}
}

// Ungoverned implements kind.Spec: no evaluation gate until merge.
func (s *Spec) Ungoverned() kind.Spec {
	out := *s
	out.Evaluation, out.Drift, out.Signature = nil, nil, nil
	return &out
}

// Plan implements kind.Kind: the pointer file at the SHA names the version.
func (Kind) Plan(ctx context.Context, env kind.PlanEnv, a kind.Artifact) (kind.Payload, string) {
	s := specOf(a.Spec)
	sha := kind.Short(env.SHA())
	data, err := env.ReadFile(ctx, s.Pointer)
	if err != nil {
		return kind.Payload{}, fmt.Sprintf("the pointer file %s of %s could not be read at %s (%v); commit it and comment again", s.Pointer, a.Name, sha, err)
	}
	ptr, probs := ParsePointer(data)
	if ptr == nil || len(probs) > 0 {
		msg := "it is invalid"
		if len(probs) > 0 {
			msg = probs[0].Message
		}
		return kind.Payload{}, fmt.Sprintf("the pointer file %s of %s at %s: %s", s.Pointer, a.Name, sha, msg)
	}
	if ptr.Alias != "" {
		// The check resolved the alias and recorded the version it
		// evaluated; ship that one, never what the alias points at now.
		sel := env.Selection()
		if len(sel) != 1 || sel[0] == "" {
			return kind.Payload{}, fmt.Sprintf("the pointer file %s of %s names alias %q, and no check at %s has resolved it to a version yet; wait for the conveyor check of %s to finish, then comment again", s.Pointer, a.Name, ptr.Alias, sha, a.Name)
		}
		ptr.Version = sel[0]
	}
	return kind.Payload{Spec: &Ref{Registry: ptr.Registry, Name: ptr.Model, Version: ptr.Version},
		Version: fmt.Sprintf("%s v%s (%s)", ptr.Model, ptr.Version, ptr.Registry),
		Summary: fmt.Sprintf("%s v%s", ptr.Model, ptr.Version)}, ""
}

func specOf(s kind.Spec) *Spec {
	if m, ok := s.(*Spec); ok && m != nil {
		return m
	}
	return &Spec{}
}
