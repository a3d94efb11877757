package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime/pprof"
	"strconv"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/conveyor-dev/conveyor/bot"
	"github.com/conveyor-dev/conveyor/deploy"
	"github.com/conveyor-dev/conveyor/internal/serverconfig"
	"github.com/conveyor-dev/conveyor/internal/store"
)

type serveFlags struct {
	config  string
	workers int
	// rolloutWorkers is store.QueueConfig.RolloutWorkers.
	rolloutWorkers int
	catchUp        time.Duration
	logLevel       string
	addr           string
	metrics        string
	// rescueAfter is the queue's rescue window (store.QueueConfig.RescueAfter).
	rescueAfter time.Duration
	// keepDeliveries is store.Retention.Deliveries.
	keepDeliveries time.Duration
}

func newServeCmd() *cobra.Command {
	f := &serveFlags{}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the GitHub App server",
		Long: `serve runs the GitHub App: /webhooks/github, /slack/interactions, /healthz, /readyz and /metrics,
and the dashboard on / when the app's OAuth client is configured.

Environment (Probot style):
  APP_ID                 the GitHub App's ID (required)
  PRIVATE_KEY            the app's PEM private key, or PRIVATE_KEY_PATH to its file (required)
  WEBHOOK_SECRET         the webhook secret (required)
  GITHUB_API_URL         API base for GitHub Enterprise, e.g. https://ghe.example.com/api/v3
  SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET, SLACK_API_URL   Slack approvals (optional)
  DATABASE_URL           sqlite:PATH (default sqlite:conveyor.db) or postgres://...
  PORT                   listen port (default 3000)
  METRICS_ADDR           serve /metrics on this internal address instead of PORT (or --metrics-addr)
  METRICS_TOKEN          require "Authorization: Bearer <token>" on /metrics
  GITHUB_CLIENT_ID, GITHUB_CLIENT_SECRET   the app's OAuth client: serves the dashboard on /, with
                         "Sign in with GitHub" (optional; then CONVEYOR_PUBLIC_URL is required)
  CONVEYOR_PUBLIC_URL    Conveyor's https address as browsers reach it (GitHub returns to /oauth/callback);
                         check runs' details links and status comments point at the dashboard there
  CONVEYOR_SESSION_KEY   32+ random bytes sealing sessions (default: derived from the private key)
  GITHUB_URL             GitHub's web host, when GITHUB_API_URL does not imply it
  WEBHOOK_BODY_BUDGET_MIB  unsigned webhook bytes held at once before 503 (default 64)

A missing or malformed setting stops serve with exit status 2 and names the setting.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, syscall.SIGINT)
			defer stop()
			return runServe(ctx, f, os.Getenv)
		},
	}
	cmd.Flags().StringVar(&f.config, "config", "", "server config file (conveyor.server.yml)")
	cmd.Flags().IntVar(&f.workers, "workers", 4, "deliveries, check evaluations and other short jobs worked at once (about 2 per CPU core; 0: intake only)")
	cmd.Flags().IntVar(&f.rolloutWorkers, "rollout-workers", 8, "rollout steps worked at once, each for as long as its drivers run (their own queue)")
	cmd.Flags().DurationVar(&f.catchUp, "catch-up", 5*time.Minute, "how often to ask GitHub to redeliver missed webhooks (0: never)")
	cmd.Flags().StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	cmd.Flags().StringVar(&f.addr, "addr", "", "listen address (default :$PORT)")
	cmd.Flags().StringVar(&f.metrics, "metrics-addr", "", "serve /metrics on this address only, e.g. 127.0.0.1:9090 (default $METRICS_ADDR; unset: on the main address)")
	cmd.Flags().DurationVar(&f.keepDeliveries, "keep-deliveries", store.DefaultDeliveryRetention, "keep processed webhook deliveries (payloads) this long, at least 168h; 0: forever")
	cmd.Flags().DurationVar(&f.rescueAfter, "rescue-after", store.DefaultRescueAfter, "run a job again when its worker has not finished it after this long (a killed process); short jobs time out at 4/5 of it")
	return cmd
}

func newLogger(level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, usageErr("--log-level: %q is not a level (write debug, info, warn or error)", level)
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: l})), nil
}

func runServe(ctx context.Context, f *serveFlags, getenv func(string) string) error {
	log, err := newLogger(f.logLevel)
	if err != nil {
		return err
	}
	cfg, err := bot.ConfigFromEnv(getenv)
	if err != nil {
		return usageErr("%v", err)
	}
	if path := getenv("CONVEYOR_CPU_PROFILE"); path != "" {
		// For measuring (bench/loadgen -cpuprofile): written at shutdown.
		stop, err := startCPUProfile(path)
		if err != nil {
			return usageErr("CONVEYOR_CPU_PROFILE: %v", err)
		}
		defer stop()
	}
	if f.metrics != "" {
		cfg.MetricsAddr = f.metrics
	}
	scfg := serverconfig.Default()
	if f.config != "" {
		if scfg, err = loadServerConfig(f.config); err != nil {
			return usageErr("%v", err)
		}
	}
	if f.rescueAfter <= 0 {
		return usageErr("--rescue-after: %s is not a positive duration", f.rescueAfter)
	}
	if f.keepDeliveries != 0 && f.keepDeliveries < store.MinDeliveryRetention {
		return usageErr("--keep-deliveries: %s is shorter than %s; a delivery's stored ID is what keeps a redelivery of it from running twice, and GitHub Enterprise Server redelivers a week back (0 keeps deliveries forever)", f.keepDeliveries, store.MinDeliveryRetention)
	}
	st, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return usageErr("%v", err)
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		return fmt.Errorf("migrate %s: %w", st.Where(), err)
	}
	queue := store.NewQueue(st, store.QueueConfig{Workers: f.workers, RolloutWorkers: f.rolloutWorkers, RescueAfter: f.rescueAfter, Logger: log.With("component", "queue"),
		Retention: &store.Retention{Deliveries: f.keepDeliveries, FinishedStates: deploy.FinishedStates()}})
	srv, err := bot.NewServer(bot.ServerOptions{Config: cfg, Store: st, Queue: queue, Log: log})
	if err != nil {
		return usageErr("%v", err)
	}
	auth, err := dashboardAuth(cfg, getenv, log)
	if err != nil {
		return usageErr("%v", err)
	}
	wo := wireOptions{}
	if auth != nil {
		wo.Auth = auth
	}
	if _, err := wireApp(ctx, srv, scfg, getenv, wo); err != nil {
		return usageErr("%v", err)
	}
	addr := f.addr
	if addr == "" {
		addr = ":" + strconv.Itoa(cfg.Port)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return usageErr("PORT: cannot listen on %s: %v", addr, err)
	}
	var mln net.Listener
	if cfg.MetricsAddr != "" {
		if mln, err = net.Listen("tcp", cfg.MetricsAddr); err != nil {
			ln.Close()
			return usageErr("--metrics-addr/METRICS_ADDR: cannot listen on %s: %v", cfg.MetricsAddr, err)
		}
	}
	log.Info("starting", "config", cfg, "workers", f.workers, "rollout_workers", f.rolloutWorkers)
	return srv.Run(ctx, ln, bot.RunOptions{CatchUpInterval: f.catchUp, MetricsListener: mln})
}

// startCPUProfile profiles the process into path until the returned stop.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}
