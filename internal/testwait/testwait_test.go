package testwait

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// recorder is a testing.TB that records Fatal instead of stopping the goroutine.
type recorder struct {
	testing.TB
	failed string
}

func (r *recorder) Helper()           {}
func (r *recorder) Fatal(args ...any) { r.failed = args[0].(string) }

func TestForReturnsOnceTheConditionHolds(t *testing.T) {
	t.Parallel()
	var n atomic.Int32
	go func() {
		for i := 0; i < 3; i++ {
			time.Sleep(Interval)
			n.Add(1)
		}
	}()
	r := &recorder{TB: t}
	For(r, "three ticks", func() bool { return n.Load() >= 3 })
	if r.failed != "" {
		t.Fatalf("failed: %s", r.failed)
	}
	if n.Load() < 3 {
		t.Fatalf("returned before the condition held: %d", n.Load())
	}
}

func TestWithinFailsWithWhatAndDetail(t *testing.T) {
	t.Parallel()
	r := &recorder{TB: t}
	calls := 0
	Within(r, 3*Interval, "the door to open", func() bool { calls++; return false }, func() string { return "door is shut" })
	if r.failed != "timed out waiting for the door to open: door is shut" {
		t.Fatalf("failure message %q", r.failed)
	}
	if calls < 2 {
		t.Fatalf("cond polled %d times; want it polled until the deadline", calls)
	}
}

func TestPollReportsWithoutFailing(t *testing.T) {
	t.Parallel()
	if Poll(2*Interval, func() bool { return false }) {
		t.Fatal("Poll of a false condition reported true")
	}
	if !Poll(time.Second, func() bool { return true }) {
		t.Fatal("Poll of a true condition reported false")
	}
	r := &recorder{TB: t}
	For(r, "x", func() bool { return true })
	if strings.Contains(r.failed, "timed out") {
		t.Fatal("For failed on a true condition")
	}
}
