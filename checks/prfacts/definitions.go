package prfacts

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"sort"

	"github.com/conveyor-dev/conveyor/checks/kind"
	"github.com/conveyor-dev/conveyor/checks/repoconfig"
)

// Side names one end of a change; it is the kinds' Side, so a kind's
// evaluation, the check engine and this reader speak of the same two ends.
type Side = kind.Side

// The two ends of a pull request.
const (
	Base = kind.Base // the base branch head
	Head = kind.Head // the PR head SHA
)

// Source is what Definitions reads: the raw facts of one change. The GitHub
// reader of this package and the checks package's in-memory facts satisfy it.
type Source interface {
	// ChangedFiles lists the paths the change adds, modifies or deletes.
	ChangedFiles(ctx context.Context) ([]string, error)
	// BaseConfig is .github/conveyor.yml at the base; (nil, nil, nil) when
	// the base has none.
	BaseConfig(ctx context.Context) (*repoconfig.Config, []repoconfig.Problem, error)
	// ReadFile reads one file at side; a missing file is fs.ErrNotExist.
	ReadFile(ctx context.Context, side Side, path string) ([]byte, error)
	// Tree is the whole repository at side.
	Tree(ctx context.Context, side Side) (fs.FS, error)
}

// Definitions is what a change is judged and deployed under.
type Definitions struct {
	// Base is the base branch's config: it governs. Nil when the base has
	// none; BaseProblems are its problems (a broken base governs nothing).
	Base         *repoconfig.Config
	BaseProblems []repoconfig.Problem
	// ConfigChanged is set when the change edits .github/conveyor.yml.
	ConfigChanged bool
	// Head is the head's config when the change edits it and it is valid;
	// nil otherwise. It never governs (see repoconfig.Govern); the checks
	// use it only to show what a change would do after merge.
	Head *repoconfig.Config
	// HeadProblems are the problems of the head's config (parse and
	// validation against the head's tree and the server's drivers).
	HeadProblems []repoconfig.Problem
	// Effective is repoconfig.Govern(Base, Head): the artifact definitions.
	// Nil when neither side has a usable config.
	Effective *repoconfig.Config
	// Governance lists the governing fields the head changes; they take
	// effect after merge.
	Governance []repoconfig.GovernanceChange
	// Changed is every changed file; Touched maps each touched artifact to
	// its files, Artifacts lists the touched ones in Effective order and
	// Unowned the files no artifact owns.
	Changed   []string
	Touched   map[string][]string
	Artifacts []*repoconfig.Artifact
	Unowned   []string
}

// TouchedNames lists the touched artifacts' names in config order.
func (d *Definitions) TouchedNames() []string {
	out := make([]string, 0, len(d.Artifacts))
	for _, a := range d.Artifacts {
		out = append(out, a.Name)
	}
	return out
}

// Resolve derives the Definitions of a change from its source: the base's
// config governs, the head's (when the change edits it and it is valid) may
// only add artifacts, under repoconfig.Govern. drivers are the deploy drivers
// the server config defines (the head's config is validated against them).
// An error means a fact could not be read at all.
func Resolve(ctx context.Context, src Source, drivers map[string]bool) (*Definitions, error) {
	changed, err := src.ChangedFiles(ctx)
	if err != nil {
		return nil, fmt.Errorf("changed files: %w", err)
	}
	d := &Definitions{Changed: changed, Touched: map[string][]string{}}
	d.Base, d.BaseProblems, err = src.BaseConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s at the base: %w", repoconfig.Path, err)
	}
	base := d.Base
	d.ConfigChanged = slices.Contains(changed, repoconfig.Path)
	if d.ConfigChanged {
		head, probs, err := headConfig(ctx, src, drivers)
		if err != nil {
			return nil, err
		}
		d.HeadProblems = probs
		if head != nil && len(probs) == 0 {
			d.Head = head
		}
	}
	if base != nil || d.Head != nil {
		d.Effective, d.Governance = repoconfig.Govern(base, d.Head)
	}
	if d.Effective == nil {
		d.Unowned = changed
		return d, nil
	}
	d.Touched, d.Unowned = repoconfig.NewClassifier(d.Effective).Classify(changed)
	for _, a := range d.Effective.Artifacts {
		if _, ok := d.Touched[a.Name]; ok {
			d.Artifacts = append(d.Artifacts, a)
		}
	}
	return d, nil
}

// tooLargeConfig turns a config file over kind.MaxFileBytes into the config
// problem the gate shows; nil for any other error.
func tooLargeConfig(err error) []repoconfig.Problem {
	tl, ok := kind.IsTooLarge(err)
	if !ok {
		return nil
	}
	return []repoconfig.Problem{{File: repoconfig.Path, Line: 1,
		Message: tl.Error() + "; keep the configuration small (artifacts and environments only)"}}
}

// headConfig reads and validates the head's configuration.
func headConfig(ctx context.Context, src Source, drivers map[string]bool) (*repoconfig.Config, []repoconfig.Problem, error) {
	data, err := src.ReadFile(ctx, Head, repoconfig.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, []repoconfig.Problem{{File: repoconfig.Path, Line: 1,
			Message: "the pull request deletes " + repoconfig.Path + "; keep the file (artifacts are read from it)"}}, nil
	}
	if probs := tooLargeConfig(err); probs != nil {
		return nil, probs, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("%s at the head: %w", repoconfig.Path, err)
	}
	cfg, probs := repoconfig.Parse(data)
	if cfg == nil {
		return nil, probs, nil
	}
	tree, err := src.Tree(ctx, Head)
	if err != nil {
		return nil, nil, fmt.Errorf("tree at the head: %w", err)
	}
	probs = append(probs, repoconfig.Validate(cfg, treeRepo{tree}, drivers)...)
	return cfg, probs, nil
}

// treeRepo adapts an fs.FS to repoconfig.Repo.
type treeRepo struct{ fsys fs.FS }

func (r treeRepo) Files() []string {
	var out []string
	_ = fs.WalkDir(r.fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			out = append(out, p)
		}
		return nil
	})
	sort.Strings(out)
	return out
}

func (r treeRepo) ReadFile(p string) ([]byte, error) { return fs.ReadFile(r.fsys, p) }
