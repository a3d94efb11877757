package driver

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/conveyor-dev/conveyor/internal/serverconfig"
)

// HTTPGate is a health gate that probes a URL between rollout steps.
type HTTPGate struct {
	cfg serverconfig.Health
	hc  *http.Client
}

// NewHealthGate builds the gate for cfg. A nil hc means a plain client;
// each probe is bounded by cfg.Timeout (default 5s) and expects cfg.Expect
// (default 200).
func NewHealthGate(cfg serverconfig.Health, hc *http.Client) *HTTPGate {
	if hc == nil {
		hc = &http.Client{}
	}
	if cfg.Expect == 0 {
		cfg.Expect = http.StatusOK
	}
	if cfg.Timeout.Duration <= 0 {
		cfg.Timeout.Duration = 5 * time.Second
	}
	return &HTTPGate{cfg: cfg, hc: hc}
}

// URL returns the probe URL for t, with {environment} and {artifact}
// substituted (path-escaped).
func (g *HTTPGate) URL(t Target) string {
	return strings.NewReplacer(
		"{environment}", url.PathEscape(t.Environment),
		"{artifact}", url.PathEscape(t.Artifact),
	).Replace(g.cfg.HTTP)
}

// Healthy probes the URL once and returns an error unless it answers the
// expected status.
func (g *HTTPGate) Healthy(ctx context.Context, t Target) error {
	raw := g.URL(t)
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return fmt.Errorf("health gate for %s in %s: %q is not an http(s) URL; fix health.<driver>.http in the server config", t.Artifact, t.Environment, raw)
	}
	ctx, cancel := context.WithTimeout(ctx, g.cfg.Timeout.Duration)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return fmt.Errorf("health gate for %s in %s: %w", t.Artifact, t.Environment, err)
	}
	req.Header.Set("User-Agent", "conveyor-health")
	resp, err := g.hc.Do(req)
	if err != nil {
		return fmt.Errorf("health gate for %s in %s: %s did not answer within %s: %v; the rollout stops here and rolls back",
			t.Artifact, t.Environment, u.Redacted(), g.cfg.Timeout.Duration, unwrapURLError(err))
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
	if resp.StatusCode != g.cfg.Expect {
		msg := fmt.Sprintf("health gate for %s in %s: %s answered %d, want %d", t.Artifact, t.Environment, u.Redacted(), resp.StatusCode, g.cfg.Expect)
		if s := snippet(body); s != "" {
			msg += " (" + s + ")"
		}
		return fmt.Errorf("%s; the rollout stops here and rolls back", msg)
	}
	return nil
}
