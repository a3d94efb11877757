package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sync"
	"time"
)

// KeyLocks serialises work on one key (a deployment ID) across every process
// that shares the database. Within a process a mutex per key queues the
// callers; on PostgreSQL the holder also takes a lease row in key_locks, so
// replicas queue too (they poll for it). A lease holds no connection while
// the work runs, so holders can use the pool freely, and a replica that dies
// holding one frees it when the lease runs out. SQLite serves one process,
// where the mutex is the whole lock.
//
// It is meant for short external writes that must not interleave, such as
// rendering a deployment's status comment or Slack message: the lock is held
// across the HTTP call, never inside a database transaction.
type KeyLocks struct {
	store *Store
	space int64 // keeps different users' keys apart in key_locks

	mu   sync.Mutex
	held map[int64]*keyMutex
}

type keyMutex struct {
	sync.Mutex
	refs int
}

// KeyLocks returns locks whose keys live in space (a small constant per
// user: 1 for GitHub writes, 2 for Slack writes).
func (s *Store) KeyLocks(space int64) *KeyLocks {
	return &KeyLocks{store: s, space: space, held: map[int64]*keyMutex{}}
}

// keyLease bounds how long a holder keeps a key; work under the lock is a
// few HTTP calls, and a holder that outlives its lease only loses exclusivity.
const keyLease = 5 * time.Minute

// Lock blocks until key is free in every process, or ctx ends. The returned
// function releases it and must be called exactly once.
func (k *KeyLocks) Lock(ctx context.Context, key int64) (func(), error) {
	k.mu.Lock()
	m := k.held[key]
	if m == nil {
		m = &keyMutex{}
		k.held[key] = m
	}
	m.refs++
	k.mu.Unlock()
	m.Lock()
	release := func() {
		m.Unlock()
		k.mu.Lock()
		if m.refs--; m.refs == 0 {
			delete(k.held, key)
		}
		k.mu.Unlock()
	}
	if k.store == nil || k.store.Dialect != Postgres {
		return release, nil
	}
	b := make([]byte, 8)
	rand.Read(b)
	owner := hex.EncodeToString(b)
	wait := 5 * time.Millisecond
	for {
		at := now()
		res, err := k.store.DB.ExecContext(ctx, `INSERT INTO key_locks (space, key, owner, expires_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (space, key) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
			WHERE key_locks.expires_at < $5`, k.space, key, owner, at+keyLease.Milliseconds(), at)
		if err != nil {
			release()
			return nil, fmt.Errorf("lock %d: %w", key, err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			break
		}
		select {
		case <-ctx.Done():
			release()
			return nil, fmt.Errorf("lock %d: %w", key, ctx.Err())
		case <-time.After(wait):
		}
		wait = min(wait*2, 100*time.Millisecond)
	}
	return func() {
		// A fresh context: the caller's may be done by now. If the delete
		// fails the lease runs out by itself.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		k.store.DB.ExecContext(ctx, `DELETE FROM key_locks WHERE space = $1 AND key = $2 AND owner = $3`, k.space, key, owner)
		release()
	}, nil
}
