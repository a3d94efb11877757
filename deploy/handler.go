package deploy

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/go-github/v66/github"

	"github.com/conveyor-dev/conveyor/deploy/driver"
	"github.com/conveyor-dev/conveyor/internal/retry"
)

// Handler is the engine's webhook handler (bot.Handler): a closed or merged
// pull request releases its locks and pending deployments, a push voids
// approvals for older SHAs, and a completed workflow run wakes the
// github-workflow drivers following it.
type Handler struct{ e *Engine }

// Handler returns the engine's webhook handler, to register with the bot's router.
func (e *Engine) Handler() *Handler { return &Handler{e: e} }

// Handles names the events the handler takes.
func (h *Handler) Handles() []string {
	return []string{"pull_request.closed", "pull_request.synchronize", "workflow_run.completed"}
}

// Handle acts on one delivery. It is idempotent: a redelivery finds nothing
// left to release, void or wake.
func (h *Handler) Handle(ctx context.Context, eventType, deliveryID string, payload []byte) error {
	switch eventType {
	case "pull_request":
		var ev github.PullRequestEvent
		if err := json.Unmarshal(payload, &ev); err != nil {
			return retry.Permanent(fmt.Errorf("pull_request delivery %s: %w", deliveryID, err))
		}
		return h.onPullRequest(ctx, deliveryID, &ev)
	case "workflow_run":
		var ev github.WorkflowRunEvent
		if err := json.Unmarshal(payload, &ev); err != nil {
			return retry.Permanent(fmt.Errorf("workflow_run delivery %s: %w", deliveryID, err))
		}
		onWorkflowRun(&ev)
	}
	return nil
}

// HandleDecoded is Handle for an event the router already decoded.
func (h *Handler) HandleDecoded(ctx context.Context, eventType, deliveryID string, event any, payload []byte) error {
	switch ev := event.(type) {
	case *github.PullRequestEvent:
		return h.onPullRequest(ctx, deliveryID, ev)
	case *github.WorkflowRunEvent:
		onWorkflowRun(ev)
		return nil
	}
	return h.Handle(ctx, eventType, deliveryID, payload)
}

func (h *Handler) onPullRequest(ctx context.Context, deliveryID string, ev *github.PullRequestEvent) error {
	repo, pr := ev.GetRepo().GetFullName(), ev.GetPullRequest().GetNumber()
	if repo == "" || pr == 0 {
		return retry.Permanent(fmt.Errorf("pull_request delivery %s: no repository or pull request number in the payload", deliveryID))
	}
	switch ev.GetAction() {
	case "closed":
		return h.e.ReleasePR(ctx, repo, pr)
	case "synchronize":
		_, err := h.e.VoidApprovals(ctx, repo, pr, ev.GetPullRequest().GetHead().GetSHA())
		return err
	}
	return nil
}

func onWorkflowRun(ev *github.WorkflowRunEvent) {
	if ev.GetAction() == "completed" {
		driver.Notify(ev.GetRepo().GetFullName(), ev.GetWorkflowRun().GetID())
	}
}
