package checks

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/conveyor-dev/conveyor/checks/kind"
	"github.com/conveyor-dev/conveyor/checks/prfacts"
	"github.com/conveyor-dev/conveyor/checks/repoconfig"
	"github.com/conveyor-dev/conveyor/internal/resources"
	"github.com/conveyor-dev/conveyor/policies"
)

const configPath = repoconfig.Path

// evaluation is one run of the engine: the result plus what the worker needs
// to merge a partial run with stored results.
type evaluation struct {
	result  *Result
	touched []*repoconfig.Artifact // in config order
	unowned []string
	// problems are configuration problems that fail the gate.
	problems []string
	// governance lists the governing fields the head changes (after merge).
	governance  []repoconfig.GovernanceChange
	annotations []Annotation
}

// run is the state shared by the artifact evaluators of one evaluation.
type run struct {
	s        *Suite
	f        Facts
	ch       Change
	base     *repoconfig.Config // the base branch's config: it governs
	cfg      *repoconfig.Config // artifact definitions: repoconfig.Govern(base, head)
	head     *repoconfig.Config // the head's valid config when the PR edits it; never governs
	problems []string           // configuration problems of the head
	// since is, per artifact, when its check began waiting on timed
	// re-evaluations (stored with the check; absent: not waiting).
	since map[string]time.Time

	ciOnce sync.Once
	ci     map[string]CIResult
	ciErr  error

	commitsOnce sync.Once
	commits     []Commit
	commitsErr  error

	// envs memoizes, per environment, what serves there (this repository's
	// and the other repositories'), read once per evaluation for all its
	// artifacts and stages instead of once per artifact and stage.
	envsMu sync.Mutex
	envs   map[string]*envFacts
}

// envFacts is what one evaluation knows of an environment.
type envFacts struct {
	serving     map[string]string // artifact -> SHA, this repository
	servingErr  error
	servingRead bool
	others      []policies.Artifact // what serves from other repositories
	othersErr   error
	othersRead  bool
}

// env returns the memo of environment name, creating it.
func (r *run) env(name string) *envFacts {
	if r.envs == nil {
		r.envs = map[string]*envFacts{}
	}
	e := r.envs[name]
	if e == nil {
		e = &envFacts{}
		r.envs[name] = e
	}
	return e
}

// servingIn is what serves in env from this repository (Facts.Serving),
// read once per evaluation.
func (r *run) servingIn(ctx context.Context, env string) (map[string]string, error) {
	r.envsMu.Lock()
	defer r.envsMu.Unlock()
	e := r.env(env)
	if !e.servingRead {
		e.serving, e.servingErr = r.f.Serving(ctx, env)
		e.servingRead = true
	}
	return e.serving, e.servingErr
}

// servingElsewhere is what serves in env from the other repositories when
// the deployments know it (policies.Fleet), read once per evaluation.
func (r *run) servingElsewhere(ctx context.Context, env string) ([]policies.Artifact, error) {
	fleet, ok := r.s.o.Deployments.(policies.Fleet)
	if !ok {
		return nil, nil
	}
	r.envsMu.Lock()
	defer r.envsMu.Unlock()
	e := r.env(env)
	if !e.othersRead {
		e.others, e.othersErr = fleet.RunningElsewhere(ctx, r.ch.Repository, env)
		e.othersRead = true
	}
	return e.others, e.othersErr
}

// Evaluate runs every stage for every artifact the change touches and
// returns the result, without writing anything. It is the engine behind
// the check runs and behind `conveyor check` on a local checkout. An error
// means a fact could not be read at all (the caller may retry).
func (s *Suite) Evaluate(ctx context.Context, f Facts) (*Result, error) {
	ev, err := s.evaluate(ctx, f, nil, nil)
	if err != nil {
		return nil, err
	}
	rows := make([]GateRow, 0, len(ev.result.Artifacts))
	for _, a := range ev.result.Artifacts {
		rows = append(rows, gateRow(a))
	}
	ev.result.Gate = gateFrom(rows, ev)
	return ev.result, nil
}

// definer is Facts that resolve their own definitions (the GitHub facts do,
// through the shared PR-facts reader, so commands reuse the answer).
type definer interface {
	Definitions(ctx context.Context) (*prfacts.Definitions, error)
}

// evaluate evaluates the touched artifacts in only (all when only is nil);
// since says when each artifact's check began waiting (see run.since). The
// caller computes the gate.
func (s *Suite) evaluate(ctx context.Context, f Facts, only map[string]bool, since map[string]time.Time) (*evaluation, error) {
	ch := f.Change()
	var defs *prfacts.Definitions
	var err error
	if d, ok := f.(definer); ok {
		defs, err = d.Definitions(ctx) // the shared reader's, cached by SHA
	} else {
		defs, err = prfacts.Resolve(ctx, f, s.drivers)
	}
	if err != nil {
		return nil, fmt.Errorf("%s#%d: %w", ch.Repository, ch.Number, err)
	}
	ev := &evaluation{result: &Result{Change: ch}, governance: defs.Governance}
	for _, p := range defs.BaseProblems {
		ev.problems = append(ev.problems, fmt.Sprintf("on the base branch %s: %s (fix it there first: governance is read from the base branch)", ch.BaseRef, p))
	}
	r := &run{s: s, f: f, ch: ch, base: defs.Base, cfg: defs.Effective, head: defs.Head, since: since}
	for _, p := range defs.HeadProblems {
		ev.problems = append(ev.problems, p.String())
		r.problems = append(r.problems, p.String())
		ev.annotations = append(ev.annotations, Annotation{Path: configPath, Line: max(p.Line, 1), Level: "failure",
			Title: "Invalid " + configPath, Message: p.Message})
	}
	ev.unowned = defs.Unowned
	ev.touched = defs.Artifacts
	results := make([]*ArtifactResult, len(ev.touched))
	var wg sync.WaitGroup
	for i, a := range ev.touched {
		if only != nil && !only[a.Name] {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = r.artifact(ctx, a, defs.Touched[a.Name])
		}()
	}
	wg.Wait()
	for _, res := range results {
		if res != nil {
			ev.result.Artifacts = append(ev.result.Artifacts, res)
		}
	}
	return ev, ctx.Err()
}

// artifact evaluates one artifact through the four stages: Validate and
// Quality by its kind, Policy and Readiness here, the same for every kind.
func (r *run) artifact(ctx context.Context, a *repoconfig.Artifact, files []string) *ArtifactResult {
	// An artifact the PR adds is judged by what the PR proposes for it (its
	// evaluation thresholds, CI, driver): the author sees whether it would
	// pass. That can only make its check stricter than the definition
	// without them, and nothing of it governs a deployment (there is none
	// before merge; then the merged config is the base).
	judged, proposed := a, false
	if r.head != nil && repoconfig.IsNew(r.base, a.Name) {
		if h := r.head.Artifact(a.Name); h != nil && h.Kind == a.Kind {
			judged, proposed = h, true
		}
	}
	res := &ArtifactResult{Name: a.Name, Kind: a.Kind, Files: files, CI: judged.CI}
	var k kind.Outcome
	if kd := judged.KindOf(); kd != nil && judged.Spec != nil {
		k = kd.Evaluate(ctx, kindEnv{r}, judged.View(files))
		if proposed {
			k.Quality.Details = append(k.Quality.Details, "new in this pull request: judged by what it proposes in "+configPath+
				" (thresholds, CI, driver); none of it governs before merge")
		}
	} else {
		k = kind.Outcome{Validate: kind.Stage{Result: Fail, Summary: fmt.Sprintf("unknown kind %q; write %s", a.Kind, kind.Or(kind.Names()))},
			Quality: kind.Stage{Result: Info, Summary: "not evaluated"}}
	}
	validate, quality := kindStage(StageValidate, k.Validate), kindStage(StageQuality, k.Quality)
	if k.Retry {
		res.RetryAt, res.WaitingSince = r.retry(a.Name, &validate, &quality)
	}
	if len(r.problems) > 0 && validate.Result != Fail {
		validate = Stage{Name: StageValidate, Result: Fail, Summary: plural(len(r.problems), "problem") + " in " + configPath + " (see the conveyor check)",
			Details: r.problems}
	}
	if k.Evidence.CI == nil {
		k.Evidence.CI = map[string]string{}
	}
	policy, denied := r.policy(ctx, a, k.Evidence)
	if r.s.o.NoServerConfig {
		// Say what was not checked rather than pass it silently or fail it.
		if a.Deploy.Driver != "" {
			validate.Details = append(validate.Details, fmt.Sprintf("driver %q not checked without the server config (pass --config)", a.Deploy.Driver))
		}
		if a.Resources != (resources.Spec{}) && policy.Result != Error {
			policy.Details = append(policy.Details, "team quotas and pricing not checked without the server config (pass --config)")
		}
	}
	// Readiness promises nothing the other stages refuse: a stage still
	// waiting, or failing on more than a finding the policy's quality gates
	// judge (those the Policy stage speaks for), comes first in every
	// environment's needs.
	var first []string
	for _, st := range []Stage{validate, quality} {
		switch {
		case st.Result == Wait:
			first = append(first, "the "+st.Name+" stage to finish")
		case (st.Result == Fail || st.Result == Error) && !(st.Name == StageQuality && k.Gated):
			first = append(first, "the "+st.Name+" stage to pass")
		}
	}
	ready := r.readiness(ctx, a, first, policy, denied)
	if r.s.o.Queue != nil {
		res.RecheckAt = r.nextFreezeChange()
	}
	res.Stages = []Stage{validate, quality, policy, ready}
	res.Persona = k.Persona
	res.Selection = k.Selection
	pa := r.policyArtifact(a, k.Evidence)
	res.Evidence, res.Cost = pa.Evidence, pa.Cost
	res.Card = k.Card
	if len(res.Card.Lines) == 0 && quality.Summary != "" {
		res.Card.Lines = []string{quality.Summary}
	}
	for _, an := range k.Annotations {
		res.Annotations = append(res.Annotations, Annotation{Path: an.Path, Line: an.Line, Level: an.Level, Title: an.Title, Message: an.Message})
	}
	res.settle()
	if r.s.o.NoServerConfig && res.Conclusion == Success {
		res.Title = "Ready as far as checked without the server config"
	}
	res.Overridable = res.overridable(k.Gated)
	res.Actions = r.actions(res)
	return res
}

// retry words the stages that wait on an unreachable service (or on
// something still in progress elsewhere). On the PR they wait and the check
// is evaluated again at the time returned, for at most Options.MaxWait from
// since, the first evaluation of the artifact's check that waited (also
// returned); past it they fail, say what they waited for, and no retry is
// scheduled: a service down for an hour needs a person, and a check that
// polls for ever hides that. Without a queue (conveyor check) nothing would
// come back, so they fail at once and say to run the command again.
func (r *run) retry(artifact string, stages ...*Stage) (at, since time.Time) {
	now := r.s.o.Now()
	since = r.since[artifact]
	if since.IsZero() || since.After(now) {
		since = now
	}
	giveUp := now.Sub(since) >= r.s.o.MaxWait
	at = now.Add(r.s.o.RetryDelay)
	for _, st := range stages {
		if st.Result != Wait {
			continue
		}
		switch {
		case r.s.o.Queue == nil:
			// On a terminal the cause belongs on the line itself: the
			// first detail is the error ("registry ... unreachable: ...").
			if len(st.Details) > 0 {
				st.Summary, st.Details = st.Details[0], st.Details[1:]
			}
			st.Result, st.Summary = Error, st.Summary+"; run again"
		case giveUp:
			st.Result = Error
			st.Summary += fmt.Sprintf("; still so %s after the first try (%s UTC), so this check stopped trying: Re-run it once that is resolved",
				shortWait(now.Sub(since)), since.UTC().Format("2006-01-02 15:04"))
		default:
			st.Summary += fmt.Sprintf(", trying again at %s UTC", at.UTC().Format("15:04"))
		}
	}
	if r.s.o.Queue == nil {
		return time.Time{}, time.Time{}
	}
	if giveUp {
		return time.Time{}, since
	}
	return at, since
}

// shortWait says a wait in whole minutes or hours ("65 min", "3 h").
func shortWait(d time.Duration) string {
	if d < 2*time.Hour {
		return fmt.Sprintf("%d min", int(d.Minutes()))
	}
	return fmt.Sprintf("%d h", int(d.Hours()))
}

func kindStage(name string, s kind.Stage) Stage {
	return Stage{Name: name, Result: s.Result, Summary: s.Summary, Details: s.Details}
}

func gateRow(a *ArtifactResult) GateRow {
	return GateRow{Name: a.Name, Kind: a.Kind, Status: a.Status, Conclusion: a.Conclusion, Title: a.Title}
}

// ciResults reads the CI results once per evaluation.
func (r *run) ciResults(ctx context.Context) (map[string]CIResult, error) {
	r.ciOnce.Do(func() { r.ci, r.ciErr = r.f.CI(ctx) })
	return r.ci, r.ciErr
}

// commitList reads the change's commits once per evaluation.
func (r *run) commitList(ctx context.Context) ([]Commit, error) {
	r.commitsOnce.Do(func() { r.commits, r.commitsErr = r.f.Commits(ctx) })
	return r.commits, r.commitsErr
}

// actions renders the buttons the base config's environments allow.
func (r *run) actions(res *ArtifactResult) []Action {
	if r.base == nil || res.Conclusion == Failure || repoconfig.IsNew(r.base, res.Name) {
		return nil // a new artifact cannot be deployed before its config is merged
	}
	var out []Action
	if r.base.Environment("staging") != nil && res.Conclusion == Success {
		out = append(out, Action{Identifier: "deploy-staging", Label: "Deploy to staging", Description: "Deploy this SHA to staging"})
	}
	if r.base.Environment("production") != nil {
		out = append(out, Action{Identifier: "plan-production", Label: "Plan production", Description: "Dry run: what production needs"})
	}
	return out
}
