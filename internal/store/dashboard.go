package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// The dashboard's queries. Each takes the repositories the viewer may read
// and never returns a row of another: access is filtered here, in SQL, not
// after the rows were read. An empty list reads nothing.

// inList appends repos to args and returns "IN ($k, ...)" for them.
func inList(args []any, repos []string) ([]any, string) {
	ph := make([]string, len(repos))
	for i, r := range repos {
		args = append(args, r)
		ph[i] = fmt.Sprintf("$%d", len(args))
	}
	return args, "IN (" + strings.Join(ph, ",") + ")"
}

// KnownRepositories returns every repository Conveyor knows of: installed,
// deployed to, or checked, sorted.
func KnownRepositories(ctx context.Context, q Querier) ([]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT repository FROM installation_repositories
		UNION SELECT DISTINCT repository FROM deployments
		UNION SELECT DISTINCT repository FROM check_heads
		ORDER BY 1`)
	if err != nil {
		return nil, fmt.Errorf("known repositories: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var r string
		if err := rows.Scan(&r); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// ServingFilter narrows ServingCells; Repos is required, the other zero
// fields match everything.
type ServingFilter struct {
	Repos       []string // the repositories the viewer may read
	Environment string
	Kind        string
	Team        string // an owner, "org/slug" or a login, without "@"
}

// ServingCell is one artifact in one environment: what serves there (the
// last succeeded deployment of it) and its latest deployment.
type ServingCell struct {
	Repository  string
	Environment string
	Artifact    string
	Kind        string
	Owners      []string
	// What serves: empty Serving when no deployment of it succeeded here.
	Serving             string
	SHA                 string
	ServedID            int64 // the deployment that put it there
	ServedPR            int
	ServedBy            string
	ServedSince         time.Time
	LatestID            int64 // the latest deployment of the artifact here
	LatestState         string
	LatestArtifactState string
	LatestAt            time.Time
}

// ServingCells returns every (repository, environment, artifact) that was
// ever deployed, sorted by repository, artifact and environment. It reads
// serving_cells, kept by every write of a state, and joins the two
// deployments each cell names: one row per cell, whatever the history's
// length.
func ServingCells(ctx context.Context, q Querier, f ServingFilter) ([]ServingCell, error) {
	if len(f.Repos) == 0 {
		return nil, nil
	}
	args, in := inList(nil, f.Repos)
	args = append(args, f.Environment, f.Kind, teamPattern(f.Team))
	n := len(args)
	query := fmt.Sprintf(`SELECT c.repository, c.environment, c.artifact, l.kind, l.state, ld.state, ld.updated_at, ld.id,
		COALESCE(s.serving, ''), COALESCE(NULLIF(s.sha, ''), sd.sha, ''), COALESCE(sd.id, 0), COALESCE(sd.pr, 0), COALESCE(sd.requester, ''), COALESCE(sd.updated_at, 0),
		COALESCE(o.owners, '[]')
	FROM serving_cells c
	JOIN deployments ld ON ld.id = c.latest_id
	JOIN deployment_artifacts l ON l.deployment_id = c.latest_id AND l.name = c.artifact
	LEFT JOIN deployments sd ON sd.id = c.served_id
	LEFT JOIN deployment_artifacts s ON s.deployment_id = c.served_id AND s.name = c.artifact
	LEFT JOIN artifact_owners o ON o.repository = c.repository AND o.artifact = c.artifact
	WHERE c.repository %s AND ($%d = '' OR c.environment = $%d)
		AND ($%d = '' OR l.kind = $%d) AND ($%d = '' OR COALESCE(o.owners, '') LIKE $%d)
	ORDER BY c.repository, c.artifact, c.environment`, in, n-2, n-2, n-1, n-1, n, n)
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("serving: %w", err)
	}
	defer rows.Close()
	var out []ServingCell
	// An artifact's environments share its owners: decode each list once.
	// The cells share the slice, which callers must not change.
	ownersOf := map[string][]string{}
	for rows.Next() {
		var c ServingCell
		var latestAt, since int64
		var owners string
		if err := rows.Scan(&c.Repository, &c.Environment, &c.Artifact, &c.Kind, &c.LatestArtifactState, &c.LatestState, &latestAt, &c.LatestID,
			&c.Serving, &c.SHA, &c.ServedID, &c.ServedPR, &c.ServedBy, &since, &owners); err != nil {
			return nil, fmt.Errorf("serving: %w", err)
		}
		c.LatestAt = time.UnixMilli(latestAt)
		if since != 0 {
			c.ServedSince = time.UnixMilli(since)
		}
		o, ok := ownersOf[owners]
		if !ok {
			_ = json.Unmarshal([]byte(owners), &o)
			ownersOf[owners] = o
		}
		c.Owners = o
		out = append(out, c)
	}
	return out, rows.Err()
}

// teamPattern is the LIKE pattern matching team in an owners JSON list.
func teamPattern(team string) string {
	team = strings.TrimPrefix(strings.TrimSpace(team), "@")
	if team == "" {
		return ""
	}
	b, _ := json.Marshal(team)
	esc := strings.NewReplacer("%", "", "_", "")
	return "%" + esc.Replace(string(b)) + "%"
}

// ArtifactOwners returns the artifacts the checks know in repos, with their
// kind and owners, sorted; kind and team narrow them as in ServingFilter.
func ArtifactOwners(ctx context.Context, q Querier, f ServingFilter) ([]ArtifactOwnersRow, error) {
	if len(f.Repos) == 0 {
		return nil, nil
	}
	args, in := inList(nil, f.Repos)
	args = append(args, f.Kind, teamPattern(f.Team))
	n := len(args)
	rows, err := q.QueryContext(ctx, fmt.Sprintf(`SELECT repository, artifact, kind, owners FROM artifact_owners
		WHERE repository %s AND ($%d = '' OR kind = $%d) AND ($%d = '' OR owners LIKE $%d) ORDER BY repository, artifact`, in, n-1, n-1, n, n), args...)
	if err != nil {
		return nil, fmt.Errorf("artifact owners: %w", err)
	}
	defer rows.Close()
	var out []ArtifactOwnersRow
	for rows.Next() {
		var a ArtifactOwnersRow
		var owners string
		if err := rows.Scan(&a.Repository, &a.Artifact, &a.Kind, &owners); err != nil {
			return nil, err
		}
		_ = json.Unmarshal([]byte(owners), &a.Owners)
		out = append(out, a)
	}
	return out, rows.Err()
}

// ActiveDeployments returns the deployments of repos in one of states,
// newest first, with their artifacts and approvals.
func ActiveDeployments(ctx context.Context, q Querier, repos, states []string) ([]*DeploymentRow, error) {
	if len(repos) == 0 || len(states) == 0 {
		return nil, nil
	}
	args, in := inList(nil, repos)
	args, sin := inList(args, states)
	return queryDeployments(ctx, q, `SELECT `+deploymentCols+` FROM deployments WHERE repository `+in+` AND state `+sin+` ORDER BY id DESC LIMIT 500`, args...)
}

// HeldLocks returns the held locks of repos.
func HeldLocks(ctx context.Context, q Querier, repos []string) ([]*LockRow, error) {
	if len(repos) == 0 {
		return nil, nil
	}
	args, in := inList(nil, repos)
	return queryLocks(ctx, q, `WHERE l.repository `+in+` AND (l.manual = 1 OR l.deployment_id <> 0)`, args...)
}

// StepRow is one finished rollout step of an artifact.
type StepRow struct {
	Artifact string
	Step     int
	Serving  string
	DoneAt   time.Time
}

// DeploymentSteps returns the finished steps of deployment id in order.
func DeploymentSteps(ctx context.Context, q Querier, id int64) ([]StepRow, error) {
	rows, err := q.QueryContext(ctx, `SELECT artifact, step, serving, done_at FROM deployment_steps WHERE deployment_id = $1 ORDER BY step, artifact`, id)
	if err != nil {
		return nil, fmt.Errorf("steps of deployment %d: %w", id, err)
	}
	defer rows.Close()
	var out []StepRow
	for rows.Next() {
		var s StepRow
		var at int64
		if err := rows.Scan(&s.Artifact, &s.Step, &s.Serving, &at); err != nil {
			return nil, err
		}
		s.DoneAt = time.UnixMilli(at)
		out = append(out, s)
	}
	return out, rows.Err()
}

// ArtifactDeployments returns the history of one artifact of repo in every
// environment, newest first (at most limit rows, default 200).
func ArtifactDeployments(ctx context.Context, q Querier, repo, artifact string, limit int) ([]ArtifactHistory, error) {
	if limit <= 0 {
		limit = 200
	}
	rows, err := q.QueryContext(ctx, `SELECT d.id, d.environment, d.state, d.pr, d.requester, d.updated_at, d.mode,
		a.name, a.kind, a.driver, a.summary, a.spec, a.sha, a.github_deployment_id, a.previous, a.serving, a.state, a.output
		FROM deployment_artifacts a JOIN deployments d ON d.id = a.deployment_id
		WHERE d.repository = $1 AND a.name = $2 ORDER BY d.id DESC LIMIT $3`, repo, artifact, limit)
	if err != nil {
		return nil, fmt.Errorf("history of %s in %s: %w", artifact, repo, err)
	}
	defer rows.Close()
	var out []ArtifactHistory
	for rows.Next() {
		var h ArtifactHistory
		var at int64
		a := &h.ArtifactRow
		if err := rows.Scan(&h.DeploymentID, &h.Environment, &h.DeploymentState, &h.PR, &h.Requester, &at, &h.Mode,
			&a.Name, &a.Kind, &a.Driver, &a.Summary, &a.Spec, &a.SHA, &a.GitHubDeploymentID, &a.Previous, &a.Serving, &a.State, &a.Output); err != nil {
			return nil, err
		}
		h.At = time.UnixMilli(at)
		out = append(out, h)
	}
	return out, rows.Err()
}

// AuditSearch narrows SearchAudit. Repos is required (the repositories the
// viewer may read); the other zero fields match everything.
type AuditSearch struct {
	Repos      []string
	Repository string
	PR         int
	Actor      string
	Action     string
	Outcome    string
	Since      time.Time
	Until      time.Time
	Limit      int // default 200, at most 10000
}

// SearchAudit returns the audit events matching s, newest first.
func SearchAudit(ctx context.Context, q Querier, s AuditSearch) ([]AuditEvent, error) {
	if len(s.Repos) == 0 {
		return nil, nil
	}
	if s.Limit <= 0 {
		s.Limit = 200
	}
	s.Limit = min(s.Limit, 10000)
	var since, until int64
	if !s.Since.IsZero() {
		since = s.Since.UnixMilli()
	}
	if !s.Until.IsZero() {
		until = s.Until.UnixMilli()
	}
	args, in := inList(nil, s.Repos)
	args = append(args, s.Repository, s.PR, s.Actor, s.Action, s.Outcome, since, until, s.Limit)
	k := len(args) - 8
	p := func(i int) string { return fmt.Sprintf("$%d", k+i) }
	query := `SELECT id, at, kind, repository, pr, environment, artifacts, actor, subject, action, digest, revision, outcome, detail
		FROM audit_events WHERE repository ` + in +
		` AND (` + p(1) + ` = '' OR repository = ` + p(1) + `) AND (` + p(2) + ` = 0 OR pr = ` + p(2) + `)` +
		` AND (` + p(3) + ` = '' OR actor = ` + p(3) + `) AND (` + p(4) + ` = '' OR action = ` + p(4) + `)` +
		` AND (` + p(5) + ` = '' OR outcome = ` + p(5) + `)` +
		// CAST: PostgreSQL would type "$n = 0" as int4, too small for milliseconds.
		` AND (CAST(` + p(6) + ` AS BIGINT) = 0 OR at >= ` + p(6) + `)` +
		` AND (CAST(` + p(7) + ` AS BIGINT) = 0 OR at < ` + p(7) + `) ORDER BY id DESC LIMIT ` + p(8)
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("audit search: %w", err)
	}
	defer rows.Close()
	return scanAudit(rows)
}

// Fingerprint changes whenever a deployment of repos (of PR pr, when not 0)
// changes state or step, or one is added, and, for a PR, when its head
// moves or a check on its head is written: a live page reloads on a
// change.
func Fingerprint(ctx context.Context, q Querier, repos []string, pr int) (string, error) {
	if len(repos) == 0 {
		return "", nil
	}
	args, in := inList(nil, repos)
	args = append(args, pr)
	var n, maxID, maxAt, approvals, steps int64
	where := fmt.Sprintf(`d.repository %s AND ($%d = 0 OR d.pr = $%d)`, in, len(args), len(args))
	err := q.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(MAX(d.id), 0), COALESCE(MAX(d.updated_at), 0),
		(SELECT COUNT(*) FROM deployment_approvals a JOIN deployments d ON d.id = a.deployment_id WHERE `+where+`),
		(SELECT COUNT(*) FROM deployment_steps t JOIN deployments d ON d.id = t.deployment_id WHERE d.state = 'in_progress' AND `+where+`)
		FROM deployments d WHERE `+where, args...).Scan(&n, &maxID, &maxAt, &approvals, &steps)
	if err != nil {
		return "", fmt.Errorf("fingerprint: %w", err)
	}
	fp := fmt.Sprintf("%d-%d-%d-%d-%d", n, maxID, maxAt, approvals, steps)
	if pr == 0 {
		return fp, nil
	}
	args, in = inList(nil, repos)
	args = append(args, pr)
	var head string
	var checks, checkAt int64
	err = q.QueryRowContext(ctx, fmt.Sprintf(`SELECT COALESCE(MAX(h.sha), ''), COUNT(o.artifact), COALESCE(MAX(o.updated_at), 0)
		FROM check_heads h LEFT JOIN check_outputs o ON o.repository = h.repository AND o.pr = h.pr AND o.sha = h.sha
		WHERE h.repository %s AND h.pr = $%d`, in, len(args)), args...).Scan(&head, &checks, &checkAt)
	if err != nil {
		return "", fmt.Errorf("fingerprint of the checks: %w", err)
	}
	return fmt.Sprintf("%s-%s-%d-%d", fp, head, checks, checkAt), nil
}

// HistoryMark is where the deployment history stands: it moves whenever a
// deployment is added or changes, or an artifact's owners do. What
// ServingCells returns cannot have changed while it stays.
type HistoryMark struct {
	Deployments int64 // how many
	MaxID       int64 // the newest
	MaxAt       int64 // the latest change (updated_at, ms)
	SumAt       int64 // the sum of every updated_at: moves with any change, even one stamped earlier than MaxAt by a replica whose clock is behind
	Owners      int64 // artifact_owners rows
	OwnersAt    int64 // their latest change (ms)
}

// HistoryVersion reads the history's mark; it reads indexes only (the sum
// one whole index) and is cheap next to ServingCells.
func HistoryVersion(ctx context.Context, q Querier) (HistoryMark, error) {
	var m HistoryMark
	err := q.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM deployments), (SELECT COALESCE(MAX(id), 0) FROM deployments),
		(SELECT COALESCE(MAX(updated_at), 0) FROM deployments), (SELECT COALESCE(SUM(updated_at), 0) FROM deployments),
		(SELECT COUNT(*) FROM artifact_owners), (SELECT COALESCE(MAX(updated_at), 0) FROM artifact_owners)`).Scan(&m.Deployments, &m.MaxID, &m.MaxAt, &m.SumAt, &m.Owners, &m.OwnersAt)
	if err != nil {
		return m, fmt.Errorf("history version: %w", err)
	}
	return m, nil
}

// ServingChange is one artifact of a deployment that changed.
type ServingChange struct {
	Repository    string
	Environment   string
	Artifact      string
	Kind          string
	ArtifactState string
	ID            int64
	State         string
	PR            int
	Requester     string
	Serving       string
	SHA           string
	UpdatedAt     time.Time
}

// ServingChanges returns the artifacts of deployments of repos that changed
// at or after sinceMs or are newer than afterID, oldest first: what moved
// since a HistoryMark, to bring a reading of ServingCells up to date
// without reading the history again.
func ServingChanges(ctx context.Context, q Querier, repos []string, sinceMs, afterID int64) ([]ServingChange, error) {
	if len(repos) == 0 {
		return nil, nil
	}
	args, in := inList(nil, repos)
	args = append(args, sinceMs, afterID)
	n := len(args)
	rows, err := q.QueryContext(ctx, fmt.Sprintf(`SELECT d.repository, d.environment, a.name, a.kind, a.state, d.id, d.state, d.pr, d.requester,
		a.serving, COALESCE(NULLIF(a.sha, ''), d.sha), d.updated_at
		FROM deployments d JOIN deployment_artifacts a ON a.deployment_id = d.id
		WHERE d.id IN (SELECT id FROM deployments WHERE updated_at >= $%d UNION SELECT id FROM deployments WHERE id > $%d)
		AND d.repository %s ORDER BY d.id`, n-1, n, in), args...)
	if err != nil {
		return nil, fmt.Errorf("serving changes: %w", err)
	}
	defer rows.Close()
	var out []ServingChange
	for rows.Next() {
		var c ServingChange
		var at int64
		if err := rows.Scan(&c.Repository, &c.Environment, &c.Artifact, &c.Kind, &c.ArtifactState, &c.ID, &c.State, &c.PR, &c.Requester,
			&c.Serving, &c.SHA, &at); err != nil {
			return nil, fmt.Errorf("serving changes: %w", err)
		}
		c.UpdatedAt = time.UnixMilli(at)
		out = append(out, c)
	}
	return out, rows.Err()
}
