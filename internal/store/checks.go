package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
)

// CheckHead is the head of a pull request as the check suite last saw it.
type CheckHead struct {
	Repository     string
	PR             int
	SHA            string
	BaseRef        string
	BaseSHA        string
	Author         string
	InstallationID int64
	UpdatedAt      time.Time
}

// SetCheckHead records h as the current head of its pull request. A head
// that is already recorded as it is (a redelivery, or an edit of the title)
// writes nothing.
func SetCheckHead(ctx context.Context, q Querier, h CheckHead) error {
	if h.Repository == "" || h.PR <= 0 || h.SHA == "" {
		return fmt.Errorf("set check head: repository, PR number and SHA are required (got %q #%d %q)", h.Repository, h.PR, h.SHA)
	}
	_, err := q.ExecContext(ctx, `INSERT INTO check_heads (repository, pr, sha, base_ref, base_sha, author, installation_id, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (repository, pr) DO UPDATE SET sha = excluded.sha, base_ref = excluded.base_ref,
			base_sha = excluded.base_sha, author = excluded.author, installation_id = excluded.installation_id,
			updated_at = excluded.updated_at
		WHERE check_heads.sha <> excluded.sha OR check_heads.base_ref <> excluded.base_ref OR check_heads.base_sha <> excluded.base_sha
			OR check_heads.author <> excluded.author OR check_heads.installation_id <> excluded.installation_id`,
		h.Repository, h.PR, h.SHA, h.BaseRef, h.BaseSHA, h.Author, h.InstallationID, now())
	if err != nil {
		return fmt.Errorf("set check head %s#%d: %w", h.Repository, h.PR, err)
	}
	return nil
}

// GetCheckHead returns the recorded head of a pull request, or ErrNotFound.
func GetCheckHead(ctx context.Context, q Querier, repo string, pr int) (*CheckHead, error) {
	hs, err := checkHeads(ctx, q, `WHERE repository = $1 AND pr = $2`, repo, pr)
	if err != nil {
		return nil, err
	}
	if len(hs) == 0 {
		return nil, ErrNotFound
	}
	return &hs[0], nil
}

// CheckHeadsAt returns the pull requests whose recorded head is sha.
func CheckHeadsAt(ctx context.Context, q Querier, repo, sha string) ([]CheckHead, error) {
	return checkHeads(ctx, q, `WHERE repository = $1 AND sha = $2 ORDER BY pr`, repo, sha)
}

// CheckHeadsOnBase returns the recorded heads of repo's open pull requests
// whose base commit is sha.
func CheckHeadsOnBase(ctx context.Context, q Querier, repo, sha string) ([]CheckHead, error) {
	return checkHeads(ctx, q, `WHERE repository = $1 AND base_sha = $2 ORDER BY pr`, repo, sha)
}

// OpenCheckHeads returns the recorded heads of repo's pull requests that
// are not closed (DeleteCheckHead forgets a closed one).
func OpenCheckHeads(ctx context.Context, q Querier, repo string) ([]CheckHead, error) {
	return checkHeads(ctx, q, `WHERE repository = $1 ORDER BY pr`, repo)
}

// DeleteCheckHead forgets the head of a closed pull request: nothing
// evaluates it any more until it is reopened (SetCheckHead).
func DeleteCheckHead(ctx context.Context, q Querier, repo string, pr int) error {
	if _, err := q.ExecContext(ctx, `DELETE FROM check_heads WHERE repository = $1 AND pr = $2`, repo, pr); err != nil {
		return fmt.Errorf("delete check head %s#%d: %w", repo, pr, err)
	}
	return nil
}

func checkHeads(ctx context.Context, q Querier, where string, args ...any) ([]CheckHead, error) {
	rows, err := q.QueryContext(ctx, `SELECT repository, pr, sha, base_ref, base_sha, author, installation_id, updated_at FROM check_heads `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("check heads: %w", err)
	}
	defer rows.Close()
	var out []CheckHead
	for rows.Next() {
		var h CheckHead
		var at int64
		if err := rows.Scan(&h.Repository, &h.PR, &h.SHA, &h.BaseRef, &h.BaseSHA, &h.Author, &h.InstallationID, &at); err != nil {
			return nil, fmt.Errorf("check heads: %w", err)
		}
		h.UpdatedAt = time.UnixMilli(at)
		out = append(out, h)
	}
	return out, rows.Err()
}

// CheckRequest is what has been asked of one SHA since its last evaluation.
type CheckRequest struct {
	Seq     int64    // requested sequence number: grows with every request
	Written int64    // sequence number of the newest evaluation written
	Full    bool     // evaluate every touched artifact
	CI      []string // CI check names that completed: evaluate the artifacts listing them
}

// RequestCheck adds a request for (repo, sha) — a full evaluation, or the CI
// names that completed — and returns its sequence number. Requests coalesce:
// the next evaluation covers all of them. enqueue reports whether the caller
// must enqueue the job that serves them: false while one is already
// enqueued (and younger than staleAfter, in case it was lost).
func RequestCheck(ctx context.Context, q Querier, repo, sha string, full bool, ci []string, staleAfter time.Duration) (seq int64, enqueue bool, err error) {
	// The CI names merge with what is pending; a request without names (a
	// pull_request event, most of the traffic) leaves them as they are and
	// needs no read first.
	var names []string
	if len(ci) > 0 {
		cur, err := GetCheckRequest(ctx, q, repo, sha)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return 0, false, err
		}
		names = cur.CI
		for _, n := range ci {
			if !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
		slices.Sort(names)
	}
	b, _ := json.Marshal(nonNil(names))
	at := now()
	err = q.QueryRowContext(ctx, `INSERT INTO check_requests (repository, sha, requested_seq, full_eval, ci_names, updated_at)
		VALUES ($1, $2, 1, $3, $4, $5)
		ON CONFLICT (repository, sha) DO UPDATE SET requested_seq = check_requests.requested_seq + 1,
			full_eval = CASE WHEN excluded.full_eval = 1 THEN 1 ELSE check_requests.full_eval END,
			ci_names = CASE WHEN $6 = 1 THEN excluded.ci_names ELSE check_requests.ci_names END,
			updated_at = excluded.updated_at
		RETURNING requested_seq`,
		repo, sha, checkFlag(full), string(b), at, checkFlag(len(ci) > 0)).Scan(&seq)
	if err != nil {
		return 0, false, fmt.Errorf("request check %s@%s: %w", repo, sha, err)
	}
	// Row-level: of a handler and a settling job, one sees the other's write.
	res, err := q.ExecContext(ctx, `UPDATE check_requests SET job_at = $3 WHERE repository = $1 AND sha = $2 AND (job_at = 0 OR job_at < $4)`,
		repo, sha, at, at-staleAfter.Milliseconds())
	if err != nil {
		return 0, false, fmt.Errorf("request check %s@%s: %w", repo, sha, err)
	}
	n, err := res.RowsAffected()
	return seq, n == 1, err
}

// GetCheckRequest returns what is pending for (repo, sha), or ErrNotFound.
func GetCheckRequest(ctx context.Context, q Querier, repo, sha string) (CheckRequest, error) {
	var r CheckRequest
	var full int
	var ci string
	err := q.QueryRowContext(ctx, `SELECT requested_seq, written_seq, full_eval, ci_names FROM check_requests WHERE repository = $1 AND sha = $2`,
		repo, sha).Scan(&r.Seq, &r.Written, &full, &ci)
	if errors.Is(err, sql.ErrNoRows) {
		return r, ErrNotFound
	}
	if err != nil {
		return r, fmt.Errorf("check request %s@%s: %w", repo, sha, err)
	}
	r.Full = full == 1
	if err := json.Unmarshal([]byte(ci), &r.CI); err != nil {
		return r, fmt.Errorf("check request %s@%s: ci_names: %w", repo, sha, err)
	}
	return r, nil
}

// ClaimCheckWrite lets the evaluation with sequence number seq write its
// results unless a newer one has written already. It reports whether seq may
// write. The same seq may claim again (a retried job).
func ClaimCheckWrite(ctx context.Context, q Querier, repo, sha string, seq int64) (bool, error) {
	res, err := q.ExecContext(ctx, `UPDATE check_requests SET written_seq = $3 WHERE repository = $1 AND sha = $2 AND written_seq <= $3`,
		repo, sha, seq)
	if err != nil {
		return false, fmt.Errorf("claim check write %s@%s: %w", repo, sha, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// SettleCheckRequest forgets what was asked of (repo, sha), and that a job
// is enqueued for it, if nothing was asked after seq. It reports whether it
// did; false means newer requests are waiting and the job must run again.
func SettleCheckRequest(ctx context.Context, q Querier, repo, sha string, seq int64) (bool, error) {
	res, err := q.ExecContext(ctx, `UPDATE check_requests SET full_eval = 0, ci_names = '[]', job_at = 0 WHERE repository = $1 AND sha = $2 AND requested_seq = $3`,
		repo, sha, seq)
	if err != nil {
		return false, fmt.Errorf("settle check request %s@%s: %w", repo, sha, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// CIResult is one CI check (another app's check run or a commit status) on a SHA.
type CIResult struct {
	Name       string
	Status     string // queued, in_progress, completed
	Conclusion string // success, failure, neutral, ... when completed
}

// RecordCI stores the latest state of a CI check on (repo, sha).
func RecordCI(ctx context.Context, q Querier, repo, sha string, r CIResult) error {
	if repo == "" || sha == "" || r.Name == "" {
		return fmt.Errorf("record CI: repository, SHA and check name are required (got %q %q %q)", repo, sha, r.Name)
	}
	_, err := q.ExecContext(ctx, `INSERT INTO check_ci (repository, sha, name, status, conclusion, updated_at) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (repository, sha, name) DO UPDATE SET status = excluded.status, conclusion = excluded.conclusion, updated_at = excluded.updated_at`,
		repo, sha, r.Name, r.Status, r.Conclusion, now())
	if err != nil {
		return fmt.Errorf("record CI %s on %s@%s: %w", r.Name, repo, sha, err)
	}
	return nil
}

// CIResults returns the CI checks recorded on (repo, sha) by name.
func CIResults(ctx context.Context, q Querier, repo, sha string) (map[string]CIResult, error) {
	rows, err := q.QueryContext(ctx, `SELECT name, status, conclusion FROM check_ci WHERE repository = $1 AND sha = $2`, repo, sha)
	if err != nil {
		return nil, fmt.Errorf("CI results %s@%s: %w", repo, sha, err)
	}
	defer rows.Close()
	out := map[string]CIResult{}
	for rows.Next() {
		var r CIResult
		if err := rows.Scan(&r.Name, &r.Status, &r.Conclusion); err != nil {
			return nil, fmt.Errorf("CI results %s@%s: %w", repo, sha, err)
		}
		out[r.Name] = r
	}
	return out, rows.Err()
}

// CheckResult is one check run Conveyor wrote on a SHA.
type CheckResult struct {
	Repository string
	SHA        string
	Name       string // "conveyor" or "conveyor / <artifact>"
	CheckRunID int64
	Artifact   string // "" for the gate
	Kind       string
	Status     string
	Conclusion string
	Title      string
	CI         []string // the CI check names the artifact waits for
	Selection  []string // what a deploy selects (dbt: modified and added models)
	// Evidence is what the evaluation found, as JSON in the policy input's
	// shape ("" when not recorded).
	Evidence string
	// Overridable: the artifact failed only on quality-gate findings.
	Overridable bool
	// Card is what the approval card shows of the artifact, as JSON ("" when
	// not recorded).
	Card   string
	Digest string // digest of the output last written
	Seq    int64
	// WaitingSince is when the check began waiting on its own timed
	// re-evaluations, Unix ms (0: not waiting).
	WaitingSince int64
}

// SaveCheckResult writes r over the stored row of its (repository, sha, name).
func SaveCheckResult(ctx context.Context, q Querier, r CheckResult) error {
	b, _ := json.Marshal(nonNil(r.CI))
	sel, _ := json.Marshal(nonNil(r.Selection))
	_, err := q.ExecContext(ctx, `INSERT INTO check_results (repository, sha, name, check_run_id, artifact, kind, status, conclusion, title, ci_names, digest, seq, updated_at, selection, evidence, overridable, card, waiting_since)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
		ON CONFLICT (repository, sha, name) DO UPDATE SET check_run_id = excluded.check_run_id, artifact = excluded.artifact,
			kind = excluded.kind, status = excluded.status, conclusion = excluded.conclusion, title = excluded.title,
			ci_names = excluded.ci_names, digest = excluded.digest, seq = excluded.seq, updated_at = excluded.updated_at,
			selection = excluded.selection, evidence = excluded.evidence, overridable = excluded.overridable, card = excluded.card,
			waiting_since = excluded.waiting_since`,
		r.Repository, r.SHA, r.Name, r.CheckRunID, r.Artifact, r.Kind, r.Status, r.Conclusion, r.Title, string(b), r.Digest, r.Seq, now(), string(sel),
		r.Evidence, checkFlag(r.Overridable), r.Card, r.WaitingSince)
	if err != nil {
		return fmt.Errorf("save check result %s on %s@%s: %w", r.Name, r.Repository, r.SHA, err)
	}
	return nil
}

// CheckResults returns the check runs stored for (repo, sha), by name.
func CheckResults(ctx context.Context, q Querier, repo, sha string) (map[string]CheckResult, error) {
	rows, err := q.QueryContext(ctx, `SELECT name, check_run_id, artifact, kind, status, conclusion, title, ci_names, digest, seq, selection, evidence, overridable, card, waiting_since
		FROM check_results WHERE repository = $1 AND sha = $2`, repo, sha)
	if err != nil {
		return nil, fmt.Errorf("check results %s@%s: %w", repo, sha, err)
	}
	defer rows.Close()
	out := map[string]CheckResult{}
	for rows.Next() {
		r := CheckResult{Repository: repo, SHA: sha}
		var ci, sel string
		var overridable int
		if err := rows.Scan(&r.Name, &r.CheckRunID, &r.Artifact, &r.Kind, &r.Status, &r.Conclusion, &r.Title, &ci, &r.Digest, &r.Seq, &sel, &r.Evidence, &overridable, &r.Card, &r.WaitingSince); err != nil {
			return nil, fmt.Errorf("check results %s@%s: %w", repo, sha, err)
		}
		if err := json.Unmarshal([]byte(ci), &r.CI); err != nil {
			return nil, fmt.Errorf("check results %s@%s: ci_names of %s: %w", repo, sha, r.Name, err)
		}
		if err := json.Unmarshal([]byte(sel), &r.Selection); err != nil {
			return nil, fmt.Errorf("check results %s@%s: selection of %s: %w", repo, sha, r.Name, err)
		}
		r.Overridable = overridable == 1
		out[r.Name] = r
	}
	return out, rows.Err()
}

// ResetCheckWaits forgets when the checks on (repo, sha) began waiting, so
// their next wait is bounded afresh (a Re-run asked for it).
func ResetCheckWaits(ctx context.Context, q Querier, repo, sha string) error {
	if _, err := q.ExecContext(ctx, `UPDATE check_results SET waiting_since = 0 WHERE repository = $1 AND sha = $2 AND waiting_since <> 0`, repo, sha); err != nil {
		return fmt.Errorf("reset the waits of %s@%s: %w", repo, sha, err)
	}
	return nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// checkFlag stores a bool as 0 or 1 (SQLite has no boolean type).
func checkFlag(b bool) int {
	if b {
		return 1
	}
	return 0
}
