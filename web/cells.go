package web

import (
	"context"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/conveyor-dev/conveyor/deploy"
	"github.com/conveyor-dev/conveyor/internal/store"
)

// cellsCache keeps the overview's reading of what serves where
// (store.ServingCells: one row per cell, 10-15 ms for 1,000 cells) per set
// of readable repositories. While store.HistoryVersion does not move it is
// reused; when it moves, only the deployments that changed since are read
// and folded in (store.ServingChanges), so a page during a rollout does not
// read the whole history again. A full reading is redone when owners
// changed, an artifact reaches a new environment, or it is older than
// cellsFull. Access stays in the query: the key is the repositories the
// viewer may read.
type cellsCache struct {
	mu      sync.Mutex
	entries map[string]*cellsEntry
}

type cellsEntry struct {
	mu    sync.Mutex // one refresh at a time
	mark  store.HistoryMark
	full  time.Time // when the history was last read in full
	cells []store.ServingCell
	index map[[3]string]int // (repository, environment, artifact) -> cells index
}

// cellsFull bounds how long a reading and its incremental updates are
// trusted before the history is read in full again: a change stamped more
// than cellsSkew before the newest one seen (a replica whose clock lags that
// much) shows within it.
const cellsFull = time.Minute

// cellsSkew is how far behind the newest change a replica's clock may lag
// and its changes still be folded in at once.
const cellsSkew = 5 * time.Second

// cellsMax bounds how many readings are kept (distinct sets of readable
// repositories).
const cellsMax = 64

// servingCells returns every cell of f.Repos, narrowed by f's environment,
// kind and team. Readings are shared: callers must not change them.
func (s *Server) servingCells(ctx context.Context, f store.ServingFilter) ([]store.ServingCell, error) {
	all, err := s.allCells(ctx, f.Repos)
	if err != nil {
		return nil, err
	}
	team := strings.TrimPrefix(f.Team, "@")
	if f.Environment == "" && f.Kind == "" && team == "" {
		return all, nil
	}
	var out []store.ServingCell
	for _, c := range all {
		if (f.Environment == "" || c.Environment == f.Environment) && (f.Kind == "" || c.Kind == f.Kind) &&
			(team == "" || slices.Contains(c.Owners, team)) {
			out = append(out, c)
		}
	}
	return out, nil
}

func (s *Server) allCells(ctx context.Context, repos []string) ([]store.ServingCell, error) {
	db := s.o.Store.DB
	mark, err := store.HistoryVersion(ctx, db)
	if err != nil {
		return nil, err
	}
	key := strings.Join(repos, ",")
	c := &s.cells
	c.mu.Lock()
	e := c.entries[key]
	if e == nil {
		if c.entries == nil || len(c.entries) >= cellsMax {
			c.entries = map[string]*cellsEntry{} // crude, and enough: a reading is redone on demand
		}
		e = &cellsEntry{}
		c.entries[key] = e
	}
	c.mu.Unlock()

	e.mu.Lock()
	defer e.mu.Unlock()
	now := time.Now()
	recent := e.cells != nil && now.Sub(e.full) < cellsFull
	if recent && e.mark == mark {
		return e.cells, nil
	}
	if recent && e.mark.Owners == mark.Owners && e.mark.OwnersAt == mark.OwnersAt {
		// Changes stamped up to cellsSkew before the last one seen are read
		// again (folding is idempotent): a replica's clock may lag.
		changes, err := store.ServingChanges(ctx, db, repos, e.mark.MaxAt-cellsSkew.Milliseconds(), e.mark.MaxID)
		if err != nil {
			return nil, err
		}
		if cells, ok := fold(e.cells, e.index, changes); ok {
			e.cells, e.mark = cells, mark
			return cells, nil
		}
	}
	cells, err := store.ServingCells(ctx, db, store.ServingFilter{Repos: repos})
	if err != nil {
		return nil, err
	}
	e.cells, e.mark, e.full, e.index = cells, mark, now, indexCells(cells)
	return cells, nil
}

func indexCells(cells []store.ServingCell) map[[3]string]int {
	idx := make(map[[3]string]int, len(cells))
	for i, c := range cells {
		idx[[3]string{c.Repository, c.Environment, c.Artifact}] = i
	}
	return idx
}

// fold applies changes (oldest first) to a copy of cells the way
// ServingCells reads them: the newest deployment of a cell is its latest,
// the newest succeeded one (with the artifact succeeded) is what serves. ok
// is false when a change names a cell not read yet (read in full then).
func fold(cells []store.ServingCell, idx map[[3]string]int, changes []store.ServingChange) ([]store.ServingCell, bool) {
	if len(changes) == 0 {
		return cells, true
	}
	out := slices.Clone(cells) // readers may hold the old slice
	for _, ch := range changes {
		i, ok := idx[[3]string{ch.Repository, ch.Environment, ch.Artifact}]
		if !ok {
			return nil, false
		}
		c := &out[i]
		if ch.ID >= c.LatestID {
			c.LatestID, c.LatestState, c.LatestArtifactState, c.LatestAt, c.Kind = ch.ID, ch.State, ch.ArtifactState, ch.UpdatedAt, ch.Kind
		}
		if ch.State == deploy.StateSucceeded && ch.ArtifactState == deploy.StateSucceeded && ch.ID >= c.ServedID {
			c.ServedID, c.Serving, c.SHA, c.ServedPR, c.ServedBy, c.ServedSince = ch.ID, ch.Serving, ch.SHA, ch.PR, ch.Requester, ch.UpdatedAt
		}
	}
	return out, true
}

// environments are the environments of the cells of repos.
func (s *Server) environments(ctx context.Context, repos []string) ([]string, error) {
	all, err := s.allCells(ctx, repos)
	if err != nil {
		return nil, err
	}
	set := map[string]bool{}
	for _, c := range all {
		set[c.Environment] = true
	}
	out := keys(set)
	sort.Strings(out)
	return out, nil
}
