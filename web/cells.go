package web

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/conveyor-dev/conveyor/internal/store"
)

// cellsCache keeps the overview's reading of the deployment history
// (store.ServingCells, whose cost grows with the history) per query, and
// reuses it while store.HistoryVersion says nothing changed, for at most
// cellsFresh. Access stays in the query: the key holds the repositories the
// viewer may read.
type cellsCache struct {
	mu      sync.Mutex
	entries map[string]cellsEntry
}

type cellsEntry struct {
	version string
	at      time.Time
	value   any
}

// cellsFresh bounds how long a reading is reused even when the version did
// not move (two changes within one millisecond look alike).
const cellsFresh = 5 * time.Second

// cellsMax bounds how many readings are kept (distinct viewers' repository
// sets times filters).
const cellsMax = 256

func (s *Server) servingCells(ctx context.Context, f store.ServingFilter) ([]store.ServingCell, error) {
	key := "cells\x00" + strings.Join(f.Repos, ",") + "\x00" + f.Environment + "\x00" + f.Kind + "\x00" + f.Team
	v, err := s.cached(ctx, key, func() (any, error) { return store.ServingCells(ctx, s.o.Store.DB, f) })
	if err != nil {
		return nil, err
	}
	return v.([]store.ServingCell), nil
}

// environments are the environments deployed to in repos, read as
// servingCells is.
func (s *Server) environments(ctx context.Context, repos []string) ([]string, error) {
	v, err := s.cached(ctx, "envs\x00"+strings.Join(repos, ","), func() (any, error) { return store.Environments(ctx, s.o.Store.DB, repos) })
	if err != nil {
		return nil, err
	}
	return v.([]string), nil
}

// cached returns the reading under key while the history's version stays,
// or read's fresh one. Readings are shared: callers must not change them.
func (s *Server) cached(ctx context.Context, key string, read func() (any, error)) (any, error) {
	version, err := store.HistoryVersion(ctx, s.o.Store.DB)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	c := &s.cells
	c.mu.Lock()
	e, ok := c.entries[key]
	c.mu.Unlock()
	if ok && e.version == version && now.Sub(e.at) < cellsFresh {
		return e.value, nil
	}
	v, err := read()
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil || len(c.entries) >= cellsMax {
		c.entries = map[string]cellsEntry{} // crude, and enough: readings are cheap to redo
	}
	c.entries[key] = cellsEntry{version: version, at: now, value: v}
	return v, nil
}
