package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
)

// AuditEvent is one line of the audit log: a policy decision, a deployment
// transition, an approval, a lock. It never holds secrets.
type AuditEvent struct {
	ID          int64           `json:"id"`
	At          time.Time       `json:"at"`
	Kind        string          `json:"kind"` // one of AuditKinds
	Repository  string          `json:"repository"`
	PR          int             `json:"pr,omitempty"`          // the pull request it is about; 0 when none
	Environment string          `json:"environment,omitempty"` // the environment it is about
	Artifacts   []string        `json:"artifacts,omitempty"`   // the artifacts it is about
	Actor       string          `json:"actor"`
	Subject     string          `json:"subject"` // e.g. "deployment 12", "production"
	Action      string          `json:"action"`
	Digest      string          `json:"digest,omitempty"`   // input digest of a policy decision
	Revision    string          `json:"revision,omitempty"` // policy bundle revision
	Outcome     string          `json:"outcome"`
	Detail      json.RawMessage `json:"detail"`
}

// AuditKinds are the kinds of audit events Conveyor writes.
var AuditKinds = []string{"decision", "deployment", "approval", "lock"}

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
	detail := string(e.Detail)
	if detail == "" {
		detail = "{}"
	}
	_, err := db.ExecContext(ctx, `INSERT INTO audit_events (at, kind, repository, pr, environment, artifacts, actor, subject, action, digest, revision, outcome, detail)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		at.UnixMilli(), e.Kind, e.Repository, e.PR, e.Environment, strings.Join(e.Artifacts, ","), e.Actor, e.Subject, e.Action, e.Digest, e.Revision, e.Outcome, detail)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return nil
}

// AuditFilter narrows ListAudit; zero fields match everything.
type AuditFilter struct {
	Kind       string
	Repository string
	PR         int
	Limit      int
}

// ListAudit returns recent audit events, newest first.
func (s *Store) ListAudit(ctx context.Context, f AuditFilter) ([]AuditEvent, error) {
	if f.Limit <= 0 {
		f.Limit = 50
	}
	rows, err := s.DB.QueryContext(ctx, `SELECT id, at, kind, repository, pr, environment, artifacts, actor, subject, action, digest, revision, outcome, detail
		FROM audit_events WHERE ($1 = '' OR kind = $1) AND ($2 = '' OR repository = $2) AND ($3 = 0 OR pr = $3) ORDER BY id DESC LIMIT $4`,
		f.Kind, f.Repository, f.PR, f.Limit)
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	defer rows.Close()
	return scanAudit(rows)
}

// scanAudit reads audit_events rows selected in ListAudit's column order.
func scanAudit(rows *sql.Rows) ([]AuditEvent, error) {
	var out []AuditEvent
	for rows.Next() {
		var e AuditEvent
		var at int64
		var artifacts, detail string
		if err := rows.Scan(&e.ID, &at, &e.Kind, &e.Repository, &e.PR, &e.Environment, &artifacts, &e.Actor, &e.Subject, &e.Action, &e.Digest, &e.Revision, &e.Outcome, &detail); err != nil {
			return nil, err
		}
		e.At = time.UnixMilli(at)
		if artifacts != "" {
			e.Artifacts = strings.Split(artifacts, ",")
		}
		if !json.Valid([]byte(detail)) {
			b, _ := json.Marshal(detail)
			detail = string(b)
		}
		e.Detail = json.RawMessage(detail)
		out = append(out, e)
	}
	return out, rows.Err()
}

// ErrNoStore is returned by OpenExisting when DATABASE_URL names no Conveyor
// database.
var ErrNoStore = errors.New("no Conveyor database")

// OpenExisting opens the database at rawURL for reading what the server
// wrote, and never creates one: a SQLite file that does not exist, or a
// database without Conveyor's tables, is ErrNoStore with what to do.
func OpenExisting(ctx context.Context, rawURL string) (*Store, error) {
	if rawURL == "" || strings.HasPrefix(rawURL, "sqlite:") || strings.HasPrefix(rawURL, "file:") {
		p := sqlitePath(rawURL)
		if _, err := os.Stat(p); err != nil {
			how := "DATABASE_URL is " + rawURL
			if rawURL == "" {
				how = "DATABASE_URL is not set, so the default sqlite:" + DefaultSQLitePath + " was tried"
			}
			return nil, fmt.Errorf("%w at %s (%s); set DATABASE_URL to the server's database, e.g. sqlite:/var/lib/conveyor/conveyor.db or postgres://user@host/db", ErrNoStore, p, how)
		}
	}
	s, err := Open(ctx, rawURL)
	if err != nil {
		return nil, err
	}
	var one int
	err = s.DB.QueryRowContext(ctx, `SELECT count(*) FROM conveyor_migrations`).Scan(&one)
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("%w in %s: it has no Conveyor tables; point DATABASE_URL at the server's database (or run conveyor migrate on a new one)", ErrNoStore, s.where)
	}
	return s, nil
}

// sqlitePath is the file a sqlite DATABASE_URL names (see Open).
func sqlitePath(rawURL string) string {
	p := strings.TrimPrefix(strings.TrimPrefix(strings.TrimPrefix(rawURL, "sqlite:"), "//"), "file:")
	if i := strings.IndexByte(p, '?'); i >= 0 {
		p = p[:i]
	}
	if p == "" {
		p = DefaultSQLitePath
	}
	return p
}
