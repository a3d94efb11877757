package checks

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"strings"
	"sync"

	"github.com/google/go-github/v66/github"

	"github.com/conveyor-dev/conveyor/checks/repoconfig"
	"github.com/conveyor-dev/conveyor/internal/store"
)

// maxPRFiles is where GitHub stops listing a pull request's files; past it
// the compare API lists the rest.
const maxPRFiles = 3000

// ghFacts is Facts read from GitHub (and, for CI results, from the store).
// SHA-addressed content is cached on the Suite across evaluations.
type ghFacts struct {
	s           *Suite
	gh          *github.Client
	ch          Change
	owner, name string

	filesOnce sync.Once
	files     []string
	filesErr  error

	treeOnce [2]sync.Once
	tree     [2]fs.FS
	treeErr  [2]error
}

// newGitHubFacts returns Facts for one evaluation of ch.
func (s *Suite) newGitHubFacts(gh *github.Client, ch Change) (*ghFacts, error) {
	owner, name, ok := strings.Cut(ch.Repository, "/")
	if !ok {
		return nil, fmt.Errorf("repository %q is not owner/name", ch.Repository)
	}
	return &ghFacts{s: s, gh: gh, ch: ch, owner: owner, name: name}, nil
}

func (g *ghFacts) Change() Change { return g.ch }

func (g *ghFacts) sha(side Side) string {
	if side == Base {
		if g.ch.BaseSHA != "" {
			return g.ch.BaseSHA
		}
		return g.ch.BaseRef
	}
	return g.ch.HeadSHA
}

func (g *ghFacts) ChangedFiles(ctx context.Context) ([]string, error) {
	g.filesOnce.Do(func() {
		key := g.ch.Repository + "@" + g.ch.BaseSHA + "..." + g.ch.HeadSHA
		if g.ch.BaseSHA != "" {
			if f, ok := g.s.files.get(key); ok {
				g.files = f
				return
			}
		}
		g.files, g.filesErr = g.listFiles(ctx)
		if g.filesErr == nil && g.ch.BaseSHA != "" {
			g.s.files.put(key, g.files)
		}
	})
	return g.files, g.filesErr
}

func (g *ghFacts) listFiles(ctx context.Context) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	add := func(f interface {
		GetFilename() string
		GetPreviousFilename() string
	}) {
		for _, p := range []string{f.GetFilename(), f.GetPreviousFilename()} {
			if p != "" && !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		}
	}
	if g.ch.Number > 0 {
		opt := &github.ListOptions{PerPage: 100}
		n := 0
		for {
			page, resp, err := g.gh.PullRequests.ListFiles(ctx, g.owner, g.name, g.ch.Number, opt)
			if err != nil {
				return nil, fmt.Errorf("list files of #%d: %w", g.ch.Number, err)
			}
			for _, f := range page {
				add(f)
			}
			n += len(page)
			if resp.NextPage == 0 {
				break
			}
			opt.Page = resp.NextPage
		}
		if n < maxPRFiles {
			return out, nil
		}
	}
	// GitHub lists at most 3,000 files of a pull request; compare has them all.
	opt := &github.ListOptions{PerPage: 100}
	for {
		cmp, resp, err := g.gh.Repositories.CompareCommits(ctx, g.owner, g.name, g.sha(Base), g.ch.HeadSHA, opt)
		if err != nil {
			return nil, fmt.Errorf("compare %s...%s: %w", g.sha(Base), g.ch.HeadSHA, err)
		}
		for _, f := range cmp.Files {
			add(f)
		}
		if resp.NextPage == 0 || len(cmp.Files) == 0 {
			return out, nil
		}
		opt.Page = resp.NextPage
	}
}

// Commits lists the pull request's commits (cached by its head SHA); a
// change without a pull request has none.
func (g *ghFacts) Commits(ctx context.Context) ([]Commit, error) {
	if g.ch.Number == 0 {
		return nil, nil
	}
	key := fmt.Sprintf("%s#%d@%s", g.ch.Repository, g.ch.Number, g.ch.HeadSHA)
	if c, ok := g.s.commits.get(key); ok {
		return c, nil
	}
	var out []Commit
	opt := &github.ListOptions{PerPage: 100}
	for {
		page, resp, err := g.gh.PullRequests.ListCommits(ctx, g.owner, g.name, g.ch.Number, opt)
		if err != nil {
			return nil, fmt.Errorf("list commits of #%d: %w", g.ch.Number, err)
		}
		for _, c := range page {
			author := c.GetCommit().GetAuthor().GetName()
			if login := c.GetAuthor().GetLogin(); login != "" {
				author = "@" + login
			}
			out = append(out, Commit{SHA: c.GetSHA(), Message: firstLine(c.GetCommit().GetMessage()), Author: author})
		}
		if resp.NextPage == 0 {
			break
		}
		opt.Page = resp.NextPage
	}
	g.s.commits.put(key, out)
	return out, nil
}

func (g *ghFacts) BaseConfig(ctx context.Context) (*repoconfig.Config, []repoconfig.Problem, error) {
	key := g.ch.Repository + "@" + g.sha(Base)
	if pc, ok := g.s.baseConfigs.get(key); ok && g.ch.BaseSHA != "" {
		return pc.cfg, pc.problems, nil
	}
	data, err := g.ReadFile(ctx, Base, repoconfig.Path)
	if errors.Is(err, fs.ErrNotExist) {
		g.s.baseConfigs.put(key, &parsedConfig{})
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	cfg, probs := repoconfig.Parse(data)
	g.s.baseConfigs.put(key, &parsedConfig{cfg: cfg, problems: probs})
	return cfg, probs, nil
}

func (g *ghFacts) ReadFile(ctx context.Context, side Side, p string) ([]byte, error) {
	sha := g.sha(side)
	key := g.ch.Repository + "@" + sha + ":" + p
	if b, ok := g.s.blobs.get(key); ok {
		if b == nil {
			return nil, fmt.Errorf("%s at %s: %w", p, short(sha), fs.ErrNotExist)
		}
		return b, nil
	}
	fc, _, resp, err := g.gh.Repositories.GetContents(ctx, g.owner, g.name, p, &github.RepositoryContentGetOptions{Ref: sha})
	if resp != nil && resp.StatusCode == http.StatusNotFound {
		g.s.blobs.put(key, nil)
		return nil, fmt.Errorf("%s at %s: %w", p, short(sha), fs.ErrNotExist)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s at %s: %w", p, short(sha), err)
	}
	if fc == nil {
		return nil, fmt.Errorf("%s at %s is a directory, not a file", p, short(sha))
	}
	s, err := fc.GetContent()
	if err != nil {
		return nil, fmt.Errorf("read %s at %s: %w", p, short(sha), err)
	}
	b := []byte(s)
	g.s.blobs.put(key, b)
	return b, nil
}

func (g *ghFacts) Tree(ctx context.Context, side Side) (fs.FS, error) {
	g.treeOnce[side].Do(func() {
		key := g.ch.Repository + "@" + g.sha(side)
		if t, ok := g.s.trees.get(key); ok {
			g.tree[side] = t
			return
		}
		g.tree[side], g.treeErr[side] = g.tarball(ctx, g.sha(side))
		if g.treeErr[side] == nil {
			g.s.trees.put(key, g.tree[side])
		}
	})
	return g.tree[side], g.treeErr[side]
}

// tarball downloads the repository at sha (one call; GitHub redirects to
// codeload, which the HTTP client follows) into memory.
func (g *ghFacts) tarball(ctx context.Context, sha string) (fs.FS, error) {
	req, err := g.gh.NewRequest(http.MethodGet, fmt.Sprintf("repos/%s/%s/tarball/%s", g.owner, g.name, sha), nil)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if _, err := g.gh.Do(ctx, req, &buf); err != nil {
		return nil, fmt.Errorf("tarball of %s: %w", short(sha), err)
	}
	zr, err := gzip.NewReader(&buf)
	if err != nil {
		return nil, fmt.Errorf("tarball of %s: %w", short(sha), err)
	}
	files := map[string]string{}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("tarball of %s: %w", short(sha), err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		// Entries sit under one top folder, owner-repo-sha/.
		_, rel, ok := strings.Cut(h.Name, "/")
		if !ok || rel == "" {
			continue
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			return nil, fmt.Errorf("tarball of %s: %s: %w", short(sha), rel, err)
		}
		files[rel] = string(b)
	}
	return mapFS(files), nil
}

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

func (g *ghFacts) Registry(name string) (Registry, error) { return g.s.registry(name) }
