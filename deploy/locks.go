package deploy

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/conveyor-dev/conveyor/internal/store"
)

// LockedError says why an environment cannot take a deployment or a lock
// now, and who holds it.
type LockedError struct {
	Environment  string
	HolderPR     int
	HolderLogin  string
	Reason       string
	Since        time.Time
	DeploymentID int64 // the holding deployment, 0 for a /lock
}

// Error names the holder and what to do.
func (e *LockedError) Error() string {
	if e.DeploymentID != 0 {
		return fmt.Sprintf("%s is busy: deployment %d of PR #%d by @%s is still running (%s, since %s); wait for it to finish, or /cancel it from PR #%d",
			e.Environment, e.DeploymentID, e.HolderPR, e.HolderLogin, e.Reason, e.Since.UTC().Format(time.RFC3339), e.HolderPR)
	}
	reason := e.Reason
	if reason == "" {
		reason = "no reason given"
	}
	return fmt.Sprintf("%s is locked by @%s for PR #%d since %s (%s); ask them to /unlock %s, or wait until PR #%d is merged or closed",
		e.Environment, e.HolderLogin, e.HolderPR, e.Since.UTC().Format(time.RFC3339), reason, e.Environment, e.HolderPR)
}

// lockedFor returns *LockedError when l keeps PR pr out: a /lock of
// another PR, or any deployment that has not released the environment yet
// (one deployment per environment at a time; a cancelled or failed one
// keeps it until its rollback is done).
func lockedFor(l *store.LockRow, pr int) error {
	if l.DeploymentID != 0 {
		return &LockedError{Environment: l.Environment, HolderPR: l.PR, HolderLogin: l.Login, Reason: l.HolderState, Since: l.Since, DeploymentID: l.DeploymentID}
	}
	if l.Manual && l.PR != pr {
		return &LockedError{Environment: l.Environment, HolderPR: l.PR, HolderLogin: l.Login, Reason: l.Reason, Since: l.Since}
	}
	return nil
}

// Lock holds env of repo for PR pr (/lock): other PRs cannot deploy there
// until Unlock or until the PR is merged or closed.
func (e *Engine) Lock(ctx context.Context, repo, env string, pr int, login, reason string) error {
	if repo == "" || env == "" {
		return fmt.Errorf("lock: the repository and the environment are required (write /lock <env> [reason])")
	}
	return e.o.Store.Tx(ctx, func(tx *sql.Tx) error {
		l, err := store.LockEnvironment(ctx, tx, repo, env)
		if err != nil {
			return err
		}
		if l.Manual && l.PR != pr {
			return &LockedError{Environment: env, HolderPR: l.PR, HolderLogin: l.Login, Reason: l.Reason, Since: l.Since}
		}
		if l.DeploymentID != 0 && l.PR != pr {
			return &LockedError{Environment: env, HolderPR: l.PR, HolderLogin: l.Login, Reason: l.HolderState, Since: l.Since, DeploymentID: l.DeploymentID}
		}
		keep := int64(0)
		if l.PR == pr {
			keep = l.DeploymentID
		}
		nl := store.LockRow{Repository: repo, Environment: env, PR: pr, Login: login, Reason: reason, Manual: true, DeploymentID: keep, Since: e.o.Now()}
		if err := store.PutLock(ctx, tx, nl); err != nil {
			return err
		}
		return e.auditLock(ctx, tx, repo, env, login, "lock", map[string]any{"pr": pr, "reason": reason})
	})
}

// Unlock releases a /lock of env in repo. A deployment still running there
// keeps holding the environment until it finishes.
func (e *Engine) Unlock(ctx context.Context, repo, env string, login string) error {
	return e.o.Store.Tx(ctx, func(tx *sql.Tx) error {
		l, err := store.LockEnvironment(ctx, tx, repo, env)
		if err != nil {
			return err
		}
		if !l.Manual {
			return fmt.Errorf("unlock: %s is not locked with /lock, so there is nothing to unlock", env)
		}
		if err := store.PutLock(ctx, tx, e.afterManual(l)); err != nil {
			return err
		}
		return e.auditLock(ctx, tx, repo, env, login, "unlock", map[string]any{"pr": l.PR, "locked_by": l.Login})
	})
}

// afterManual is l without its /lock: still held by its running deployment,
// or free.
func (e *Engine) afterManual(l *store.LockRow) store.LockRow {
	if l.DeploymentID != 0 {
		return store.LockRow{Repository: l.Repository, Environment: l.Environment, PR: l.PR, Login: l.Login, DeploymentID: l.DeploymentID, Since: l.Since}
	}
	return store.LockRow{Repository: l.Repository, Environment: l.Environment}
}

// releaseLock frees env from deployment d once it finished, in tx; a /lock
// of the same PR stays.
func (e *Engine) releaseLock(ctx context.Context, tx *sql.Tx, d *store.DeploymentRow) error {
	l, err := store.LockEnvironment(ctx, tx, d.Repository, d.Environment)
	if err != nil {
		return err
	}
	if l.DeploymentID != d.ID {
		return nil
	}
	nl := store.LockRow{Repository: l.Repository, Environment: l.Environment}
	if l.Manual {
		nl = *l
		nl.DeploymentID = 0
	}
	return store.PutLock(ctx, tx, nl)
}

// ReleasePR is called when PR pr is merged or closed: its /locks are
// released and its deployments that have not started are cancelled.
func (e *Engine) ReleasePR(ctx context.Context, repo string, pr int) error {
	locks, err := store.ListLocks(ctx, e.o.Store.DB, repo)
	if err != nil {
		return err
	}
	for _, l := range locks {
		if !l.Manual || l.PR != pr {
			continue
		}
		err := e.o.Store.Tx(ctx, func(tx *sql.Tx) error {
			cur, err := store.LockEnvironment(ctx, tx, repo, l.Environment)
			if err != nil || !cur.Manual || cur.PR != pr {
				return err
			}
			if err := store.PutLock(ctx, tx, e.afterManual(cur)); err != nil {
				return err
			}
			return e.auditLock(ctx, tx, repo, l.Environment, "conveyor", "unlock", map[string]any{"pr": pr, "why": "pull request closed"})
		})
		if err != nil {
			return err
		}
	}
	_, err = e.cancel(ctx, repo, pr, pendingStates, "conveyor", fmt.Sprintf("PR #%d was closed", pr), "cancelled")
	return err
}

func (e *Engine) auditLock(ctx context.Context, tx *sql.Tx, repo, env, login, action string, detail map[string]any) error {
	detail["environment"] = env
	b, _ := json.Marshal(detail)
	return store.AppendAudit(ctx, tx, store.AuditEvent{At: e.o.Now(), Kind: "lock", Repository: repo, Environment: env,
		Actor: login, Subject: env, Action: action, Outcome: action, Detail: b})
}
