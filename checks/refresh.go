package checks

import (
	"context"
	"database/sql"
	"errors"

	"github.com/conveyor-dev/conveyor/internal/store"
)

// Refresh asks for a new evaluation of pull request pr's current head, the
// way a webhook event does: the request joins any already pending for the
// SHA and one debounced checks_evaluate job serves them all. The promotion
// engine calls it when a deployment or an approval changed what the
// Readiness stage says. A pull request the suite has never seen, or that
// was closed, is left alone.
func (s *Suite) Refresh(ctx context.Context, repo string, pr int) error {
	if s.o.Store == nil || s.o.Queue == nil {
		return errors.New("checks: Refresh needs Options.Store and Options.Queue")
	}
	h := &Handler{s: s}
	return s.o.Store.Tx(ctx, func(tx *sql.Tx) error {
		head, err := store.GetCheckHead(ctx, tx, repo, pr)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		return h.request(ctx, tx, []store.CheckHead{*head}, true, nil)
	})
}

// RefreshRepo asks for a new evaluation of every open pull request of repo,
// as Refresh does for one: a lock taken or released changes what Readiness
// says on each of them.
func (s *Suite) RefreshRepo(ctx context.Context, repo string) error {
	if s.o.Store == nil || s.o.Queue == nil {
		return errors.New("checks: RefreshRepo needs Options.Store and Options.Queue")
	}
	h := &Handler{s: s}
	return s.o.Store.Tx(ctx, func(tx *sql.Tx) error {
		heads, err := store.OpenCheckHeads(ctx, tx, repo)
		if err != nil {
			return err
		}
		return h.request(ctx, tx, heads, true, nil)
	})
}
