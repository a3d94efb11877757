package commands

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/conveyor-dev/conveyor/deploy"
)

// deploy runs /deploy: every precondition in order, then the policy, then
// the engine. The engine's status comment reports progress, so a started
// deployment adds nothing to the reply unless there is something to note.
func (s *session) deploy(ctx context.Context, c Command) outcome {
	return s.startLike(ctx, c, "deploy")
}

// rollback runs /rollback: the policy for action rollback, then the engine's
// Rollback, which returns each artifact to its last successful deployment
// before the current one.
func (s *session) rollback(ctx context.Context, c Command) outcome {
	return s.startLike(ctx, c, "rollback")
}

func (s *session) startLike(ctx context.Context, c Command, action string) outcome {
	p, err := s.prepare(ctx, c, action, true)
	if err != nil {
		return refused(s.errorText(err))
	}
	if len(p.unmet) > 0 {
		return refused(withGovernance(fmt.Sprintf("Not %s: %s.", verbing(action), strings.Join(p.unmet, "; ")), p.gov))
	}
	if !p.decision.Allow {
		return refused(withGovernance(fmt.Sprintf("Not %s to %s: the policy denies it.\n\n%s", verbing(action), p.env.Name, renderDecision(p.decision)), p.gov))
	}
	if s.h.o.Deployer == nil {
		return refused("no deployment engine is configured on this Conveyor server; ask the operators")
	}
	req := s.request(p, s.sourceKey(c))
	var d *deploy.Deployment
	if action == "rollback" {
		d, err = s.h.o.Deployer.Rollback(ctx, req)
	} else {
		d, err = s.h.o.Deployer.Start(ctx, req)
	}
	var locked *deploy.LockedError
	var nothing *deploy.NothingToReturnToError
	switch {
	case errors.As(err, &locked):
		return refused(lockedText(locked))
	case errors.As(err, &nothing):
		return refused("Not rolling back: " + nothing.Reason + ".")
	case err != nil:
		return refused(s.errorText(err))
	case d != nil && d.Existing:
		return done("") // a redelivered command: it was answered the first time
	}
	var notes []string
	if p.head.Fallback {
		notes = append(notes, fmt.Sprintf("Conveyor had no record of this PR's head when the comment was written, so it used the current head %s.", short(p.head.SHA)))
	}
	notes = append(notes, p.gov.Notes...)
	return done(strings.Join(notes, "\n\n"))
}

func verbing(action string) string {
	if action == "rollback" {
		return "rolling back"
	}
	return "deploying"
}

// lockedText names who holds the environment and since when.
func lockedText(l *deploy.LockedError) string {
	since := l.Since.UTC().Format(time.RFC3339)
	if l.DeploymentID != 0 {
		return fmt.Sprintf("%s is busy: deployment %d of PR #%d, asked by @%s, has not finished (since %s). Wait for it to finish, or `/cancel` it from PR #%d.",
			l.Environment, l.DeploymentID, l.HolderPR, l.HolderLogin, since, l.HolderPR)
	}
	who := ""
	if l.HolderLogin != "" {
		who = " by @" + l.HolderLogin
	}
	pr := ""
	if l.HolderPR > 0 {
		pr = fmt.Sprintf(" for PR #%d", l.HolderPR)
	}
	reason := ""
	if l.Reason != "" {
		reason = fmt.Sprintf(" (reason: %s)", l.Reason)
	}
	return fmt.Sprintf("%s is locked%s%s since %s%s. Wait until it is released, or ask them to `/unlock %s`.",
		l.Environment, who, pr, since, reason, l.Environment)
}
