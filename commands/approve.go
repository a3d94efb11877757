package commands

import (
	"context"
	"fmt"
	"strings"

	"github.com/conveyor-dev/conveyor/checks/repoconfig"
	"github.com/conveyor-dev/conveyor/deploy"
	"github.com/conveyor-dev/conveyor/policies"
)

// awaiting finds this PR's deployment awaiting approval, of env when given,
// or the only one.
func (s *session) awaiting(ctx context.Context, env string) (*deploy.Deployment, error) {
	if s.h.o.Deployer == nil {
		return nil, userErr("no deployment engine is configured on this Conveyor server; ask the operators")
	}
	rep, err := s.h.o.Deployer.Status(ctx, s.repo)
	if err != nil {
		return nil, fmt.Errorf("read pending deployments: %w", err)
	}
	var mine []*deploy.Deployment
	for _, d := range pendingOf(rep) {
		if d.PR == s.pr && (env == "" || d.Environment == env) {
			mine = append(mine, d)
		}
	}
	switch {
	case len(mine) == 1:
		return mine[0], nil
	case len(mine) == 0 && env != "":
		return nil, userErr("no deployment of this PR to %s awaits approval; /deploy %s first", env, env)
	case len(mine) == 0:
		return nil, userErr("no deployment of this PR awaits approval")
	}
	var envs []string
	for _, d := range mine {
		envs = append(envs, d.Environment)
	}
	return nil, userErr("deployments to %s await approval; name one, like /approve %s", strings.Join(envs, " and "), envs[0])
}

// approvalDecision asks the policy whether the actor may approve (or reject) d.
func (s *session) approvalDecision(ctx context.Context, d *deploy.Deployment) (policies.Decision, string, error) {
	pr, err := s.loadPR(ctx)
	if err != nil {
		return policies.Decision{}, "", err
	}
	hc, err := s.head(ctx)
	if err != nil {
		return policies.Decision{}, "", err
	}
	g, err := s.governance(ctx)
	if err != nil {
		return policies.Decision{}, "", err
	}
	env := g.Base.Environment(d.Environment)
	if env == nil {
		env = &repoconfig.Environment{Name: d.Environment}
	}
	var arts []*repoconfig.Artifact
	for _, a := range d.Artifacts {
		if def := g.Defs.Artifact(a.Name); def != nil {
			arts = append(arts, def)
		}
	}
	actor, err := s.loadActor(ctx, env, arts)
	if err != nil {
		return policies.Decision{}, "", err
	}
	in := s.input("approve", actor, pr, d.SHA, env, arts, g.Base)
	in.Requester = d.Requester
	for _, a := range d.Approvals {
		in.Approvals = append(in.Approvals, policies.Approval{Login: a.Login, Via: a.Via, SHA: a.SHA})
	}
	s.actorFacts = &actor
	return s.decide(ctx, in), hc.SHA, nil
}

// approve runs /approve: the policy for action approve with the actor as the
// approver, then the engine, which binds the approval to the SHA the
// approver saw.
func (s *session) approve(ctx context.Context, c Command) outcome {
	d, err := s.awaiting(ctx, c.Env)
	if err != nil {
		return refused(s.errorText(err))
	}
	dec, sha, err := s.approvalDecision(ctx, d)
	if err != nil {
		return refused(s.errorText(err))
	}
	if !dec.Allow {
		return refused(fmt.Sprintf("Approval refused.\n\n%s", renderDecision(dec)))
	}
	a := deploy.Approval{Login: s.actor, Via: "github", SHA: sha, At: s.h.now(), Teams: s.actorFacts.Teams}
	if _, err := s.h.o.Deployer.Approve(ctx, d.ID, a); err != nil {
		return refused(fmt.Sprintf("Approval refused: %v.", err))
	}
	return done("")
}

// reject runs /reject: who may approve may reject.
func (s *session) reject(ctx context.Context, c Command) outcome {
	d, err := s.awaiting(ctx, c.Env)
	if err != nil {
		return refused(s.errorText(err))
	}
	dec, _, err := s.approvalDecision(ctx, d)
	if err != nil {
		return refused(s.errorText(err))
	}
	if !dec.Allow {
		return refused(fmt.Sprintf("Rejection refused.\n\n%s", renderDecision(dec)))
	}
	if _, err := s.h.o.Deployer.Reject(ctx, d.ID, s.actor, "github", c.Reason); err != nil {
		return refused(fmt.Sprintf("Rejection failed: %v.", err))
	}
	return done("")
}

// cancel runs /cancel. Stopping a rollout rolls back what ran, so the policy
// is asked as for a rollback.
func (s *session) cancel(ctx context.Context) outcome {
	if s.h.o.Deployer == nil {
		return refused("no deployment engine is configured on this Conveyor server; ask the operators")
	}
	pr, err := s.loadPR(ctx)
	if err != nil {
		return refused(s.errorText(err))
	}
	actor, err := s.loadActor(ctx, nil, nil)
	if err != nil {
		return refused(s.errorText(err))
	}
	dec := s.decide(ctx, s.input("rollback", actor, pr, pr.CurrentHead, nil, nil, nil))
	if !dec.Allow {
		return refused(fmt.Sprintf("Not cancelling.\n\n%s", renderDecision(dec)))
	}
	ds, err := s.h.o.Deployer.Cancel(ctx, s.repo, s.pr, s.actor)
	if err != nil {
		return refused(s.errorText(err))
	}
	if len(ds) == 0 {
		return refused("nothing of this PR is pending or running, so there is nothing to cancel")
	}
	var lines []string
	for _, d := range ds {
		lines = append(lines, fmt.Sprintf("- %s at `%s`: %s", d.Environment, short(d.SHA), d.State))
	}
	return done("Cancelled:\n" + strings.Join(lines, "\n"))
}
