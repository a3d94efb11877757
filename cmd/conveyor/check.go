package main

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing/fstest"

	"github.com/spf13/cobra"

	"github.com/conveyor-dev/conveyor/checks"
	"github.com/conveyor-dev/conveyor/checks/kind"
	"github.com/conveyor-dev/conveyor/checks/repoconfig"
	"github.com/conveyor-dev/conveyor/internal/mlflow"
	"github.com/conveyor-dev/conveyor/internal/secretmask"
	"github.com/conveyor-dev/conveyor/internal/serverconfig"
	"github.com/conveyor-dev/conveyor/policies"
)

func init() { extraCommands = append(extraCommands, newCheckCmd) }

type checkFlags struct {
	base, head, format, mlflowURL, config, repo string
}

func newCheckCmd() *cobra.Command {
	f := &checkFlags{}
	cmd := &cobra.Command{
		Use:   "check --base REF",
		Short: "Run the check suite on a local git checkout",
		Long: `check runs the same engine as the conveyor check runs on a local git checkout: the files changed
between --base and --head, the config at --base, model pointers and dbt projects from git, the
policy (embedded bundle plus the server config's policies), and the model registry at --mlflow-url.
Without --config, what only the server config resolves (drivers, registries, teams' quotas,
pricing) is reported as "not checked without the server config" and does not fail the run.
CI results are not known locally and show as pending.

Exit status: 0 pass, 1 fail, 2 error (bad flags, not a git checkout, unknown ref).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCheck(cmd.Context(), cmd.OutOrStdout(), f)
		},
	}
	cmd.Flags().StringVar(&f.base, "base", "", "base ref (branch or SHA) to compare against (required)")
	cmd.Flags().StringVar(&f.head, "head", "HEAD", "head ref")
	cmd.Flags().StringVar(&f.format, "format", "text", "text, markdown or json")
	cmd.Flags().StringVar(&f.mlflowURL, "mlflow-url", "", "MLflow tracking server for every registry (overrides the server config's URLs)")
	cmd.Flags().StringVar(&f.config, "config", "", "server config (drivers, registries, pricing, policies)")
	cmd.Flags().StringVar(&f.repo, "repo", ".", "the git checkout")
	return cmd
}

func runCheck(ctx context.Context, w io.Writer, f *checkFlags) error {
	if f.base == "" {
		return usageErr("--base: missing (write --base main)")
	}
	switch f.format {
	case "text", "markdown", "json":
	default:
		return usageErr("--format: %q is not a format (write text, markdown or json)", f.format)
	}
	g := &gitFacts{dir: f.repo}
	if err := g.checkTop(ctx); err != nil {
		return usageErr("--repo %s: %v", f.repo, err)
	}
	var err error
	if g.baseSHA, err = g.git(ctx, "rev-parse", "--verify", f.base+"^{commit}"); err != nil {
		return usageErr("--base %s: %v", f.base, err)
	}
	if g.headSHA, err = g.git(ctx, "rev-parse", "--verify", f.head+"^{commit}"); err != nil {
		return usageErr("--head %s: %v", f.head, err)
	}
	scfg := serverconfig.Default()
	if f.config != "" {
		if scfg, err = loadServerConfig(f.config); err != nil {
			return usageErr("%v", err)
		}
	}
	if f.mlflowURL != "" {
		for name, r := range scfg.Registries {
			r.URL = f.mlflowURL
			scfg.Registries[name] = r
		}
		g.defaultRegistry = mlflow.FromConfig(serverconfig.Registry{Type: "mlflow", URL: f.mlflowURL}, os.Getenv)
		g.defaultURL = f.mlflowURL
	}
	// Credentials come from the environment, as for conveyor serve.
	g.registry = registries(scfg, os.Getenv)
	g.scfg = scfg
	ev, err := policies.New(ctx, policies.Options{Dir: scfg.Policies.Dir, Config: scfg})
	if err != nil {
		return usageErr("%v", err)
	}
	suite := checks.New(checks.Options{Server: scfg, Policy: ev, NoServerConfig: f.config == ""})
	res, err := suite.Evaluate(ctx, g)
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	fmt.Fprintln(w, res.Render(f.format))
	// CI results are unknown locally: waiting on them is not a failure.
	if res.Gate.Conclusion == "failure" {
		return &exitError{code: 1, err: fmt.Errorf("checks failed: %s", res.Gate.Title)}
	}
	return nil
}

// gitFacts answers checks.Facts from a local git repository.
type gitFacts struct {
	dir              string
	baseSHA, headSHA string
	scfg             *serverconfig.Config
	registry         func(string) (*mlflow.Client, error)
	defaultRegistry  *mlflow.Client
	defaultURL       string

	mu    sync.Mutex
	trees map[checks.Side]fs.FS
}

func (g *gitFacts) git(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", g.dir}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(errb.String())
		if msg == "" {
			msg = err.Error()
		}
		return "", errors.New(msg)
	}
	return strings.TrimSpace(out.String()), nil
}

// checkTop makes sure dir is the top of a git checkout: git would otherwise
// quietly answer for an enclosing repository (a folder of examples inside
// this one, say) and check the wrong change.
func (g *gitFacts) checkTop(ctx context.Context) error {
	if st, err := os.Stat(g.dir); err != nil || !st.IsDir() {
		return errors.New("no such folder")
	}
	top, err := g.git(ctx, "rev-parse", "--show-toplevel")
	if err != nil {
		return fmt.Errorf("not a git checkout (%v); pass the folder that holds .git", err)
	}
	abs, err := filepath.Abs(g.dir)
	if err != nil {
		return err
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real
	}
	if real, err := filepath.EvalSymlinks(top); err == nil {
		top = real
	}
	if filepath.Clean(abs) != filepath.Clean(top) {
		return fmt.Errorf("is not the top of a git checkout but a folder inside %s; pass the checkout's top folder (the one holding .git and .github/conveyor.yml)", top)
	}
	return nil
}

func (g *gitFacts) sha(side checks.Side) string {
	if side == checks.Base {
		return g.baseSHA
	}
	return g.headSHA
}

// Change describes the local comparison.
func (g *gitFacts) Change() checks.Change {
	top, _ := g.git(context.Background(), "rev-parse", "--show-toplevel")
	return checks.Change{Repository: path.Base(top), HeadSHA: g.headSHA, BaseSHA: g.baseSHA, BaseRef: g.baseSHA}
}

// ChangedFiles lists the files changed between the merge base and head.
func (g *gitFacts) ChangedFiles(ctx context.Context) ([]string, error) {
	out, err := g.git(ctx, "diff", "--name-only", "--no-renames", g.baseSHA+"..."+g.headSHA)
	if err != nil {
		return nil, err
	}
	if out == "" {
		return nil, nil
	}
	return strings.Split(out, "\n"), nil
}

// BaseConfig parses .github/conveyor.yml at the base.
func (g *gitFacts) BaseConfig(ctx context.Context) (*repoconfig.Config, []repoconfig.Problem, error) {
	b, err := g.ReadFile(ctx, checks.Base, repoconfig.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	c, problems := repoconfig.Parse(b)
	return c, problems, nil
}

// ReadFile reads a file at a side with git show.
func (g *gitFacts) ReadFile(ctx context.Context, side checks.Side, p string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "git", "-C", g.dir, "show", g.sha(side)+":"+p)
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s at %s: %w", p, side, fs.ErrNotExist)
	}
	if len(out) > kind.MaxFileBytes {
		return nil, &kind.TooLargeError{Path: p, Size: int64(len(out))}
	}
	return out, nil
}

// Tree reads the whole tree at a side (git archive) into memory.
func (g *gitFacts) Tree(ctx context.Context, side checks.Side) (fs.FS, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if t, ok := g.trees[side]; ok {
		return t, nil
	}
	cmd := exec.CommandContext(ctx, "git", "-C", g.dir, "archive", "--format=tar", g.sha(side))
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("git archive %s: %w", g.sha(side), err)
	}
	m := fstest.MapFS{}
	tr := tar.NewReader(bytes.NewReader(out))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			return nil, err
		}
		m[h.Name] = &fstest.MapFile{Data: b, Mode: 0o644}
	}
	if g.trees == nil {
		g.trees = map[checks.Side]fs.FS{}
	}
	g.trees[side] = m
	return m, nil
}

// CI is unknown locally.
func (g *gitFacts) CI(ctx context.Context) (map[string]checks.CIResult, error) {
	return map[string]checks.CIResult{}, nil
}

// Serving is unknown locally.
// Commits lists base..head, oldest first.
func (g *gitFacts) Commits(ctx context.Context) ([]checks.Commit, error) {
	out, err := g.git(ctx, "log", "--reverse", "--format=%H%x00%an%x00%s", g.baseSHA+".."+g.headSHA)
	if err != nil {
		return nil, fmt.Errorf("git log %s..%s: %w", short(g.baseSHA), short(g.headSHA), err)
	}
	var commits []checks.Commit
	for _, line := range strings.Split(out, "\n") {
		if f := strings.SplitN(line, "\x00", 3); len(f) == 3 {
			commits = append(commits, checks.Commit{SHA: f[0], Author: f[1], Message: f[2]})
		}
	}
	return commits, nil
}

func (g *gitFacts) Serving(ctx context.Context, env string) (map[string]string, error) {
	return nil, nil
}

// Registry returns the MLflow client for a registry of the server config, or
// the --mlflow-url one, naming its URL when it cannot be reached.
func (g *gitFacts) Registry(name string) (checks.Registry, error) {
	r, ok := g.scfg.Registries[name]
	if !ok {
		if g.defaultRegistry != nil {
			return namedRegistry{Registry: g.defaultRegistry, name: name, url: g.defaultURL}, nil
		}
		return nil, fmt.Errorf("registry %q not configured (pass --mlflow-url or --config with registries:)", name)
	}
	c, err := g.registry(name)
	if err != nil {
		return nil, err
	}
	return namedRegistry{Registry: c, name: name, url: r.URL}, nil
}

// namedRegistry says which registry, at which URL, could not be reached: a
// terminal user has no check run to read the server config from.
type namedRegistry struct {
	checks.Registry
	name, url string
}

func (n namedRegistry) unreachable(err error) error {
	if err == nil || !mlflow.IsUnavailable(err) {
		return err
	}
	return fmt.Errorf("registry %q at %s unreachable: %w", n.name, secretmask.URL(n.url), err)
}

func (n namedRegistry) GetModelVersion(ctx context.Context, name, version string) (*mlflow.ModelVersion, error) {
	mv, err := n.Registry.GetModelVersion(ctx, name, version)
	return mv, n.unreachable(err)
}

func (n namedRegistry) GetModelVersionByAlias(ctx context.Context, name, alias string) (*mlflow.ModelVersion, error) {
	mv, err := n.Registry.GetModelVersionByAlias(ctx, name, alias)
	return mv, n.unreachable(err)
}

func (n namedRegistry) VersionMetrics(ctx context.Context, mv *mlflow.ModelVersion) (map[string]float64, error) {
	m, err := n.Registry.VersionMetrics(ctx, mv)
	return m, n.unreachable(err)
}
