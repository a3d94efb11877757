package commands

import (
	"context"
	"errors"
	"fmt"

	"github.com/conveyor-dev/conveyor/deploy"
)

// lock runs /lock: the policy for action lock, then the engine's lock.
func (s *session) lock(ctx context.Context, c Command) outcome {
	if out, ok := s.mayLock(ctx, c.Env, "Not locking"); !ok {
		return out
	}
	err := s.h.o.Deployer.Lock(ctx, s.repo, c.Env, s.pr, s.actor, c.Reason)
	var locked *deploy.LockedError
	switch {
	case errors.As(err, &locked):
		return refused(lockedText(locked))
	case err != nil:
		return refused(s.errorText(err))
	}
	s.refreshReadiness(ctx)
	return done(fmt.Sprintf("%s is locked by @%s for PR #%d; nothing else deploys there until `/unlock %s`.", c.Env, s.actor, s.pr, c.Env))
}

// unlock runs /unlock, which needs the same permission as /lock.
func (s *session) unlock(ctx context.Context, c Command) outcome {
	if out, ok := s.mayLock(ctx, c.Env, "Not unlocking"); !ok {
		return out
	}
	if err := s.h.o.Deployer.Unlock(ctx, s.repo, c.Env, s.actor); err != nil {
		return refused(s.errorText(err))
	}
	s.refreshReadiness(ctx)
	return done(fmt.Sprintf("%s is unlocked.", c.Env))
}

// refresher is a Gate that evaluates a repository's open pull requests
// again (*checks.Suite), so their Readiness stage shows a lock taken or
// released.
type refresher interface {
	RefreshRepo(ctx context.Context, repo string) error
}

// refreshReadiness asks for that evaluation; a failure is logged, the lock
// itself stands.
func (s *session) refreshReadiness(ctx context.Context) {
	r, ok := s.h.o.Gate.(refresher)
	if !ok {
		return
	}
	if err := r.RefreshRepo(ctx, s.repo); err != nil {
		s.h.log.Warn("re-evaluate readiness after a lock change", "repo", s.repo, "err", err)
	}
}

func (s *session) mayLock(ctx context.Context, envName, verb string) (outcome, bool) {
	if s.h.o.Deployer == nil {
		return refused("no deployment engine is configured on this Conveyor server; ask the operators"), false
	}
	g, err := s.governance(ctx)
	if err != nil {
		return refused(s.errorText(err)), false
	}
	env := g.Base.Environment(envName)
	actor, err := s.loadActor(ctx, env, nil)
	if err != nil {
		return refused(s.errorText(err)), false
	}
	hc, _ := s.head(ctx)
	dec := s.decide(ctx, s.input("lock", actor, s.prInfo, hc.SHA, env, nil, g.Base))
	if !dec.Allow {
		return refused(fmt.Sprintf("%s %s.\n\n%s", verb, envName, renderDecision(dec))), false
	}
	return outcome{}, true
}
