package slackapproval

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"github.com/slack-go/slack"

	"github.com/conveyor-dev/conveyor/deploy"
	"github.com/conveyor-dev/conveyor/internal/store"
	"github.com/conveyor-dev/conveyor/policies"
)

// UnknownUserText is the reply to a Slack user Conveyor cannot map to a
// GitHub login.
const UnknownUserText = "I don't know your GitHub login; ask an admin to add you to slack.users in the Conveyor server config."

type interactionWorker struct {
	river.WorkerDefaults[InteractionArgs]
	s *Service
}

// NextRetry backs off after a transient failure (Slack users.info).
func (w *interactionWorker) NextRetry(job *river.Job[InteractionArgs]) time.Time {
	return time.Now().Add(w.s.o.Backoff(job.Attempt))
}

// Work acts on one click or modal submission: who is it, may they, then the
// engine. Every refusal is answered with an ephemeral message that says why;
// the approval message itself is updated by the notifier.
func (w *interactionWorker) Work(ctx context.Context, job *river.Job[InteractionArgs]) error {
	s, a := w.s, job.Args
	id, err := a.DeploymentID()
	if err != nil {
		return river.JobCancel(err)
	}
	unlock, err := s.lock(ctx, id)
	if err != nil {
		return err // retried: the lock could not be taken now
	}
	defer unlock()
	d, err := s.o.Approvals.Get(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		s.reply(ctx, a, nil, fmt.Sprintf("Conveyor deployment %d no longer exists.", id))
		return nil
	}
	if err != nil {
		return err
	}
	login, err := s.login(ctx, a.UserID)
	if err != nil {
		if transient(err) {
			return err
		}
		s.reply(ctx, a, d, fmt.Sprintf("Conveyor could not look up your Slack profile (%v); try again, or ask an admin to add you to slack.users.", err))
		return nil
	}
	if login == "" {
		s.reply(ctx, a, d, UnknownUserText)
		return nil
	}
	out, err := s.Gate().Act(ctx, Act{DeploymentID: id, Login: login, Via: "slack",
		Reject: a.Type == string(slack.InteractionTypeViewSubmission), Reason: a.Reason})
	if err != nil {
		return err
	}
	if out.Deployment != nil {
		d = out.Deployment
	}
	s.reply(ctx, a, d, out.Text)
	return nil
}

// decide asks the policy whether login may approve (or reject) d. The
// environment's approval rules come from the deployment's quorum, which the
// policy set from the default branch when the deployment was asked for.
func (g *Gate) decide(ctx context.Context, d *deploy.Deployment, login string) (policies.Decision, policies.Actor, error) {
	if g.Policy == nil || g.Actors == nil || g.Author == nil {
		return policies.Decision{}, policies.Actor{}, errors.New("the Slack approvals are not wired to a policy, actor facts and PR author lookup; ask the operators")
	}
	var teams []string
	for _, g := range d.Quorum.Groups {
		for _, f := range g.From {
			if strings.Contains(f, "/") && !slices.Contains(teams, strings.TrimPrefix(f, "@")) {
				teams = append(teams, strings.TrimPrefix(f, "@"))
			}
		}
	}
	actor, err := g.Actors.ActorFacts(ctx, d.InstallationID, d.Repository, login, teams)
	if err != nil {
		return policies.Decision{}, policies.Actor{}, fmt.Errorf("look up @%s on GitHub: %w", login, err)
	}
	author, err := g.Author(ctx, d.InstallationID, d.Repository, d.PR)
	if err != nil {
		return policies.Decision{}, policies.Actor{}, fmt.Errorf("look up who opened PR #%d: %w", d.PR, err)
	}
	from := make([]string, 0, len(teams))
	for _, t := range teams {
		from = append(from, "@"+t)
	}
	in := policies.Input{
		Action:      "approve",
		Actor:       actor,
		Repository:  d.Repository,
		PullRequest: &policies.PullRequest{Number: d.PR, Author: author, HeadSHA: d.SHA},
		Environment: policies.Environment{Name: d.Environment, Config: policies.EnvironmentConfig{
			Approvals: policies.ApprovalConfig{Count: d.Quorum.Needed(), From: from},
		}},
		Artifacts:   []policies.Artifact{},
		Deployments: map[string]policies.DeploymentFact{},
		Approvals:   []policies.Approval{},
		Requester:   d.Requester,
		Usage:       map[string]map[string]policies.Usage{},
		Now:         g.now().UTC().Format(time.RFC3339),
	}
	for _, a := range d.Artifacts {
		in.Artifacts = append(in.Artifacts, policies.Artifact{Name: a.Name, Kind: a.Kind, Owners: []string{}})
	}
	for _, a := range d.Approvals {
		in.Approvals = append(in.Approvals, policies.Approval{Login: a.Login, Via: a.Via, SHA: a.SHA})
	}
	dec, _, err := g.Policy.Eval(ctx, in)
	return dec, actor, err
}

// login maps a Slack user to a GitHub login: slack.users first, then the
// user's e-mail through slack.emails. "" means unknown.
func (s *Service) login(ctx context.Context, userID string) (string, error) {
	if l := s.o.Config.Slack.Users[userID]; l != "" {
		return l, nil
	}
	if len(s.o.Config.Slack.Emails) == 0 {
		return "", nil
	}
	u, err := s.o.Slack.GetUserInfoContext(ctx, userID)
	var resp slack.SlackErrorResponse
	if errors.As(err, &resp) && resp.Err == "user_not_found" {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("users.info: %w", err)
	}
	email := strings.ToLower(strings.TrimSpace(u.Profile.Email))
	if email == "" {
		return "", nil
	}
	for e, l := range s.o.Config.Slack.Emails {
		if strings.ToLower(e) == email {
			return l, nil
		}
	}
	return "", nil
}

// reply sends an ephemeral message to the user who acted, in the channel of
// the click or, for a modal, of the deployment's message. Failures are
// logged: the action itself is done.
func (s *Service) reply(ctx context.Context, a InteractionArgs, d *deploy.Deployment, text string) {
	channel := a.Channel
	if channel == "" && d != nil {
		channel = d.SlackChannel
	}
	if channel == "" {
		s.o.Log.Warn("no channel for an ephemeral reply", "user", a.UserID)
		return
	}
	if _, err := s.o.Slack.PostEphemeralContext(ctx, channel, a.UserID, slack.MsgOptionText(text, false)); err != nil {
		s.o.Log.Warn("ephemeral reply", "user", a.UserID, "err", err)
	}
}
