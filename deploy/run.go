package deploy

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/sourcegraph/conc/panics"
	"github.com/sourcegraph/conc/pool"

	"github.com/conveyor-dev/conveyor/deploy/driver"
	"github.com/conveyor-dev/conveyor/internal/store"
)

type stepArgs struct {
	DeploymentID int64 `json:"deployment_id"`
	Step         int   `json:"step"`
}

// Kind names the rollout step job.
func (stepArgs) Kind() string { return "deploy_step" }

// InsertOpts puts rollout steps on their own queue: a step holds its worker
// for as long as the drivers run, and must not take the slots deliveries
// and check evaluations are worked in.
func (stepArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: store.QueueRollouts} }

type stepWorker struct {
	river.WorkerDefaults[stepArgs]
	e *Engine
}

// Timeout keeps rollout steps out of the queue's short rescue window
// (store.DefaultRescueAfter): a step runs drivers for as long as they take,
// and river rescues a running job of this kind only once StepTimeout has
// passed since it started, so a live step is never run twice at once. The
// pauses between steps are scheduled jobs of their own and count nothing.
func (w *stepWorker) Timeout(*river.Job[stepArgs]) time.Duration { return w.e.o.StepTimeout }

// Work runs one rollout step of one deployment: every artifact side by side,
// each one's completion recorded before moving on (so a retried job skips
// what is done), then the health gate, then the next step's job after the
// pause. A cancelled or failed deployment is rolled back instead.
func (w *stepWorker) Work(ctx context.Context, job *river.Job[stepArgs]) error {
	e, id, step := w.e, job.Args.DeploymentID, job.Args.Step
	retry := job.Attempt > 1
	d, err := e.Get(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	switch {
	case d.State == StateCancelled || d.State == StateFailed:
		return e.rollbackAll(ctx, id, retry)
	case d.State == StateQueued && step == 0:
		release, err := e.inOrder(ctx, id)
		if err != nil {
			return err
		}
		if err := e.inTx(ctx, id, func(tx *sql.Tx, r *store.DeploymentRow) error {
			return e.transition(ctx, tx, r, StateInProgress, "conveyor", "rollout started", store.DeploymentUpdate{Step: &step})
		}); err != nil {
			release()
			return err
		}
		e.createGitHubDeployments(ctx, id) // any the starter could not create
		e.postStatuses(ctx, id, "in_progress", fmt.Sprintf("deploying %s", stepLabel(d.Steps, 0)))
		e.changed(ctx, id, "step", "started")
		release()
	case d.State == StateInProgress && d.Step == step:
	default:
		return nil // a stale job: the deployment moved on without it
	}
	if d, err = e.Get(ctx, id); err != nil {
		return err
	}
	runErr := e.runStep(ctx, d, step)
	if runErr == nil {
		runErr = e.gate(ctx, d, step)
	}
	if ctx.Err() != nil {
		return ctx.Err() // shutting down: the job is retried and resumes
	}
	if d, err = e.Get(ctx, id); err != nil {
		return err
	}
	if d.State == StateCancelled {
		return e.rollbackAll(ctx, id, retry)
	}
	if runErr != nil {
		return e.fail(ctx, id, runErr, retry)
	}
	if step == len(d.Steps)-1 {
		return e.succeed(ctx, id)
	}
	next := step + 1
	release, err := e.inOrder(ctx, id)
	if err != nil {
		return err
	}
	defer release()
	err = e.inTx(ctx, id, func(tx *sql.Tx, r *store.DeploymentRow) error {
		if err := e.transition(ctx, tx, r, StateInProgress, "conveyor", fmt.Sprintf("step %d (%d%%) done", step+1, r.Steps[step]), store.DeploymentUpdate{Step: &next}); err != nil {
			return err
		}
		var at time.Time
		if r.Pause > 0 {
			at = e.o.Now().Add(r.Pause)
		}
		return e.enqueueStep(ctx, tx, r, next, at)
	})
	if err != nil {
		return err
	}
	e.postStatuses(ctx, id, "in_progress", fmt.Sprintf("%d%% healthy; next %d%%", d.Steps[step], d.Steps[next]))
	e.changed(ctx, id, "step", fmt.Sprintf("queued; %d%% is healthy", d.Steps[step]))
	return nil
}

// runStep deploys every artifact not yet done at step, side by side. The
// drivers' context ends when the deployment is cancelled.
func (e *Engine) runStep(ctx context.Context, d *Deployment, step int) error {
	done, err := store.StepsDone(ctx, e.o.Store.DB, d.ID, step)
	if err != nil {
		return err
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go e.watchCancel(runCtx, cancel, d.ID)
	var mu sync.Mutex
	var errs []error
	p := pool.New().WithMaxGoroutines(e.o.Parallel)
	for _, a := range d.Artifacts {
		if _, ok := done[a.Name]; ok {
			continue
		}
		p.Go(func() {
			if err := safely(a, func() error { return e.deployArtifact(runCtx, d, a, step) }); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	p.Wait()
	return errors.Join(errs...)
}

// watchCancel polls the deployment's state and calls cancel once it is
// cancelled, so drivers stop promptly.
func (e *Engine) watchCancel(ctx context.Context, cancel context.CancelFunc, id int64) {
	t := time.NewTicker(e.pollEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			var state string
			if err := e.o.Store.DB.QueryRowContext(ctx, `SELECT state FROM deployments WHERE id = $1`, id).Scan(&state); err == nil && state == StateCancelled {
				cancel()
				return
			}
		}
	}
}

// safely runs fn and turns a driver's panic into an error.
func safely(a ArtifactState, fn func() error) error {
	var c panics.Catcher
	var err error
	c.Try(func() { err = fn() })
	if r := c.Recovered(); r != nil {
		return fmt.Errorf("%s: driver %q crashed: %v", a.Name, a.Driver, r.Value)
	}
	return err
}

func (e *Engine) target(d *Deployment, a ArtifactState, step int) driver.Target {
	pct := 100
	if step < len(d.Steps) {
		pct = d.Steps[step]
	}
	return driver.Target{
		DeploymentID: d.ID, Repository: d.Repository, InstallationID: d.InstallationID, PR: d.PR, SHA: a.SHA, Ref: d.Ref,
		Environment: d.Environment, Production: d.Production, Artifact: a.Name, Kind: a.Kind, Step: step, Percent: pct,
		Spec: a.Spec, Previous: a.Previous,
	}
}

// deployArtifact runs one artifact's driver for step and records the result.
func (e *Engine) deployArtifact(ctx context.Context, d *Deployment, a ArtifactState, step int) error {
	db := e.o.Store.DB
	drv, err := e.o.Drivers(a.Driver)
	if err != nil {
		return fmt.Errorf("%s: %w", a.Name, err)
	}
	running := "in_progress"
	if err := store.UpdateArtifact(ctx, db, d.ID, a.Name, store.ArtifactUpdate{State: &running}); err != nil {
		return err
	}
	t := e.target(d, a, step)
	logf := func(line string) { e.o.Log.Debug("driver", "deployment", d.ID, "artifact", a.Name, "line", line) }
	var res driver.Result
	if d.Mode == "rollback" {
		res, err = drv.Rollback(ctx, t, logf)
	} else {
		res, err = drv.Deploy(ctx, t, logf)
	}
	// Drivers mask their own output; masking again here keeps a driver
	// that does not (a plug-in, a panic text) from storing a secret.
	out := e.o.Mask.String(res.Output)
	err = e.o.Mask.Error(err)
	if err != nil {
		failed := "failed"
		if uerr := store.UpdateArtifact(context.WithoutCancel(ctx), db, d.ID, a.Name, store.ArtifactUpdate{State: &failed, Output: &out}); uerr != nil {
			e.o.Log.Warn("record failure", "deployment", d.ID, "artifact", a.Name, "err", uerr)
		}
		return fmt.Errorf("%s: %w", a.Name, err)
	}
	serving := res.Serving
	if serving == "" {
		serving = servingOf(d, a)
	}
	if len(res.Manifest) > 0 {
		e.keepManifest(ctx, d, a, serving, res.Manifest)
	}
	u := store.ArtifactUpdate{Serving: &serving, Output: &out}
	if step == 0 && d.Mode != "rollback" && res.Previous != "" && a.Previous == "" {
		u.Previous = &res.Previous
	}
	return e.o.Store.Tx(context.WithoutCancel(ctx), func(tx *sql.Tx) error {
		if err := store.UpdateArtifact(ctx, tx, d.ID, a.Name, u); err != nil {
			return err
		}
		return store.MarkStepDone(ctx, tx, d.ID, a.Name, step, serving, e.o.Now())
	})
}

// keepManifest keeps the dbt manifest the driver's run of sha wrote, so a
// pull request's dbt check can compare with what the environment runs
// after the CI artifact of that commit has expired (ci_manifest with
// compare: <environment>). It is kept per SHA whether or not the
// deployment later succeeds: the check looks it up by the SHA the
// environment last deployed successfully. Failing to keep it is logged and
// never fails the deploy; secrets are masked first, like all output.
func (e *Engine) keepManifest(ctx context.Context, d *Deployment, a ArtifactState, sha string, manifest []byte) {
	masked := e.o.Mask.String(string(manifest))
	if err := store.SaveDBTManifest(context.WithoutCancel(ctx), e.o.Store.DB, d.Repository, a.Name, d.Environment, sha, []byte(masked)); err != nil {
		e.o.Log.Warn("keep the dbt manifest", "deployment", d.ID, "artifact", a.Name, "sha", sha, "err", err)
	}
}

// servingOf is what serves once a deploys: a rollback's restored version, a
// model's version, or the SHA.
func servingOf(d *Deployment, a ArtifactState) string {
	switch {
	case d.Mode == "rollback":
		return a.Previous
	case driver.SpecVersion(a.Spec) != "":
		return driver.SpecVersion(a.Spec)
	}
	return a.SHA
}

// gate runs the health checks after step: each driver's own check, if it
// has one, and the server's health gate for the driver, if configured. The
// artifacts are checked side by side, since a metric gate may watch for
// minutes (its bake time); the checks stop when the deployment is
// cancelled.
func (e *Engine) gate(ctx context.Context, d *Deployment, step int) error {
	gateCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go e.watchCancel(gateCtx, cancel, d.ID)
	// One slot per artifact keeps the message in the deployment's order.
	errs := make([][]error, len(d.Artifacts))
	p := pool.New().WithMaxGoroutines(e.o.Parallel)
	for i, a := range d.Artifacts {
		t := e.target(d, a, step)
		p.Go(func() {
			if drv, err := e.o.Drivers(a.Driver); err == nil {
				if hc, ok := drv.(driver.HealthChecker); ok {
					if err := safely(a, func() error { return hc.Healthy(gateCtx, t) }); err != nil {
						errs[i] = append(errs[i], fmt.Errorf("%s: health check failed at %d%%: %w", a.Name, t.Percent, err))
					}
				}
			}
			if e.o.Health != nil {
				if g, ok := e.o.Health(a.Driver); ok && g != nil {
					if err := safely(a, func() error { return g.Healthy(gateCtx, t) }); err != nil {
						errs[i] = append(errs[i], fmt.Errorf("%s: health gate failed at %d%%: %w", a.Name, t.Percent, err))
					}
				}
			}
		})
	}
	p.Wait()
	return errors.Join(slices.Concat(errs...)...)
}

// succeed finishes deployment id: every artifact serves, the environment is
// released, GitHub statuses say success.
func (e *Engine) succeed(ctx context.Context, id int64) error {
	release, err := e.inOrder(ctx, id)
	if err != nil {
		return err
	}
	defer release()
	err = e.inTx(ctx, id, func(tx *sql.Tx, d *store.DeploymentRow) error {
		if err := e.transition(ctx, tx, d, StateSucceeded, "conveyor", "all steps healthy", store.DeploymentUpdate{}); err != nil {
			return err
		}
		ok := StateSucceeded
		for _, a := range d.Artifacts {
			if err := store.UpdateArtifact(ctx, tx, id, a.Name, store.ArtifactUpdate{State: &ok}); err != nil {
				return err
			}
		}
		return e.releaseLock(ctx, tx, d)
	})
	if err != nil {
		return err
	}
	e.postStatuses(ctx, id, "success", "deployed")
	e.retirePrevious(ctx, id)
	e.changed(ctx, id, "succeeded", "")
	return nil
}

// fail marks deployment id failed with cause, then rolls back what ran.
func (e *Engine) fail(ctx context.Context, id int64, cause error, retry bool) error {
	msg := e.o.Mask.String(cause.Error())
	release, err := e.inOrder(ctx, id)
	if err != nil {
		return err
	}
	err = e.inTx(ctx, id, func(tx *sql.Tx, d *store.DeploymentRow) error {
		if d.State != StateInProgress {
			return nil
		}
		return e.transition(ctx, tx, d, StateFailed, "conveyor", msg, store.DeploymentUpdate{Error: &msg})
	})
	if err != nil {
		release()
		return err
	}
	e.postStatuses(ctx, id, "failure", firstLine(msg))
	e.changed(ctx, id, "failed", msg)
	release() // rollbackAll takes it again
	return e.rollbackAll(ctx, id, retry)
}

// firstLine is s's first line within GitHub's 140-character limit on a
// deployment status description, shortened at a word boundary; the status
// links to the pull request, whose status comment has the full text.
func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return Shorten(s, 140)
}

// Shorten keeps s within max characters (runes), cutting at the last word
// boundary that fits and ending in "…", so no word is cut in half ("the
// model evaluation d…"). A single word longer than max is cut where it must.
func Shorten(s string, max int) string {
	r := []rune(s)
	if len(r) <= max {
		return s
	}
	cut := string(r[:max-1])
	if i := strings.LastIndexAny(cut, " \t"); i > 0 {
		cut = cut[:i]
	}
	return strings.TrimRight(cut, " \t,;:") + "…"
}
