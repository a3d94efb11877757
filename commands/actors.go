package commands

import (
	"context"

	"github.com/conveyor-dev/conveyor/policies"
)

// ActorFacts returns login's repository permission and which of teams it is
// an active member of, through the same per-installation cache the commands
// use, so the Slack approval path asks GitHub no more often than comments do.
func (h *Handler) ActorFacts(ctx context.Context, installationID int64, repo, login string, teams []string) (policies.Actor, error) {
	gh, err := h.o.GitHub(installationID)
	if err != nil {
		return policies.Actor{}, err
	}
	f, err := h.facts.actor(ctx, gh, installationID, repo, login, teams)
	if err != nil {
		return policies.Actor{}, err
	}
	return policies.Actor{Login: f.Login, Permission: f.Permission, Teams: f.Teams}, nil
}
