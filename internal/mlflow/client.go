// Package mlflow is Conveyor's client for the MLflow Model Registry REST API,
// the workspace registry's and Databricks Unity Catalog's. It owns the wire
// format of the few endpoints Conveyor needs (read a model version, resolve
// and move aliases, read a run's metrics, read a version's signature) and
// turns MLflow's error documents into plain sentences. It makes no decisions: which version
// may serve where is for checks, policies and deploy.
package mlflow

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// maxResponseBytes bounds how much of a response body is read, so a
// misbehaving server cannot exhaust memory.
const maxResponseBytes = 8 << 20

// Client calls one MLflow tracking server. It is safe for concurrent use.
// Each call is retried on what a bad minute looks like (5xx, 429, a
// connection error, a call slower than its timeout) with exponential
// backoff and full jitter, for as long as the caller's context allows.
type Client struct {
	baseURL  string
	token    string
	user     string
	password string
	basic    bool
	http     *http.Client

	attempts    int           // tries per call, the first included
	backoff     time.Duration // the first retry waits up to this, doubling after
	maxBackoff  time.Duration
	callTimeout time.Duration // one try; the caller's context bounds them all
	uiURL       string        // the registry's web UI, for links; "" when unknown
	uc          bool          // a Databricks Unity Catalog registry (see WithUnityCatalog)
}

// Defaults of the retry policy: four tries, waits of up to 250 ms, 500 ms,
// 1 s (never above 4 s), each try bounded by 10 s. A caller's 20 s budget
// (the model check's) thus survives a slow first answer and a few 503s.
const (
	DefaultAttempts    = 4
	DefaultBackoff     = 250 * time.Millisecond
	DefaultMaxBackoff  = 4 * time.Second
	DefaultCallTimeout = 10 * time.Second
)

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

// WithHTTPClient replaces the default HTTP client.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) {
		if hc != nil {
			c.http = hc
		}
	}
}

// WithRetry sets how many tries a call gets (1 turns retries off) and the
// first backoff, which doubles per retry up to max; each wait is drawn at
// random below it (full jitter) so that many checks do not retry in step.
func WithRetry(attempts int, backoff, max time.Duration) Option {
	return func(c *Client) {
		c.attempts, c.backoff, c.maxBackoff = max1(attempts), backoff, max
	}
}

// WithCallTimeout bounds one try of a call; a try that takes longer is
// abandoned and retried while the caller's context allows.
func WithCallTimeout(d time.Duration) Option {
	return func(c *Client) {
		if d > 0 {
			c.callTimeout = d
		}
	}
}

// WithUIURL sets the registry's web UI, which VersionURL and RunURL link to.
func WithUIURL(u string) Option {
	return func(c *Client) { c.uiURL = strings.TrimRight(u, "/") }
}

// VersionURL links a model version in MLflow's UI (its model registry route
// /models/<name>/versions/<version>), or in a Unity Catalog registry
// Databricks' Catalog Explorer (/explore/data/models/<catalog>/<schema>/<model>/version/<v>);
// "" without a UI URL.
func (c *Client) VersionURL(name, version string) string {
	if c.uiURL == "" || name == "" || version == "" {
		return ""
	}
	if c.uc {
		parts := strings.Split(name, ".")
		for i := range parts {
			parts[i] = url.PathEscape(parts[i])
		}
		return c.uiURL + "/explore/data/models/" + strings.Join(parts, "/") + "/version/" + url.PathEscape(version)
	}
	return c.uiURL + "/#/models/" + url.PathEscape(name) + "/versions/" + url.PathEscape(version)
}

// RunURL links a run in MLflow's UI (the direct route /runs/<id>,
// mlflow/server/js/src/experiment-tracking/routes.tsx, runPageDirect), or ""
// without a UI URL. Databricks links runs under their experiment, which a UC
// model version does not name with the run, so a UC registry links none.
func (c *Client) RunURL(runID string) string {
	if c.uiURL == "" || runID == "" || c.uc {
		return ""
	}
	return c.uiURL + "/#/runs/" + url.PathEscape(runID)
}

func max1(n int) int {
	if n < 1 {
		return 1
	}
	return n
}

// New returns a client for the MLflow server at baseURL, for example
// "https://mlflow.internal" or "http://127.0.0.1:5000/mlflow".
func New(baseURL string, opts ...Option) *Client {
	c := &Client{
		baseURL:     strings.TrimRight(baseURL, "/"),
		http:        &http.Client{},
		attempts:    DefaultAttempts,
		backoff:     DefaultBackoff,
		maxBackoff:  DefaultMaxBackoff,
		callTimeout: DefaultCallTimeout,
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// UnavailableError says the registry could not be reached or answered that
// it is unavailable (5xx, 429, a timeout) on every try: trying again later
// may succeed, unlike a refusal (4xx).
type UnavailableError struct {
	Tries int
	Err   error
}

func (e *UnavailableError) Error() string {
	if e.Tries > 1 {
		return fmt.Sprintf("%v (after %d tries)", e.Err, e.Tries)
	}
	return e.Err.Error()
}

func (e *UnavailableError) Unwrap() error { return e.Err }

// IsUnavailable reports whether err means the registry was unreachable or
// out of time rather than that it refused the request.
func IsUnavailable(err error) bool {
	var u *UnavailableError
	return errors.As(err, &u) || errors.Is(err, context.DeadlineExceeded)
}

// call sends one request, retrying as the Client's policy says, and
// decodes a 2xx JSON answer into out (when out is not nil; a *[]byte
// receives the body as it is). query goes in
// the URL; body, when not nil, is sent as JSON.
func (c *Client) call(ctx context.Context, method, path string, query url.Values, body, out any) error {
	var raw []byte
	if body != nil {
		var err error
		if raw, err = json.Marshal(body); err != nil {
			return fmt.Errorf("MLflow %s %s: encode request: %w", method, path, err)
		}
	}
	for try := 1; ; try++ {
		err, retry := c.once(ctx, method, path, query, raw, body != nil, out)
		if err == nil || !retry {
			return err
		}
		if try >= c.attempts || ctx.Err() != nil {
			return &UnavailableError{Tries: try, Err: err}
		}
		wait := c.wait(try)
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			return &UnavailableError{Tries: try, Err: err}
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return &UnavailableError{Tries: try, Err: err}
		case <-t.C:
		}
	}
}

// wait is the backoff before retry n (1-based): full jitter below
// backoff*2^(n-1), capped at maxBackoff.
func (c *Client) wait(n int) time.Duration {
	ceil := c.backoff << (n - 1)
	if ceil <= 0 || ceil > c.maxBackoff {
		ceil = c.maxBackoff
	}
	if ceil <= 0 {
		return 0
	}
	return time.Duration(rand.Int64N(int64(ceil) + 1))
}

// once makes one try. retry says the failure is one a later try may not
// meet: a connection error or timeout of this try, 5xx or 429.
func (c *Client) once(ctx context.Context, method, path string, query url.Values, raw []byte, hasBody bool, out any) (err error, retry bool) {
	endpoint := c.baseURL + path
	if len(query) > 0 {
		endpoint += "?" + query.Encode()
	}
	tctx, cancel := context.WithTimeout(ctx, c.callTimeout)
	defer cancel()
	var reader io.Reader
	if hasBody {
		reader = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(tctx, method, endpoint, reader)
	if err != nil {
		return fmt.Errorf("MLflow %s %s: build request: %w", method, path, stripURL(err)), false
	}
	req.Header.Set("Accept", "application/json")
	if hasBody {
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
		if ctx.Err() == nil && tctx.Err() != nil {
			return fmt.Errorf("MLflow %s %s: no answer within %s", method, path, c.callTimeout), true
		}
		return fmt.Errorf("MLflow %s %s: %w", method, path, stripURL(err)), ctx.Err() == nil
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return fmt.Errorf("MLflow %s %s: read response: %w", method, path, err), ctx.Err() == nil
	}

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		apiErr := parseAPIError(resp.StatusCode, body)
		if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
			return fmt.Errorf("MLflow %s %s: %w", method, path, apiErr), true
		}
		return apiErr, false
	}
	if raw, ok := out.(*[]byte); ok {
		// A file (the artifact proxy's answer), not a JSON document.
		*raw = body
		return nil, false
	}
	if out == nil || len(bytes.TrimSpace(body)) == 0 {
		return nil, false
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("MLflow %s %s: the server answered HTTP %d with a body that is not the expected JSON (is the registry URL an MLflow server?): %w",
			method, path, resp.StatusCode, err), false
	}
	return nil, false
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
