package bot

import (
	"context"
	"fmt"

	"github.com/google/go-github/v66/github"

	"github.com/conveyor-dev/conveyor/internal/store"
)

// InstallationHandler records installations and their repositories.
type InstallationHandler struct {
	Store *store.Store
}

// Handles names the installation events.
func (h *InstallationHandler) Handles() []string {
	return []string{"installation", "installation_repositories"}
}

// Handle stores what the event says.
func (h *InstallationHandler) Handle(ctx context.Context, eventType, deliveryID string, payload []byte) error {
	ev, err := github.ParseWebHook(eventType, payload)
	if err != nil {
		return fmt.Errorf("parse %s: %w", eventType, err)
	}
	switch e := ev.(type) {
	case *github.InstallationEvent:
		in := e.GetInstallation()
		switch e.GetAction() {
		case "deleted":
			return h.Store.DeleteInstallation(ctx, in.GetID())
		case "suspend", "unsuspend":
			return h.Store.UpsertInstallation(ctx, in.GetID(), in.GetAccount().GetLogin(), e.GetAction() == "suspend", nil)
		default:
			var repos []string
			if e.Repositories != nil {
				repos = []string{}
				for _, r := range e.Repositories {
					repos = append(repos, r.GetFullName())
				}
			}
			return h.Store.UpsertInstallation(ctx, in.GetID(), in.GetAccount().GetLogin(), false, repos)
		}
	case *github.InstallationRepositoriesEvent:
		in := e.GetInstallation()
		var added, removed []string
		for _, r := range e.RepositoriesAdded {
			added = append(added, r.GetFullName())
		}
		for _, r := range e.RepositoriesRemoved {
			removed = append(removed, r.GetFullName())
		}
		if err := h.Store.UpsertInstallation(ctx, in.GetID(), in.GetAccount().GetLogin(), false, nil); err != nil {
			return err
		}
		return h.Store.ChangeInstallationRepositories(ctx, in.GetID(), added, removed)
	}
	return nil
}
