// Package ghfake is an in-process emulator of the GitHub REST API for one GitHub App.
//
// It owns a stateful fake of the parts of api.github.com that Conveyor uses (repositories
// with snapshot commits, pull requests, check runs, statuses, comments, reactions,
// deployments, Actions runs, app webhooks and their delivery log), speaks the same JSON
// and headers so that go-github and ghinstallation work against it unchanged, records
// every call and injects faults. It must not contain Conveyor logic: it only behaves like
// GitHub, so that a test passing against it means the real wire format works. Every
// request and answer is held to GitHub's published OpenAPI description (contract.go);
// tests start it with NewTest so that a departure fails them.
package ghfake

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/conveyor-dev/conveyor/internal/fakeapi"
)

// Option configures a Server at construction.
type Option func(*Server)

// WithAppID sets the GitHub App ID (default 4242).
func WithAppID(id int64) Option { return func(s *Server) { s.appID = id } }

// WithAppSlug sets the GitHub App slug (default "conveyor"); the bot user is "<slug>[bot]".
func WithAppSlug(slug string) Option { return func(s *Server) { s.appSlug = slug } }

// WithRateLimit sets the primary rate limit per hour (default 5000, like an installation).
func WithRateLimit(limit int) Option { return func(s *Server) { s.rate.limit = limit } }

// Server is a running GitHub API emulator. All methods are safe for concurrent use.
type Server struct {
	mu  sync.Mutex
	ts  *httptest.Server
	mux *http.ServeMux
	// codeload holds the one-time tokens of tarball download URLs.
	codeload map[string]bool

	appID         int64
	appSlug       string
	key           *rsa.PrivateKey
	keyPEM        []byte
	webhookSecret string
	hookURL       string
	hookID        int64

	nextID        int64
	repos         map[string]*repoState
	installations map[int64]*installationState
	tokens        map[string]*tokenState
	users         map[string]string
	teams         map[string]map[string]string
	manifests     map[string]*manifestState
	deliveries    []*Delivery
	oauth         oauthState
	artifactURLs  map[string]artifactURL // signed artifact download URLs handed out
	treeLimit     int                    // recursive tree entries before truncation (0: GitHub's 100,000)

	// calls, faults and latency carry their own locks; s.mu does not guard them.
	calls   fakeapi.Log[Call]
	faults  fakeapi.Faults[fault]
	latency fakeapi.Latency
	rate    rateState
	hookCli *http.Client
	// violations are departures from GitHub's published description (contract.go).
	violations fakeapi.Log[string]
}

// Call is one recorded HTTP request, as the emulator saw it after the /api/v3 prefix is removed.
type Call struct {
	Method         string
	Path           string
	Query          string
	Status         int
	InstallationID int64  // installation whose token authenticated the call, 0 if none
	App            bool   // authenticated with the app JWT
	User           string // login whose user access token authenticated the call, "" if none
	Body           []byte
	Time           time.Time
}

type ctxKey int

const prefixKey ctxKey = 1

// New starts an emulator with a fresh RSA key for its GitHub App. Close it when done.
func New(opts ...Option) *Server {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(fmt.Sprintf("ghfake: generate app key: %v", err))
	}
	s := &Server{
		appID:         4242,
		appSlug:       "conveyor",
		key:           key,
		keyPEM:        pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}),
		webhookSecret: "ghfake-webhook-secret",
		hookID:        9001,
		nextID:        1000,
		repos:         map[string]*repoState{},
		installations: map[int64]*installationState{},
		tokens:        map[string]*tokenState{},
		users:         map[string]string{},
		teams:         map[string]map[string]string{},
		manifests:     map[string]*manifestState{},
		rate:          rateState{limit: 5000},
		hookCli:       &http.Client{Timeout: 10 * time.Second},
	}
	s.oauth.init()
	for _, o := range opts {
		o(s)
	}
	s.rate.reset = time.Now().Add(time.Hour)
	s.mux = http.NewServeMux()
	s.routes()
	s.ts = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// Close shuts the server down.
func (s *Server) Close() { s.ts.Close() }

// URL is the API base URL (for go-github: URL()+"/" or URL()+"/api/v3/").
func (s *Server) URL() string { return s.ts.URL }

// AppID is the emulated GitHub App's ID.
func (s *Server) AppID() int64 { return s.appID }

// AppSlug is the emulated GitHub App's slug.
func (s *Server) AppSlug() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.appSlug
}

// PrivateKeyPEM is the app's private key in PEM (PKCS#1), as GitHub hands it out.
func (s *Server) PrivateKeyPEM() []byte { return append([]byte(nil), s.keyPEM...) }

// WebhookSecret returns the secret used to sign webhook deliveries.
func (s *Server) WebhookSecret() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.webhookSecret
}

// SetWebhookSecret changes the secret used to sign webhook deliveries.
func (s *Server) SetWebhookSecret(secret string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.webhookSecret = secret
}

// SetHookURL sets where webhooks are delivered.
func (s *Server) SetHookURL(url string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hookURL = url
}

// Calls returns every recorded call, oldest first.
func (s *Server) Calls() []Call { return s.calls.Calls() }

// ResetCalls forgets the recorded calls.
func (s *Server) ResetCalls() { s.calls.Reset() }

// CallsMatching returns recorded calls with the method ("" for any) whose path starts with pathPrefix.
func (s *Server) CallsMatching(method, pathPrefix string) []Call {
	var out []Call
	for _, c := range s.Calls() {
		if (method == "" || strings.EqualFold(method, c.Method)) && strings.HasPrefix(c.Path, pathPrefix) {
			out = append(out, c)
		}
	}
	return out
}

// serve is the outer handler: prefix stripping, latency, faults, auth, rate limit, ETag, recording.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	prefix := ""
	p := r.URL.Path
	if strings.HasPrefix(p, "/api/v3/") || p == "/api/v3" {
		prefix = "/api/v3"
		p = strings.TrimPrefix(p, prefix)
	}
	body, _ := io.ReadAll(r.Body)
	r2 := r.Clone(context.WithValue(r.Context(), prefixKey, prefix))
	r2.URL.Path = p
	r2.URL.RawPath = strings.TrimPrefix(r.URL.RawPath, prefix)
	r2.Body = io.NopCloser(bytes.NewReader(body))

	if !s.latency.Wait(r.Context()) {
		return // the client went away; nothing is answered or recorded
	}

	rec := httptest.NewRecorder()
	auth := s.authenticate(r2)
	call := Call{Method: r.Method, Path: p, Query: r.URL.RawQuery, Body: body, Time: time.Now(),
		InstallationID: auth.installationID, App: auth.app, User: auth.user}

	// Only installation-token calls spend the installation's primary rate limit.
	counted := auth.installationID != 0
	switch {
	case s.injectFault(rec, r.Method, p):
	case !s.authorize(rec, r2, auth):
	case counted && !s.rateAllows(rec):
	default:
		s.mux.ServeHTTP(rec, r2)
		if rec.Code == http.StatusMethodNotAllowed {
			// GitHub answers a method a path does not take as an unknown route.
			rec = httptest.NewRecorder()
			writeError(rec, http.StatusNotFound, "Not Found")
		}
		s.checkContract(r2, body, rec.Code, rec.Body.Bytes())
		if s.injectFaultAfter(rec, r.Method, p) {
			break
		}
		if r.Method == http.MethodGet && rec.Code == http.StatusOK {
			etag := etagOf(rec.Body.Bytes())
			rec.Header().Set("ETag", etag)
			if inm := r.Header.Get("If-None-Match"); inm != "" && etagMatches(inm, etag) {
				rec.Code = http.StatusNotModified
				rec.Body.Reset()
				counted = false
			}
		}
	}
	s.applyRateHeaders(rec.Header(), counted)
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.Header().Set("X-GitHub-Media-Type", "github.v3; format=json")
	w.Header().Set("X-GitHub-Request-Id", newGUID())
	// Recorded before the answer is written: a client that has its answer
	// finds the call in the log (tests count calls right after a request).
	call.Status = rec.Code
	s.calls.Record(call)
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

// newID hands out a fresh numeric ID; callers hold s.mu.
func (s *Server) newID() int64 {
	s.nextID++
	return s.nextID
}

// apiURL builds an absolute API URL for a path, keeping the prefix the caller used.
func (s *Server) apiURL(r *http.Request, path string) string {
	prefix, _ := r.Context().Value(prefixKey).(string)
	return s.ts.URL + prefix + path
}
