package slackapproval

import (
	"context"
	"fmt"
	"strconv"

	"github.com/slack-go/slack"
)

// OpenRejectModal opens the modal that asks why deployment deploymentID is
// rejected; its submission comes back as a view_submission with callback_id
// conveyor_reject and the deployment id in private_metadata.
func OpenRejectModal(ctx context.Context, api *slack.Client, triggerID string, deploymentID int64) error {
	input := slack.NewPlainTextInputBlockElement(plain("What must change before this deploys?"), ReasonAction).
		WithMultiline(true).WithMinLength(1).WithMaxLength(500)
	view := slack.ModalViewRequest{
		Type:            slack.VTModal,
		CallbackID:      CallbackReject,
		PrivateMetadata: strconv.FormatInt(deploymentID, 10),
		Title:           plain("Reject deployment"),
		Submit:          plain("Reject"),
		Close:           plain("Cancel"),
		Blocks: slack.Blocks{BlockSet: []slack.Block{
			section(fmt.Sprintf("You are rejecting Conveyor deployment %d. The reason is shown in Slack and on the PR.", deploymentID)),
			slack.NewInputBlock(ReasonBlock, plain("Reason"), nil, input),
		}},
	}
	if _, err := api.OpenViewContext(ctx, triggerID, view); err != nil {
		return fmt.Errorf("open the reject modal for deployment %d: %w", deploymentID, err)
	}
	return nil
}

// OpenModal opens the reject modal for a Reject click (bot/slack.go's
// SlackInteractions.OpenModal).
func (s *Service) OpenModal(ctx context.Context, triggerID string, a InteractionArgs) error {
	id, err := a.DeploymentID()
	if err != nil {
		return err
	}
	return OpenRejectModal(ctx, s.o.Slack, triggerID, id)
}

// Enqueue stores the interaction as a durable job (bot/slack.go's
// SlackInteractions.Enqueue).
func (s *Service) Enqueue(ctx context.Context, a InteractionArgs) error {
	if _, err := s.o.Queue.Insert(ctx, a, nil); err != nil {
		return fmt.Errorf("enqueue slack interaction: %w", err)
	}
	return nil
}
