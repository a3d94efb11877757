package ghclient

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bradleyfalzon/ghinstallation/v2"
	"github.com/google/go-github/v66/github"
)

// App hands out go-github clients for the app and its installations, all on
// the one transport stack (see transport.go). Installation tokens are cached
// by ghinstallation until a minute before they expire.
type App struct {
	appID   int64
	key     []byte
	apiURL  string // always ends with "/"
	metrics *Metrics
	policy  RetryPolicy
	limits  PaceLimits
	maxBody int64
	base    http.RoundTripper
	etags   *etagCache

	mu       sync.Mutex
	installs map[int64]*installation
	app      *github.Client
	slug     string
}

type installation struct {
	client *github.Client
	http   *http.Client
}

// Options configures New.
type Options struct {
	AppID      int64
	PrivateKey []byte
	APIURL     string // "" for https://api.github.com/
	Metrics    *Metrics
	Retry      RetryPolicy
	Pace       PaceLimits
	Transport  http.RoundTripper // default: a tuned http.Transport
	// MaxBody is the most one answer may hold, after decompression
	// (default DefaultMaxBody). Past it the read fails with a
	// BodyTooLargeError naming the call; a body is never cut short.
	MaxBody int64
}

// New builds the client factory. It makes no network call.
func New(o Options) (*App, error) {
	if _, err := ParsePrivateKey(o.PrivateKey); err != nil {
		return nil, fmt.Errorf("github app key: %w", err)
	}
	api := o.APIURL
	if api == "" {
		api = "https://api.github.com/"
	}
	if _, err := url.Parse(api); err != nil {
		return nil, fmt.Errorf("GITHUB_API_URL: %w", err)
	}
	if !strings.HasSuffix(api, "/") {
		api += "/"
	}
	base := o.Transport
	if base == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 32
		base = t
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(nil)
	}
	if o.MaxBody <= 0 {
		o.MaxBody = DefaultMaxBody
	}
	return &App{
		appID: o.AppID, key: o.PrivateKey, apiURL: api, metrics: o.Metrics,
		policy: o.Retry.withDefaults(), limits: o.Pace, maxBody: o.MaxBody, base: base,
		etags: newETagCache(etagCacheSize, etagCacheBytes), installs: map[int64]*installation{},
	}, nil
}

// APIURL is the API base URL, ending in "/".
func (a *App) APIURL() string { return a.apiURL }

func (a *App) stack(scope string, p *pacer) http.RoundTripper {
	var rt http.RoundTripper = &limitTransport{next: a.base, max: a.maxBody, metrics: a.metrics}
	rt = &metricsTransport{next: rt, metrics: a.metrics, scope: scope}
	rt = &etagTransport{next: rt, cache: a.etags, scope: scope}
	rt = &retryTransport{next: rt, policy: a.policy, metrics: a.metrics, sleep: sleepCtx}
	if p != nil {
		rt = &paceTransport{next: rt, pacer: p, metrics: a.metrics}
	}
	return rt
}

func (a *App) newClient(hc *http.Client) *github.Client {
	c := github.NewClient(hc)
	u, _ := url.Parse(a.apiURL)
	c.BaseURL = u
	c.UploadURL = u
	return c
}

// App returns a client authenticated as the app itself (JWT), for /app routes.
func (a *App) App() (*github.Client, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.app != nil {
		return a.app, nil
	}
	tr, err := ghinstallation.NewAppsTransport(a.stack("app", nil), a.appID, a.key)
	if err != nil {
		return nil, fmt.Errorf("github app transport: %w", err)
	}
	tr.BaseURL = strings.TrimSuffix(a.apiURL, "/")
	a.app = a.newClient(&http.Client{Transport: tr})
	return a.app, nil
}

func (a *App) installation(id int64) (*installation, error) {
	if id <= 0 {
		return nil, fmt.Errorf("no installation ID in the event (is the app installed on this repository?)")
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if in, ok := a.installs[id]; ok {
		return in, nil
	}
	scope := strconv.FormatInt(id, 10)
	tr, err := ghinstallation.New(a.stack(scope, newPacer(a.limits)), a.appID, id, a.key)
	if err != nil {
		return nil, fmt.Errorf("github installation transport: %w", err)
	}
	tr.BaseURL = strings.TrimSuffix(a.apiURL, "/")
	hc := &http.Client{Transport: tr, Timeout: 2 * time.Minute}
	in := &installation{client: a.newClient(hc), http: hc}
	a.installs[id] = in
	return in, nil
}

// Installation returns a client acting as installation id.
func (a *App) Installation(id int64) (*github.Client, error) {
	in, err := a.installation(id)
	if err != nil {
		return nil, err
	}
	return in.client, nil
}

// InstallationHTTP returns the authenticated HTTP client of installation id,
// for downloads that go-github does not wrap (tarballs).
func (a *App) InstallationHTTP(id int64) (*http.Client, error) {
	in, err := a.installation(id)
	if err != nil {
		return nil, err
	}
	return in.http, nil
}

// Slug returns the app's slug, asking GitHub once (GET /app).
func (a *App) Slug(ctx context.Context) (string, error) {
	a.mu.Lock()
	slug := a.slug
	a.mu.Unlock()
	if slug != "" {
		return slug, nil
	}
	c, err := a.App()
	if err != nil {
		return "", err
	}
	app, _, err := c.Apps.Get(ctx, "")
	if err != nil {
		return "", fmt.Errorf("GET /app: %w", err)
	}
	a.mu.Lock()
	a.slug = app.GetSlug()
	a.mu.Unlock()
	return app.GetSlug(), nil
}

// SetSlug records the app's slug when it is known from configuration.
func (a *App) SetSlug(slug string) {
	a.mu.Lock()
	a.slug = slug
	a.mu.Unlock()
}

// ParsePrivateKey parses the GitHub App's RSA private key (PKCS#1 or PKCS#8 PEM).
func ParsePrivateKey(b []byte) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, errors.New("not a PEM private key (paste the .pem file GitHub generated)")
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, errors.New("PEM block is not an RSA private key")
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, errors.New("private key is not RSA")
	}
	return rk, nil
}
