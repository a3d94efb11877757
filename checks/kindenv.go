package checks

import (
	"context"
	"fmt"
	"io/fs"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/conveyor-dev/conveyor/checks/kind"
)

// kindEnv is what a kind may ask during one evaluation: the run's cached
// facts, and the base config's environments.
type kindEnv struct{ r *run }

func (e kindEnv) HeadSHA() string { return e.r.ch.HeadSHA }

func (e kindEnv) BaseSHA() string { return e.r.ch.BaseSHA }

// HeadAge counts from when the check suite recorded the head (Change.HeadSeen).
func (e kindEnv) HeadAge() time.Duration {
	if e.r.ch.HeadSeen.IsZero() {
		return 0
	}
	return max(e.r.s.o.Now().Sub(e.r.ch.HeadSeen), 0)
}

func (e kindEnv) Serving(ctx context.Context, env string) (map[string]string, error) {
	return e.r.servingIn(ctx, env)
}

// Actions is the facts' own reader of GitHub Actions when they have one
// (the GitHub facts do, through prfacts).
func (e kindEnv) Actions() (kind.Actions, error) {
	if a, ok := e.r.f.(kind.Actions); ok {
		return a, nil
	}
	return nil, kind.ErrNoActions
}

// manifestKeeper is facts that read what deploys kept (the GitHub facts,
// through the store).
type manifestKeeper interface {
	DeployedManifest(ctx context.Context, env, artifact, sha string) ([]byte, error)
}

func (e kindEnv) DeployedManifest(ctx context.Context, env, artifact, sha string) ([]byte, error) {
	if mk, ok := e.r.f.(manifestKeeper); ok {
		return mk.DeployedManifest(ctx, env, artifact, sha)
	}
	return nil, fs.ErrNotExist
}

func (e kindEnv) ReadFile(ctx context.Context, side kind.Side, path string) ([]byte, error) {
	return e.r.f.ReadFile(ctx, side, path)
}

func (e kindEnv) Tree(ctx context.Context, side kind.Side) (fs.FS, error) {
	return e.r.f.Tree(ctx, side)
}

// subtreeReader is facts that can fetch part of a tree (the GitHub facts,
// through prfacts).
type subtreeReader interface {
	Subtree(ctx context.Context, side kind.Side, dirs []string) (fs.FS, error)
}

func (e kindEnv) Subtree(ctx context.Context, side kind.Side, dirs []string) (fs.FS, error) {
	if st, ok := e.r.f.(subtreeReader); ok {
		return st.Subtree(ctx, side, dirs)
	}
	return e.r.f.Tree(ctx, side)
}

func (e kindEnv) CI(ctx context.Context) (map[string]kind.CIResult, error) { return e.r.ciResults(ctx) }

func (e kindEnv) Commits(ctx context.Context) ([]kind.Commit, error) { return e.r.commitList(ctx) }

func (e kindEnv) Registry(name string) (kind.Registry, error) {
	reg, err := e.r.f.Registry(name)
	if err != nil && e.r.s.o.NoServerConfig {
		return nil, fmt.Errorf("registry %q: %w", name, kind.ErrNoServerConfig)
	}
	return reg, err
}

func (e kindEnv) RegistryNames() string {
	names := make([]string, 0, len(e.r.s.o.Server.Registries))
	for n := range e.r.s.o.Server.Registries {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(names) == 0 {
		return "(none: define registries in the server config)"
	}
	return strings.Join(names, ", ")
}

func (e kindEnv) Environments() []string {
	if e.r.base == nil {
		return nil
	}
	out := make([]string, 0, len(e.r.base.Environments))
	for _, env := range e.r.base.Environments {
		out = append(out, env.Name)
	}
	return out
}

func contains(xs []string, x string) bool { return slices.Contains(xs, x) }

// The GitHub facts read Actions and subtrees through the shared PR-facts
// reader.
var (
	_ kind.Actions  = (*ghFacts)(nil)
	_ subtreeReader = (*ghFacts)(nil)
)
