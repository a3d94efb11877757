package driver

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

// contractWorld is one driver wired to a fake of what it deploys to.
type contractWorld struct {
	driver Driver
	// target deploys candidate (servingAfterDeploy) over target.Previous,
	// which the world serves at the start.
	target   Target
	setMode  func(mode string) // "ok", "fail" (the world reports failText) or "hang"
	serving  func() string     // what the world says serves now
	observed func() observation
}

// observation is what the fake world saw of the driver's last action.
type observation struct {
	Env     string
	Subject string // the SHA or model version it was asked to serve
	Partial bool   // it was told this is a partial rollout step
}

// contractHarness builds a fresh world; timeout is the driver's own limit.
type contractHarness struct {
	name     string
	failText string // a phrase the world's failure report carries
	setup    func(t *testing.T, timeout time.Duration) contractWorld
}

// lines collects Logger output.
type lines struct {
	mu sync.Mutex
	l  []string
}

func (c *lines) log(line string) { c.mu.Lock(); c.l = append(c.l, line); c.mu.Unlock() }
func (c *lines) all() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.l...)
}

// runDriverContract is the behaviour every driver shares: deploy and report
// progress, serve the candidate, roll back to the previous state, fail with
// a useful message, stop on deadline and on its own timeout, and pass the
// rollout percentage, environment and SHA through.
func runDriverContract(t *testing.T, h contractHarness) {
	ctx := context.Background()

	t.Run("deploy", func(t *testing.T) {
		w := h.setup(t, time.Minute)
		var got lines
		res, err := w.driver.Deploy(ctx, w.target, got.log)
		if err != nil {
			t.Fatalf("Deploy: %v", err)
		}
		want := servingAfterDeploy(w.target)
		if res.Serving != want || w.serving() != want {
			t.Errorf("after deploy Result.Serving = %q, world serves %q; want %q", res.Serving, w.serving(), want)
		}
		if res.Previous != w.target.Previous {
			t.Errorf("Result.Previous = %q, want %q", res.Previous, w.target.Previous)
		}
		if len(got.all()) == 0 || res.Output == "" {
			t.Errorf("no progress reported: lines %q, output %q", got.all(), res.Output)
		}
		for _, l := range got.all() {
			if !strings.Contains(res.Output, l) {
				t.Errorf("progress line %q missing from Result.Output %q", l, res.Output)
			}
		}
		obs := w.observed()
		if obs.Env != w.target.Environment || obs.Subject != want || obs.Partial {
			t.Errorf("world observed %+v; want env %q, subject %q, full rollout", obs, w.target.Environment, want)
		}
	})

	t.Run("partial step passes the percentage", func(t *testing.T) {
		w := h.setup(t, time.Minute)
		tg := w.target
		tg.Step, tg.Percent = 0, 10
		if _, err := w.driver.Deploy(ctx, tg, nil); err != nil {
			t.Fatalf("Deploy at 10 %%: %v", err)
		}
		if obs := w.observed(); !obs.Partial || obs.Env != tg.Environment {
			t.Errorf("world observed %+v; want a partial step in %q", obs, tg.Environment)
		}
	})

	t.Run("rollback restores the previous state", func(t *testing.T) {
		w := h.setup(t, time.Minute)
		if _, err := w.driver.Deploy(ctx, w.target, nil); err != nil {
			t.Fatalf("Deploy: %v", err)
		}
		var got lines
		res, err := w.driver.Rollback(ctx, w.target, got.log)
		if err != nil {
			t.Fatalf("Rollback: %v", err)
		}
		if w.serving() != w.target.Previous || res.Serving != w.target.Previous {
			t.Errorf("after rollback world serves %q, Result.Serving %q; want %q", w.serving(), res.Serving, w.target.Previous)
		}
		if len(got.all()) == 0 {
			t.Error("rollback reported no progress")
		}
	})

	t.Run("failing deploy explains itself", func(t *testing.T) {
		w := h.setup(t, time.Minute)
		w.setMode("fail")
		_, err := w.driver.Deploy(ctx, w.target, nil)
		if err == nil {
			t.Fatal("Deploy succeeded; want the world's failure")
		}
		var de *Error
		if !errors.As(err, &de) || de.Hint == "" {
			t.Fatalf("error %v is not a *Error with a hint", err)
		}
		for _, part := range []string{w.target.Artifact, w.target.Environment, "deploy", h.failText} {
			if !strings.Contains(err.Error(), part) {
				t.Errorf("error %q does not mention %q", err, part)
			}
		}
		if w.serving() != w.target.Previous {
			t.Errorf("failed deploy left %q serving; want %q", w.serving(), w.target.Previous)
		}
	})

	t.Run("caller deadline stops it", func(t *testing.T) {
		w := h.setup(t, time.Minute)
		w.setMode("hang")
		ctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		_, err := w.driver.Deploy(ctx, w.target, nil)
		if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "timeout") {
			t.Fatalf("Deploy past the deadline = %v; want a deadline error that mentions the timeout setting", err)
		}
	})

	t.Run("driver timeout stops it", func(t *testing.T) {
		w := h.setup(t, 300*time.Millisecond)
		w.setMode("hang")
		_, err := w.driver.Deploy(ctx, w.target, nil)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Deploy past the driver timeout = %v; want a deadline error", err)
		}
	})
}

func TestDriverContract(t *testing.T) {
	for _, h := range []contractHarness{execHarness, mlflowHarness, dbtHarness, workflowHarness, webhookHarness, sagemakerHarness, vertexHarness} {
		t.Run(h.name, func(t *testing.T) { runDriverContract(t, h) })
	}
}
