package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Querier runs SQL; *sql.DB and *sql.Tx both satisfy it, so every function
// below can join the caller's transaction.
type Querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// ErrStateChanged is returned by UpdateDeployment when the row is no longer
// in the state the caller read: someone else moved it first.
var ErrStateChanged = errors.New("deployment state changed concurrently")

// DeploymentRow is one deployment as stored. The engine owns the meaning of
// State, Mode and Quorum (JSON); the store only keeps them.
type DeploymentRow struct {
	ID             int64
	Repository     string
	InstallationID int64
	PR             int
	PRTitle        string
	PRURL          string
	SHA            string
	Ref            string
	BaseRef        string
	Environment    string
	Production     bool
	Mode           string // deploy or rollback
	State          string
	Step           int
	Steps          []int
	Pause          time.Duration
	Requester      string
	SourceKey      string
	Quorum         string // JSON
	Decision       string
	CommentID      int64
	SlackChannel   string
	SlackTS        string
	JobID          int64 // the latest step job enqueued
	Error          string
	CreatedAt      time.Time
	UpdatedAt      time.Time
	// ExpiresAt is when a deployment awaiting approval expires, as
	// scheduled at its creation (zero: none, or not recorded).
	ExpiresAt time.Time
	Artifacts []ArtifactRow
	Approvals []ApprovalRow
}

// ArtifactRow is one artifact of a deployment.
type ArtifactRow struct {
	Name               string
	Kind               string
	Driver             string
	Summary            string
	Spec               string // JSON: model or dbt reference
	SHA                string // what it deploys (a rollback's target SHA)
	GitHubDeploymentID int64
	Previous           string
	Serving            string
	State              string
	Output             string
	// Owners and Resources are what the base config said of the artifact
	// when the deployment was made: its owners, and the policy's resources
	// as JSON ("" for a deployment made before they were recorded).
	Owners    []string
	Resources string
}

// ApprovalRow is one approval of a deployment.
type ApprovalRow struct {
	Login string
	Via   string
	SHA   string
	Teams []string
	At    time.Time
}

const deploymentCols = `id, repository, installation_id, pr, pr_title, pr_url, sha, ref, base_ref, environment, production, mode,
	state, step, steps, pause_ms, requester, source_key, quorum, decision, comment_id, slack_channel, slack_ts, job_id, error, created_at, updated_at, expires_at`

// InsertDeployment stores d with its artifacts and sets d.ID.
func InsertDeployment(ctx context.Context, q Querier, d *DeploymentRow) error {
	return inTx(ctx, q, func(q Querier) error { return insertDeployment(ctx, q, d) })
}

func insertDeployment(ctx context.Context, q Querier, d *DeploymentRow) error {
	steps, _ := json.Marshal(d.Steps)
	now := d.CreatedAt
	if now.IsZero() {
		now = time.Now()
	}
	err := q.QueryRowContext(ctx, `INSERT INTO deployments (repository, installation_id, pr, pr_title, pr_url, sha, ref, base_ref,
		environment, production, mode, state, step, steps, pause_ms, requester, source_key, quorum, decision, created_at, updated_at, expires_at)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$20,$21) RETURNING id`,
		d.Repository, d.InstallationID, d.PR, d.PRTitle, d.PRURL, d.SHA, d.Ref, d.BaseRef, d.Environment, boolInt(d.Production),
		d.Mode, d.State, d.Step, string(steps), d.Pause.Milliseconds(), d.Requester, d.SourceKey, orJSON(d.Quorum, "{}"), d.Decision,
		now.UnixMilli(), unixMilliOrZero(d.ExpiresAt)).Scan(&d.ID)
	if err != nil {
		return fmt.Errorf("insert deployment: %w", err)
	}
	for _, a := range d.Artifacts {
		owners, _ := json.Marshal(nonNil(a.Owners))
		_, err := q.ExecContext(ctx, `INSERT INTO deployment_artifacts (deployment_id, name, kind, driver, summary, spec, sha, previous, serving, state, owners, resources)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)`,
			d.ID, a.Name, a.Kind, a.Driver, a.Summary, orJSON(a.Spec, "{}"), a.SHA, a.Previous, a.Serving, orJSON(a.State, "pending"), string(owners), a.Resources)
		if err != nil {
			return fmt.Errorf("insert artifact %s: %w", a.Name, err)
		}
	}
	return refreshCells(ctx, q, d.ID, "")
}

// DeploymentBySource returns the ID of the deployment started by sourceKey in
// repo, or 0.
func DeploymentBySource(ctx context.Context, q Querier, repo, sourceKey string) (int64, error) {
	if sourceKey == "" {
		return 0, nil
	}
	var id int64
	err := q.QueryRowContext(ctx, `SELECT id FROM deployments WHERE repository = $1 AND source_key = $2`, repo, sourceKey).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return id, err
}

// LoadDeployment reads deployment id with its artifacts and approvals.
func LoadDeployment(ctx context.Context, q Querier, id int64) (*DeploymentRow, error) {
	ds, err := queryDeployments(ctx, q, `SELECT `+deploymentCols+` FROM deployments WHERE id = $1`, id)
	if err != nil {
		return nil, err
	}
	if len(ds) == 0 {
		return nil, fmt.Errorf("deployment %d: %w", id, ErrNotFound)
	}
	return ds[0], nil
}

// DeploymentFilter narrows ListDeployments; zero fields match everything.
type DeploymentFilter struct {
	Repository  string
	PR          int
	Environment string
	States      []string
	Limit       int // default 100
}

// ListDeployments returns matching deployments, newest first.
func ListDeployments(ctx context.Context, q Querier, f DeploymentFilter) ([]*DeploymentRow, error) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	query := `SELECT ` + deploymentCols + ` FROM deployments WHERE ($1 = '' OR repository = $1) AND ($2 = 0 OR pr = $2) AND ($3 = '' OR environment = $3)`
	args := []any{f.Repository, f.PR, f.Environment}
	if len(f.States) > 0 {
		ph := make([]string, len(f.States))
		for i, s := range f.States {
			args = append(args, s)
			ph[i] = fmt.Sprintf("$%d", len(args))
		}
		query += ` AND state IN (` + strings.Join(ph, ",") + `)`
	}
	args = append(args, f.Limit)
	query += fmt.Sprintf(` ORDER BY id DESC LIMIT $%d`, len(args))
	return queryDeployments(ctx, q, query, args...)
}

func queryDeployments(ctx context.Context, q Querier, query string, args ...any) ([]*DeploymentRow, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("deployments: %w", err)
	}
	var out []*DeploymentRow
	for rows.Next() {
		d := &DeploymentRow{}
		var prod, pause, created, updated, expires int64
		var steps string
		if err := rows.Scan(&d.ID, &d.Repository, &d.InstallationID, &d.PR, &d.PRTitle, &d.PRURL, &d.SHA, &d.Ref, &d.BaseRef,
			&d.Environment, &prod, &d.Mode, &d.State, &d.Step, &steps, &pause, &d.Requester, &d.SourceKey, &d.Quorum, &d.Decision,
			&d.CommentID, &d.SlackChannel, &d.SlackTS, &d.JobID, &d.Error, &created, &updated, &expires); err != nil {
			rows.Close()
			return nil, fmt.Errorf("deployments: %w", err)
		}
		d.Production = prod != 0
		d.Pause = time.Duration(pause) * time.Millisecond
		d.CreatedAt, d.UpdatedAt = time.UnixMilli(created), time.UnixMilli(updated)
		if expires != 0 {
			d.ExpiresAt = time.UnixMilli(expires)
		}
		if err := json.Unmarshal([]byte(steps), &d.Steps); err != nil {
			rows.Close()
			return nil, fmt.Errorf("deployment %d: steps %q: %w", d.ID, steps, err)
		}
		out = append(out, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// Read children after closing the cursor: SQLite has one connection.
	if err := loadChildren(ctx, q, out); err != nil {
		return nil, err
	}
	return out, nil
}

// loadChildren reads the artifacts and approvals of ds, two queries for
// all of them rather than two per deployment.
func loadChildren(ctx context.Context, q Querier, ds []*DeploymentRow) error {
	if len(ds) == 0 {
		return nil
	}
	byID := make(map[int64]*DeploymentRow, len(ds))
	args := make([]any, len(ds))
	ph := make([]string, len(ds))
	for i, d := range ds {
		byID[d.ID] = d
		args[i], ph[i] = d.ID, fmt.Sprintf("$%d", i+1)
	}
	in := "IN (" + strings.Join(ph, ",") + ")"
	rows, err := q.QueryContext(ctx, `SELECT deployment_id, name, kind, driver, summary, spec, sha, github_deployment_id, previous, serving, state, output, owners, resources
		FROM deployment_artifacts WHERE deployment_id `+in+` ORDER BY deployment_id, name`, args...)
	if err != nil {
		return fmt.Errorf("artifacts of deployments: %w", err)
	}
	for rows.Next() {
		var id int64
		var a ArtifactRow
		var owners string
		if err := rows.Scan(&id, &a.Name, &a.Kind, &a.Driver, &a.Summary, &a.Spec, &a.SHA, &a.GitHubDeploymentID, &a.Previous, &a.Serving, &a.State, &a.Output, &owners, &a.Resources); err != nil {
			rows.Close()
			return err
		}
		_ = json.Unmarshal([]byte(owners), &a.Owners)
		byID[id].Artifacts = append(byID[id].Artifacts, a)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	rows, err = q.QueryContext(ctx, `SELECT deployment_id, login, via, sha, teams, at FROM deployment_approvals WHERE deployment_id `+in+` ORDER BY deployment_id, at, login`, args...)
	if err != nil {
		return fmt.Errorf("approvals of deployments: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var a ApprovalRow
		var teams string
		var at int64
		if err := rows.Scan(&id, &a.Login, &a.Via, &a.SHA, &teams, &at); err != nil {
			return err
		}
		_ = json.Unmarshal([]byte(teams), &a.Teams)
		a.At = time.UnixMilli(at)
		byID[id].Approvals = append(byID[id].Approvals, a)
	}
	return rows.Err()
}

// DeploymentUpdate changes a deployment; nil fields are kept.
type DeploymentUpdate struct {
	State *string
	Step  *int
	Error *string
	JobID *int64
	At    time.Time
}

// UpdateDeployment applies u to deployment id if it is still in state from
// (a compare-and-set, so two writers cannot both move it); otherwise it
// returns ErrStateChanged.
func UpdateDeployment(ctx context.Context, q Querier, id int64, from string, u DeploymentUpdate) error {
	at := u.At
	if at.IsZero() {
		at = time.Now()
	}
	sets := []string{"updated_at = $1"}
	args := []any{at.UnixMilli()}
	add := func(col string, v any) {
		args = append(args, v)
		sets = append(sets, fmt.Sprintf("%s = $%d", col, len(args)))
	}
	if u.State != nil {
		add("state", *u.State)
	}
	if u.Step != nil {
		add("step", *u.Step)
	}
	if u.Error != nil {
		add("error", *u.Error)
	}
	if u.JobID != nil {
		add("job_id", *u.JobID)
	}
	args = append(args, id, from)
	query := fmt.Sprintf(`UPDATE deployments SET %s WHERE id = $%d AND state = $%d`, strings.Join(sets, ", "), len(args)-1, len(args))
	write := func(q Querier) error {
		res, err := q.ExecContext(ctx, query, args...)
		if err != nil {
			return fmt.Errorf("update deployment %d: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("deployment %d is no longer %s: %w", id, from, ErrStateChanged)
		}
		if u.State == nil {
			return nil
		}
		return refreshCells(ctx, q, id, "")
	}
	if u.State == nil {
		return write(q) // what serves moves only with a state
	}
	return inTx(ctx, q, write)
}

// SetDeploymentComment records the PR status comment of deployment id unless
// one is recorded already; it reports whether it did.
func SetDeploymentComment(ctx context.Context, q Querier, id, commentID int64) (bool, error) {
	res, err := q.ExecContext(ctx, `UPDATE deployments SET comment_id = $1 WHERE id = $2 AND comment_id = 0`, commentID, id)
	if err != nil {
		return false, fmt.Errorf("deployment %d comment: %w", id, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// SetDeploymentSlack records the Slack approval message of deployment id.
func SetDeploymentSlack(ctx context.Context, q Querier, id int64, channel, ts string) error {
	_, err := q.ExecContext(ctx, `UPDATE deployments SET slack_channel = $1, slack_ts = $2 WHERE id = $3`, channel, ts, id)
	if err != nil {
		return fmt.Errorf("deployment %d slack message: %w", id, err)
	}
	return nil
}

// ArtifactUpdate changes an artifact of a deployment; nil fields are kept.
type ArtifactUpdate struct {
	State              *string
	Previous           *string
	Serving            *string
	Output             *string
	GitHubDeploymentID *int64
}

// UpdateArtifact applies u to artifact name of deployment id.
func UpdateArtifact(ctx context.Context, q Querier, id int64, name string, u ArtifactUpdate) error {
	var sets []string
	var args []any
	add := func(col string, v any) {
		args = append(args, v)
		sets = append(sets, fmt.Sprintf("%s = $%d", col, len(args)))
	}
	if u.State != nil {
		add("state", *u.State)
	}
	if u.Previous != nil {
		add("previous", *u.Previous)
	}
	if u.Serving != nil {
		add("serving", *u.Serving)
	}
	if u.Output != nil {
		add("output", *u.Output)
	}
	if u.GitHubDeploymentID != nil {
		add("github_deployment_id", *u.GitHubDeploymentID)
	}
	if len(sets) == 0 {
		return nil
	}
	args = append(args, id, name)
	query := fmt.Sprintf(`UPDATE deployment_artifacts SET %s WHERE deployment_id = $%d AND name = $%d`, strings.Join(sets, ", "), len(args)-1, len(args))
	write := func(q Querier) error {
		if _, err := q.ExecContext(ctx, query, args...); err != nil {
			return fmt.Errorf("update artifact %s of deployment %d: %w", name, id, err)
		}
		if u.State == nil {
			return nil
		}
		return refreshCells(ctx, q, id, name)
	}
	if u.State == nil {
		return write(q) // what serves moves only with a state
	}
	return inTx(ctx, q, write)
}

// ClaimArtifact moves artifact name of deployment id to state to if it is in
// one of from, and reports whether this caller won it: of two workers racing
// to roll the same artifact back, exactly one does.
func ClaimArtifact(ctx context.Context, q Querier, id int64, name string, from []string, to string) (bool, error) {
	args := []any{to, id, name}
	ph := make([]string, len(from))
	for i, s := range from {
		args = append(args, s)
		ph[i] = fmt.Sprintf("$%d", len(args))
	}
	var won bool
	err := inTx(ctx, q, func(q Querier) error {
		res, err := q.ExecContext(ctx, `UPDATE deployment_artifacts SET state = $1 WHERE deployment_id = $2 AND name = $3 AND state IN (`+strings.Join(ph, ",")+`)`, args...)
		if err != nil {
			return fmt.Errorf("claim artifact %s of deployment %d: %w", name, id, err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return nil
		}
		won = true
		return refreshCells(ctx, q, id, name)
	})
	return won && err == nil, err
}

// MarkStepDone records that artifact finished step of deployment id, serving
// serving. Recording it twice keeps the first.
func MarkStepDone(ctx context.Context, q Querier, id int64, artifact string, step int, serving string, at time.Time) error {
	_, err := q.ExecContext(ctx, `INSERT INTO deployment_steps (deployment_id, artifact, step, serving, done_at) VALUES ($1,$2,$3,$4,$5)
		ON CONFLICT (deployment_id, artifact, step) DO NOTHING`, id, artifact, step, serving, at.UnixMilli())
	if err != nil {
		return fmt.Errorf("record step %d of %s: %w", step, artifact, err)
	}
	return nil
}

// StepsDone returns the artifacts of deployment id that finished step, with
// what each was serving then.
func StepsDone(ctx context.Context, q Querier, id int64, step int) (map[string]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT artifact, serving FROM deployment_steps WHERE deployment_id = $1 AND step = $2`, id, step)
	if err != nil {
		return nil, fmt.Errorf("steps of deployment %d: %w", id, err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var a, s string
		if err := rows.Scan(&a, &s); err != nil {
			return nil, err
		}
		out[a] = s
	}
	return out, rows.Err()
}

// AddApproval records a for deployment id once per login and reports whether
// it was new.
func AddApproval(ctx context.Context, q Querier, id int64, a ApprovalRow) (bool, error) {
	teams, _ := json.Marshal(a.Teams)
	if a.Teams == nil {
		teams = []byte("[]")
	}
	res, err := q.ExecContext(ctx, `INSERT INTO deployment_approvals (deployment_id, login, via, sha, teams, at) VALUES ($1,$2,$3,$4,$5,$6)
		ON CONFLICT (deployment_id, login) DO NOTHING`, id, a.Login, a.Via, a.SHA, string(teams), a.At.UnixMilli())
	if err != nil {
		return false, fmt.Errorf("approval of deployment %d: %w", id, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// ArtifactHistory is an artifact of a past deployment with who and when.
type ArtifactHistory struct {
	ArtifactRow
	DeploymentID    int64
	Environment     string
	DeploymentState string
	PR              int
	Requester       string
	At              time.Time
	// Mode is the deployment's mode, deploy or rollback (set by
	// ArtifactDeployments).
	Mode string
}

// HistoryFilter narrows ListArtifactHistory; zero fields match everything.
type HistoryFilter struct {
	Repository    string
	Environment   string
	SucceededOnly bool  // only succeeded artifacts of succeeded deployments
	BeforeID      int64 // only deployments older than this one
	Limit         int   // default 1000
}

// ListArtifactHistory returns artifacts of past deployments, newest first.
func ListArtifactHistory(ctx context.Context, q Querier, f HistoryFilter) ([]ArtifactHistory, error) {
	if f.Limit <= 0 {
		f.Limit = 1000
	}
	rows, err := q.QueryContext(ctx, `SELECT d.id, d.environment, d.state, d.pr, d.requester, d.updated_at,
		a.name, a.kind, a.driver, a.summary, a.spec, a.sha, a.github_deployment_id, a.previous, a.serving, a.state, a.output, a.owners, a.resources
		FROM deployment_artifacts a JOIN deployments d ON d.id = a.deployment_id
		WHERE d.repository = $1 AND ($2 = '' OR d.environment = $2) AND ($3 = 0 OR (d.state = 'succeeded' AND a.state = 'succeeded'))
		AND ($4 = 0 OR d.id < $4) ORDER BY d.id DESC, a.name LIMIT $5`,
		f.Repository, f.Environment, boolInt(f.SucceededOnly), f.BeforeID, f.Limit)
	if err != nil {
		return nil, fmt.Errorf("artifact history: %w", err)
	}
	defer rows.Close()
	var out []ArtifactHistory
	for rows.Next() {
		var h ArtifactHistory
		var at int64
		var owners string
		a := &h.ArtifactRow
		if err := rows.Scan(&h.DeploymentID, &h.Environment, &h.DeploymentState, &h.PR, &h.Requester, &at,
			&a.Name, &a.Kind, &a.Driver, &a.Summary, &a.Spec, &a.SHA, &a.GitHubDeploymentID, &a.Previous, &a.Serving, &a.State, &a.Output, &owners, &a.Resources); err != nil {
			return nil, err
		}
		_ = json.Unmarshal([]byte(owners), &a.Owners)
		h.At = time.UnixMilli(at)
		out = append(out, h)
	}
	return out, rows.Err()
}

// Expiry is when d, awaiting approval, expires: ExpiresAt, or for a
// deployment from before it was recorded, its creation plus ttl.
func (d *DeploymentRow) Expiry(ttl time.Duration) time.Time {
	if !d.ExpiresAt.IsZero() {
		return d.ExpiresAt
	}
	return d.CreatedAt.Add(ttl)
}

// unixMilliOrZero is t in Unix ms, 0 for the zero time.
func unixMilliOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func orJSON(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
