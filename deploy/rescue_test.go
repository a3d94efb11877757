package deploy

import (
	"testing"
	"time"

	"github.com/conveyor-dev/conveyor/internal/store"
	"github.com/conveyor-dev/conveyor/internal/store/storetest"
)

// A rollout step runs drivers for minutes; it must stay out of the queue's
// short rescue window, or a live step would be deployed twice at once.
func TestRolloutStepsAreKeptOutOfTheShortRescueWindow(t *testing.T) {
	t.Parallel()
	st := storetest.Open(t, store.SQLite)
	w := &stepWorker{e: NewEngine(Options{Store: st})}
	if got := w.Timeout(nil); got != DefaultStepTimeout || got <= store.DefaultRescueAfter {
		t.Fatalf("step Timeout = %s; want DefaultStepTimeout (%s), beyond the rescue window %s", got, DefaultStepTimeout, store.DefaultRescueAfter)
	}
	w = &stepWorker{e: NewEngine(Options{Store: st, StepTimeout: time.Hour})}
	if got := w.Timeout(nil); got != time.Hour {
		t.Fatalf("step Timeout = %s; want the configured hour", got)
	}
}
