package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/conveyor-dev/conveyor/bot"
	"github.com/conveyor-dev/conveyor/deploy"
	"github.com/conveyor-dev/conveyor/examples"
	"github.com/conveyor-dev/conveyor/internal/ghclient"
	"github.com/conveyor-dev/conveyor/internal/ghfake"
	"github.com/conveyor-dev/conveyor/internal/mlflowfake"
	"github.com/conveyor-dev/conveyor/internal/slackfake"
	"github.com/conveyor-dev/conveyor/internal/store"
	"github.com/conveyor-dev/conveyor/web/signin"
)

func init() { extraCommands = append(extraCommands, newDemoCmd) }

type demoOptions struct {
	examples string
	keep     bool
	timeout  time.Duration
	verbose  bool
	pace     ghclient.PaceLimits // GitHub pacing (benchmarks lift it; default GitHub's limits)
}

func newDemoCmd() *cobra.Command {
	o := &demoOptions{}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Play the whole journey against in-repo GitHub, Slack, MLflow, SageMaker, Vertex AI and Datadog emulators",
		Long: `demo starts the real server on a fresh embedded SQLite store, wired to the in-repo GitHub, Slack,
MLflow, SageMaker, Vertex AI and Datadog emulators loaded with examples/monorepo, and plays a scenario:
a pull request touching an app, a model and a dbt project gets its check suite; /deploy staging runs;
/deploy production asks for approvals in Slack, two approvers click, the rollout goes 10 -> 50 -> 100 %;
a bad pull request shows failing checks with reasons; a failing deploy rolls back; a model version goes
to an emulated SageMaker endpoint through 10 -> 50 -> 100 % of its traffic with a Datadog metric gate
between steps; and the next version, whose error ratio the demo makes bad, is rolled back by the gate.
It prints what a person would see on the pull request and in Slack, and leaves nothing running unless
--keep is given. With --keep it also prints the dashboard's URL: open it in a browser, where the GitHub
emulator signs you in at once as @sre-alice (only the demo's emulator does that).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if o.keep {
				var stop context.CancelFunc
				ctx, stop = signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
				defer stop()
			}
			return runDemo(ctx, cmd.OutOrStdout(), o)
		},
	}
	cmd.Flags().StringVar(&o.examples, "examples", "examples", "folder holding monorepo/ and changes/")
	cmd.Flags().BoolVar(&o.keep, "keep", false, "keep the server, the dashboard and the emulators running and print their URLs")
	cmd.Flags().DurationVar(&o.timeout, "timeout", 90*time.Second, "give up on the scenario after this long")
	cmd.Flags().BoolVar(&o.verbose, "verbose", false, "print the server's logs too")
	return cmd
}

// demoRepo is the repository the demo plays in.
const demoRepo = "acme/shop"

// demo holds the emulators and the running server.
type demo struct {
	out            io.Writer
	gh             *ghfake.Server
	slack          *slackfake.Server
	mlflow         *mlflowfake.Server
	serving        *servingWorld // SageMaker, Vertex AI and Datadog emulators
	srv            *bot.Server
	app            *wiring
	url            string
	dir            string
	secret         string
	failing        string // a file whose presence makes the web deploy script fail
	prs            map[int]*ghfake.PR
	lastDeployment *deploy.Deployment // the one waitDeployment saw finish
	cancel         context.CancelFunc // stops the server
	done           chan struct{}      // closed when the server has stopped
}

func runDemo(ctx context.Context, out io.Writer, o *demoOptions) error {
	monorepo := filepath.Join(o.examples, "monorepo")
	if _, err := os.Stat(filepath.Join(monorepo, ".github", "conveyor.yml")); err != nil {
		return usageErr("--examples: %s has no monorepo/.github/conveyor.yml (run the demo from the Conveyor repository root, or pass --examples)", o.examples)
	}
	dir, err := os.MkdirTemp("", "conveyor-demo")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	d := newDemo(out, dir)
	if err := d.start(ctx, o, monorepo); err != nil {
		return err
	}
	defer d.stop()
	sctx, scancel := context.WithTimeout(ctx, o.timeout)
	defer scancel()
	if err := d.scenario(sctx, o.examples); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	// The journey is only proof if GitHub would have accepted every request it made.
	if v := d.gh.ContractViolations(); len(v) > 0 {
		return fmt.Errorf("demo: %d request(s) departed from GitHub's published description (%s), first: %s", len(v), ghfake.ContractSource(), v[0])
	}
	if v := d.slack.ContractViolations(); len(v) > 0 {
		return fmt.Errorf("demo: %d Slack call(s) Slack would refuse, first: %s", len(v), v[0])
	}
	if v := d.mlflow.ContractViolations(); len(v) > 0 {
		return fmt.Errorf("demo: %d MLflow request(s) departed from MLflow's published description (%s), first: %s", len(v), mlflowfake.ContractSource(), v[0])
	}
	if o.keep {
		d.say("\nKept running (Ctrl-C to stop):\n  Dashboard           %s/  (you are signed in as @%s through the GitHub emulator's sign-in)\n  Conveyor            %s  (/metrics, /healthz, /readyz)\n  GitHub emulator     %s\n  Slack emulator      %s\n  MLflow emulator     %s\n  SageMaker emulator  %s\n  Vertex AI emulator  %s\n  Datadog emulator    %s\n",
			d.url, demoViewer, d.url, d.gh.URL(), d.slack.URL(), d.mlflow.URL(), d.serving.sm.URL(), d.serving.vx.URL(), d.serving.dd.URL())
		<-ctx.Done()
	}
	return nil
}

// newDemo is a demo that keeps its files in dir and tells out what happens.
func newDemo(out io.Writer, dir string) *demo {
	return &demo{out: out, dir: dir, secret: "demo-webhook-secret", failing: filepath.Join(dir, "fail-web-deploy"), prs: map[int]*ghfake.PR{}}
}

func (d *demo) say(format string, a ...any) { fmt.Fprintf(d.out, format, a...) }

// start brings up the emulators and the real server on SQLite.
func (d *demo) start(ctx context.Context, o *demoOptions, monorepo string) error {
	d.gh = ghfake.New(ghfake.WithAppSlug("conveyor"))
	d.gh.SetWebhookSecret(d.secret)
	d.slack = slackfake.New()
	d.mlflow = mlflowfake.New()
	seed, err := os.ReadFile(filepath.Join(monorepo, "mlflow.json"))
	if err != nil {
		return err
	}
	if err := d.mlflow.LoadSeed(bytes.NewReader(seed)); err != nil {
		return fmt.Errorf("mlflow seed: %w", err)
	}
	files, err := examples.LoadRepo(monorepo)
	if err != nil {
		return err
	}
	d.gh.AddRepo(demoRepo, "main", 1)
	d.gh.Commit(demoRepo, "main", ptrs(files), "Initial import of the acme/shop monorepo")
	for login, perm := range map[string]string{"dev": "maintain", "sre-alice": "write", "ml-bob": "write", "intern": "read"} {
		d.gh.SetPermission(demoRepo, login, perm)
	}
	d.gh.AddTeamMember("acme", "sre", "sre-alice")
	d.gh.AddTeamMember("acme", "ml-leads", "ml-bob")
	d.gh.AddTeamMember("acme", "web", "dev")
	d.gh.AddTeamMember("acme", "ml", "dev")
	d.slack.AddUser("U0SRE00001", "alice", "alice@acme.example")
	d.slack.AddUser("U0MLLEAD01", "bob", "bob@acme.example")

	scfg, err := loadServerConfig(filepath.Join(monorepo, "conveyor.server.yml"))
	if err != nil {
		return err
	}
	// The workspace has the approval channels the server config names, with the bot in them.
	for _, ch := range scfg.Slack.Channels {
		d.slack.AddChannel(ch, true)
	}
	for name, r := range scfg.Registries {
		r.URL = d.mlflow.URL()
		scfg.Registries[name] = r
	}
	// Driver commands in the example config are relative to the Conveyor
	// repository (the folder above examples/); drivers run them in checkouts
	// elsewhere, so make them absolute.
	root, err := filepath.Abs(filepath.Dir(filepath.Dir(monorepo)))
	if err != nil {
		return err
	}
	for name, drv := range scfg.Drivers {
		for i, arg := range drv.Command {
			if p := filepath.Join(root, arg); !filepath.IsAbs(arg) && fileExists(p) {
				drv.Command[i] = p
			}
		}
		scfg.Drivers[name] = drv
	}
	if err := d.startServing(scfg); err != nil {
		return err
	}
	if drv, ok := scfg.Drivers["web-deploy"]; ok {
		if drv.Env == nil {
			drv.Env = map[string]string{}
		}
		drv.Env["DEMO_FAIL_FILE"] = d.failing
		scfg.Drivers["web-deploy"] = drv
	}
	cfg := &bot.Config{
		AppID: d.gh.AppID(), PrivateKey: d.gh.PrivateKeyPEM(), WebhookSecret: d.secret, GitHubAPIURL: d.gh.URL(),
		SlackBotToken: slackfake.DefaultToken, SlackSigningSecret: "demo-slack-signing-secret", SlackAPIURL: d.slack.URL() + "/api/",
		DatabaseURL: "sqlite:" + filepath.Join(d.dir, "conveyor.db"), AppSlug: "conveyor",
	}
	log := slog.New(slog.DiscardHandler)
	if o.verbose {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	st, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	if err := st.Migrate(ctx); err != nil {
		return err
	}
	queue := store.NewQueue(st, store.QueueConfig{Workers: 8, PollInterval: 20 * time.Millisecond, Logger: log})
	metrics := bot.NewMetrics()
	gh, err := ghclient.New(ghclient.Options{AppID: cfg.AppID, PrivateKey: cfg.PrivateKey, APIURL: cfg.GitHubAPIURL, Metrics: metrics.GitHub, Pace: o.pace})
	if err != nil {
		return err
	}
	d.srv, err = bot.NewServer(bot.ServerOptions{Config: cfg, Store: st, Queue: queue, Log: log, Metrics: metrics, GitHub: gh})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	d.url = "http://" + ln.Addr().String()
	auth, err := d.signIn()
	if err != nil {
		ln.Close()
		return err
	}
	d.app, err = wireApp(ctx, d.srv, scfg, d.serving.getenv, wireOptions{Debounce: 50 * time.Millisecond, WorkDir: d.dir, Auth: auth, PublicURL: d.url})
	if err != nil {
		ln.Close()
		return err
	}
	d.gh.SetHookURL(d.url + "/webhooks/github")
	sctx, cancel := context.WithCancel(ctx)
	d.cancel, d.done = cancel, make(chan struct{})
	go func() {
		defer close(d.done)
		d.srv.Run(sctx, ln, bot.RunOptions{ShutdownTimeout: 5 * time.Second})
	}()
	for i := 0; ; i++ {
		resp, err := http.Get(d.url + "/readyz")
		if err == nil && resp.StatusCode == 200 {
			resp.Body.Close()
			break
		}
		if i > 200 {
			return fmt.Errorf("server did not become ready")
		}
		time.Sleep(20 * time.Millisecond)
	}
	d.say("Conveyor demo: the real server on SQLite (%s), with GitHub, Slack, MLflow, SageMaker, Vertex AI and Datadog emulators.\n", cfg.DatabaseURL)
	d.say("Repository %s: artifacts web (app), fraud-model and churn-model (models), analytics (dbt).\n", demoRepo)
	return nil
}

// demoViewer is who a visitor of the demo's dashboard is signed in as: an
// approver of the production environment who did not open the pull requests.
const demoViewer = "sre-alice"

// signIn is the demo's dashboard sign-in: the real OAuth flow against the
// GitHub emulator, which approves at once as demoViewer. Only the demo's
// emulator does that; serve signs users in with GitHub itself.
func (d *demo) signIn() (*signin.Auth, error) {
	d.gh.SetOAuthCallbackURLs(d.url + signin.CallbackPath)
	d.gh.AutoAuthorize(demoViewer)
	id, secret := d.gh.OAuthClient()
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	return signin.New(signin.Config{ClientID: id, ClientSecret: secret, GitHubURL: d.gh.URL(), APIURL: d.gh.URL(),
		PublicURL: d.url, SessionKey: key})
}

// stop shuts the server down (running jobs finish or are released), then
// closes the store and the emulators: nothing is left running.
func (d *demo) stop() {
	if d.cancel != nil {
		d.cancel()
		select {
		case <-d.done:
		case <-time.After(10 * time.Second):
		}
	}
	if d.srv != nil {
		d.srv.Store.Close()
	}
	d.gh.Close()
	d.slack.Close()
	d.mlflow.Close()
	d.serving.close()
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

func ptrs(files map[string]string) map[string]*string {
	out := make(map[string]*string, len(files))
	for k, v := range files {
		v := v
		out[k] = &v
	}
	return out
}

// wait polls cond until it holds or ctx ends, naming what it waited for.
func wait(ctx context.Context, what string, cond func() bool) error {
	for !cond() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("timed out waiting for %s", what)
		case <-time.After(25 * time.Millisecond):
		}
	}
	return nil
}

func indent(s, prefix string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = prefix + l
	}
	return strings.Join(lines, "\n")
}
