package appsetup

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"
)

// flow is the local web side of one manifest flow: the page that posts the
// manifest and the callback that GitHub redirects to.
type flow struct {
	opts     Options
	state    string
	manifest string // JSON

	mu       sync.Mutex
	finished bool
	done     chan result
}

type result struct {
	creds *Credentials
	err   error
}

func (f *flow) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", f.servePage)
	mux.HandleFunc("GET "+callbackPath, f.serveCallback)
	return mux
}

var pageTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>Create the Conveyor GitHub App</title></head>
<body>
<h1>Create the Conveyor GitHub App</h1>
<p>Your browser will now go to GitHub to create the app from app.yml.</p>
<form id="manifest-form" action="{{.Action}}" method="post">
<input type="hidden" name="manifest" value="{{.Manifest}}">
<button type="submit">Create the GitHub App</button>
</form>
<script>document.getElementById("manifest-form").submit();</script>
</body></html>
`))

var messageTemplate = template.Must(template.New("message").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>{{.Title}}</title></head>
<body><h1>{{.Title}}</h1><p>{{.Text}}</p>{{if .Link}}<p><a href="{{.Link}}">{{.Link}}</a></p>{{end}}</body></html>
`))

func (f *flow) servePage(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	pageTemplate.Execute(w, map[string]string{ //nolint:errcheck // the browser went away
		"Action":   f.opts.newAppURL(f.state),
		"Manifest": f.manifest,
	})
}

func writeMessage(w http.ResponseWriter, status int, title, text, link string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	messageTemplate.Execute(w, map[string]string{"Title": title, "Text": text, "Link": link}) //nolint:errcheck // the browser went away
}

func (f *flow) serveCallback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(f.state)) != 1 {
		writeMessage(w, http.StatusBadRequest, "State does not match",
			"This redirect was not started by this conveyor setup run. Open the set-up page again and create the app from there.", "")
		return
	}
	code := q.Get("code")
	if code == "" {
		writeMessage(w, http.StatusBadRequest, "No code from GitHub",
			"GitHub redirected back without a code. Open the set-up page again and create the app from there.", "")
		return
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	if f.finished {
		writeMessage(w, http.StatusGone, "Already done", "This set-up run has finished; look at the terminal for the result.", "")
		return
	}
	f.finished = true

	creds, err := exchangeCode(r.Context(), f.opts.HTTPClient, f.opts.APIURL, code)
	var sessionKey string
	if err == nil {
		sessionKey, err = newSessionKey()
	}
	if err == nil {
		entries := envEntries(creds, f.opts.GitHubURL, f.opts.APIURL, sessionKey)
		if pub := publicURL(f.opts.WebhookURL); pub != "" {
			// Where browsers reach the dashboard; its sign-in callback is registered there.
			entries = append(entries, envEntry{"CONVEYOR_PUBLIC_URL", pub})
		}
		err = writeEnvFile(f.opts.EnvPath, entries, f.opts.Force)
	}
	if err != nil {
		writeMessage(w, http.StatusBadGateway, "Setup failed", err.Error(), "")
		f.done <- result{err: err}
		return
	}
	writeMessage(w, http.StatusOK, "GitHub App created",
		fmt.Sprintf("Credentials for %s are in %s. Install the app on your repositories:", creds.Slug, f.opts.EnvPath),
		creds.HTMLURL+"/installations/new")
	f.done <- result{creds: creds}
}

// buildManifest converts app.yml to the JSON GitHub expects, with the
// webhook URL (when given) and the redirect URL of this run filled in. A
// webhook URL also names Conveyor's public address, so the dashboard's
// sign-in callback (callback_urls) moves with it.
func buildManifest(manifestYAML []byte, webhookURL, redirectURL string) (string, error) {
	var m map[string]any
	if err := yaml.Unmarshal(manifestYAML, &m); err != nil {
		return "", fmt.Errorf("the app manifest is not valid YAML: %w", err)
	}
	if m == nil {
		return "", errors.New("the app manifest is empty; it needs at least name, url, hook_attributes and default_permissions")
	}
	if name, _ := m["name"].(string); name == "" {
		return "", errors.New("the app manifest has no name; add a line like `name: Conveyor`")
	}
	hook, _ := m["hook_attributes"].(map[string]any)
	if hook == nil {
		hook = map[string]any{}
	}
	if webhookURL != "" {
		hook["url"] = webhookURL
		if pub := publicURL(webhookURL); pub != "" {
			m["callback_urls"] = []any{pub + OAuthCallbackPath}
		}
	}
	if u, _ := hook["url"].(string); u == "" {
		return "", errors.New("no webhook URL: set hook_attributes.url in the manifest or pass --webhook-url https://conveyor.example.com/webhooks/github")
	}
	m["hook_attributes"] = hook
	m["redirect_url"] = redirectURL
	b, err := json.Marshal(m)
	if err != nil {
		return "", fmt.Errorf("the app manifest cannot be written as JSON: %w", err)
	}
	return string(b), nil
}

// publicURL is Conveyor's public address (scheme and host) read from its
// webhook URL, or "" when there is none.
func publicURL(webhookURL string) string {
	u, err := url.Parse(webhookURL)
	if webhookURL == "" || err != nil || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// conversion is GitHub's answer to POST /app-manifests/{code}/conversions.
type conversion struct {
	ID            int64  `json:"id"`
	Slug          string `json:"slug"`
	HTMLURL       string `json:"html_url"`
	ClientID      string `json:"client_id"`
	ClientSecret  string `json:"client_secret"`
	WebhookSecret string `json:"webhook_secret"`
	PEM           string `json:"pem"`
}

// exchangeCode trades the temporary manifest code for the app's credentials.
// The endpoint takes no authentication: the code itself is the proof.
func exchangeCode(ctx context.Context, client *http.Client, apiURL, code string) (*Credentials, error) {
	endpoint := apiURL + "/app-manifests/" + url.PathEscape(code) + "/conversions"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, nil)
	if err != nil {
		return nil, fmt.Errorf("build the code exchange request: %w", err)
	}
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("exchange the manifest code at %s: %w", apiURL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("read GitHub's answer to the code exchange: %w", err)
	}
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		var e struct {
			Message string `json:"message"`
		}
		msg := resp.Status
		if json.Unmarshal(body, &e) == nil && e.Message != "" {
			msg = fmt.Sprintf("%d %s", resp.StatusCode, e.Message)
		}
		return nil, fmt.Errorf("GitHub refused the manifest code (%s); a code works once and expires after an hour, so run conveyor setup again (check --api-url %s if this persists)", msg, apiURL)
	}
	var c conversion
	if err := json.Unmarshal(body, &c); err != nil {
		return nil, fmt.Errorf("GitHub's answer to the code exchange is not the expected JSON: %w", err)
	}
	var missing []string
	for _, f := range []struct{ name, value string }{
		{"pem", c.PEM}, {"webhook_secret", c.WebhookSecret}, {"client_id", c.ClientID}, {"client_secret", c.ClientSecret},
	} {
		if f.value == "" {
			missing = append(missing, f.name)
		}
	}
	if c.ID == 0 {
		missing = append(missing, "id")
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("GitHub's answer to the code exchange lacks %s; check that app.yml has hook_attributes.url and run conveyor setup again", strings.Join(missing, ", "))
	}
	return &Credentials{
		AppID: c.ID, Slug: c.Slug, HTMLURL: c.HTMLURL, ClientID: c.ClientID,
		ClientSecret: c.ClientSecret, WebhookSecret: c.WebhookSecret, PrivateKeyPEM: c.PEM,
	}, nil
}
