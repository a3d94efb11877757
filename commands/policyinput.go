package commands

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/conveyor-dev/conveyor/checks/repoconfig"
	"github.com/conveyor-dev/conveyor/policies"
)

// loadActor returns the actor's permission and the memberships that matter
// for env and arts, cached per installation.
func (s *session) loadActor(ctx context.Context, env *repoconfig.Environment, arts []*repoconfig.Artifact) (ActorFacts, error) {
	cfg := s.h.o.ServerConfig
	lists := [][]string{cfg.Policies.OverrideTeams, {cfg.Pricing.FinanceTeam}}
	for t := range cfg.Teams {
		lists = append(lists, []string{t})
	}
	if env != nil {
		lists = append(lists, env.Approvals.From)
	}
	for _, a := range arts {
		lists = append(lists, a.Owners)
	}
	if s.gov != nil {
		for _, e := range s.gov.Base.Environments {
			lists = append(lists, e.Approvals.From)
		}
	}
	return s.h.facts.actor(ctx, s.gh, s.installation, s.repo, s.actor, relevantTeams(lists...))
}

// input builds the policy input common to every action.
func (s *session) input(action string, actor ActorFacts, pr *prInfo, sha string, env *repoconfig.Environment, arts []*repoconfig.Artifact, base *repoconfig.Config) policies.Input {
	in := policies.Input{
		Action:      action,
		Actor:       policies.Actor{Login: actor.Login, Permission: actor.Permission, Teams: actor.Teams},
		Repository:  s.repo,
		Artifacts:   []policies.Artifact{},
		Deployments: map[string]policies.DeploymentFact{},
		Approvals:   []policies.Approval{},
		Usage:       map[string]map[string]policies.Usage{},
		Now:         s.h.now().UTC().Format(time.RFC3339),
	}
	if pr != nil {
		in.PullRequest = &policies.PullRequest{Number: pr.Number, Author: pr.Author, HeadSHA: sha, Base: pr.BaseRef, FromFork: pr.FromFork}
	}
	if env == nil {
		env = &repoconfig.Environment{}
	}
	in.Environment = policies.Environment{Name: env.Name, Config: env.PolicyConfig()}
	pricing := s.h.o.ServerConfig.Pricing
	for _, a := range arts {
		monthly := pricing.MonthlyUSD(a.Resources)
		delta := monthly
		if base != nil {
			if b := base.Artifact(a.Name); b != nil {
				delta = monthly - pricing.MonthlyUSD(b.Resources)
			}
		}
		in.Artifacts = append(in.Artifacts, policies.Artifact{
			Name: a.Name, Kind: a.Kind, Owners: nonNil(a.Owners),
			Resources: a.PolicyResources(),
			Cost:      policies.Cost{MonthlyUSD: monthly, DeltaUSD: delta},
			Evidence:  policies.Evidence{CI: map[string]string{}},
		})
	}
	return in
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// decide evaluates the policy; a failure to evaluate is a denial.
func (s *session) decide(ctx context.Context, in policies.Input) policies.Decision {
	if s.h.o.Policy == nil {
		return policies.Decision{Deny: []string{"no policy engine is configured, so Conveyor denies every action; ask the operators to configure one"}}
	}
	d, _, err := s.h.o.Policy.Eval(ctx, in)
	if err != nil && len(d.Deny) == 0 {
		d.Allow = false
		d.Deny = []string{fmt.Sprintf("policy evaluation failed: %v; denying", err)}
	}
	return d
}

// renderDecision lists deny and warn reasons verbatim.
func renderDecision(d policies.Decision) string {
	var b strings.Builder
	if d.Allow {
		b.WriteString("Policy: **allow**\n")
	} else {
		b.WriteString("Policy: **deny**\n")
	}
	for _, r := range d.Deny {
		fmt.Fprintf(&b, "- :no_entry: %s\n", r)
	}
	for _, w := range d.Warn {
		fmt.Fprintf(&b, "- :warning: %s\n", w)
	}
	return strings.TrimRight(b.String(), "\n")
}

func renderApprovals(ar policies.ApprovalsRequired) string {
	groups := ar.Groups
	if len(groups) == 0 && ar.Count > 0 {
		groups = []policies.ApprovalGroup{{Count: ar.Count, From: ar.From}}
	}
	if len(groups) == 0 {
		return "Approvals: none needed"
	}
	var parts []string
	for _, g := range groups {
		from := "anyone with write permission"
		if len(g.From) > 0 {
			from = strings.Join(g.From, " or ")
		}
		parts = append(parts, fmt.Sprintf("%d from %s", g.Count, from))
	}
	return "Approvals needed: " + strings.Join(parts, ", and ")
}
