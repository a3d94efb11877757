package deploy

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/google/go-github/v66/github"

	"github.com/conveyor-dev/conveyor/internal/store"
)

// gitHub returns the client for d's installation, or nil when the engine
// runs without GitHub or the client cannot be made (logged).
func (e *Engine) gitHub(d *Deployment) (*github.Client, string, string) {
	owner, name, _ := strings.Cut(d.Repository, "/")
	if e.o.GitHub == nil {
		return nil, owner, name
	}
	gh, err := e.o.GitHub(d.InstallationID)
	if err != nil {
		e.o.Log.Warn("github client", "installation", d.InstallationID, "err", err)
		return nil, owner, name
	}
	return gh, owner, name
}

// createGitHubDeployments creates the GitHub Deployment of each artifact of
// deployment id that has none yet, with its first status. Conveyor checks
// its own gate, so required_contexts is empty.
func (e *Engine) createGitHubDeployments(ctx context.Context, id int64) {
	unlock, err := e.writers.Lock(ctx, id) // the starter and the first step job may both try, in any replica
	if err != nil {
		e.o.Log.Warn("create github deployments", "deployment", id, "err", err)
		return
	}
	defer unlock()
	d, err := e.Get(ctx, id)
	if err != nil {
		return
	}
	gh, owner, name := e.gitHub(d)
	if gh == nil {
		return
	}
	state, desc := "queued", "waiting to run"
	if d.State == StateAwaitingApproval {
		state, desc = "pending", "awaiting approval"
	}
	for _, a := range d.Artifacts {
		if a.GitHubDeploymentID != 0 {
			continue
		}
		summary := a.Summary
		if summary == "" {
			summary = a.Name
		}
		gd, _, err := gh.Repositories.CreateDeployment(ctx, owner, name, &github.DeploymentRequest{
			Ref:                   github.String(a.SHA),
			Task:                  github.String("deploy"),
			AutoMerge:             github.Bool(false),
			RequiredContexts:      &[]string{},
			Payload:               map[string]any{"artifact": a.Name, "kind": a.Kind, "conveyor_deployment_id": d.ID},
			Environment:           github.String(d.Environment),
			Description:           github.String(firstLine(summary)),
			TransientEnvironment:  github.Bool(false),
			ProductionEnvironment: github.Bool(d.Production),
		})
		if err != nil {
			e.o.Log.Warn("create github deployment", "deployment", id, "artifact", a.Name, "err", err)
			continue
		}
		ghID := gd.GetID()
		if err := store.UpdateArtifact(ctx, e.o.Store.DB, id, a.Name, store.ArtifactUpdate{GitHubDeploymentID: &ghID}); err != nil {
			e.o.Log.Warn("record github deployment", "deployment", id, "err", err)
			continue
		}
		e.postStatus(ctx, gh, owner, name, d, ghID, state, desc)
	}
}

// retirePrevious marks inactive the GitHub Deployment of each artifact's
// previous successful deployment in the environment, now that d serves.
func (e *Engine) retirePrevious(ctx context.Context, id int64) {
	d, err := e.Get(ctx, id)
	if err != nil {
		return
	}
	gh, owner, name := e.gitHub(d)
	if gh == nil {
		return
	}
	hist, err := store.ListArtifactHistory(ctx, e.o.Store.DB, store.HistoryFilter{Repository: d.Repository, Environment: d.Environment, SucceededOnly: true, BeforeID: d.ID})
	if err != nil {
		e.o.Log.Warn("previous deployments", "deployment", id, "err", err)
		return
	}
	seen := map[string]bool{}
	for _, h := range hist {
		if seen[h.Name] {
			continue
		}
		seen[h.Name] = true
		if h.GitHubDeploymentID != 0 && slices.ContainsFunc(d.Artifacts, func(a ArtifactState) bool { return a.Name == h.Name }) {
			e.postStatus(ctx, gh, owner, name, d, h.GitHubDeploymentID, "inactive", fmt.Sprintf("replaced by deployment %d", d.ID))
		}
	}
}

// postStatuses adds a status to every GitHub Deployment of deployment id.
func (e *Engine) postStatuses(ctx context.Context, id int64, state, desc string) {
	d, err := e.Get(ctx, id)
	if err != nil {
		return
	}
	gh, owner, name := e.gitHub(d)
	if gh == nil {
		return
	}
	for _, a := range d.Artifacts {
		if a.GitHubDeploymentID != 0 {
			e.postStatus(ctx, gh, owner, name, d, a.GitHubDeploymentID, state, desc)
		}
	}
}

func (e *Engine) postStatus(ctx context.Context, gh *github.Client, owner, name string, d *Deployment, ghID int64, state, desc string) {
	req := &github.DeploymentStatusRequest{
		State:       github.String(state),
		Description: github.String(firstLine(desc)),
		Environment: github.String(d.Environment),
	}
	if d.PRURL != "" {
		req.LogURL = github.String(d.PRURL)
	}
	// Every artifact has its own GitHub Deployment in the environment, so
	// GitHub's auto_inactive would also retire the sibling artifacts of the
	// same rollout; Conveyor retires each artifact's previous one itself.
	req.AutoInactive = github.Bool(false)
	if _, _, err := gh.Repositories.CreateDeploymentStatus(ctx, owner, name, ghID, req); err != nil {
		e.o.Log.Warn("github deployment status", "deployment", d.ID, "state", state, "err", err)
	}
}

// syncComment creates the deployment's PR status comment once and then
// edits it in place.
func (e *Engine) syncComment(ctx context.Context, d *Deployment) error {
	if d.PR == 0 {
		return nil
	}
	unlock, err := e.writers.Lock(ctx, d.ID)
	if err != nil {
		return err
	}
	defer unlock()
	fresh, err := e.Get(ctx, d.ID) // the newest state, read under the lock
	if err != nil {
		return err
	}
	gh, owner, name := e.gitHub(fresh)
	if gh == nil {
		return nil
	}
	body := github.String(renderComment(fresh, e.o.Pages)) // ends with commentMarker
	if fresh.CommentID == 0 {
		// Look before creating: an earlier create may have succeeded
		// behind a 5xx (see commentSyncArgs).
		found, err := findStatusComment(ctx, gh, owner, name, fresh)
		if err != nil {
			return err
		}
		if found != 0 {
			if _, err := store.SetDeploymentComment(ctx, e.o.Store.DB, fresh.ID, found); err != nil {
				return err
			}
			fresh.CommentID = found
		}
	}
	if fresh.CommentID != 0 {
		_, _, err := gh.Issues.EditComment(ctx, owner, name, fresh.CommentID, &github.IssueComment{Body: body})
		return err
	}
	c, _, err := gh.Issues.CreateComment(ctx, owner, name, fresh.PR, &github.IssueComment{Body: body})
	if err != nil {
		return err
	}
	_, err = store.SetDeploymentComment(ctx, e.o.Store.DB, fresh.ID, c.GetID())
	return err
}
