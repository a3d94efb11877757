// Package appsetup owns `conveyor setup`: registering Conveyor as a GitHub
// App through GitHub's manifest flow, the way Probot does it. It serves a
// local page that posts app.yml to GitHub, receives the temporary code on its
// redirect URL, exchanges the code for the app's credentials and writes them
// to a .env file readable only by its owner. It must not print or log the
// credentials it receives.
package appsetup

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// Options configures one run of the manifest flow.
type Options struct {
	GitHubURL  string                 // web host: https://github.com (default) or the Enterprise host
	APIURL     string                 // API base; default https://api.github.com, or {GitHubURL}/api/v3 for Enterprise
	Org        string                 // register the app on this organization; empty registers it on the user
	Manifest   []byte                 // the app.yml content
	WebhookURL string                 // overrides hook_attributes.url of the manifest when set
	EnvPath    string                 // where credentials are written; default .env
	Listen     string                 // local address of the set-up page; default 127.0.0.1:3000
	Force      bool                   // overwrite an existing EnvPath
	Open       func(url string) error // opens a browser on the set-up page; default prints the URL to Out
	Out        io.Writer              // progress messages; default os.Stdout
	HTTPClient *http.Client           // for the code exchange; default a client with a 30s timeout
}

// Credentials are what GitHub returns for a newly created app.
type Credentials struct {
	AppID         int64
	Slug          string
	HTMLURL       string
	ClientID      string
	ClientSecret  string
	WebhookSecret string
	PrivateKeyPEM string
}

// String names the app without its secrets, so that printing Credentials by
// mistake leaks nothing.
func (c *Credentials) String() string {
	return fmt.Sprintf("GitHub App %s (id %d)", c.Slug, c.AppID)
}

// OAuthCallbackPath is where Conveyor's dashboard receives GitHub's redirect
// after a user signs in (web/signin serves it); the app's callback URL is
// Conveyor's public address followed by it.
const OAuthCallbackPath = "/oauth/callback"

const (
	defaultGitHubURL = "https://github.com"
	defaultAPIURL    = "https://api.github.com"
	callbackPath     = "/callback"
)

// Run serves the set-up page on Options.Listen, waits until GitHub redirects
// back with a code (or ctx ends), exchanges the code and writes the .env file.
func Run(ctx context.Context, opts Options) (*Credentials, error) {
	if err := opts.normalize(); err != nil {
		return nil, err
	}
	if !opts.Force {
		if _, err := os.Stat(opts.EnvPath); err == nil {
			return nil, fmt.Errorf("%s already exists; move it away or pass --force to overwrite it", opts.EnvPath)
		}
	}
	ln, err := net.Listen("tcp", opts.Listen)
	if err != nil {
		return nil, fmt.Errorf("listen on %s for the set-up page: %w (choose another address with --listen)", opts.Listen, err)
	}
	base := "http://" + ln.Addr().String()
	manifestJSON, err := buildManifest(opts.Manifest, opts.WebhookURL, base+callbackPath)
	if err != nil {
		ln.Close()
		return nil, err
	}
	state, err := newState()
	if err != nil {
		ln.Close()
		return nil, err
	}

	f := &flow{opts: opts, state: state, manifest: manifestJSON, done: make(chan result, 1)}
	srv := &http.Server{Handler: f.routes(), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln) //nolint:errcheck // Serve returns ErrServerClosed on Shutdown
	defer func() {
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shutdownCtx) //nolint:errcheck // best effort: the result is already known
	}()

	if err := opts.Open(base + "/"); err != nil {
		fmt.Fprintf(opts.Out, "Could not open a browser (%v); open %s/ yourself.\n", err, base)
	}
	select {
	case <-ctx.Done():
		return nil, fmt.Errorf("setup stopped before GitHub redirected back: %w", ctx.Err())
	case r := <-f.done:
		if r.err != nil {
			return nil, r.err
		}
		fmt.Fprintf(opts.Out, "Created %s and wrote its credentials to %s.\nInstall it: %s/installations/new\n",
			r.creds, opts.EnvPath, r.creds.HTMLURL)
		return r.creds, nil
	}
}

func (o *Options) normalize() error {
	if o.GitHubURL == "" {
		o.GitHubURL = defaultGitHubURL
	}
	o.GitHubURL = strings.TrimRight(o.GitHubURL, "/")
	if err := checkHTTPURL("--github-url", o.GitHubURL, "https://github.com or https://ghe.example.com"); err != nil {
		return err
	}
	if o.APIURL == "" {
		if o.GitHubURL == defaultGitHubURL {
			o.APIURL = defaultAPIURL
		} else {
			o.APIURL = o.GitHubURL + "/api/v3"
		}
	}
	o.APIURL = strings.TrimRight(o.APIURL, "/")
	if err := checkHTTPURL("--api-url", o.APIURL, "https://api.github.com or https://ghe.example.com/api/v3"); err != nil {
		return err
	}
	if o.WebhookURL != "" {
		if err := checkHTTPURL("--webhook-url", o.WebhookURL, "https://conveyor.example.com/webhooks/github"); err != nil {
			return err
		}
	}
	if o.Org != "" && strings.ContainsAny(o.Org, "/?#% ") {
		return fmt.Errorf("--org %q is not an organization login; write just the login, like acme", o.Org)
	}
	if len(o.Manifest) == 0 {
		return errors.New("the app manifest is empty; pass --manifest with the path of app.yml")
	}
	if o.EnvPath == "" {
		o.EnvPath = ".env"
	}
	if o.Listen == "" {
		o.Listen = "127.0.0.1:3000"
	}
	if o.Out == nil {
		o.Out = os.Stdout
	}
	if o.Open == nil {
		out := o.Out
		o.Open = func(u string) error {
			_, err := fmt.Fprintf(out, "Open %s in your browser to create the GitHub App.\n", u)
			return err
		}
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	return nil
}

func checkHTTPURL(flag, raw, example string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%s %q is not an http(s) URL; write something like %s", flag, raw, example)
	}
	return nil
}

// newAppURL is where the set-up page posts the manifest.
func (o *Options) newAppURL(state string) string {
	path := "/settings/apps/new"
	if o.Org != "" {
		path = "/organizations/" + url.PathEscape(o.Org) + "/settings/apps/new"
	}
	return o.GitHubURL + path + "?state=" + url.QueryEscape(state)
}

func newState() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate the state parameter: %w", err)
	}
	return hex.EncodeToString(b), nil
}
