package deploy

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/conveyor-dev/conveyor/internal/store"
)

// The states of a deployment, as docs/commands.md describes them.
const (
	StateAwaitingApproval = "awaiting_approval"
	StateQueued           = "queued"
	StateInProgress       = "in_progress"
	StateSucceeded        = "succeeded"
	StateFailed           = "failed"
	StateRolledBack       = "rolled_back"
	StateCancelled        = "cancelled"
	StateRejected         = "rejected"
	StateExpired          = "expired"
)

// transitions lists, for each state, the states it may move to.
var transitions = map[string][]string{
	StateAwaitingApproval: {StateQueued, StateCancelled, StateRejected, StateExpired},
	StateQueued:           {StateInProgress, StateCancelled},
	StateInProgress:       {StateInProgress, StateSucceeded, StateFailed, StateCancelled},
	StateFailed:           {StateRolledBack},
}

// pendingStates have not started running; activeStates hold the lock.
var (
	pendingStates = []string{StateAwaitingApproval, StateQueued}
	activeStates  = []string{StateAwaitingApproval, StateQueued, StateInProgress}
)

// ErrIllegalTransition is returned when a deployment is asked to move to a
// state it cannot reach from where it is.
var ErrIllegalTransition = errors.New("illegal state transition")

// Finished reports whether state is final (nothing more will run).
func Finished(state string) bool {
	return !slices.Contains(activeStates, state) && state != StateFailed
}

// FinishedStates lists the states Finished reports as final.
func FinishedStates() []string {
	var out []string
	for _, st := range []string{StateAwaitingApproval, StateQueued, StateInProgress, StateSucceeded, StateFailed,
		StateRolledBack, StateCancelled, StateRejected, StateExpired} {
		if Finished(st) {
			out = append(out, st)
		}
	}
	return out
}

func canMove(from, to string) bool { return slices.Contains(transitions[from], to) }

// transition moves d to state to with the update u, in tx, and writes the
// audit event in the same transaction. An illegal move is an error, never
// silently applied; a concurrent move surfaces as store.ErrStateChanged.
func (e *Engine) transition(ctx context.Context, tx *sql.Tx, d *store.DeploymentRow, to, actor, detail string, u store.DeploymentUpdate) error {
	if !canMove(d.State, to) {
		return fmt.Errorf("deployment %d is %s and cannot become %s: %w", d.ID, d.State, to, ErrIllegalTransition)
	}
	u.State = &to
	u.At = e.o.Now()
	// Whatever the cause says is stored and audited: no secret in it.
	detail = e.o.Mask.String(detail)
	if u.Error != nil {
		masked := e.o.Mask.String(*u.Error)
		u.Error = &masked
	}
	if err := store.UpdateDeployment(ctx, tx, d.ID, d.State, u); err != nil {
		return err
	}
	from := d.State
	d.State = to
	if u.Step != nil {
		d.Step = *u.Step
	}
	if u.Error != nil {
		d.Error = *u.Error
	}
	if actor == "" {
		actor = "conveyor"
	}
	return e.audit(ctx, tx, d, "deployment", actor, to, map[string]any{
		"from": from, "to": to, "environment": d.Environment, "sha": d.SHA, "pr": d.PR, "step": d.Step, "detail": detail,
	})
}

// audit appends an event about d with db (normally the transition's tx).
func (e *Engine) audit(ctx context.Context, tx *sql.Tx, d *store.DeploymentRow, kind, actor, action string, detail map[string]any) error {
	b, _ := json.Marshal(detail)
	names := make([]string, len(d.Artifacts))
	for i, a := range d.Artifacts {
		names[i] = a.Name
	}
	return store.AppendAudit(ctx, tx, store.AuditEvent{
		At: e.o.Now(), Kind: kind, Repository: d.Repository, PR: d.PR, Environment: d.Environment, Artifacts: names,
		Actor: actor, Subject: fmtID(d.ID), Action: action, Outcome: d.State, Detail: b,
	})
}
