// Package fakeapi holds the plumbing the API emulators share: a call log, injected faults and injected latency.
//
// Every type is safe for concurrent use and ready to use as its zero value. What a call
// records, how a fault is matched and how it is written out stay with each emulator.
package fakeapi

import (
	"context"
	"sync"
	"time"
)

// Log is a concurrency-safe record of the calls an emulator received, in arrival order.
type Log[C any] struct {
	mu    sync.Mutex
	calls []C
}

// Record appends c to the log.
func (l *Log[C]) Record(c C) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, c)
}

// Calls returns a copy of the recorded calls, oldest first (nil when there are none).
func (l *Log[C]) Calls() []C {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]C(nil), l.calls...)
}

// Reset forgets every recorded call.
func (l *Log[C]) Reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = nil
}

// Take returns the recorded calls, oldest first, and forgets them, in one step.
func (l *Log[C]) Take() []C {
	l.mu.Lock()
	defer l.mu.Unlock()
	calls := l.calls
	l.calls = nil
	return calls
}

// TB is the part of testing.TB that the emulators' NewTest needs.
type TB interface {
	Helper()
	Cleanup(func())
	Errorf(format string, args ...any)
}

// HoldToContract closes an emulator when the test ends and then fails the test
// with each departure from the service's published description still
// recorded (label names the emulator and the description).
func HoldToContract(t TB, label string, closeServer func(), violations func() []string) {
	t.Helper()
	t.Cleanup(func() {
		closeServer()
		for _, v := range violations() {
			t.Errorf("%s: %s", label, v)
		}
	})
}

// Faults is a concurrency-safe queue of injected faults, each good for a number of uses.
// Faults are tried in the order they were added.
type Faults[F any] struct {
	mu     sync.Mutex
	queued []*queuedFault[F]
}

type queuedFault[F any] struct {
	fault F
	left  int
}

// Add queues f for the next n requests it matches. An n below 1 counts as 1: the fault
// still applies once, as the emulators have always done.
func (q *Faults[F]) Add(f F, n int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.queued = append(q.queued, &queuedFault[F]{fault: f, left: max(n, 1)})
}

// Take finds the first queued fault for which match reports true, uses it once (dropping
// it when that was its last use) and returns it. It returns the zero F and false when no
// fault matches. match is called with the queue locked, so it must not call back into q.
func (q *Faults[F]) Take(match func(F) bool) (F, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for i, e := range q.queued {
		if !match(e.fault) {
			continue
		}
		e.left--
		if e.left <= 0 {
			q.queued = append(q.queued[:i], q.queued[i+1:]...)
		}
		return e.fault, true
	}
	var zero F
	return zero, false
}

// Reset drops every queued fault.
func (q *Faults[F]) Reset() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.queued = nil
}

// Latency is a concurrency-safe injected delay before an emulator answers.
type Latency struct {
	mu sync.Mutex
	d  time.Duration
}

// Set makes every later Wait last d; 0 (or less) turns the delay off.
func (l *Latency) Set(d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.d = d
}

// Wait sleeps for the delay currently set. It returns false if ctx ended first (the client
// went away) and true otherwise; with no delay set it returns true at once without
// looking at ctx.
func (l *Latency) Wait(ctx context.Context) bool {
	l.mu.Lock()
	d := l.d
	l.mu.Unlock()
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
