package bot

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/riverqueue/river"

	"github.com/conveyor-dev/conveyor/internal/ghclient"
	"github.com/conveyor-dev/conveyor/internal/store"
)

// Server is the running GitHub App: HTTP endpoints, the delivery worker and
// the catch-up loop, on one store and queue.
type Server struct {
	Config  *Config
	Store   *store.Store
	Queue   *store.Queue
	Router  *Router
	GitHub  *ghclient.App
	Metrics *Metrics
	Log     *slog.Logger
	CatchUp *CatchUp
	Intake  *Intake

	mux     *http.ServeMux
	metrics http.Handler // /metrics, behind the token when one is set
	site    http.Handler // every other path (the dashboard), when mounted
}

// ServerOptions builds a Server.
type ServerOptions struct {
	Config  *Config
	Store   *store.Store
	Queue   *store.Queue
	Metrics *Metrics
	Log     *slog.Logger
	GitHub  *ghclient.App // default: built from Config
}

// NewServer wires the intake, router and delivery worker. Packages register
// their handlers on Router (and their workers on Queue) before Run.
func NewServer(o ServerOptions) (*Server, error) {
	if o.Metrics == nil {
		o.Metrics = NewMetrics()
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	gh := o.GitHub
	if gh == nil {
		var err error
		gh, err = ghclient.New(ghclient.Options{AppID: o.Config.AppID, PrivateKey: o.Config.PrivateKey, APIURL: o.Config.GitHubAPIURL, Metrics: o.Metrics.GitHub})
		if err != nil {
			return nil, err
		}
	}
	if o.Config.AppSlug != "" {
		gh.SetSlug(o.Config.AppSlug)
	}
	s := &Server{
		Config: o.Config, Store: o.Store, Queue: o.Queue, Router: NewRouter(), GitHub: gh,
		Metrics: o.Metrics, Log: o.Log, mux: http.NewServeMux(),
	}
	s.Router.Self = func(ctx context.Context, login string) bool {
		if !strings.HasSuffix(login, "[bot]") {
			return false
		}
		slug, err := gh.Slug(ctx)
		return err == nil && login == slug+"[bot]"
	}
	s.Router.Register(&InstallationHandler{Store: o.Store})
	river.AddWorker(o.Queue.Workers(), &DeliveryWorker{Store: o.Store, Router: s.Router, Metrics: o.Metrics, Log: o.Log})
	s.CatchUp = &CatchUp{App: gh, Store: o.Store, Metrics: o.Metrics, Log: o.Log}
	// Queue depth is read from the database when /metrics is scraped.
	o.Metrics.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "conveyor_queue_depth", Help: "Jobs waiting to run (available, scheduled or retryable).",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		n, err := o.Queue.Depth(ctx)
		if err != nil {
			return -1
		}
		return float64(n)
	}))

	s.Intake = &Intake{Secret: []byte(o.Config.WebhookSecret), Store: o.Store, Queue: o.Queue, Router: s.Router, Metrics: o.Metrics, Log: o.Log,
		BodyBudget: o.Config.WebhookBodyBudget}
	s.mux.Handle("POST /webhooks/github", s.Intake)
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })
	s.mux.HandleFunc("GET /readyz", s.ready)
	s.metrics = metricsHandler(o.Metrics, o.Config.MetricsToken)
	if o.Config.MetricsAddr == "" {
		s.mux.Handle("GET /metrics", s.metrics)
	}
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		switch {
		case s.site != nil:
			s.site.ServeHTTP(w, r)
		case r.URL.Path == "/" && (r.Method == http.MethodGet || r.Method == http.MethodHead):
			w.Write([]byte("Conveyor: one delivery pipeline for apps, models and data. Webhooks go to /webhooks/github.\n"))
		default:
			http.NotFound(w, r)
		}
	})
	return s, nil
}

// Mount serves h on every path the app's own routes do not claim, / included:
// the dashboard. Call it before Run.
func (s *Server) Mount(h http.Handler) { s.site = h }

// Handle adds an HTTP route (for example /slack/interactions).
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// HandleSlack serves POST /slack/interactions: requests verified with the
// configured signing secret are handed to h.
func (s *Server) HandleSlack(h SlackHandler) {
	s.mux.Handle("POST /slack/interactions", &SlackInteractions{
		SigningSecret: []byte(s.Config.SlackSigningSecret), Handler: h,
		Metrics: s.Metrics, Log: s.Log.With("component", "slack"),
	})
}

// Handler is the server's HTTP handler.
func (s *Server) Handler() http.Handler { return s.mux }

func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.Store.Ready(ctx); err != nil {
		http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	w.Write([]byte("ready\n"))
}

// RunOptions tunes Run.
type RunOptions struct {
	CatchUpInterval time.Duration // 0 disables the catch-up loop
	ShutdownTimeout time.Duration // default 25s
	// MetricsListener serves /metrics when Config.MetricsAddr is set
	// (default: a listener on MetricsAddr).
	MetricsListener net.Listener
}

// metricsHandler serves the registry, asking for the bearer token when one
// is configured (compared in constant time).
func metricsHandler(m *Metrics, token string) http.Handler {
	h := promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{})
	if token == "" {
		return h
	}
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="conveyor metrics"`)
			http.Error(w, "metrics need Authorization: Bearer <METRICS_TOKEN>", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// Run starts the queue and serves HTTP on ln until ctx ends, then stops
// accepting, lets running jobs finish (or releases them for another process)
// and returns.
func (s *Server) Run(ctx context.Context, ln net.Listener, o RunOptions) error {
	if o.ShutdownTimeout == 0 {
		o.ShutdownTimeout = 25 * time.Second
	}
	if err := s.Queue.Start(ctx); err != nil {
		return err
	}
	srv := &http.Server{Handler: s.mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute}
	errc := make(chan error, 2)
	var msrv *http.Server
	if s.Config.MetricsAddr != "" {
		mln := o.MetricsListener
		if mln == nil {
			var err error
			if mln, err = net.Listen("tcp", s.Config.MetricsAddr); err != nil {
				s.Queue.Stop(context.WithoutCancel(ctx))
				return fmt.Errorf("METRICS_ADDR: %w", err)
			}
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", s.metrics)
		msrv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute}
		go func() { errc <- msrv.Serve(mln) }()
		s.Log.Info("metrics serving", "addr", mln.Addr().String())
	}
	go func() { errc <- srv.Serve(ln) }()
	loopCtx, stopLoops := context.WithCancel(context.WithoutCancel(ctx))
	defer stopLoops()
	if o.CatchUpInterval > 0 {
		go s.CatchUp.Loop(loopCtx, o.CatchUpInterval)
	}
	s.Log.Info("conveyor serving", "addr", ln.Addr().String(), "database", s.Store.Where())
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	stopLoops()
	sctx, cancel := context.WithTimeout(context.Background(), o.ShutdownTimeout)
	defer cancel()
	s.Log.Info("shutting down: no new requests, finishing running jobs")
	if err := srv.Shutdown(sctx); err != nil {
		s.Log.Warn("http shutdown", "err", err)
	}
	if msrv != nil {
		msrv.Shutdown(sctx)
	}
	if err := s.Queue.Stop(sctx); err != nil {
		s.Log.Warn("queue stop", "err", err)
	}
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return serveErr
	}
	return nil
}
