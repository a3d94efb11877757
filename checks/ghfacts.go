package checks

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

	"github.com/google/go-github/v66/github"

	"github.com/conveyor-dev/conveyor/checks/prfacts"
	"github.com/conveyor-dev/conveyor/internal/store"
)

// ghFacts is Facts read from GitHub through the shared PR-facts reader (and,
// for CI results and deployments, from the store).
type ghFacts struct {
	*prfacts.Reader
	s  *Suite
	ch Change
}

// newGitHubFacts returns Facts for one evaluation of ch, the pull request's
// head as its latest webhook reported it (the worker skips a SHA the PR has
// moved on from), so the PR's own file list describes it.
func (s *Suite) newGitHubFacts(gh *github.Client, ch Change) (*ghFacts, error) {
	r, err := s.facts.For(gh, prfacts.PR{Repository: ch.Repository, Number: ch.Number, BaseRef: ch.BaseRef,
		BaseSHA: ch.BaseSHA, HeadSHA: ch.HeadSHA, Current: true})
	if err != nil {
		return nil, err
	}
	return &ghFacts{Reader: r, s: s, ch: ch}, nil
}

func (g *ghFacts) Change() Change { return g.ch }

func (g *ghFacts) CI(ctx context.Context) (map[string]CIResult, error) {
	if g.s.o.Store == nil {
		return map[string]CIResult{}, nil
	}
	rows, err := store.CIResults(ctx, g.s.o.Store.DB, g.ch.Repository, g.ch.HeadSHA)
	if err != nil {
		return nil, err
	}
	out := make(map[string]CIResult, len(rows))
	for n, r := range rows {
		out[n] = CIResult{Status: r.Status, Conclusion: r.Conclusion}
	}
	return out, nil
}

func (g *ghFacts) Serving(ctx context.Context, env string) (map[string]string, error) {
	if g.s.o.Deployments == nil {
		return nil, nil
	}
	return g.s.o.Deployments.LastSucceeded(ctx, g.ch.Repository, env)
}

// DeployedManifest reads the dbt manifest the deploy engine kept for a
// deploy of artifact at sha in env.
func (g *ghFacts) DeployedManifest(ctx context.Context, env, artifact, sha string) ([]byte, error) {
	if g.s.o.Store == nil {
		return nil, fs.ErrNotExist
	}
	b, err := store.DBTManifest(ctx, g.s.o.Store.DB, g.ch.Repository, artifact, env, sha)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("no dbt manifest kept for %s at %s in %s: %w", artifact, sha, env, fs.ErrNotExist)
	}
	return b, err
}

func (g *ghFacts) Registry(name string) (Registry, error) { return g.s.registry(name) }
