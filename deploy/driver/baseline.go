package driver

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/google/go-github/v66/github"
)

// Bounds of the baseline lookup: one page of the environment's newest
// deployments, and the statuses of at most this many of them.
const (
	baselinePage     = 50
	baselineExamined = 20
)

// githubBaseline finds what served t.Artifact in t.Environment before
// Conveyor's first deployment there, for drivers whose deploys leave no
// answer of their own (github-workflow, dbt): the commit of the newest
// GitHub Deployment to the environment that reached "success" and was not
// made by Conveyor. GitHub records one for every job that names an
// environment (jobs.<id>.environment in a workflow) and for every
// deployment a tool creates through the Deployments API, so a team that
// deployed before Conveyor usually left one behind.
//
// A deployment whose payload names an artifact ({"artifact": "web"}) counts
// only for that artifact; one without (those Actions creates) counts for
// every artifact deploying to the environment. Conveyor's own deployments
// carry conveyor_deployment_id in their payload and are skipped: they are
// in Conveyor's history already.
//
// It returns the SHA and a line saying where it came from, or "" and a line
// saying why nothing is known; a GitHub error is returned as an error for
// the caller to report, never to fail the deploy.
func githubBaseline(ctx context.Context, gh *github.Client, t Target) (sha, note string, err error) {
	owner, repo, ok := strings.Cut(t.Repository, "/")
	if !ok {
		return "", "", fmt.Errorf("repository %q is not owner/name", t.Repository)
	}
	deps, _, err := gh.Repositories.ListDeployments(ctx, owner, repo, &github.DeploymentsListOptions{
		Environment: t.Environment, ListOptions: github.ListOptions{PerPage: baselinePage},
	})
	if err != nil {
		return "", "", fmt.Errorf("list the GitHub Deployments to %s: %w", t.Environment, err)
	}
	examined := 0
	for _, d := range deps { // newest first, as GitHub lists them
		if !deploymentOf(d, t.Artifact) {
			continue
		}
		if examined++; examined > baselineExamined {
			break
		}
		statuses, _, err := gh.Repositories.ListDeploymentStatuses(ctx, owner, repo, d.GetID(), &github.ListOptions{PerPage: 100})
		if err != nil {
			return "", "", fmt.Errorf("read the statuses of GitHub Deployment %d: %w", d.GetID(), err)
		}
		// A deployment that once succeeded and was later marked inactive
		// was replaced by a newer one; walking newest first, that newer one
		// was met before unless it belongs to another artifact or to
		// Conveyor, so this one is what served this artifact.
		for _, st := range statuses {
			if st.GetState() == "success" && d.GetSHA() != "" {
				return d.GetSHA(), fmt.Sprintf("what served before: %s, the commit of GitHub Deployment %d to %s (succeeded %s)",
					shortSHA(d.GetSHA()), d.GetID(), t.Environment, st.GetCreatedAt().UTC().Format("2006-01-02 15:04 UTC")), nil
			}
		}
	}
	return "", fmt.Sprintf("what served before: unknown; GitHub records no successful deployment of %s to %s outside Conveyor, so /rollback after this deploy has nothing to return to (deploy a known good SHA with /deploy %s instead)",
		t.Artifact, t.Environment, t.Environment), nil
}

// deploymentOf says whether GitHub Deployment d may have shipped artifact:
// not one of Conveyor's, and either naming artifact in its payload or
// naming none.
func deploymentOf(d *github.Deployment, artifact string) bool {
	var payload map[string]any
	if len(d.Payload) > 0 {
		// GitHub returns the payload as a JSON object, or as the string
		// it was created with when that string was not an object.
		if json.Unmarshal(d.Payload, &payload) != nil {
			payload = nil
		}
	}
	if _, ours := payload["conveyor_deployment_id"]; ours {
		return false
	}
	if a, ok := payload["artifact"].(string); ok && a != "" {
		return a == artifact
	}
	return true
}

// reportBaseline records in res the baseline githubBaseline finds, when t is
// the first step of Conveyor's first deployment of the artifact here (the
// engine keeps Previous from the first step only). Nothing it finds or fails
// to find stops the deploy; the progress line says what happened.
func reportBaseline(ctx context.Context, gh *github.Client, t Target, p *progress, res *Result) {
	if t.Previous != "" || t.Step != 0 {
		return
	}
	sha, note, err := githubBaseline(ctx, gh, t)
	if err != nil {
		p.Printf("what served before: unknown, GitHub could not be asked (%v); /rollback after this deploy has nothing to return to", err)
		return
	}
	p.Printf("%s", note)
	res.Previous = sha
}
