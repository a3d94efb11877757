// Command conveyor is the Conveyor binary: the GitHub App server (serve), the
// local check runner (check), the demo, policy tooling, migrations and set-up.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/conveyor-dev/conveyor/bot/appsetup"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// exitError carries an exit status out of a command.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }

// usageErr is a configuration or usage problem: exit status 2.
func usageErr(format string, a ...any) error {
	return &exitError{code: 2, err: fmt.Errorf(format, a...)}
}

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:           "conveyor",
		Short:         "One delivery pipeline for app code, ML models and data products",
		Long:          "Conveyor puts app code, ML models and dbt data products through one pipeline: the same checks,\ncommands, approvals, policies and audit trail, shipped as a GitHub App and ChatOps bot.",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newServeCmd(), newMigrateCmd(), newVersionCmd(), appsetup.NewCommand())
	for _, extra := range extraCommands {
		root.AddCommand(extra())
	}
	declareHelp(root)
	plainBoolFlags(root)
	addExamples(root)
	return root
}

// extraCommands are added by other files of this package (check, demo, policy, ...).
var extraCommands []func() *cobra.Command

func main() {
	err := newRoot().Execute()
	if err == nil {
		return
	}
	fmt.Fprintln(os.Stderr, "conveyor:", err)
	var ee *exitError
	if errors.As(err, &ee) {
		os.Exit(ee.code)
	}
	os.Exit(1)
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, args []string) {
			fmt.Fprintln(cmd.OutOrStdout(), "conveyor", version)
		},
	}
}
