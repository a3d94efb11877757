package checks

import (
	"context"
	"math"
	"slices"
	"time"

	"github.com/conveyor-dev/conveyor/checks/repoconfig"
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
// the candidate itself, and what serves there from the other repositories
// when the deployments know it (policies.Fleet).
func (r *run) usage(ctx context.Context, env, candidate string) (map[string]map[string]policies.Usage, error) {
	if r.base == nil {
		return map[string]map[string]policies.Usage{}, nil
	}
	serving, err := r.servingIn(ctx, env)
	if err != nil {
		return nil, err
	}
	var running []policies.Artifact
	for _, b := range r.base.Artifacts {
		if b.Name != candidate && serving[b.Name] != "" {
			running = append(running, policies.Artifact{Name: b.Name, Owners: b.Owners, Resources: b.PolicyResources()})
		}
	}
	others, err := r.servingElsewhere(ctx, env)
	if err != nil {
		return nil, err
	}
	return policies.TeamUsage(env, append(running, others...)), nil
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
