package checks

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/conveyor-dev/conveyor/checks/repoconfig"
	"github.com/conveyor-dev/conveyor/internal/freezewindow"
	"github.com/conveyor-dev/conveyor/policies"
)

// policyArtifact builds the policy's view of an artifact: its resources and
// the monthly cost against the base config's.
func (r *run) policyArtifact(a *repoconfig.Artifact, ev policies.Evidence) policies.Artifact {
	p := r.s.o.Server.Pricing
	cost := p.MonthlyUSD(a.Resources)
	var baseCost float64
	if r.base != nil {
		if b := r.base.Artifact(a.Name); b != nil {
			baseCost = p.MonthlyUSD(b.Resources)
		}
	}
	if ev.CI == nil {
		ev.CI = map[string]string{}
	}
	return policies.Artifact{
		Name: a.Name, Kind: a.Kind, Owners: nonNilStrings(a.Owners),
		Resources: a.PolicyResources(),
		Cost:      policies.Cost{MonthlyUSD: cost, DeltaUSD: math.Round((cost-baseCost)*1e6) / 1e6},
		Evidence:  ev,
	}
}

// policy asks the policy about action "check" once per environment of the
// base config and shows its reasons verbatim. denied holds, by environment,
// the reasons the policy denies it, so Readiness says the same.
func (r *run) policy(ctx context.Context, a *repoconfig.Artifact, ev policies.Evidence) (st Stage, denied map[string][]string) {
	st = Stage{Name: StagePolicy}
	denied = map[string][]string{}
	if r.s.o.Policy == nil {
		st.Result, st.Summary = Info, "no policy configured"
		return st, denied
	}
	art := r.policyArtifact(a, ev)
	envs := []*repoconfig.Environment{nil}
	if r.base != nil && len(r.base.Environments) > 0 {
		envs = r.base.Environments
	}
	var deny, warn []string
	seen := map[string]bool{}
	add := func(list *[]string, msg string) {
		if !seen[msg] {
			seen[msg] = true
			*list = append(*list, msg)
		}
	}
	// The policy decides under the base's definition. When the PR's own
	// config changes what the policy reads of this artifact (owners,
	// resources), the head's definition is asked too and its denials count:
	// a config the policy would refuse after merge fails now, so editing the
	// config can make the gate stricter, never weaker.
	type variant struct {
		art    policies.Artifact
		suffix string
	}
	variants := []variant{{art: art}}
	if h := r.headDefinition(a); h != nil {
		if ha := r.policyArtifact(h, ev); !samePolicyFields(ha, art) {
			variants = append(variants, variant{art: ha, suffix: " (under this PR's " + configPath + ", after merge)"})
		}
	}
	for _, e := range envs {
		for _, v := range variants {
			deny2, warn2, fail := r.policyOnce(ctx, e, a.Name, v.art, &st)
			if fail {
				return st, denied
			}
			for _, m := range deny2 {
				add(&deny, m+v.suffix)
				if e != nil {
					denied[e.Name] = append(denied[e.Name], m+v.suffix)
				}
			}
			for _, m := range warn2 {
				add(&warn, m+v.suffix)
			}
		}
	}
	switch {
	case len(deny) > 0:
		st.Result, st.Summary = Fail, "deny: "+deny[0]
		for _, m := range deny {
			st.Details = append(st.Details, "deny: "+m)
		}
	case len(warn) > 0:
		st.Result, st.Summary = Warn, "allow, with warnings: "+warn[0]
	default:
		st.Result, st.Summary = Pass, "allow"
	}
	for _, m := range warn {
		st.Details = append(st.Details, "warn: "+m)
	}
	return st, denied
}

// policyOnce asks the policy about one definition of the artifact in one
// environment (nil: none configured). fail is set when st was set to an
// error the caller must return.
func (r *run) policyOnce(ctx context.Context, e *repoconfig.Environment, name string, art policies.Artifact, st *Stage) (deny, warn []string, fail bool) {
	in := policies.Input{Action: "check", Actor: policies.Actor{Login: r.ch.Author, Teams: []string{}},
		Repository:  r.ch.Repository,
		PullRequest: &policies.PullRequest{Number: r.ch.Number, Author: r.ch.Author, HeadSHA: r.ch.HeadSHA, Base: r.ch.BaseRef},
		Artifacts:   []policies.Artifact{art}, Deployments: map[string]policies.DeploymentFact{},
		Approvals: []policies.Approval{}, Now: r.s.o.Now().UTC().Format(time.RFC3339)}
	if e != nil {
		in.Environment = policies.Environment{Name: e.Name, Config: e.PolicyConfig()}
		usage, err := r.usage(ctx, e.Name, name)
		if err != nil {
			st.Result, st.Summary, st.Details = Error, "what runs in "+e.Name+" could not be read; retry with Re-run", []string{err.Error()}
			return nil, nil, true
		}
		in.Usage = usage
	}
	d, _, err := r.s.o.Policy.Eval(ctx, in)
	if err != nil {
		st.Result, st.Summary, st.Details = Error, "the policy could not be evaluated; retry with Re-run", []string{err.Error()}
		return nil, nil, true
	}
	return d.Deny, d.Warn, false
}

// headDefinition is the PR head's own definition of an artifact the base
// defines, when the PR edits the config; nil otherwise.
func (r *run) headDefinition(a *repoconfig.Artifact) *repoconfig.Artifact {
	if r.head == nil || r.base == nil || r.base.Artifact(a.Name) == nil {
		return nil
	}
	return r.head.Artifact(a.Name)
}

// samePolicyFields reports whether two definitions give the policy the same
// governing facts (evidence aside: it is the same for both).
func samePolicyFields(a, b policies.Artifact) bool {
	return slices.Equal(a.Owners, b.Owners) && a.Resources == b.Resources && a.Cost == b.Cost
}

// usage is what runs in env now, per owning team, for the quota rules: every
// artifact of the base config that last deployed successfully there, except
// the candidate itself.
func (r *run) usage(ctx context.Context, env, candidate string) (map[string]map[string]policies.Usage, error) {
	if r.base == nil {
		return map[string]map[string]policies.Usage{}, nil
	}
	serving, err := r.f.Serving(ctx, env)
	if err != nil {
		return nil, err
	}
	var running []policies.Artifact
	for _, b := range r.base.Artifacts {
		if b.Name != candidate && serving[b.Name] != "" {
			running = append(running, policies.Artifact{Name: b.Name, Owners: b.Owners, Resources: b.PolicyResources()})
		}
	}
	return policies.TeamUsage(env, running), nil
}

// readiness says, for each environment of the base config, whether the
// artifact may go there now or what it still needs. It agrees with the
// Policy stage of the same evaluation (policy): an environment the policy
// denies is never "may deploy now", and when the policy could not be asked
// nothing is promised. first are needs every environment has before all
// else (the Validate or Quality stage to pass). It is evaluated again when a
// deployment, an approval or a lock changes what it says (Suite.Refresh).
func (r *run) readiness(ctx context.Context, a *repoconfig.Artifact, first []string, policy Stage, denied map[string][]string) Stage {
	st := Stage{Name: StageReadiness, Result: Info}
	if r.base == nil || len(r.base.Environments) == 0 {
		st.Summary = "no environments configured on the base branch"
		return st
	}
	if repoconfig.IsNew(r.base, a.Name) {
		st.Summary = "new in this pull request: not deployable until the " + configPath + " that defines it is merged"
		return st
	}
	if a.Deploy.Driver == "" {
		st.Summary = "not deployable: add deploy: {driver: ...} to it"
		return st
	}
	if policy.Result == Error {
		st.Summary = "not known while the policy cannot be evaluated (see the Policy stage)"
		return st
	}
	var now, serving, later []string
	for _, e := range r.base.Environments {
		here, err := r.f.Serving(ctx, e.Name)
		if err == nil && here[a.Name] == r.ch.HeadSHA && r.ch.HeadSHA != "" {
			serving = append(serving, e.Name)
			st.Details = append(st.Details, e.Name+": serves "+short(r.ch.HeadSHA)+" (this head) now")
			continue
		}
		needs := append([]string(nil), first...)
		for _, reason := range denied[e.Name] {
			needs = append(needs, "the policy to allow it (deny: "+reason+")")
		}
		for _, req := range e.Requires {
			serving, err := r.f.Serving(ctx, req)
			if err != nil {
				needs = append(needs, fmt.Sprintf("%s first (its deployments could not be read)", req))
				continue
			}
			if serving[a.Name] != r.ch.HeadSHA {
				needs = append(needs, fmt.Sprintf("%s first at %s", req, short(r.ch.HeadSHA)))
			}
		}
		waiting, held := r.waiting(ctx, e.Name)
		switch ap := e.Approvals; {
		case waiting != "":
			needs = append(needs, waiting)
		case ap.Count > 0:
			from := ""
			if len(ap.From) > 0 {
				from = " from " + strings.Join(ap.From, " or ")
			}
			needs = append(needs, plural(ap.Count, "approval")+from)
		}
		if held != "" {
			needs = append(needs, held)
		}
		for _, f := range e.Freeze {
			if w, err := freezewindow.Parse(f); err == nil && w.Contains(r.s.o.Now()) {
				needs = append(needs, "the end of the freeze "+f)
			}
		}
		if len(needs) == 0 {
			now = append(now, e.Name)
		} else {
			later = append(later, e.Name+" needs "+strings.Join(needs, ", "))
		}
		st.Details = append(st.Details, readinessLine(e.Name, needs))
	}
	var parts []string
	if len(serving) > 0 {
		parts = append(parts, "serving in "+strings.Join(serving, ", "))
	}
	if len(now) > 0 {
		parts = append(parts, "may go to "+strings.Join(now, ", ")+" now")
	}
	parts = append(parts, later...)
	st.Summary = strings.Join(parts, "; ")
	return st
}

// waiter is implemented by Deployments that know what holds an environment
// for a pull request besides the config (*deploy.Engine): approvals a
// deployment of the head waits for, and a lock or another deployment.
type waiter interface {
	Waiting(ctx context.Context, repo string, pr int, sha, env string) (approvals, held string, err error)
}

// waiting asks the promotion engine what holds env for this head, when it
// can tell ("" for each otherwise, as for a local checkout).
func (r *run) waiting(ctx context.Context, env string) (approvals, held string) {
	w, ok := r.s.o.Deployments.(waiter)
	if !ok || r.ch.Number == 0 {
		return "", ""
	}
	approvals, held, err := w.Waiting(ctx, r.ch.Repository, r.ch.Number, r.ch.HeadSHA, env)
	if err != nil {
		return "", "its deployments and locks to be readable (" + err.Error() + ")"
	}
	return approvals, held
}

// nextFreezeChange is the first moment a freeze window of the base
// config's environments begins or ends (zero when none is configured).
func (r *run) nextFreezeChange() time.Time {
	if r.base == nil {
		return time.Time{}
	}
	now := r.s.o.Now()
	var next time.Time
	for _, e := range r.base.Environments {
		for _, f := range e.Freeze {
			w, err := freezewindow.Parse(f)
			if err != nil {
				continue
			}
			if at := w.NextChange(now); !at.IsZero() && (next.IsZero() || at.Before(next)) {
				next = at
			}
		}
	}
	return next
}

func readinessLine(env string, needs []string) string {
	if len(needs) == 0 {
		return env + ": may deploy now"
	}
	return env + ": needs " + strings.Join(needs, ", ")
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
