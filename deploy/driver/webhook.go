package driver

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/conveyor-dev/conveyor/internal/serverconfig"
)

// Headers of a webhook deploy request.
const (
	SignatureHeader = "X-Conveyor-Signature-256" // "sha256=" + hex HMAC-SHA256 of the body
	DeliveryHeader  = "X-Conveyor-Delivery"      // unique per request
)

// WebhookRequest is the JSON body POSTed to a webhook deployer.
type WebhookRequest struct {
	Action       string    `json:"action"` // deploy or rollback
	DeploymentID int64     `json:"deployment_id"`
	Repository   string    `json:"repository"`
	SHA          string    `json:"sha"`
	Environment  string    `json:"environment"`
	Artifact     string    `json:"artifact"`
	Kind         string    `json:"kind"`
	Percent      int       `json:"percent"`
	Model        *ModelRef `json:"model"`
	Previous     string    `json:"previous"`
}

// WebhookStatus is what a deployer answers, synchronously or at its status
// URL.
type WebhookStatus struct {
	StatusURL string `json:"status_url,omitempty"`
	State     string `json:"state,omitempty"` // success, failure or in_progress
	Message   string `json:"message,omitempty"`
	URL       string `json:"url,omitempty"` // where the deployed thing lives, if any
	// Serving is what served in the environment before this deploy, which
	// a deployer reports when Conveyor does not know it (previous is "");
	// /rollback returns to it after Conveyor's first deployment.
	Serving string `json:"serving,omitempty"`
}

// Sign returns the X-Conveyor-Signature-256 value for body; deployers
// compare it in constant time with hmac.Equal.
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// webhookDriver POSTs a signed request to an internal deployer, then polls
// the status URL it answers with until the deploy succeeds or fails. The
// status polls carry the signature of an empty body, so the deployer can
// authenticate them too.
type webhookDriver struct {
	base
	cfg  serverconfig.Driver
	deps Deps
}

func (d *webhookDriver) Deploy(ctx context.Context, t Target, log Logger) (Result, error) {
	return d.act(ctx, t, log, true)
}

func (d *webhookDriver) Rollback(ctx context.Context, t Target, log Logger) (Result, error) {
	return d.act(ctx, t, log, false)
}

func (d *webhookDriver) act(ctx context.Context, t Target, log Logger, deploy bool) (Result, error) {
	return d.run(ctx, t, log, deploy, "check the deployer's logs for this delivery, fix the cause, then deploy again",
		func(ctx context.Context, p *progress) (Result, error) { return d.call(ctx, t, p, deploy) })
}

func (d *webhookDriver) call(ctx context.Context, t Target, p *progress, deploy bool) (Result, error) {
	res := Result{Previous: t.Previous}
	secret := d.deps.Env(d.cfg.SecretEnv)
	if secret == "" {
		return res, fmt.Errorf("the signing secret is missing: environment variable %s is empty on the server; set it to the secret the deployer shares", d.cfg.SecretEnv)
	}
	serving := servingAfterDeploy(t)
	if !deploy {
		serving = t.Previous
	}
	body, err := json.Marshal(WebhookRequest{
		Action: action(deploy), DeploymentID: t.DeploymentID, Repository: t.Repository, SHA: t.SHA,
		Environment: t.Environment, Artifact: t.Artifact, Kind: t.Kind, Percent: t.Percent,
		Model: t.ModelRef(), Previous: t.Previous,
	})
	if err != nil {
		return res, err
	}
	base, err := url.Parse(d.cfg.URL)
	if err != nil {
		return res, fmt.Errorf("drivers.%s.url is not a URL: %w", d.name, err)
	}
	p.Printf("asking %s to %s %s to %s at %d %%", base.Redacted(), action(deploy), t.Artifact, t.Environment, t.Percent)
	st, code, err := d.send(ctx, http.MethodPost, base, body, []byte(secret))
	if err != nil {
		return res, err
	}
	if code != http.StatusOK && code != http.StatusAccepted {
		return res, fmt.Errorf("deployer answered HTTP %d (want 202 with a status_url, or 200 with a state)%s", code, withMessage(st.Message))
	}
	last := ""
	for {
		if st.URL != "" {
			res.URL = st.URL
		}
		if deploy && t.Previous == "" && st.Serving != "" && len(st.Serving) <= maxServing && !strings.ContainsAny(st.Serving, "\r\n") {
			res.Previous = st.Serving
		}
		if line := st.State + withMessage(st.Message); st.State != "" && line != last {
			p.Printf("deployer: %s", line)
			last = line
		}
		switch st.State {
		case "success":
			res.Serving = serving
			return res, nil
		case "failure":
			return res, fmt.Errorf("deployer reported failure%s", withMessage(st.Message))
		case "in_progress", "queued", "":
		default:
			return res, fmt.Errorf("deployer answered state %q; want success, failure or in_progress", st.State)
		}
		if st.StatusURL == "" {
			return res, errors.New("deployer gave neither a final state nor a status_url to poll")
		}
		next, err := base.Parse(st.StatusURL)
		if err != nil {
			return res, fmt.Errorf("status_url %q is not a URL: %w", st.StatusURL, err)
		}
		timer := time.NewTimer(d.cfg.PollInterval.Duration)
		select {
		case <-ctx.Done():
			timer.Stop()
			return res, fmt.Errorf("waiting for the deployer: %w", ctx.Err())
		case <-timer.C:
		}
		statusURL := st.StatusURL
		if st, code, err = d.send(ctx, http.MethodGet, next, nil, []byte(secret)); err != nil {
			return res, err
		}
		if code != http.StatusOK {
			return res, fmt.Errorf("status URL %s answered HTTP %d, want 200%s", next.Redacted(), code, withMessage(st.Message))
		}
		if st.StatusURL == "" {
			st.StatusURL = statusURL
		}
	}
}

// send makes one signed request and decodes the JSON answer (an
// undecodable answer yields an empty status).
func (d *webhookDriver) send(ctx context.Context, method string, u *url.URL, body, secret []byte) (WebhookStatus, int, error) {
	var st WebhookStatus
	req, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(body))
	if err != nil {
		return st, 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "conveyor")
	req.Header.Set(SignatureHeader, Sign(secret, body))
	req.Header.Set(DeliveryHeader, deliveryID())
	resp, err := d.deps.HTTP.Do(req)
	if err != nil {
		return st, 0, fmt.Errorf("%s %s: %w", method, u.Redacted(), unwrapURLError(err))
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return st, resp.StatusCode, fmt.Errorf("%s %s: reading the answer: %w", method, u.Redacted(), err)
	}
	if json.Unmarshal(b, &st) != nil && resp.StatusCode >= 300 {
		st.Message = snippet(b)
	}
	return st, resp.StatusCode, nil
}

func deliveryID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func withMessage(m string) string {
	if m == "" {
		return ""
	}
	return ": " + m
}

// snippet shortens a response body for an error message.
func snippet(b []byte) string {
	s := string(bytes.TrimSpace(b))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// unwrapURLError drops the URL net/http puts in its errors; URLs may carry
// tokens, and callers add a redacted one themselves.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
