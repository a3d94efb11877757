package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// CheckOutput is the last output of one check run Conveyor wrote for a pull
// request's head: what the dashboard's pull request page shows.
type CheckOutput struct {
	Repository string
	PR         int
	SHA        string
	Artifact   string // "" for the gate
	Name       string // the check run's name
	Kind       string
	Status     string
	Conclusion string
	Title      string
	Summary    string // markdown, as on GitHub
	Body       string // the check run's text (markdown)
	Stages     string // JSON: the four stages as the suite evaluated them
	UpdatedAt  time.Time
}

// SaveCheckOutput writes o over the stored output of its (repository, PR,
// SHA, artifact), and forgets earlier heads' outputs once o is the head's.
func SaveCheckOutput(ctx context.Context, q Querier, o CheckOutput) error {
	at := o.UpdatedAt
	if at.IsZero() {
		at = time.Now()
	}
	_, err := q.ExecContext(ctx, `INSERT INTO check_outputs (repository, pr, sha, artifact, name, kind, status, conclusion, title, summary, body, stages, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
		ON CONFLICT (repository, pr, sha, artifact) DO UPDATE SET name = excluded.name, kind = excluded.kind, status = excluded.status,
			conclusion = excluded.conclusion, title = excluded.title, summary = excluded.summary, body = excluded.body,
			stages = excluded.stages, updated_at = excluded.updated_at`,
		o.Repository, o.PR, o.SHA, o.Artifact, o.Name, o.Kind, o.Status, o.Conclusion, o.Title, o.Summary, o.Body, orJSON(o.Stages, "[]"), at.UnixMilli())
	if err != nil {
		return fmt.Errorf("save check output %s of %s#%d: %w", o.Name, o.Repository, o.PR, err)
	}
	// Only the pull request's head is shown: once its head writes, the
	// outputs of earlier heads go (a late write for an old head is kept
	// until the next one, never the head's own).
	_, err = q.ExecContext(ctx, `DELETE FROM check_outputs WHERE repository = $1 AND pr = $2 AND sha <> $3
		AND $3 = (SELECT sha FROM check_heads WHERE repository = $1 AND pr = $2)`, o.Repository, o.PR, o.SHA)
	if err != nil {
		return fmt.Errorf("prune check outputs of %s#%d: %w", o.Repository, o.PR, err)
	}
	return nil
}

// CheckOutputs returns the outputs stored for pull request pr of repo at
// sha, the gate first, then by artifact.
func CheckOutputs(ctx context.Context, q Querier, repo string, pr int, sha string) ([]CheckOutput, error) {
	rows, err := q.QueryContext(ctx, `SELECT artifact, name, kind, status, conclusion, title, summary, body, stages, updated_at
		FROM check_outputs WHERE repository = $1 AND pr = $2 AND sha = $3 ORDER BY artifact`, repo, pr, sha)
	if err != nil {
		return nil, fmt.Errorf("check outputs of %s#%d: %w", repo, pr, err)
	}
	defer rows.Close()
	var out []CheckOutput
	for rows.Next() {
		o := CheckOutput{Repository: repo, PR: pr, SHA: sha}
		var at int64
		if err := rows.Scan(&o.Artifact, &o.Name, &o.Kind, &o.Status, &o.Conclusion, &o.Title, &o.Summary, &o.Body, &o.Stages, &at); err != nil {
			return nil, fmt.Errorf("check outputs of %s#%d: %w", repo, pr, err)
		}
		o.UpdatedAt = time.UnixMilli(at)
		out = append(out, o)
	}
	return out, rows.Err()
}

// ArtifactOwnersRow is an artifact's kind and owners as the latest check of
// its repository read them.
type ArtifactOwnersRow struct {
	Repository string
	Artifact   string
	Kind       string
	Owners     []string // teams ("org/slug") or logins, without "@"
}

// SetArtifactOwners records the kind and owners of an artifact.
func SetArtifactOwners(ctx context.Context, q Querier, a ArtifactOwnersRow) error {
	owners, _ := json.Marshal(nonNil(a.Owners))
	_, err := q.ExecContext(ctx, `INSERT INTO artifact_owners (repository, artifact, kind, owners, updated_at) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (repository, artifact) DO UPDATE SET kind = excluded.kind, owners = excluded.owners, updated_at = excluded.updated_at`,
		a.Repository, a.Artifact, a.Kind, string(owners), now())
	if err != nil {
		return fmt.Errorf("owners of %s in %s: %w", a.Artifact, a.Repository, err)
	}
	return nil
}
