package deploy

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/conveyor-dev/conveyor/internal/store"
)

// Group asks for Count approvals from people in From: teams ("org/slug")
// or logins; an empty From accepts anyone the policy lets approve.
type Group struct {
	Count int      `json:"count"`
	From  []string `json:"from,omitempty"`
}

// Quorum is the approvals a deployment needs: every group satisfied, each
// approver counting towards one group only.
type Quorum struct {
	Groups []Group `json:"groups,omitempty"`
}

// Approval is one person's approval of one deployment at one SHA.
type Approval struct {
	Login string
	Via   string // slack or github
	SHA   string
	At    time.Time
	Teams []string // the approver's teams ("org/slug"), resolved by the caller
}

// Needed is how many approvals the quorum asks for in all.
func (q Quorum) Needed() int {
	n := 0
	for _, g := range q.Groups {
		n += g.Count
	}
	return n
}

// Counted is how many of approvals count towards the quorum: a maximum
// matching of approvers to the groups' seats.
func (q Quorum) Counted(approvals []Approval) int {
	owner, _ := q.seats(approvals)
	n := 0
	for _, o := range owner {
		if o != 0 {
			n++
		}
	}
	return n
}

// Met reports whether approvals satisfy every group.
func (q Quorum) Met(approvals []Approval) bool { return q.Counted(approvals) >= q.Needed() }

func eligible(a Approval, from []string) bool {
	if len(from) == 0 {
		return true
	}
	for _, f := range from {
		if strings.Contains(f, "/") {
			if slices.ContainsFunc(a.Teams, func(t string) bool { return strings.EqualFold(t, f) }) {
				return true
			}
		} else if strings.EqualFold(f, a.Login) {
			return true
		}
	}
	return false
}

// Errors of Approve and Reject, for callers that answer differently.
var (
	ErrNotAwaitingApproval = errors.New("not awaiting approval")
	ErrWrongSHA            = errors.New("approval is for another SHA")
)

// Approve records a for deployment id. A login counts once; an approval for
// another SHA than the deployment's is refused. When the quorum is met the
// deployment is queued and starts. An approval without a SHA is refused too:
// approvers must say which code they approve.
func (e *Engine) Approve(ctx context.Context, id int64, a Approval) (*Deployment, error) {
	if a.Login == "" {
		return nil, errors.New("approve: the approver's login is required")
	}
	if a.At.IsZero() {
		a.At = e.o.Now()
	}
	var event string
	release, err := e.inOrder(ctx, id)
	if err != nil {
		return nil, err
	}
	defer release()
	err = e.inTx(ctx, id, func(tx *sql.Tx, d *store.DeploymentRow) error {
		if d.State != StateAwaitingApproval {
			return fmt.Errorf("deployment %d is %s, so there is nothing to approve: %w", id, d.State, ErrNotAwaitingApproval)
		}
		if a.SHA != d.SHA {
			return fmt.Errorf("approval by @%s refused: it is for %s but deployment %d deploys %s; approvals bind to one SHA, so review the new commits and /deploy again: %w",
				a.Login, orNone(short(a.SHA)), id, short(d.SHA), ErrWrongSHA)
		}
		added, err := store.AddApproval(ctx, tx, id, store.ApprovalRow{Login: a.Login, Via: a.Via, SHA: a.SHA, Teams: a.Teams, At: a.At})
		if err != nil || !added {
			return err
		}
		event = "approved"
		if err := e.audit(ctx, tx, d, "approval", a.Login, "approve", map[string]any{"via": a.Via, "sha": a.SHA, "teams": a.Teams}); err != nil {
			return err
		}
		cur := fromRow(d)
		if !cur.Quorum.Met(append(cur.Approvals, a)) {
			return nil
		}
		event = "queued"
		if err := e.transition(ctx, tx, d, StateQueued, a.Login, "quorum reached", store.DeploymentUpdate{}); err != nil {
			return err
		}
		return e.enqueueStep(ctx, tx, d, 0, time.Time{})
	})
	if err != nil {
		return nil, err
	}
	if event != "" {
		e.changed(ctx, id, "approved", a.Login)
	}
	if event == "queued" {
		e.postStatuses(ctx, id, "queued", "approved; waiting to run")
		e.changed(ctx, id, "queued", "")
	}
	return e.Get(ctx, id)
}

// Reject turns deployment id down (-> rejected) and frees its environment.
func (e *Engine) Reject(ctx context.Context, id int64, login, via, reason string) (*Deployment, error) {
	msg := "rejected by @" + login
	if reason != "" {
		msg += ": " + reason
	}
	release, err := e.inOrder(ctx, id)
	if err != nil {
		return nil, err
	}
	defer release()
	err = e.inTx(ctx, id, func(tx *sql.Tx, d *store.DeploymentRow) error {
		if d.State != StateAwaitingApproval {
			return fmt.Errorf("deployment %d is %s, so there is nothing to reject: %w", id, d.State, ErrNotAwaitingApproval)
		}
		if err := e.transition(ctx, tx, d, StateRejected, login, msg+" (via "+via+")", store.DeploymentUpdate{Error: &msg}); err != nil {
			return err
		}
		return e.finishPending(ctx, tx, d)
	})
	if err != nil {
		return nil, err
	}
	e.postStatuses(ctx, id, "inactive", msg)
	d := e.changed(ctx, id, "rejected", msg)
	if d == nil {
		return e.Get(ctx, id)
	}
	return d, nil
}

// VoidApprovals is called on a push to PR pr: deployments awaiting approval
// for an older SHA are cancelled, since their approvals were for code that
// is no longer the head.
func (e *Engine) VoidApprovals(ctx context.Context, repo string, pr int, newSHA string) ([]*Deployment, error) {
	msg := fmt.Sprintf("new commits pushed (%s); approvals are void, comment /deploy again", short(newSHA))
	rows, err := store.ListDeployments(ctx, e.o.Store.DB, store.DeploymentFilter{Repository: repo, PR: pr, States: []string{StateAwaitingApproval}})
	if err != nil {
		return nil, err
	}
	var out []*Deployment
	for _, r := range rows {
		if r.SHA == newSHA {
			continue
		}
		voided := false
		release, err := e.inOrder(ctx, r.ID)
		if err != nil {
			return out, err
		}
		err = e.inTx(ctx, r.ID, func(tx *sql.Tx, d *store.DeploymentRow) error {
			if d.State != StateAwaitingApproval {
				return nil
			}
			if err := e.transition(ctx, tx, d, StateCancelled, "conveyor", msg, store.DeploymentUpdate{Error: &msg}); err != nil {
				return err
			}
			voided = true
			return e.finishPending(ctx, tx, d)
		})
		if err != nil {
			release()
			return out, err
		}
		if voided {
			e.postStatuses(ctx, r.ID, "inactive", msg)
			if d := e.changed(ctx, r.ID, "voided", msg); d != nil {
				out = append(out, d)
			}
		}
		release()
	}
	return out, nil
}

// finishPending closes a deployment that never ran: its artifacts are
// cancelled and its environment released.
func (e *Engine) finishPending(ctx context.Context, tx *sql.Tx, d *store.DeploymentRow) error {
	st := "cancelled"
	for _, a := range d.Artifacts {
		if err := store.UpdateArtifact(ctx, tx, d.ID, a.Name, store.ArtifactUpdate{State: &st}); err != nil {
			return err
		}
	}
	return e.releaseLock(ctx, tx, d)
}

type expireArgs struct {
	DeploymentID int64 `json:"deployment_id"`
}

// Kind names the approval expiry job.
func (expireArgs) Kind() string { return "deploy_expire" }

type expireWorker struct {
	river.WorkerDefaults[expireArgs]
	e *Engine
}

// Work expires the deployment if it is still waiting for approvals.
func (w *expireWorker) Work(ctx context.Context, job *river.Job[expireArgs]) error {
	e, id := w.e, job.Args.DeploymentID
	msg := fmt.Sprintf("approvals did not reach the quorum within %s; comment /deploy again", e.o.ApprovalTTL)
	expired := false
	release, err := e.inOrder(ctx, id)
	if err != nil {
		return err
	}
	defer release()
	err = e.inTx(ctx, id, func(tx *sql.Tx, d *store.DeploymentRow) error {
		if d.State != StateAwaitingApproval {
			return nil
		}
		expired = true
		if err := e.transition(ctx, tx, d, StateExpired, "conveyor", msg, store.DeploymentUpdate{Error: &msg}); err != nil {
			return err
		}
		return e.finishPending(ctx, tx, d)
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil || !expired {
		return err
	}
	e.postStatuses(ctx, id, "inactive", msg)
	e.changed(ctx, id, "expired", msg)
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "no SHA"
	}
	return s
}
