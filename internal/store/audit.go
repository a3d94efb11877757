package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// AuditEvent is one line of the audit log: a policy decision, a deployment
// transition, an approval, a lock. It never holds secrets.
type AuditEvent struct {
	ID         int64
	At         time.Time
	Kind       string // decision, deployment, approval, lock, ...
	Repository string
	Actor      string
	Subject    string // e.g. "deployment 12", "production"
	Action     string
	Digest     string // input digest of a policy decision
	Revision   string // policy bundle revision
	Outcome    string
	Detail     string // JSON
}

// execer is satisfied by *sql.DB and *sql.Tx.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// AppendAudit writes e with db, which may be a transaction so that the event
// commits together with the change it describes.
func AppendAudit(ctx context.Context, db execer, e AuditEvent) error {
	at := e.At
	if at.IsZero() {
		at = time.Now()
	}
	if e.Detail == "" {
		e.Detail = "{}"
	}
	_, err := db.ExecContext(ctx, `INSERT INTO audit_events (at, kind, repository, actor, subject, action, digest, revision, outcome, detail)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		at.UnixMilli(), e.Kind, e.Repository, e.Actor, e.Subject, e.Action, e.Digest, e.Revision, e.Outcome, e.Detail)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return nil
}

// AuditFilter narrows ListAudit.
type AuditFilter struct {
	Kind       string
	Repository string
	Limit      int
}

// ListAudit returns recent audit events, newest first.
func (s *Store) ListAudit(ctx context.Context, f AuditFilter) ([]AuditEvent, error) {
	if f.Limit <= 0 {
		f.Limit = 50
	}
	rows, err := s.DB.QueryContext(ctx, `SELECT id, at, kind, repository, actor, subject, action, digest, revision, outcome, detail
		FROM audit_events WHERE ($1 = '' OR kind = $1) AND ($2 = '' OR repository = $2) ORDER BY id DESC LIMIT $3`,
		f.Kind, f.Repository, f.Limit)
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	defer rows.Close()
	var out []AuditEvent
	for rows.Next() {
		var e AuditEvent
		var at int64
		if err := rows.Scan(&e.ID, &at, &e.Kind, &e.Repository, &e.Actor, &e.Subject, &e.Action, &e.Digest, &e.Revision, &e.Outcome, &e.Detail); err != nil {
			return nil, err
		}
		e.At = time.UnixMilli(at)
		out = append(out, e)
	}
	return out, rows.Err()
}
