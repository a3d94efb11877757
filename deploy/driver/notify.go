package driver

import (
	"strings"
	"sync"
)

// runWaiters wakes github-workflow drivers waiting on a repository's runs.
// The bot calls Notify on each workflow_run "completed" event, so a
// deployment learns of its run's end without waiting for the next poll.
type runWaiters struct {
	mu      sync.Mutex
	waiters map[string]map[chan int64]struct{} // lower-case owner/name -> waiters
}

// defaultRuns is the process-wide notifier behind Notify. It is
// package-level because the bot and the engine build drivers independently;
// it holds only wake-up channels, never state a test could leak.
var defaultRuns = &runWaiters{waiters: map[string]map[chan int64]struct{}{}}

// Notify tells every github-workflow deploy following a run in repo
// ("owner/name") that run runID completed. It never blocks; a deploy that
// misses a wake-up still finds out at its next poll.
func Notify(repo string, runID int64) { defaultRuns.notify(repo, runID) }

func (r *runWaiters) subscribe(repo string) (<-chan int64, func()) {
	key := strings.ToLower(repo)
	ch := make(chan int64, 1)
	r.mu.Lock()
	if r.waiters[key] == nil {
		r.waiters[key] = map[chan int64]struct{}{}
	}
	r.waiters[key][ch] = struct{}{}
	r.mu.Unlock()
	return ch, func() {
		r.mu.Lock()
		delete(r.waiters[key], ch)
		if len(r.waiters[key]) == 0 {
			delete(r.waiters, key)
		}
		r.mu.Unlock()
	}
}

func (r *runWaiters) notify(repo string, runID int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for ch := range r.waiters[strings.ToLower(repo)] {
		select {
		case ch <- runID:
		default: // a wake-up is already pending
		}
	}
}
