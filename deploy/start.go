package deploy

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/conveyor-dev/conveyor/deploy/driver"
	"github.com/conveyor-dev/conveyor/internal/store"
)

// Start records a deployment and sets it going, in one transaction: a
// request whose SourceKey already started one returns that one (Existing
// true); a locked environment returns *LockedError; a request that needs
// approvals waits for them (awaiting_approval), any other is queued. After
// the commit it creates the GitHub Deployments and the PR status comment.
func (e *Engine) Start(ctx context.Context, r Request) (*Deployment, error) {
	row, err := e.newRow(r, "deploy")
	if err != nil {
		return nil, err
	}
	return e.start(ctx, r, row)
}

// Rollback starts a deployment that returns each artifact to its last
// successful deployment before the current one in r.Environment (all
// artifacts that ever succeeded there when r.Artifacts is empty). Drivers get
// Rollback with Previous set to what served then.
func (e *Engine) Rollback(ctx context.Context, r Request) (*Deployment, error) {
	if r.Repository == "" || r.Environment == "" {
		return nil, errors.New("rollback: the repository and the environment are required (write /rollback <env>)")
	}
	hist, err := store.ListArtifactHistory(ctx, e.o.Store.DB, store.HistoryFilter{Repository: r.Repository, Environment: r.Environment, SucceededOnly: true})
	if err != nil {
		return nil, err
	}
	byName := map[string][]store.ArtifactHistory{}
	var order []string
	for _, h := range hist {
		if byName[h.Name] == nil {
			order = append(order, h.Name)
		}
		byName[h.Name] = append(byName[h.Name], h)
	}
	want := order
	if len(r.Artifacts) > 0 {
		want = nil
		for _, a := range r.Artifacts {
			want = append(want, a.Name)
		}
	}
	if len(want) == 0 {
		return nil, &NothingToReturnToError{fmt.Sprintf("nothing has been deployed to %s in %s yet, so there is nothing to return to", r.Environment, r.Repository)}
	}
	plans := map[string]ArtifactPlan{}
	for _, a := range r.Artifacts {
		plans[a.Name] = a
	}
	r.Artifacts = nil
	var targets []store.ArtifactRow
	for _, name := range want {
		cur, tgt, summary, err := RollbackTarget(name, r.Environment, byName[name])
		if err != nil {
			return nil, err
		}
		// A payload that names a version (a model's) goes back to the
		// version that served then.
		spec := driver.WithVersion(decodeSpec(tgt.Kind, tgt.Spec), tgt.Serving)
		p := ArtifactPlan{Name: name, Kind: cur.Kind, Driver: cur.Driver, Spec: spec, Summary: summary}
		if d := plans[name].Driver; d != "" {
			p.Driver = d
		}
		r.Artifacts = append(r.Artifacts, p)
		// What serves after the rollback is the target's, with what its
		// deployment recorded of owners and resources.
		targets = append(targets, store.ArtifactRow{SHA: tgt.SHA, Previous: tgt.Serving, Serving: cur.Serving, Owners: tgt.Owners, Resources: tgt.Resources})
	}
	if r.HeadSHA == "" {
		r.HeadSHA = targets[0].SHA
	}
	r.Steps, r.Pause = []int{100}, 0
	row, err := e.newRow(r, "rollback")
	if err != nil {
		return nil, err
	}
	for i := range row.Artifacts {
		row.Artifacts[i].SHA, row.Artifacts[i].Previous, row.Artifacts[i].Serving = targets[i].SHA, targets[i].Previous, targets[i].Serving
		row.Artifacts[i].Owners, row.Artifacts[i].Resources = targets[i].Owners, targets[i].Resources
	}
	return e.start(ctx, r, row)
}

// NothingToReturnToError is a rollback refused because nothing is known to
// have served before: trying again cannot help, deploying a known good
// version can.
type NothingToReturnToError struct{ Reason string }

func (e *NothingToReturnToError) Error() string { return "rollback: " + e.Reason }

// isSHA reports whether s looks like a full git commit SHA.
func isSHA(s string) bool {
	if len(s) != 40 {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func (e *Engine) start(ctx context.Context, r Request, row *store.DeploymentRow) (*Deployment, error) {
	var existing int64
	err := e.o.Store.Tx(ctx, func(tx *sql.Tx) error {
		lock, err := store.LockEnvironment(ctx, tx, r.Repository, r.Environment)
		if err != nil {
			return err
		}
		if existing, err = store.DeploymentBySource(ctx, tx, r.Repository, r.SourceKey); err != nil || existing != 0 {
			return err
		}
		if err := lockedFor(lock, r.PR); err != nil {
			return err
		}
		if row.Mode == "deploy" {
			if err := e.fillPrevious(ctx, tx, row); err != nil {
				return err
			}
		}
		if err := store.InsertDeployment(ctx, tx, row); err != nil {
			return err
		}
		held := *lock
		if !lock.Manual || lock.PR != r.PR {
			held = store.LockRow{Repository: r.Repository, Environment: r.Environment, Login: r.Requester, Since: e.o.Now()}
		}
		held.PR, held.DeploymentID = r.PR, row.ID
		if err := store.PutLock(ctx, tx, held); err != nil {
			return err
		}
		if err := e.audit(ctx, tx, row, "deployment", r.Requester, "created", map[string]any{
			"to": row.State, "environment": row.Environment, "sha": row.SHA, "pr": row.PR, "mode": row.Mode,
			"artifacts": artifactNames(row), "decision": r.Decision, "source": r.SourceKey,
		}); err != nil {
			return err
		}
		if row.State == StateQueued {
			return e.enqueueStep(ctx, tx, row, 0, time.Time{})
		}
		_, err = e.o.Queue.InsertTx(ctx, tx, expireArgs{DeploymentID: row.ID}, &river.InsertOpts{ScheduledAt: row.ExpiresAt})
		return err
	})
	if err != nil {
		return nil, err
	}
	if existing != 0 {
		d, err := e.Get(ctx, existing)
		if err != nil {
			return nil, err
		}
		d.Existing = true
		return d, nil
	}
	e.createGitHubDeployments(ctx, row.ID)
	if d := e.changed(ctx, row.ID, "created", r.Decision); d != nil {
		return d, nil
	}
	return e.Get(ctx, row.ID)
}

// newRow validates r and builds the row to insert.
func (e *Engine) newRow(r Request, mode string) (*store.DeploymentRow, error) {
	var problems []string
	if owner, name, ok := strings.Cut(r.Repository, "/"); !ok || owner == "" || name == "" {
		problems = append(problems, fmt.Sprintf("repository %q is not owner/name", r.Repository))
	}
	if r.Environment == "" {
		problems = append(problems, "no environment given (write /deploy <env>)")
	}
	if r.HeadSHA == "" {
		problems = append(problems, "no head SHA given")
	}
	if len(r.Artifacts) == 0 {
		problems = append(problems, "no artifacts to deploy (name them, or change files that belong to one)")
	}
	seen := map[string]bool{}
	for _, a := range r.Artifacts {
		switch {
		case a.Name == "":
			problems = append(problems, "an artifact has no name")
		case seen[a.Name]:
			problems = append(problems, fmt.Sprintf("artifact %q is listed twice", a.Name))
		case a.Driver == "":
			problems = append(problems, fmt.Sprintf("artifact %q has no driver (set deploy.driver for it in .github/conveyor.yml)", a.Name))
		}
		seen[a.Name] = true
	}
	steps := r.Steps
	if len(steps) == 0 {
		steps = []int{100}
	}
	for i, p := range steps {
		if p < 1 || p > 100 || (i > 0 && p <= steps[i-1]) || (i == len(steps)-1 && p != 100) {
			problems = append(problems, fmt.Sprintf("rollout steps %v must rise from 1 to 100 and end at 100, e.g. [10, 50, 100]", steps))
			break
		}
	}
	for _, g := range r.Quorum.Groups {
		if g.Count < 1 {
			problems = append(problems, fmt.Sprintf("an approval group from %v asks for %d approvals; ask for at least 1", g.From, g.Count))
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("cannot start the deployment: %s", strings.Join(problems, "; "))
	}
	q, _ := json.Marshal(r.Quorum)
	state := StateQueued
	if r.Quorum.Needed() > 0 {
		state = StateAwaitingApproval
	}
	now := e.o.Now()
	row := &store.DeploymentRow{
		Repository: r.Repository, InstallationID: r.InstallationID, PR: r.PR, PRTitle: r.PRTitle, PRURL: r.PRURL,
		SHA: r.HeadSHA, Ref: r.HeadRef, BaseRef: r.BaseRef, Environment: r.Environment, Production: r.Production, Mode: mode,
		State: state, Steps: steps, Pause: r.Pause, Requester: r.Requester, SourceKey: r.SourceKey, Quorum: string(q),
		Decision: r.Decision, CreatedAt: now,
	}
	if state == StateAwaitingApproval {
		row.ExpiresAt = now.Add(e.o.ApprovalTTL)
	}
	for _, a := range r.Artifacts {
		res, err := json.Marshal(a.Resources)
		if err != nil {
			return nil, fmt.Errorf("resources of %s: %w", a.Name, err)
		}
		row.Artifacts = append(row.Artifacts, store.ArtifactRow{Name: a.Name, Kind: a.Kind, Driver: a.Driver, Summary: a.Summary, Spec: encodeSpec(a.Kind, a.Spec), SHA: r.HeadSHA,
			Owners: a.Owners, Resources: string(res)})
	}
	return row, nil
}

// fillPrevious sets each artifact's Previous to what its last successful
// deployment in the environment left serving.
func (e *Engine) fillPrevious(ctx context.Context, tx *sql.Tx, row *store.DeploymentRow) error {
	hist, err := store.ListArtifactHistory(ctx, tx, store.HistoryFilter{Repository: row.Repository, Environment: row.Environment, SucceededOnly: true})
	if err != nil {
		return err
	}
	last := map[string]string{}
	for _, h := range hist {
		if _, ok := last[h.Name]; !ok {
			last[h.Name] = h.Serving
		}
	}
	for i := range row.Artifacts {
		row.Artifacts[i].Previous = last[row.Artifacts[i].Name]
	}
	return nil
}

// enqueueStep inserts the job for step of d in tx, to run at at (now when
// zero), and remembers its ID so Cancel can wake it early.
func (e *Engine) enqueueStep(ctx context.Context, tx *sql.Tx, d *store.DeploymentRow, step int, at time.Time) error {
	opts := &river.InsertOpts{}
	if !at.IsZero() {
		opts.ScheduledAt = at
	}
	res, err := e.o.Queue.InsertTx(ctx, tx, stepArgs{DeploymentID: d.ID, Step: step}, opts)
	if err != nil {
		return fmt.Errorf("enqueue step %d of deployment %d: %w", step, d.ID, err)
	}
	return store.UpdateDeployment(ctx, tx, d.ID, d.State, store.DeploymentUpdate{JobID: &res.Job.ID, At: e.o.Now()})
}

func artifactNames(d *store.DeploymentRow) []string {
	var out []string
	for _, a := range d.Artifacts {
		out = append(out, a.Name)
	}
	return out
}

// short abbreviates a 40-hex SHA to 7 characters and leaves versions alone.
func short(s string) string {
	if len(s) == 40 {
		return s[:7]
	}
	return s
}
