package checks

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/go-github/v66/github"

	"github.com/conveyor-dev/conveyor/internal/retry"
	"github.com/conveyor-dev/conveyor/internal/store"
)

// Handler turns webhook events into coalesced evaluation jobs. It never
// calls GitHub: it records the PR head and CI results the events carry and,
// in the same transaction, adds a request for the SHA and enqueues a
// checks_evaluate job unless one is already enqueued for it (river's own
// uniqueness cannot be used: it always counts running jobs, so an event
// arriving while a job finishes would be lost).
type Handler struct{ s *Suite }

// Handler returns the suite's webhook handler (it satisfies bot.Handler).
func (s *Suite) Handler() *Handler { return &Handler{s: s} }

// Handles lists the events that start or refresh an evaluation.
func (h *Handler) Handles() []string {
	return []string{"pull_request.opened", "pull_request.synchronize", "pull_request.reopened", "pull_request.ready_for_review",
		"pull_request.closed", "check_run.completed", "check_run.rerequested", "check_suite.rerequested", "status",
		"workflow_run.requested", "workflow_run.in_progress", "workflow_run.completed"}
}

type prRef struct {
	Number int `json:"number"`
	Head   struct {
		Ref string `json:"ref"`
		SHA string `json:"sha"`
	} `json:"head"`
	Base struct {
		Ref string `json:"ref"`
		SHA string `json:"sha"`
	} `json:"base"`
	User struct {
		Login string `json:"login"`
	} `json:"user"`
}

type hookEvent struct {
	Action       string `json:"action"`
	Installation *struct {
		ID int64 `json:"id"`
	} `json:"installation"`
	Repository struct {
		FullName string `json:"full_name"`
	} `json:"repository"`
	PullRequest *prRef `json:"pull_request"`
	CheckRun    *struct {
		Name         string  `json:"name"`
		HeadSHA      string  `json:"head_sha"`
		Status       string  `json:"status"`
		Conclusion   string  `json:"conclusion"`
		PullRequests []prRef `json:"pull_requests"`
	} `json:"check_run"`
	CheckSuite *struct {
		HeadSHA      string  `json:"head_sha"`
		PullRequests []prRef `json:"pull_requests"`
	} `json:"check_suite"`
	WorkflowRun *struct {
		HeadSHA string `json:"head_sha"`
	} `json:"workflow_run"`
	SHA     string `json:"sha"`
	Context string `json:"context"`
	State   string `json:"state"`
}

// IsOwnCheck reports whether a check run name is one Conveyor writes; those
// are never CI.
func IsOwnCheck(name string) bool { return name == GateName || strings.HasPrefix(name, GateName+" / ") }

// Handle records what the event says and enqueues an evaluation if one is due.
func (h *Handler) Handle(ctx context.Context, eventType, deliveryID string, payload []byte) error {
	var ev hookEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		return retry.Permanent(fmt.Errorf("checks: %s %s: payload: %w", eventType, deliveryID, err))
	}
	return h.handle(ctx, eventType, deliveryID, &ev)
}

// HandleDecoded is Handle for an event the router already decoded: a pull
// request event, the bulk of the traffic, is read from go-github's type
// instead of decoding its payload again.
func (h *Handler) HandleDecoded(ctx context.Context, eventType, deliveryID string, event any, payload []byte) error {
	if we, ok := event.(*github.WorkflowRunEvent); ok {
		ev := hookEvent{Action: we.GetAction()}
		ev.Repository.FullName = we.GetRepo().GetFullName()
		if we.WorkflowRun != nil {
			ev.WorkflowRun = &struct {
				HeadSHA string `json:"head_sha"`
			}{HeadSHA: we.GetWorkflowRun().GetHeadSHA()}
		}
		return h.handle(ctx, eventType, deliveryID, &ev)
	}
	pe, ok := event.(*github.PullRequestEvent)
	if !ok {
		return h.Handle(ctx, eventType, deliveryID, payload)
	}
	p := pe.GetPullRequest()
	ev := hookEvent{Action: pe.GetAction(), PullRequest: &prRef{Number: p.GetNumber()}}
	if pe.Installation != nil {
		ev.Installation = &struct {
			ID int64 `json:"id"`
		}{ID: pe.GetInstallation().GetID()}
	}
	ev.Repository.FullName = pe.GetRepo().GetFullName()
	ev.PullRequest.Head.Ref, ev.PullRequest.Head.SHA = p.GetHead().GetRef(), p.GetHead().GetSHA()
	ev.PullRequest.Base.Ref, ev.PullRequest.Base.SHA = p.GetBase().GetRef(), p.GetBase().GetSHA()
	ev.PullRequest.User.Login = p.GetUser().GetLogin()
	if pe.PullRequest == nil {
		ev.PullRequest = nil
	}
	return h.handle(ctx, eventType, deliveryID, &ev)
}

func (h *Handler) handle(ctx context.Context, eventType, deliveryID string, ev *hookEvent) error {
	if h.s.o.Store == nil || h.s.o.Queue == nil {
		return errors.New("checks: the handler needs Options.Store and Options.Queue")
	}
	repo := ev.Repository.FullName
	if repo == "" {
		return retry.Permanent(fmt.Errorf("checks: %s %s: payload has no repository.full_name", eventType, deliveryID))
	}
	var inst int64
	if ev.Installation != nil {
		inst = ev.Installation.ID
	}
	return h.s.o.Store.Tx(ctx, func(tx *sql.Tx) error {
		switch {
		case eventType == "pull_request" && ev.PullRequest != nil && ev.Action == "closed":
			// A closed pull request is evaluated no more (Refresh of a
			// repository skips it) until it is reopened.
			return store.DeleteCheckHead(ctx, tx, repo, ev.PullRequest.Number)
		case eventType == "pull_request" && ev.PullRequest != nil:
			p := ev.PullRequest
			head := store.CheckHead{Repository: repo, PR: p.Number, SHA: p.Head.SHA, BaseRef: p.Base.Ref, BaseSHA: p.Base.SHA,
				Author: p.User.Login, InstallationID: inst}
			if err := store.SetCheckHead(ctx, tx, head); err != nil {
				return err
			}
			return h.request(ctx, tx, []store.CheckHead{head}, true, nil)
		case eventType == "check_run" && ev.CheckRun != nil:
			cr := ev.CheckRun
			if ev.Action == "rerequested" {
				// A Re-run bounds the next wait afresh.
				if err := store.ResetCheckWaits(ctx, tx, repo, cr.HeadSHA); err != nil {
					return err
				}
				return h.requestAt(ctx, tx, repo, cr.HeadSHA, true, nil)
			}
			if IsOwnCheck(cr.Name) {
				return nil
			}
			if err := store.RecordCI(ctx, tx, repo, cr.HeadSHA, store.CIResult{Name: cr.Name, Status: cr.Status, Conclusion: cr.Conclusion}); err != nil {
				return err
			}
			return h.ciCompleted(ctx, tx, repo, cr.HeadSHA, cr.Name)
		case eventType == "check_suite" && ev.CheckSuite != nil:
			if ev.Action == "rerequested" {
				if err := store.ResetCheckWaits(ctx, tx, repo, ev.CheckSuite.HeadSHA); err != nil {
					return err
				}
			}
			return h.requestAt(ctx, tx, repo, ev.CheckSuite.HeadSHA, true, nil)
		case eventType == "status":
			if ev.SHA == "" || ev.Context == "" || IsOwnCheck(ev.Context) {
				return nil
			}
			r := store.CIResult{Name: ev.Context, Status: StatusInProgress}
			if ev.State != "pending" {
				r.Status, r.Conclusion = StatusCompleted, ev.State // success, failure, error
			}
			if err := store.RecordCI(ctx, tx, repo, ev.SHA, r); err != nil {
				return err
			}
			if r.Status != StatusCompleted {
				return nil
			}
			return h.ciCompleted(ctx, tx, repo, ev.SHA, ev.Context)
		case eventType == "workflow_run" && ev.WorkflowRun != nil && ev.WorkflowRun.HeadSHA != "":
			return h.runMoved(ctx, tx, repo, ev.WorkflowRun.HeadSHA)
		}
		return nil
	})
}

// runMoved re-evaluates the pull requests whose checks wait while a
// workflow run on sha was created, started or completed: a dbt check
// waiting for the run that uploads its manifest (ci_manifest), on the head
// (sha is the PR's head) or on the commit it compares with (sha is the
// PR's base, compare: base), then settles from the event rather than from
// its next look a minute later (that look, scheduled by checks_retry,
// stays as the fallback for a missed event). Checks that settled, or a SHA
// not evaluated yet (the pending evaluation reads the run as it is), need
// nothing: the runs of a repository's other workflows cost a read or two.
func (h *Handler) runMoved(ctx context.Context, tx *sql.Tx, repo, sha string) error {
	heads, err := store.CheckHeadsAt(ctx, tx, repo, sha)
	if err != nil {
		return err
	}
	onBase, err := store.CheckHeadsOnBase(ctx, tx, repo, sha)
	if err != nil {
		return err
	}
	var due []store.CheckHead
	for _, hd := range append(heads, onBase...) {
		stored, err := store.CheckResults(ctx, tx, repo, hd.SHA)
		if err != nil {
			return err
		}
		for _, r := range stored {
			if r.Artifact != "" && r.Status != StatusCompleted {
				due = append(due, hd)
				break
			}
		}
	}
	return h.request(ctx, tx, due, true, nil)
}

// ciCompleted re-evaluates the artifacts whose stored result lists name,
// and those still waiting for CI (awaitsCI): a name in ci: that never
// reports (a typo) is then shown next to the one that did. Before the
// first evaluation of the SHA nothing is stored and nothing is due: the
// pending evaluation reads the recorded result.
func (h *Handler) ciCompleted(ctx context.Context, tx *sql.Tx, repo, sha, name string) error {
	stored, err := store.CheckResults(ctx, tx, repo, sha)
	if err != nil {
		return err
	}
	for _, r := range stored {
		if r.Artifact != "" && (contains(r.CI, name) || awaitsCI(r)) {
			return h.requestAt(ctx, tx, repo, sha, false, []string{name})
		}
	}
	return nil
}

// awaitsCI reports whether r is an artifact's check still waiting, with CI
// names listed: any CI of the commit that completes re-evaluates it.
func awaitsCI(r store.CheckResult) bool {
	return r.Artifact != "" && len(r.CI) > 0 && r.Status != StatusCompleted
}

// requestAt requests an evaluation for every open PR whose head is sha.
func (h *Handler) requestAt(ctx context.Context, tx *sql.Tx, repo, sha string, full bool, ci []string) error {
	heads, err := store.CheckHeadsAt(ctx, tx, repo, sha)
	if err != nil {
		return err
	}
	return h.request(ctx, tx, heads, full, ci)
}

func (h *Handler) request(ctx context.Context, tx *sql.Tx, heads []store.CheckHead, full bool, ci []string) error {
	for _, hd := range heads {
		seq, enqueue, err := store.RequestCheck(ctx, tx, hd.Repository, hd.SHA, full, ci, staleJob)
		if err != nil {
			return err
		}
		if !enqueue {
			continue // the job already enqueued serves this request too
		}
		args := EvaluateArgs{Installation: hd.InstallationID, Repo: hd.Repository, PR: hd.PR, SHA: hd.SHA, BaseRef: hd.BaseRef, Seq: seq}
		if _, err := h.s.o.Queue.InsertTx(ctx, tx, args, nil); err != nil {
			return fmt.Errorf("enqueue %s for %s#%d: %w", args.Kind(), hd.Repository, hd.PR, err)
		}
	}
	return nil
}

// staleJob is how long an enqueued evaluation may take before a new event
// presumes it lost and enqueues another.
const staleJob = 10 * time.Minute
