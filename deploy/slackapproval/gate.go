package slackapproval

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/conveyor-dev/conveyor/deploy"
	"github.com/conveyor-dev/conveyor/internal/store"
	"github.com/conveyor-dev/conveyor/policies"
)

// Gate is the approval path Slack's buttons and the dashboard's Approve and
// Reject share: it refuses what is no longer awaiting approval and a second
// approval by one login, asks the policy whether the person may approve
// (who may, no self-approval), and records the answer with the engine, which
// binds an approval to the SHA the person saw and starts the rollout on
// quorum. It holds no rule of its own beyond those two refusals.
type Gate struct {
	Approvals Approvals
	Policy    policies.Decider
	Actors    Actors
	Author    PRAuthor
	Now       func() time.Time
}

// Act is one person's answer to a deployment awaiting approval.
type Act struct {
	DeploymentID int64
	Login        string // the GitHub login of who acted
	Via          string // "slack" or "web"
	Reject       bool
	Reason       string // why, for a rejection
	// SHA is the commit the person saw; "" means the deployment's own (the
	// Slack message names it). A different one is refused by the engine.
	SHA string
}

// Outcome is what an Act came to.
type Outcome struct {
	Done       bool               // recorded
	Text       string             // what happened, in words for who acted
	Deployment *deploy.Deployment // the deployment after the act (nil if it does not exist)
}

// Gate returns the approval path of this Service's engine and policy.
func (s *Service) Gate() *Gate {
	return &Gate{Approvals: s.o.Approvals, Policy: s.o.Policy, Actors: s.o.Actors, Author: s.o.Author, Now: s.o.Now}
}

// Act approves or rejects as a says. An error is returned only when the
// deployment could not be read (retry); every refusal is an Outcome whose
// Text says why.
func (g *Gate) Act(ctx context.Context, a Act) (Outcome, error) {
	d, err := g.Approvals.Get(ctx, a.DeploymentID)
	if errors.Is(err, store.ErrNotFound) {
		return Outcome{Text: fmt.Sprintf("Conveyor deployment %d no longer exists.", a.DeploymentID)}, nil
	}
	if err != nil {
		return Outcome{}, err
	}
	out := Outcome{Deployment: d}
	verb, noun := "approve", "Approval"
	if a.Reject {
		verb, noun = "reject", "Rejection"
	}
	if d.State != deploy.StateAwaitingApproval {
		out.Text = fmt.Sprintf("Deployment %d to %s is %s, so there is nothing to %s.", d.ID, d.Environment, d.State, verb)
		return out, nil
	}
	if !a.Reject && slices.ContainsFunc(d.Approvals, func(x deploy.Approval) bool { return strings.EqualFold(x.Login, a.Login) }) {
		out.Text = fmt.Sprintf("You already approved deploying `%s` to %s as @%s; it counts once.", short(d.SHA), d.Environment, a.Login)
		return out, nil
	}
	dec, actor, err := g.decide(ctx, d, a.Login)
	if err != nil {
		out.Text = fmt.Sprintf("%s not recorded: Conveyor could not ask the policy (%v). Try again in a minute.", noun, err)
		return out, nil
	}
	if !dec.Allow {
		reasons := dec.Deny
		if len(reasons) == 0 {
			reasons = []string{"the policy did not allow it"}
		}
		out.Text = fmt.Sprintf("%s refused:\n• %s", noun, strings.Join(reasons, "\n• "))
		return out, nil
	}
	if a.Reject {
		nd, err := g.Approvals.Reject(ctx, d.ID, a.Login, a.Via, a.Reason)
		if err != nil {
			out.Text = fmt.Sprintf("Rejection not recorded: %v.", err)
			return out, nil
		}
		return Outcome{Done: true, Deployment: nd, Text: fmt.Sprintf("You rejected deploying `%s` to %s.", short(d.SHA), d.Environment)}, nil
	}
	sha := a.SHA
	if sha == "" {
		sha = d.SHA
	}
	nd, err := g.Approvals.Approve(ctx, d.ID, deploy.Approval{Login: a.Login, Via: a.Via, SHA: sha, At: g.now(), Teams: actor.Teams})
	if err != nil {
		out.Text = fmt.Sprintf("Approval not recorded: %v.", err)
		return out, nil
	}
	return Outcome{Done: true, Deployment: nd, Text: fmt.Sprintf("You approved deploying `%s` to %s (%d/%d).",
		short(d.SHA), d.Environment, nd.Quorum.Counted(nd.Approvals), nd.Quorum.Needed())}, nil
}

func (g *Gate) now() time.Time {
	if g.Now != nil {
		return g.Now()
	}
	return time.Now()
}
