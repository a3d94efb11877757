package checks

import (
	"context"
	"fmt"
	"io/fs"
	"sort"

	"github.com/conveyor-dev/conveyor/checks/kind"
	"github.com/conveyor-dev/conveyor/checks/prfacts"
	"github.com/conveyor-dev/conveyor/checks/repoconfig"
)

// MemFacts is Facts over in-memory trees: tests use it, and so does
// `conveyor check` on a local checkout. Its fields must not change while an
// evaluation runs.
type MemFacts struct {
	C          Change
	BaseFiles  map[string]string // path -> content at the base
	HeadFiles  map[string]string // path -> content at the head
	CIResults  map[string]CIResult
	CommitList []Commit                     // what Commits returns
	ServingBy  map[string]map[string]string // environment -> artifact -> SHA
	Registries func(name string) (Registry, error)
}

// Change implements Facts.
func (m *MemFacts) Change() Change { return m.C }

// ChangedFiles implements Facts: the paths whose content differs.
func (m *MemFacts) ChangedFiles(context.Context) ([]string, error) {
	var out []string
	for p, c := range m.HeadFiles {
		if b, ok := m.BaseFiles[p]; !ok || b != c {
			out = append(out, p)
		}
	}
	for p := range m.BaseFiles {
		if _, ok := m.HeadFiles[p]; !ok {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out, nil
}

// BaseConfig implements Facts.
func (m *MemFacts) BaseConfig(context.Context) (*repoconfig.Config, []repoconfig.Problem, error) {
	data, ok := m.BaseFiles[repoconfig.Path]
	if !ok {
		return nil, nil, nil
	}
	cfg, probs := repoconfig.Parse([]byte(data))
	return cfg, probs, nil
}

func (m *MemFacts) side(s Side) map[string]string {
	if s == Base {
		return m.BaseFiles
	}
	return m.HeadFiles
}

// ReadFile implements Facts.
func (m *MemFacts) ReadFile(_ context.Context, s Side, p string) ([]byte, error) {
	c, ok := m.side(s)[p]
	if !ok {
		return nil, fmt.Errorf("%s at %s: %w", p, s, fs.ErrNotExist)
	}
	if len(c) > kind.MaxFileBytes {
		return nil, &kind.TooLargeError{Path: p, Size: int64(len(c))}
	}
	return []byte(c), nil
}

// Tree implements Facts.
func (m *MemFacts) Tree(_ context.Context, s Side) (fs.FS, error) {
	return mapFS(m.side(s)), nil
}

// CI implements Facts.
func (m *MemFacts) CI(context.Context) (map[string]CIResult, error) { return m.CIResults, nil }

// Serving implements Facts.
func (m *MemFacts) Serving(_ context.Context, env string) (map[string]string, error) {
	return m.ServingBy[env], nil
}

// Registry implements Facts.
func (m *MemFacts) Registry(name string) (Registry, error) {
	if m.Registries == nil {
		return nil, fmt.Errorf("%w: %q", ErrUnknownRegistry, name)
	}
	return m.Registries(name)
}

func mapFS(files map[string]string) fs.FS { return prfacts.MapFS(files) }

// Commits implements Facts: CommitList.
func (m *MemFacts) Commits(context.Context) ([]Commit, error) { return m.CommitList, nil }
