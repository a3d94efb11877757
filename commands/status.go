package commands

import (
	"context"

	"github.com/conveyor-dev/conveyor/deploy"
)

// status runs /status: what runs where, the locks and the pending approvals,
// rendered by the engine's own report so /status and the engine agree.
func (s *session) status(ctx context.Context) outcome {
	if s.h.o.Deployer == nil {
		return refused("no deployment engine is configured on this Conveyor server; ask the operators")
	}
	rep, err := s.h.o.Deployer.Status(ctx, s.repo)
	if err != nil {
		return refused(s.errorText(err))
	}
	out := rep.Markdown()
	if pr, err := s.loadPR(ctx); err == nil {
		out += servingDiffs(rep, pr)
	}
	return done(out)
}

// pendingOf lists the deployments awaiting approval in a report.
func pendingOf(rep *deploy.StatusReport) []*deploy.Deployment {
	if rep == nil {
		return nil
	}
	return rep.PendingApprovals
}
