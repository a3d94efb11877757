package checks

import (
	"time"

	"github.com/conveyor-dev/conveyor/checks/kind"
	"github.com/conveyor-dev/conveyor/checks/repoconfig"
	"github.com/conveyor-dev/conveyor/policies"
)

// Stage outcomes, the kinds' own (checks/kind). Pass and Info never block;
// Wait keeps the check in progress; Fail and Error fail it (an Error is a
// fact that could not be read: the check is never green while one stands).
const (
	Pass  = kind.Pass
	Warn  = kind.Warn
	Info  = kind.Info
	Wait  = kind.Wait
	Fail  = kind.Fail
	Error = kind.Error
)

// Stage names, in the order every artifact check shows them.
const (
	StageValidate  = "Validate"
	StageQuality   = "Quality"
	StagePolicy    = "Policy"
	StageReadiness = "Readiness"
)

// Check run statuses and conclusions, as GitHub spells them.
const (
	StatusInProgress = "in_progress"
	StatusCompleted  = "completed"
	Success          = "success"
	Failure          = "failure"
)

// GateName is the check run to require in branch protection.
const GateName = "conveyor"

// CheckName is the check run name of an artifact.
func CheckName(artifact string) string { return GateName + " / " + artifact }

// Stage is one row of an artifact's four-stage table.
type Stage struct {
	Name    string   `json:"name"`
	Result  string   `json:"result"`  // pass, warn, info, wait, fail, error
	Summary string   `json:"summary"` // one line for the table
	Details []string `json:"details,omitempty"`
}

// Annotation is a problem located in a file, shown on the PR diff.
type Annotation struct {
	Path    string `json:"path"`
	Line    int    `json:"line"`
	Level   string `json:"level"` // notice, warning, failure
	Title   string `json:"title,omitempty"`
	Message string `json:"message"`
}

// Action is a button on an artifact check run.
type Action struct {
	Identifier  string `json:"identifier"`
	Label       string `json:"label"`
	Description string `json:"description"`
}

// ArtifactResult is the evaluation of one touched artifact.
type ArtifactResult struct {
	Name        string       `json:"name"`
	Kind        string       `json:"kind"`
	Files       []string     `json:"files"`
	CI          []string     `json:"ci,omitempty"`
	Stages      []Stage      `json:"stages"`
	Status      string       `json:"status"`               // in_progress or completed
	Conclusion  string       `json:"conclusion,omitempty"` // success or failure when completed
	Title       string       `json:"title"`
	Persona     string       `json:"persona,omitempty"` // kind-specific markdown (CI, metrics, lineage)
	Annotations []Annotation `json:"annotations,omitempty"`
	Actions     []Action     `json:"actions,omitempty"`
	// Selection is what a deploy of the artifact selects: for dbt, the
	// modified and added models (the driver builds them and downstream).
	Selection []string `json:"selection,omitempty"`
	// Evidence is what the evaluation found (CI results, model metrics, dbt
	// impact), as the deploy policy reads it.
	Evidence policies.Evidence `json:"evidence"`
	// Card is the artifact as the approval card shows it: the kind's lines
	// (the Quality summary when the kind gives none) and what it would serve.
	Card kind.Card `json:"card"`
	// Cost is the artifact's monthly cost and its delta against the base
	// branch's definition, as the policy saw them.
	Cost policies.Cost `json:"cost"`
	// Overridable is set on a failed artifact whose only failing stage is
	// Quality, for findings the policy's quality gates judge (a model metric
	// that did not pass, a dbt contract break or untested models): /deploy
	// then lets the policy decide instead of refusing outright, and a listed
	// override team can take it to production.
	Overridable bool `json:"overridable,omitempty"`
	// RetryAt, when set, is when the PR is evaluated again because a
	// service the evaluation needs could not be reached.
	RetryAt time.Time `json:"-"`
	// WaitingSince, when set, is when the check began waiting on its timed
	// re-evaluations; past Options.MaxWait it stops waiting and fails.
	WaitingSince time.Time `json:"-"`
	// RecheckAt, when set, is when a freeze window of the base config
	// begins or ends, changing what Readiness says: the PR is evaluated
	// again then.
	RecheckAt time.Time `json:"-"`
}

// overridable reports whether a settled result failed only on quality-gate
// findings (gated: its kind says its Quality failure is one).
func (a *ArtifactResult) overridable(gated bool) bool {
	if a.Conclusion != Failure {
		return false
	}
	for _, s := range a.Stages {
		if (s.Result == Fail || s.Result == Error) && s.Name != StageQuality {
			return false
		}
	}
	return gated
}

// GateResult is the `conveyor` check: green only when every touched
// artifact is.
type GateResult struct {
	Status      string       `json:"status"`
	Conclusion  string       `json:"conclusion,omitempty"`
	Title       string       `json:"title"`
	Artifacts   []GateRow    `json:"artifacts"`
	Unowned     []string     `json:"unowned,omitempty"`
	Problems    []string     `json:"problems,omitempty"`
	Annotations []Annotation `json:"annotations,omitempty"`
	// Governance lists the governing fields of .github/conveyor.yml the
	// change edits: they do not apply to the change itself, only after merge.
	Governance []repoconfig.GovernanceChange `json:"governance,omitempty"`
}

// GateRow is one artifact's line in the gate's summary.
type GateRow struct {
	Name       string `json:"name"`
	Kind       string `json:"kind"`
	Status     string `json:"status"`
	Conclusion string `json:"conclusion,omitempty"`
	Title      string `json:"title"`
}

// Result is a whole evaluation of one change.
type Result struct {
	Change    Change            `json:"change"`
	Gate      GateResult        `json:"gate"`
	Artifacts []*ArtifactResult `json:"artifacts"`
}

// settle derives an artifact's status, conclusion and title from its stages.
func (a *ArtifactResult) settle() {
	worst := ""
	for _, s := range a.Stages {
		switch s.Result {
		case Fail, Error:
			if worst != Fail {
				worst = Fail
				a.Title = s.Name + ": " + s.Summary
			}
		case Wait:
			if worst == "" {
				worst = Wait
				a.Title = s.Name + ": " + s.Summary
			}
		}
	}
	switch worst {
	case Fail:
		a.Status, a.Conclusion = StatusCompleted, Failure
	case Wait:
		a.Status, a.Conclusion = StatusInProgress, ""
	default:
		a.Status, a.Conclusion = StatusCompleted, Success
		a.Title = "Ready: all four stages passed"
	}
}

// gateFrom computes the gate from per-artifact rows (in order), the files no
// artifact owns and configuration problems of the PR head.
func gateFrom(rows []GateRow, ev *evaluation) GateResult {
	problems := ev.problems
	g := GateResult{Artifacts: rows, Unowned: ev.unowned, Problems: problems, Annotations: ev.annotations, Governance: ev.governance}
	var failed, waiting []string
	for _, r := range rows {
		switch {
		case r.Status != StatusCompleted:
			waiting = append(waiting, r.Name)
		case r.Conclusion != Success:
			failed = append(failed, r.Name)
		}
	}
	switch {
	case len(problems) > 0:
		g.Status, g.Conclusion = StatusCompleted, Failure
		g.Title = plural(len(problems), "problem") + " in " + configPath
		if len(failed) > 0 {
			g.Title += "; failing: " + joinNames(failed)
		}
	case len(failed) > 0:
		g.Status, g.Conclusion = StatusCompleted, Failure
		g.Title = "Failing: " + joinNames(failed)
	case len(waiting) > 0:
		g.Status = StatusInProgress
		g.Title = "Waiting for " + joinNames(waiting)
	case len(rows) == 0:
		g.Status, g.Conclusion = StatusCompleted, Success
		g.Title = "No artifacts touched"
	default:
		g.Status, g.Conclusion = StatusCompleted, Success
		g.Title = "All " + plural(len(rows), "artifact") + " ready"
	}
	return g
}
