package web

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sourcegraph/conc/pool"

	"github.com/conveyor-dev/conveyor/deploy/slackapproval"
	"github.com/conveyor-dev/conveyor/internal/store"
	"github.com/conveyor-dev/conveyor/web/pageurl"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Approvals is the approval path the dashboard's Approve and Reject buttons
// take: the same as Slack's buttons and /approve (slackapproval.Gate: the
// policy decides who may approve and refuses self-approval, the engine binds
// the approval to the SHA and counts the quorum).
type Approvals interface {
	Act(ctx context.Context, a slackapproval.Act) (slackapproval.Outcome, error)
}

// Options wire the dashboard.
type Options struct {
	Store *store.Store
	Auth  Auth
	// Approvals is the approval path; nil hides the buttons and refuses
	// their POSTs.
	Approvals Approvals
	// ApprovalTTL is how long a deployment waits for approvals before it
	// expires (the server config's approvals.expire_after); default 24h.
	ApprovalTTL time.Duration
	// Live is how often a live page's event stream looks for changes
	// (default 2s).
	Live time.Duration
	// Done ends the event streams (the server is shutting down).
	Done <-chan struct{}
	Log  *slog.Logger
	Now  func() time.Time
}

// Server serves the dashboard's pages.
type Server struct {
	o     Options
	pages *renderer
	cells cellsCache
}

// links are the dashboard's own addresses, root-relative.
var links = pageurl.Base("/")

// New returns the dashboard; mount it with Routes.
func New(o Options) (*Server, error) {
	if o.Store == nil || o.Auth == nil {
		return nil, errors.New("web: Options.Store and Options.Auth are required")
	}
	if o.ApprovalTTL <= 0 {
		o.ApprovalTTL = 24 * time.Hour
	}
	if o.Live <= 0 {
		o.Live = 2 * time.Second
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	r, err := newRenderer()
	if err != nil {
		return nil, err
	}
	return &Server{o: o, pages: r}, nil
}

// Routes mounts the dashboard's pages and the sign-in endpoints on mux.
func (s *Server) Routes(mux *http.ServeMux) {
	s.o.Auth.Routes(mux)
	static, _ := fs.Sub(staticFS, "static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /{$}", s.signedIn(s.overview))
	mux.HandleFunc("GET /events", s.signedIn(s.overviewEvents))
	mux.HandleFunc("GET /r/{owner}/{repo}/pull/{n}", s.signedIn(s.pull))
	mux.HandleFunc("GET /r/{owner}/{repo}/pull/{n}/events", s.signedIn(s.pullEvents))
	mux.HandleFunc("POST /r/{owner}/{repo}/pull/{n}/approve", s.signedIn(s.approve))
	mux.HandleFunc("GET /r/{owner}/{repo}/artifact/{name}", s.signedIn(s.artifact))
	mux.HandleFunc("GET /audit", s.signedIn(s.audit))
}

// Handler is the dashboard on a mux of its own.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	s.Routes(mux)
	return mux
}

// viewer is who is looking, passed to every page handler.
type viewer struct {
	Login string
}

// signedIn lets only signed-in viewers through: anyone else is sent to
// /login, which returns them here.
func (s *Server) signedIn(h func(w http.ResponseWriter, r *http.Request, v viewer)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		login, ok := s.o.Auth.Viewer(r)
		if !ok || login == "" {
			// A form post or an event stream cannot follow a redirect to
			// a sign-in page usefully; a page can.
			if r.Method != http.MethodGet || strings.HasSuffix(r.URL.Path, "/events") {
				http.Error(w, "sign in first", http.StatusUnauthorized)
				return
			}
			http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("X-Frame-Options", "DENY")
		w.Header().Set("Referrer-Policy", "same-origin")
		w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'")
		h(w, r, viewer{Login: login})
	}
}

// readable returns the repositories Conveyor knows that the viewer may
// read. Every query of every page is limited to them. The questions go out
// a few at a time: the first page of a session asks GitHub about each
// repository (the answers are then cached by the Auth).
func (s *Server) readable(r *http.Request) ([]string, error) {
	all, err := store.KnownRepositories(r.Context(), s.o.Store.DB)
	if err != nil {
		return nil, err
	}
	ok := make([]bool, len(all))
	p := pool.New().WithErrors().WithMaxGoroutines(canReadParallel)
	for i, repo := range all {
		p.Go(func() error {
			yes, err := s.o.Auth.CanRead(r, repo)
			if err != nil {
				return fmt.Errorf("can you read %s: %w", repo, err)
			}
			ok[i] = yes
			return nil
		})
	}
	if err := p.Wait(); err != nil {
		return nil, err
	}
	out := make([]string, 0, len(all))
	for i, repo := range all {
		if ok[i] {
			out = append(out, repo)
		}
	}
	return out, nil
}

// canReadParallel bounds the CanRead questions in flight for one page.
const canReadParallel = 8

// repoOf returns the page's repository when the viewer may read it; a
// repository they may not read is answered as if it did not exist.
func (s *Server) repoOf(w http.ResponseWriter, r *http.Request) (string, bool) {
	repo := r.PathValue("owner") + "/" + r.PathValue("repo")
	ok, err := s.o.Auth.CanRead(r, repo)
	if err != nil {
		s.fail(w, r, err)
		return "", false
	}
	if !ok {
		s.notFound(w, r)
		return "", false
	}
	return repo, true
}

// prNumber is the page's pull request number.
func prNumber(r *http.Request) (int, bool) {
	n, err := strconv.Atoi(r.PathValue("n"))
	return n, err == nil && n > 0
}

// pullOf is the readable repository and the pull request number of a
// /r/{owner}/{repo}/pull/{n} address; when false, the answer is written.
func (s *Server) pullOf(w http.ResponseWriter, r *http.Request) (string, int, bool) {
	repo, ok := s.repoOf(w, r)
	if !ok {
		return "", 0, false
	}
	n, ok := prNumber(r)
	if !ok {
		s.notFound(w, r)
		return "", 0, false
	}
	return repo, n, true
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	http.Error(w, "Not found, or you may not read this repository.", http.StatusNotFound)
}

// fail answers an internal error without its details (they may name what
// the viewer may not see) and logs it.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, ErrSignInAgain) {
		if r.Method == http.MethodGet && !strings.HasSuffix(r.URL.Path, "/events") {
			http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	s.o.Log.Error("dashboard", "path", r.URL.Path, "err", err)
	http.Error(w, "The dashboard could not read what it needs; try again, and if it persists ask the operators to look at Conveyor's log.", http.StatusInternalServerError)
}

func (s *Server) render(w http.ResponseWriter, r *http.Request, name string, data any) {
	if err := s.pages.render(w, name, data); err != nil {
		s.o.Log.Error("render", "page", name, "err", err)
	}
}

// chrome is what every page's layout shows.
type chrome struct {
	Title  string
	Viewer string
	CSRF   string
	Nav    string // overview, audit
	Live   string // the page's event stream, "" when not live
}

func (s *Server) chrome(r *http.Request, v viewer, title, nav string) chrome {
	return chrome{Title: title, Viewer: v.Login, CSRF: s.o.Auth.CSRFToken(r), Nav: nav}
}
