package deploy

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/go-github/v66/github"
	"github.com/riverqueue/river"

	"github.com/conveyor-dev/conveyor/internal/store"
)

// commentSyncArgs brings a deployment's PR status comment up to date after
// GitHub failed to take an edit (or the creation): without it, the last
// state of a deployment (succeeded, failed) could stay unshown for good.
type commentSyncArgs struct {
	DeploymentID int64 `json:"deployment_id"`
}

// Kind names the status comment job.
func (commentSyncArgs) Kind() string { return "deploy_comment_sync" }

type commentSyncWorker struct {
	river.WorkerDefaults[commentSyncArgs]
	e *Engine
}

// Work renders the deployment as it is now and writes it; an error retries
// the job with the queue's backoff, a refusal for good (4xx) ends it.
func (w *commentSyncWorker) Work(ctx context.Context, job *river.Job[commentSyncArgs]) error {
	d, err := w.e.Get(ctx, job.Args.DeploymentID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := w.e.syncComment(ctx, d); err != nil {
		if refusedForGood(err) {
			return river.JobCancel(err)
		}
		return err
	}
	return nil
}

// retryComment queues a commentSyncArgs job after syncComment failed.
func (e *Engine) retryComment(ctx context.Context, id int64, cause error) {
	if e.o.Queue == nil || refusedForGood(cause) {
		return
	}
	if _, err := e.o.Queue.Insert(ctx, commentSyncArgs{DeploymentID: id}, nil); err != nil {
		e.o.Log.Warn("status comment retry not queued", "deployment", id, "err", err)
	}
}

// commentMarker is the hidden line that ends a deployment's status comment
// (renderComment writes it), so a comment GitHub created without our seeing
// the answer (a 5xx after the fact) is found instead of created twice.
func commentMarker(id int64) string { return fmt.Sprintf("<!-- conveyor:deployment:%d -->", id) }

// findStatusComment looks for the deployment's marker among the PR's
// comments made since the deployment was created.
func findStatusComment(ctx context.Context, gh *github.Client, owner, name string, d *Deployment) (int64, error) {
	marker := commentMarker(d.ID)
	since := d.CreatedAt.Add(-5 * time.Minute) // clock skew between this server and GitHub
	opt := &github.IssueListCommentsOptions{Since: &since, ListOptions: github.ListOptions{PerPage: 100}}
	for range 10 {
		cs, resp, err := gh.Issues.ListComments(ctx, owner, name, d.PR, opt)
		if err != nil {
			return 0, err
		}
		for _, c := range cs {
			if strings.Contains(c.GetBody(), marker) {
				return c.GetID(), nil
			}
		}
		if resp.NextPage == 0 {
			break
		}
		opt.Page = resp.NextPage
	}
	return 0, nil
}

// refusedForGood reports whether GitHub's answer is a 4xx a retry cannot
// fix (rate limits are their own error types in go-github; 408 and 429 are
// worth retrying).
func refusedForGood(err error) bool {
	var er *github.ErrorResponse
	if !errors.As(err, &er) || er.Response == nil {
		return false
	}
	code := er.Response.StatusCode
	return code >= 400 && code < 500 && code != http.StatusRequestTimeout && code != http.StatusTooManyRequests
}
