package deploy

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/sourcegraph/conc/pool"

	"github.com/conveyor-dev/conveyor/internal/store"
)

// ranStates are artifact states whose driver ran, so a rollback is owed.
var ranStates = []string{"in_progress", "succeeded", "failed"}

// rollbackAll rolls back every artifact of deployment id that ran, then
// closes the deployment: failed -> rolled_back when every rollback worked
// (failed, with the reasons, otherwise); a cancelled one stays cancelled.
// The environment is released either way. It is safe to call twice: each
// artifact is claimed once (a retried job also reclaims what a crashed
// attempt left half done).
func (e *Engine) rollbackAll(ctx context.Context, id int64, retry bool) error {
	d, err := e.Get(ctx, id)
	if err != nil {
		return err
	}
	claimFrom := ranStates
	if retry {
		claimFrom = append(slices.Clone(ranStates), "rolling_back")
	}
	var mu sync.Mutex
	var errs []error
	var rolled []string
	p := pool.New().WithMaxGoroutines(e.o.Parallel)
	for _, a := range d.Artifacts {
		if d.Mode == "rollback" {
			break // a failed rollback is not rolled back again; people decide
		}
		won, err := store.ClaimArtifact(ctx, e.o.Store.DB, id, a.Name, claimFrom, "rolling_back")
		if err != nil {
			return err
		}
		if !won {
			continue
		}
		p.Go(func() {
			err := safely(a, func() error { return e.rollbackArtifact(ctx, d, a) })
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
			} else {
				rolled = append(rolled, a.Name)
			}
		})
	}
	p.Wait()
	if ctx.Err() != nil {
		return ctx.Err() // shutting down: the retry reclaims the rest
	}
	slices.Sort(rolled)
	var event, detail string
	release, err := e.inOrder(ctx, id)
	if err != nil {
		return err
	}
	defer release()
	err = e.inTx(ctx, id, func(tx *sql.Tx, r *store.DeploymentRow) error {
		msg := r.Error
		if len(rolled) > 0 {
			msg = strings.TrimSpace(msg + "\nrolled back " + strings.Join(rolled, ", "))
		}
		if len(errs) > 0 {
			msg = strings.TrimSpace(msg + "\nrollback failed: " + e.o.Mask.String(errors.Join(errs...).Error()))
		}
		switch {
		case r.State == StateFailed && len(errs) == 0 && r.Mode != "rollback":
			event, detail = "rolled_back", "rolled back "+strings.Join(rolled, ", ")
			if err := e.transition(ctx, tx, r, StateRolledBack, "conveyor", detail, store.DeploymentUpdate{Error: &msg}); err != nil {
				return err
			}
		case msg != r.Error:
			if err := store.UpdateDeployment(ctx, tx, id, r.State, store.DeploymentUpdate{Error: &msg, At: e.o.Now()}); err != nil {
				return err
			}
			event, detail = "rolled_back", msg
			if len(errs) > 0 {
				event = "failed"
			}
		}
		return e.releaseLock(ctx, tx, r)
	})
	if err != nil {
		return err
	}
	if event != "" {
		e.postStatuses(ctx, id, "failure", firstLine(detail))
		e.changed(ctx, id, event, detail)
	}
	return nil
}

// rollbackArtifact returns a to what served before d.
func (e *Engine) rollbackArtifact(ctx context.Context, d *Deployment, a ArtifactState) error {
	drv, err := e.o.Drivers(a.Driver)
	if err != nil {
		return fmt.Errorf("%s: %w", a.Name, err)
	}
	t := e.target(d, a, len(d.Steps)-1)
	t.Percent = 100
	res, err := drv.Rollback(ctx, t, func(line string) { e.o.Log.Debug("rollback", "deployment", d.ID, "artifact", a.Name, "line", line) })
	err = e.o.Mask.Error(err)
	state, serving, out := "rolled_back", res.Serving, strings.TrimRight(a.Output, "\n")+"\n--- rollback ---\n"+e.o.Mask.String(res.Output)
	if serving == "" {
		serving = a.Previous
	}
	if err != nil {
		state, serving = "rollback_failed", a.Serving
	}
	if uerr := store.UpdateArtifact(context.WithoutCancel(ctx), e.o.Store.DB, d.ID, a.Name, store.ArtifactUpdate{State: &state, Serving: &serving, Output: &out}); uerr != nil {
		return errors.Join(err, uerr)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", a.Name, err)
	}
	return nil
}

// Cancel stops PR pr's deployments in repo that are waiting or running. One
// that never ran is closed at once; a running one is rolled back by its job
// (woken now if it was waiting out a pause).
func (e *Engine) Cancel(ctx context.Context, repo string, pr int, login string) ([]*Deployment, error) {
	return e.cancel(ctx, repo, pr, activeStates, login, "cancelled by @"+login, "cancelled")
}

func (e *Engine) cancel(ctx context.Context, repo string, pr int, states []string, login, why, event string) ([]*Deployment, error) {
	rows, err := store.ListDeployments(ctx, e.o.Store.DB, store.DeploymentFilter{Repository: repo, PR: pr, States: states})
	if err != nil {
		return nil, err
	}
	var out []*Deployment
	for _, r := range rows {
		var cancelled, ran bool
		release, err := e.inOrder(ctx, r.ID)
		if err != nil {
			return out, err
		}
		err = e.inTx(ctx, r.ID, func(tx *sql.Tx, d *store.DeploymentRow) error {
			if !slices.Contains(states, d.State) {
				return nil
			}
			ran = d.State == StateInProgress
			if err := e.transition(ctx, tx, d, StateCancelled, login, why, store.DeploymentUpdate{Error: &why}); err != nil {
				return err
			}
			cancelled = true
			if !ran {
				return e.finishPending(ctx, tx, d)
			}
			if c := e.o.Queue.Client(); c != nil && d.JobID != 0 {
				if _, err := c.JobRetryTx(ctx, tx, d.JobID); err != nil {
					return fmt.Errorf("wake the rollout of deployment %d: %w", d.ID, err)
				}
			}
			return nil
		})
		if err != nil {
			release()
			return out, err
		}
		if !cancelled {
			release()
			continue
		}
		if !ran {
			e.postStatuses(ctx, r.ID, "inactive", why)
		}
		if d := e.changed(ctx, r.ID, event, why); d != nil {
			out = append(out, d)
		}
		release()
	}
	return out, nil
}

// RollbackTarget is what /rollback returns artifact name to in env, given
// its succeeded deployments there, newest first (store.ArtifactHistory with
// SucceededOnly): cur is what serves now, tgt what it returns to (its
// Serving and SHA), summary says so in words. The dashboard shows the same
// answer the command would act on.
func RollbackTarget(name, env string, h []store.ArtifactHistory) (cur, tgt store.ArtifactHistory, summary string, err error) {
	switch {
	case len(h) == 0:
		return cur, tgt, "", &NothingToReturnToError{fmt.Sprintf("%s has never been deployed to %s by Conveyor, so there is nothing to return to; deploy a known good SHA with /deploy %s instead", name, env, env)}
	case len(h) >= 2:
		cur, tgt = h[0], h[1]
		summary = fmt.Sprintf("back to %s (deployment %d)", short(tgt.Serving), tgt.DeploymentID)
	case h[len(h)-1].Previous != "":
		// The baseline: what the driver found serving before
		// Conveyor's first deployment of the artifact here.
		cur, tgt = h[0], h[0]
		tgt.Serving = cur.Previous
		if isSHA(cur.Previous) {
			tgt.SHA = cur.Previous
		}
		summary = fmt.Sprintf("back to %s, what served before Conveyor's first deployment here (deployment %d)", short(cur.Previous), cur.DeploymentID)
	default:
		return cur, tgt, "", &NothingToReturnToError{fmt.Sprintf("%s has one deployment to %s by Conveyor (%d) and its driver did not report what served before it, so there is nothing known to return to; deploy a known good SHA with /deploy %s instead (drivers report what serves before a first deployment: docs/configuration.md, \"What served before\")", name, env, h[0].DeploymentID, env)}
	}
	return cur, tgt, summary, nil
}
