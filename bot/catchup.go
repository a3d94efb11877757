package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/go-github/v66/github"

	"github.com/conveyor-dev/conveyor/internal/ghclient"
	"github.com/conveyor-dev/conveyor/internal/store"
)

// CatchUp asks GitHub to redeliver what Conveyor never stored. GitHub does not
// retry failed deliveries by itself, so without this an outage loses events.
type CatchUp struct {
	App      *ghclient.App
	Store    *store.Store
	Metrics  *Metrics
	Log      *slog.Logger
	Lookback time.Duration // how far back to look (default 6h; GitHub keeps 3 days)
	Settle   time.Duration // ignore deliveries younger than this (default 15s: may be in flight)

	mu    sync.Mutex
	asked map[string]time.Time // GUID -> when we asked for it
}

// Run does one pass and returns how many redeliveries it requested.
func (c *CatchUp) Run(ctx context.Context) (int, error) {
	lookback := c.Lookback
	if lookback == 0 {
		lookback = 6 * time.Hour
	}
	settle := c.Settle
	if settle == 0 {
		settle = 15 * time.Second
	}
	client, err := c.App.App()
	if err != nil {
		return 0, err
	}
	oldest := time.Now().Add(-lookback)
	newest := time.Now().Add(-settle)
	// latest attempt per GUID, and whether any attempt succeeded.
	latest := map[string]*github.HookDelivery{}
	var order []string
	opts := &github.ListCursorOptions{PerPage: 100}
	for pages := 0; pages < 100; pages++ {
		ds, resp, err := client.Apps.ListHookDeliveries(ctx, opts)
		if err != nil {
			return 0, fmt.Errorf("list hook deliveries: %w", err)
		}
		done := false
		for _, d := range ds {
			at := d.GetDeliveredAt().Time
			if at.Before(oldest) {
				done = true
				continue
			}
			if at.After(newest) {
				continue
			}
			g := d.GetGUID()
			if prev, ok := latest[g]; !ok || prev.GetDeliveredAt().Before(at) {
				if !ok {
					order = append(order, g)
				}
				latest[g] = d
			}
		}
		if done || resp.Cursor == "" {
			break
		}
		opts.Cursor = resp.Cursor
	}
	if len(order) == 0 {
		return 0, nil
	}
	known, err := c.Store.KnownDeliveries(ctx, order)
	if err != nil {
		return 0, err
	}
	c.mu.Lock()
	if c.asked == nil {
		c.asked = map[string]time.Time{}
	}
	for g, at := range c.asked {
		if time.Since(at) > lookback {
			delete(c.asked, g)
		}
	}
	c.mu.Unlock()
	resent := 0
	for _, g := range order {
		if known[g] {
			continue
		}
		c.mu.Lock()
		at, ok := c.asked[g]
		c.mu.Unlock()
		if ok && time.Since(at) < 10*time.Minute {
			continue
		}
		d := latest[g]
		if _, _, err := client.Apps.RedeliverHookDelivery(ctx, d.GetID()); err != nil && !isAccepted(err) {
			c.Log.Warn("redelivery request failed", "delivery", g, "err", err)
			continue
		}
		c.mu.Lock()
		c.asked[g] = time.Now()
		c.mu.Unlock()
		resent++
		c.Metrics.CatchupResends.Inc()
		c.Log.Info("asked GitHub to redeliver", "delivery", g, "event", d.GetEvent(), "status", d.GetStatusCode())
	}
	return resent, nil
}

// Loop runs a pass now and then every interval until ctx ends.
func (c *CatchUp) Loop(ctx context.Context, interval time.Duration) {
	for {
		if n, err := c.Run(ctx); err != nil {
			c.Log.Warn("catch-up failed", "err", err)
		} else if n > 0 {
			c.Log.Info("catch-up requested redeliveries", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(interval):
		}
	}
}

// isAccepted reports go-github's way of saying 202 Accepted.
func isAccepted(err error) bool {
	var acc *github.AcceptedError
	return errors.As(err, &acc)
}
