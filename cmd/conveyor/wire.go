package main

import (
	"context"

	"github.com/conveyor-dev/conveyor/bot"
	"github.com/conveyor-dev/conveyor/internal/serverconfig"
)

// wireApp registers the checks, commands and deploy handlers and workers on
// the server. It is the one place that knows every package.
func wireApp(ctx context.Context, srv *bot.Server, scfg *serverconfig.Config, getenv func(string) string) error {
	return nil
}
