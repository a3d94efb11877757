package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/conveyor-dev/conveyor/internal/store"
)

func newMigrateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Apply database migrations (DATABASE_URL; default sqlite:conveyor.db)",
		Long:  "migrate creates or upgrades Conveyor's tables and the job queue's tables in the database named by\nDATABASE_URL (sqlite:PATH or postgres://...; empty means the SQLite file conveyor.db). serve runs it at start too;\nit is safe to run from several processes at once.",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			s, err := store.Open(ctx, os.Getenv("DATABASE_URL"))
			if err != nil {
				return usageErr("%v", err)
			}
			defer s.Close()
			if err := s.Migrate(ctx); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), "migrations applied to", s.Where())
			return nil
		},
	}
}
