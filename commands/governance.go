package commands

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/google/go-github/v66/github"

	"github.com/conveyor-dev/conveyor/checks/repoconfig"
)

// prInfo is the pull request as GitHub reports it now.
type prInfo struct {
	Number      int
	Title, URL  string
	Author      string
	FromFork    bool
	HeadRef     string
	CurrentHead string
	BaseRef     string
	BaseSHA     string // the base branch's head now
}

// governance is what a command acts under: environments and approvals from
// the base branch's config, artifact definitions (the head's config when the
// PR changes it and it is valid), and what the PR touches at the chosen SHA.
type governance struct {
	Base     *repoconfig.Config // environments and approvals: always the base branch's
	Defs     *repoconfig.Config // artifact definitions
	Touched  []string           // touched artifacts, in Defs order
	BehindBy int                // commits on the base branch the head lacks
	Notes    []string           // things the reply should mention
}

func (s *session) loadPR(ctx context.Context) (*prInfo, error) {
	if s.prInfo != nil {
		return s.prInfo, nil
	}
	owner, name := splitRepo(s.repo)
	p, _, err := s.gh.PullRequests.Get(ctx, owner, name, s.pr)
	if err != nil {
		return nil, fmt.Errorf("read pull request #%d: %w", s.pr, err)
	}
	s.prInfo = &prInfo{
		Number: p.GetNumber(), Title: p.GetTitle(), URL: p.GetHTMLURL(), Author: p.GetUser().GetLogin(),
		FromFork:    fromFork(p, s.repo),
		HeadRef:     p.GetHead().GetRef(),
		CurrentHead: p.GetHead().GetSHA(), BaseRef: p.GetBase().GetRef(), BaseSHA: p.GetBase().GetSHA(),
	}
	return s.prInfo, nil
}

// fromFork reports whether a pull request's head lives outside repo. A head
// repository GitHub reports as null ("head": {"repo": null}) was deleted:
// only a fork can be deleted while its pull request stays open (deleting the
// repository itself would delete the pull request), so it counts as a fork.
func fromFork(p *github.PullRequest, repo string) bool {
	hr := p.GetHead().GetRepo()
	if hr == nil || hr.GetFullName() == "" {
		return true
	}
	return !strings.EqualFold(hr.GetFullName(), repo)
}

// head returns the commit the command acts on (see headAt).
func (s *session) head(ctx context.Context) (headChoice, error) {
	if s.headChoice != nil {
		return *s.headChoice, nil
	}
	pr, err := s.loadPR(ctx)
	if err != nil {
		return headChoice{}, err
	}
	hc := headChoice{SHA: s.fixedSHA}
	if hc.SHA == "" {
		if hc, err = s.h.headAt(ctx, s.repo, s.pr, s.written, pr.CurrentHead); err != nil {
			return headChoice{}, err
		}
	}
	s.headChoice = &hc
	return hc, nil
}

func (s *session) governance(ctx context.Context) (*governance, error) {
	if s.gov != nil {
		return s.gov, nil
	}
	pr, err := s.loadPR(ctx)
	if err != nil {
		return nil, err
	}
	hc, err := s.head(ctx)
	if err != nil {
		return nil, err
	}
	base, err := s.baseConfig(ctx, pr)
	if err != nil {
		return nil, err
	}
	g := &governance{Base: base, Defs: base}
	owner, name := splitRepo(s.repo)
	cmp, _, err := s.gh.Repositories.CompareCommits(ctx, owner, name, pr.BaseSHA, hc.SHA, &github.ListOptions{PerPage: 100})
	if err != nil {
		return nil, fmt.Errorf("compare %s with %s: %w", short(pr.BaseSHA), short(hc.SHA), err)
	}
	g.BehindBy = cmp.GetBehindBy()
	var files []string
	for _, f := range cmp.Files {
		files = append(files, f.GetFilename())
		if f.GetPreviousFilename() != "" {
			files = append(files, f.GetPreviousFilename())
		}
	}
	if len(cmp.Files) >= 300 { // the compare API lists at most 300 files
		if files, err = s.prFiles(ctx); err != nil {
			return nil, err
		}
	}
	for _, f := range files {
		if f == repoconfig.Path {
			s.useHeadDefs(ctx, g, hc.SHA)
			break
		}
	}
	touched, _ := repoconfig.NewClassifier(g.Defs).Classify(files)
	for _, a := range g.Defs.Artifacts {
		if _, ok := touched[a.Name]; ok {
			g.Touched = append(g.Touched, a.Name)
		}
	}
	s.gov = g
	return g, nil
}

// useHeadDefs applies the PR's own config when it is valid, under
// repoconfig.Govern: it may only add artifacts, which are not deployable
// before merge; everything that governs stays the base branch's.
func (s *session) useHeadDefs(ctx context.Context, g *governance, sha string) {
	data, err := s.readFile(ctx, repoconfig.Path, sha)
	if err != nil {
		g.Notes = append(g.Notes, fmt.Sprintf("This PR changes %s but it could not be read at %s (%v); the base branch's artifacts are used.", repoconfig.Path, short(sha), err))
		return
	}
	cfg, probs := repoconfig.Parse(data)
	if cfg == nil || len(probs) > 0 {
		g.Notes = append(g.Notes, fmt.Sprintf("This PR's %s has problems (see the conveyor check); the base branch's artifacts are used.", repoconfig.Path))
		return
	}
	var changes []repoconfig.GovernanceChange
	g.Defs, changes = repoconfig.Govern(g.Base, cfg)
	if len(changes) > 0 {
		g.Notes = append(g.Notes, governanceNote(changes))
	}
}

// governanceNote says which governing fields the PR edits: they apply only
// after merge, so the command acts under the base branch's values.
func governanceNote(changes []repoconfig.GovernanceChange) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Governance changes take effect after merge: this PR edits %s, and commands act under the base branch's values:", repoconfig.Path)
	for _, c := range changes {
		fmt.Fprintf(&b, "\n- `%s`: %s -> %s", c.Field, c.Base, c.Head)
	}
	return b.String()
}

func (s *session) prFiles(ctx context.Context) ([]string, error) {
	owner, name := splitRepo(s.repo)
	var out []string
	opt := &github.ListOptions{PerPage: 100}
	for {
		fs, resp, err := s.gh.PullRequests.ListFiles(ctx, owner, name, s.pr, opt)
		if err != nil {
			return nil, fmt.Errorf("list files of #%d: %w", s.pr, err)
		}
		for _, f := range fs {
			out = append(out, f.GetFilename())
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opt.Page = resp.NextPage
	}
}

// baseConfig reads and parses .github/conveyor.yml at the base branch head.
// A missing or broken config is a user error: nothing governs the repository.
func (s *session) baseConfig(ctx context.Context, pr *prInfo) (*repoconfig.Config, error) {
	key := s.repo + "@" + pr.BaseSHA
	if c, ok := s.h.configs.get(key); ok {
		return c, nil
	}
	data, err := s.readFile(ctx, repoconfig.Path, pr.BaseSHA)
	if notFound(err) {
		return nil, userErr("%s has no %s on %s, so no environment is defined; merge a config to %s first", s.repo, repoconfig.Path, pr.BaseRef, pr.BaseRef)
	}
	if err != nil {
		return nil, err
	}
	cfg, probs := repoconfig.Parse(data)
	if cfg == nil || len(probs) > 0 {
		var lines []string
		for _, p := range probs {
			lines = append(lines, "- "+p.String())
		}
		return nil, userErr("%s on %s has problems, so Conveyor will not act on it; fix them on %s first:\n%s", repoconfig.Path, pr.BaseRef, pr.BaseRef, strings.Join(lines, "\n"))
	}
	s.h.configs.put(key, cfg)
	return cfg, nil
}

func (s *session) readFile(ctx context.Context, path, ref string) ([]byte, error) {
	owner, name := splitRepo(s.repo)
	fc, _, _, err := s.gh.Repositories.GetContents(ctx, owner, name, path, &github.RepositoryContentGetOptions{Ref: ref})
	if err != nil {
		return nil, err
	}
	if fc == nil {
		return nil, errors.New(path + " is a directory")
	}
	c, err := fc.GetContent()
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w", path, err)
	}
	return []byte(c), nil
}

// configCache keeps parsed base configs by repository and commit SHA; a
// commit's content never changes, so entries need no expiry, only a bound.
type configCache struct {
	mu sync.Mutex
	m  map[string]*repoconfig.Config
}

const configCacheSize = 256

func newConfigCache() *configCache { return &configCache{m: map[string]*repoconfig.Config{}} }

func (c *configCache) get(k string) (*repoconfig.Config, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[k]
	return v, ok
}

func (c *configCache) put(k string, v *repoconfig.Config) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= configCacheSize {
		clear(c.m)
	}
	c.m[k] = v
}

// isProduction: an environment named production or one that takes approvals.
func isProduction(e *repoconfig.Environment) bool {
	return e.Name == "production" || e.Approvals.Count > 0
}

func envNames(c *repoconfig.Config) string {
	var n []string
	for _, e := range c.Environments {
		n = append(n, e.Name)
	}
	return strings.Join(n, ", ")
}

func artifactNames(c *repoconfig.Config) string {
	var n []string
	for _, a := range c.Artifacts {
		n = append(n, a.Name)
	}
	sort.Strings(n)
	return strings.Join(n, ", ")
}

func short(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}
