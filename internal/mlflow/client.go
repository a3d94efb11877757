// Package mlflow is Conveyor's client for the MLflow Model Registry REST API.
// It owns the wire format of the few endpoints Conveyor needs (read a model
// version, resolve and move aliases, read a run's metrics) and turns MLflow's
// error documents into plain sentences. It makes no decisions: which version
// may serve where is for checks, policies and deploy.
package mlflow

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// maxResponseBytes bounds how much of a response body is read, so a
// misbehaving server cannot exhaust memory.
const maxResponseBytes = 8 << 20

// Client calls one MLflow tracking server. It is safe for concurrent use.
type Client struct {
	baseURL  string
	token    string
	user     string
	password string
	basic    bool
	http     *http.Client
}

// Option configures a Client.
type Option func(*Client)

// WithToken authenticates every request with "Authorization: Bearer tok".
func WithToken(tok string) Option {
	return func(c *Client) { c.token = tok }
}

// WithBasicAuth authenticates with HTTP Basic auth (MLflow's built-in auth
// app). It takes precedence over WithToken.
func WithBasicAuth(user, pass string) Option {
	return func(c *Client) { c.user, c.password, c.basic = user, pass, true }
}

// WithHTTPClient replaces the default HTTP client (30 s timeout).
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) {
		if hc != nil {
			c.http = hc
		}
	}
}

// New returns a client for the MLflow server at baseURL, for example
// "https://mlflow.internal" or "http://127.0.0.1:5000/mlflow".
func New(baseURL string, opts ...Option) *Client {
	c := &Client{
		baseURL: strings.TrimRight(baseURL, "/"),
		http:    &http.Client{Timeout: 30 * time.Second},
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// call sends one request and decodes a 2xx JSON answer into out (when out is
// not nil). query goes in the URL; body, when not nil, is sent as JSON.
func (c *Client) call(ctx context.Context, method, path string, query url.Values, body, out any) error {
	endpoint := c.baseURL + path
	if len(query) > 0 {
		endpoint += "?" + query.Encode()
	}
	var reader io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("MLflow %s %s: encode request: %w", method, path, err)
		}
		reader = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, endpoint, reader)
	if err != nil {
		return fmt.Errorf("MLflow %s %s: build request: %w", method, path, stripURL(err))
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	switch {
	case c.basic:
		req.SetBasicAuth(c.user, c.password)
	case c.token != "":
		req.Header.Set("Authorization", "Bearer "+c.token)
	}

	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("MLflow %s %s: %w", method, path, stripURL(err))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return fmt.Errorf("MLflow %s %s: read response: %w", method, path, err)
	}

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		apiErr := parseAPIError(resp.StatusCode, raw)
		if resp.StatusCode >= 500 {
			return fmt.Errorf("MLflow %s %s: %w", method, path, apiErr)
		}
		return apiErr
	}
	if out == nil || len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("MLflow %s %s: the server answered HTTP %d with a body that is not the expected JSON (is the registry URL an MLflow server?): %w",
			method, path, resp.StatusCode, err)
	}
	return nil
}

// stripURL drops the URL from *url.Error so that credentials embedded in a
// base URL (user:password@host) never reach an error message; callers add
// the path themselves.
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
