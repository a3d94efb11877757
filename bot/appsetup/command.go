package appsetup

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

// NewCommand returns the `setup` subcommand, which runs the manifest flow
// with its flags.
func NewCommand() *cobra.Command {
	var (
		opts         Options
		manifestPath string
	)
	cmd := &cobra.Command{
		Use:   "setup",
		Short: "Register Conveyor as a GitHub App from app.yml and write its credentials to .env",
		Long: `setup serves a local page that sends app.yml to GitHub's "create a GitHub App
from a manifest" flow. After you confirm on GitHub, it exchanges the returned
code for the app's ID, private key, webhook secret and OAuth client, and writes
them to the .env file (mode 0600) that conveyor serve reads.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			manifest, err := os.ReadFile(manifestPath)
			if err != nil {
				return fmt.Errorf("read the app manifest: %w (pass --manifest with the path of app.yml)", err)
			}
			opts.Manifest = manifest
			opts.Out = cmd.OutOrStdout()
			_, err = Run(cmd.Context(), opts)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.GitHubURL, "github-url", defaultGitHubURL, "GitHub web address (the Enterprise host for GitHub Enterprise Server)")
	f.StringVar(&opts.APIURL, "api-url", os.Getenv("GITHUB_API_URL"), "GitHub API base URL (default https://api.github.com, or {github-url}/api/v3; env GITHUB_API_URL)")
	f.StringVar(&opts.Org, "org", "", "register the app on this organization instead of your user account")
	f.StringVar(&manifestPath, "manifest", "app.yml", "path of the GitHub App manifest")
	f.StringVar(&opts.WebhookURL, "webhook-url", "", "public URL of /webhooks/github (overrides hook_attributes.url in the manifest)")
	f.StringVar(&opts.EnvPath, "env-file", ".env", "where to write the app's credentials")
	f.StringVar(&opts.Listen, "listen", "127.0.0.1:3000", "local address of the set-up page")
	f.BoolVar(&opts.Force, "force", false, "overwrite an existing env file")
	return cmd
}
