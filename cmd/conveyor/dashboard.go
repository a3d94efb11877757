package main

import (
	"context"
	"errors"
	"log/slog"

	"github.com/conveyor-dev/conveyor/bot"
	"github.com/conveyor-dev/conveyor/deploy/slackapproval"
	"github.com/conveyor-dev/conveyor/internal/serverconfig"
	"github.com/conveyor-dev/conveyor/web"
	"github.com/conveyor-dev/conveyor/web/signin"
)

// dashboardAuth is the dashboard's "Sign in with GitHub" from serve's
// environment (GITHUB_CLIENT_ID, GITHUB_CLIENT_SECRET, CONVEYOR_PUBLIC_URL,
// CONVEYOR_SESSION_KEY, GITHUB_URL); nil when no OAuth client is configured,
// in which case serve runs without the dashboard.
func dashboardAuth(cfg *bot.Config, getenv func(string) string, log *slog.Logger) (*signin.Auth, error) {
	c, err := signin.ConfigFromEnv(getenv, cfg.PrivateKey)
	if errors.Is(err, signin.ErrNotConfigured) {
		log.Info("dashboard off: set GITHUB_CLIENT_ID, GITHUB_CLIENT_SECRET and CONVEYOR_PUBLIC_URL to serve it")
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	c.Log = log.With("component", "signin")
	return signin.New(c)
}

// mountDashboard serves the dashboard on srv behind auth. Its Approve and
// Reject take the path Slack's buttons take (slackapproval.Gate), so the
// policy, the quorum, the SHA binding and the self-approval refusal are the
// same; the engine's notifier updates the Slack card and the PR comment.
func mountDashboard(ctx context.Context, srv *bot.Server, w *wiring, scfg *serverconfig.Config, auth web.Auth) error {
	gate := &slackapproval.Gate{Approvals: w.Engine, Policy: w.Policy, Actors: w.Commands,
		Author: prAuthor(srv.GitHub.Installation, w.Suite.Facts())}
	if w.Slack != nil {
		gate = w.Slack.Gate()
	}
	d, err := web.New(web.Options{
		Store: srv.Store, Auth: auth, Approvals: gate, ApprovalTTL: scfg.Approvals.ExpireAfter.Duration,
		Done: ctx.Done(), Log: srv.Log.With("component", "web"),
	})
	if err != nil {
		return err
	}
	srv.Mount(d.Handler())
	return nil
}
