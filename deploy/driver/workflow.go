package driver

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/go-github/v66/github"

	"github.com/conveyor-dev/conveyor/internal/serverconfig"
)

// workflowDriver dispatches the repository's deploy workflow
// (workflow_dispatch) with the inputs environment, sha, artifact, percent
// and action, finds the run it created and follows it to completion. It
// polls at the driver's poll_interval and is woken early by Notify.
//
// GitHub does not return the run a dispatch created, so the driver takes the
// oldest workflow_dispatch run of the workflow on the ref created since the
// dispatch that no other deploy in this process has claimed. The deploy
// workflow must declare those five inputs; for a rollback, sha is the
// previous SHA ("" when nothing served before) and action is "rollback".
// Before Conveyor's first deploy of the artifact to the environment, it
// reports what served there from GitHub's Deployments (githubBaseline).
type workflowDriver struct {
	base
	cfg  serverconfig.Driver
	deps Deps
	runs *runWaiters
}

// claimedRuns are runs already followed by a deploy in this process, so two
// dispatches of one workflow close together do not follow the same run.
// Claims are dropped after claimTTL, long after the created-since filter
// would exclude the run anyway.
var claimedRuns sync.Map // "owner/name#run ID" -> time claimed

const claimTTL = time.Hour

func (d *workflowDriver) Deploy(ctx context.Context, t Target, log Logger) (Result, error) {
	return d.run(ctx, t, log, true)
}

func (d *workflowDriver) Rollback(ctx context.Context, t Target, log Logger) (Result, error) {
	return d.run(ctx, t, log, false)
}

func (d *workflowDriver) run(ctx context.Context, t Target, log Logger, deploy bool) (Result, error) {
	ctx, cancel, p := d.start(ctx, log)
	defer cancel()
	res, err := d.follow(ctx, t, p, deploy)
	res.Output = p.Output()
	if err != nil {
		hint := "open the workflow run's logs, fix the failure, then deploy again"
		if res.URL == "" {
			hint = fmt.Sprintf("check that %s exists on the ref, declares the inputs environment, sha, artifact, percent and action under on.workflow_dispatch, and that the GitHub App may write actions", d.cfg.Workflow)
		}
		return res, d.fail(ctx, t, deploy, err, hint)
	}
	return res, nil
}

func (d *workflowDriver) follow(ctx context.Context, t Target, p *progress, deploy bool) (Result, error) {
	res := Result{Previous: t.Previous}
	owner, repo, ok := strings.Cut(t.Repository, "/")
	if !ok {
		return res, fmt.Errorf("repository %q is not owner/name", t.Repository)
	}
	gh, err := d.deps.GitHub(t.InstallationID)
	if err != nil {
		return res, fmt.Errorf("GitHub client for installation %d: %w", t.InstallationID, err)
	}
	ref := d.cfg.Ref
	if ref == "" {
		r, _, err := gh.Repositories.Get(ctx, owner, repo)
		if err != nil {
			return res, fmt.Errorf("read the default branch of %s: %w", t.Repository, err)
		}
		ref = r.GetDefaultBranch()
	}
	sha, serving := t.SHA, servingAfterDeploy(t)
	if !deploy {
		sha, serving = t.Previous, t.Previous
	} else {
		// A dispatched run's outputs never come back to the dispatcher;
		// GitHub's Deployments record what the workflow deployed before.
		reportBaseline(ctx, gh, t, p, &res)
	}
	inputs := map[string]any{
		"environment": t.Environment,
		"sha":         sha,
		"artifact":    t.Artifact,
		"percent":     strconv.Itoa(t.Percent),
		"action":      action(deploy),
	}
	wake, unsubscribe := d.runs.subscribe(t.Repository)
	defer unsubscribe()
	since := time.Now().UTC().Truncate(time.Second)
	ev := github.CreateWorkflowDispatchEventRequest{Ref: ref, Inputs: inputs}
	if id, err := strconv.ParseInt(d.cfg.Workflow, 10, 64); err == nil {
		_, err = gh.Actions.CreateWorkflowDispatchEventByID(ctx, owner, repo, id, ev)
		if err != nil {
			return res, fmt.Errorf("dispatch workflow %s on %s: %w", d.cfg.Workflow, ref, err)
		}
	} else if _, err := gh.Actions.CreateWorkflowDispatchEventByFileName(ctx, owner, repo, d.cfg.Workflow, ev); err != nil {
		return res, fmt.Errorf("dispatch workflow %s on %s: %w", d.cfg.Workflow, ref, err)
	}
	p.Printf("dispatched %s on %s (%s %s to %s at %d %%)", d.cfg.Workflow, ref, action(deploy), t.Artifact, t.Environment, t.Percent)

	var run *github.WorkflowRun
	for run == nil {
		if run, err = d.findRun(ctx, gh, owner, repo, ref, since); err != nil {
			return res, err
		}
		if run == nil {
			if err := d.wait(ctx, wake); err != nil {
				return res, fmt.Errorf("waiting for the run of %s to appear: %w", d.cfg.Workflow, err)
			}
		}
	}
	res.URL = run.GetHTMLURL()
	p.Printf("following run %d: %s", run.GetID(), res.URL)
	status := ""
	for run.GetStatus() != "completed" {
		if s := run.GetStatus(); s != status {
			p.Printf("run %d is %s", run.GetID(), s)
			status = s
		}
		if err := d.wait(ctx, wake); err != nil {
			return res, fmt.Errorf("waiting for run %s: %w", res.URL, err)
		}
		if run, _, err = gh.Actions.GetWorkflowRunByID(ctx, owner, repo, run.GetID()); err != nil {
			return res, fmt.Errorf("read run %s: %w", res.URL, err)
		}
	}
	if c := run.GetConclusion(); c != "success" {
		return res, fmt.Errorf("workflow run %s concluded %q", res.URL, c)
	}
	p.Printf("run %d succeeded", run.GetID())
	res.Serving = serving
	return res, nil
}

// findRun returns the oldest unclaimed workflow_dispatch run of the
// workflow on ref created at or after since, claiming it, or nil.
func (d *workflowDriver) findRun(ctx context.Context, gh *github.Client, owner, repo, ref string, since time.Time) (*github.WorkflowRun, error) {
	opts := &github.ListWorkflowRunsOptions{
		Event:       "workflow_dispatch",
		Branch:      ref,
		Created:     ">=" + since.Format(time.RFC3339),
		ListOptions: github.ListOptions{PerPage: 50},
	}
	var (
		runs *github.WorkflowRuns
		err  error
	)
	if id, perr := strconv.ParseInt(d.cfg.Workflow, 10, 64); perr == nil {
		runs, _, err = gh.Actions.ListWorkflowRunsByID(ctx, owner, repo, id, opts)
	} else {
		runs, _, err = gh.Actions.ListWorkflowRunsByFileName(ctx, owner, repo, d.cfg.Workflow, opts)
	}
	if err != nil {
		return nil, fmt.Errorf("list runs of %s: %w", d.cfg.Workflow, err)
	}
	cands := runs.WorkflowRuns
	sort.Slice(cands, func(i, j int) bool {
		a, b := cands[i].GetCreatedAt().Time, cands[j].GetCreatedAt().Time
		if a.Equal(b) {
			return cands[i].GetID() < cands[j].GetID()
		}
		return a.Before(b)
	})
	now := time.Now()
	claimedRuns.Range(func(id, at any) bool {
		if now.Sub(at.(time.Time)) > claimTTL {
			claimedRuns.Delete(id)
		}
		return true
	})
	for _, r := range cands {
		if r.GetCreatedAt().Time.Before(since) {
			continue
		}
		if _, taken := claimedRuns.LoadOrStore(fmt.Sprintf("%s/%s#%d", strings.ToLower(owner), strings.ToLower(repo), r.GetID()), now); !taken {
			return r, nil
		}
	}
	return nil, nil
}

// wait sleeps one poll interval, or less when Notify wakes it.
func (d *workflowDriver) wait(ctx context.Context, wake <-chan int64) error {
	timer := time.NewTimer(d.cfg.PollInterval.Duration)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-wake:
	case <-timer.C:
	}
	return nil
}
