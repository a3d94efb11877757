package slackapproval

import (
	"context"
	"errors"

	"github.com/slack-go/slack"
)

// Endpoint decides what a verified interaction means for approvals: a
// Reject click opens the reason modal at once, anything else of ours is
// stored as a durable job, and other apps' interactions are ignored. It
// implements bot.SlackHandler (by shape: this package does not import bot).
type Endpoint struct {
	Enqueue   func(ctx context.Context, a InteractionArgs) error
	OpenModal func(ctx context.Context, triggerID string, a InteractionArgs) error
}

// Endpoint is the service's handler for the Slack interaction endpoint.
func (s *Service) Endpoint() Endpoint { return Endpoint{Enqueue: s.Enqueue, OpenModal: s.OpenModal} }

// HandleInteraction returns "enqueued", "modal" or "ignored"; on error
// "malformed" (the interaction is ours but unusable), "modal" (the dialog
// did not open) or "failed" (not stored).
func (e Endpoint) HandleInteraction(ctx context.Context, cb *slack.InteractionCallback) (string, error) {
	args, err := FromCallback(cb)
	switch {
	case errors.Is(err, ErrNotOurs):
		return "ignored", nil
	case err != nil:
		return "malformed", err
	}
	if args.IsRejectClick() {
		if err := e.OpenModal(ctx, cb.TriggerID, args); err != nil {
			return "modal", err
		}
		return "modal", nil
	}
	if err := e.Enqueue(ctx, args); err != nil {
		return "failed", err
	}
	return "enqueued", nil
}
