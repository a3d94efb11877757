package prfacts

import (
	"context"
	"fmt"
	"io/fs"
	"strings"
	"sync"

	"github.com/google/go-github/v66/github"
	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/conveyor-dev/conveyor/checks/kind"
	"github.com/conveyor-dev/conveyor/checks/repoconfig"
)

// Options configure a Service.
type Options struct {
	// Drivers are the deploy drivers the server config defines; a head
	// config naming another driver is invalid.
	Drivers map[string]bool
}

// Service reads pull request facts from GitHub and caches what is addressed
// by SHA (it never changes once written) for every reader: the check
// engine, the slash commands and the Slack approvals share one Service.
type Service struct {
	drivers map[string]bool

	baseConfigs *lru.Cache[string, *parsedConfig]
	trees       *lru.Cache[string, fs.FS]
	files       *lru.Cache[string, []string]
	commits     *lru.Cache[string, []Commit]
	blobs       *lru.Cache[string, []byte] // nil value: the file does not exist at that SHA
	defs        *lru.Cache[string, *Definitions]
	authors     *lru.Cache[string, string]
	artifacts   *lru.Cache[string, []byte] // files read from completed runs' artifacts
}

type parsedConfig struct {
	cfg      *repoconfig.Config
	problems []repoconfig.Problem
}

// New returns a Service.
func New(o Options) *Service {
	drivers := map[string]bool{}
	for d, ok := range o.Drivers {
		drivers[d] = ok
	}
	return &Service{drivers: drivers,
		baseConfigs: newCache[*parsedConfig](256), trees: newCache[fs.FS](16), files: newCache[[]string](256),
		commits: newCache[[]Commit](256), blobs: newCache[[]byte](1024), defs: newCache[*Definitions](256),
		authors: newCache[string](1024), artifacts: newCache[[]byte](8)}
}

func newCache[V any](size int) *lru.Cache[string, V] {
	c, err := lru.New[string, V](size)
	if err != nil {
		panic(err) // only for a size <= 0, which the constants above never are
	}
	return c
}

// PR identifies the change to read: a pull request at one head SHA against
// one base SHA. Number 0 is a comparison without a pull request.
type PR struct {
	Repository string // owner/name
	Number     int
	BaseRef    string
	BaseSHA    string // "" reads the base at BaseRef (nothing is cached by it)
	HeadSHA    string
	// Current says HeadSHA is the pull request's head on GitHub now:
	// GitHub lists a pull request's files for its current head only, so for
	// an older head the files are found by comparing trees.
	Current bool
}

// Commit is one commit of the change (the kinds' Commit: the app kind lists
// them).
type Commit = kind.Commit

// For returns the reader of pr through gh. A Reader fetches lazily, caches
// per SHA on the Service and is safe for concurrent use.
func (s *Service) For(gh *github.Client, pr PR) (*Reader, error) {
	owner, name, ok := strings.Cut(pr.Repository, "/")
	if !ok || owner == "" || name == "" {
		return nil, fmt.Errorf("repository %q is not owner/name", pr.Repository)
	}
	return &Reader{s: s, gh: gh, pr: pr, owner: owner, name: name}, nil
}

// Author returns the login that opened pull request number of repo (it
// never changes, so it is cached for good).
func (s *Service) Author(ctx context.Context, gh *github.Client, repo string, number int) (string, error) {
	key := fmt.Sprintf("%s#%d", strings.ToLower(repo), number)
	if a, ok := s.authors.Get(key); ok {
		return a, nil
	}
	owner, name, _ := strings.Cut(repo, "/")
	p, _, err := gh.PullRequests.Get(ctx, owner, name, number)
	if err != nil {
		return "", fmt.Errorf("read pull request #%d: %w", number, err)
	}
	s.RememberAuthor(repo, number, p.GetUser().GetLogin())
	return p.GetUser().GetLogin(), nil
}

// RememberAuthor records who opened a pull request, learned from a pull
// request object read for another purpose.
func (s *Service) RememberAuthor(repo string, number int, login string) {
	if login != "" {
		s.authors.Add(fmt.Sprintf("%s#%d", strings.ToLower(repo), number), login)
	}
}

// Reader answers the facts of one change; see Service.For.
type Reader struct {
	s           *Service
	gh          *github.Client
	pr          PR
	owner, name string

	filesOnce sync.Once
	files     []string
	filesErr  error

	cmpMu sync.Mutex
	cmp   *github.CommitsComparison // nil until fetched

	treeOnce [2]sync.Once
	tree     [2]fs.FS
	treeErr  [2]error

	defsMu sync.Mutex
	defs   *Definitions
}

// PR is the change the reader reads.
func (r *Reader) PR() PR { return r.pr }

func (r *Reader) sha(side Side) string {
	if side == Base {
		if r.pr.BaseSHA != "" {
			return r.pr.BaseSHA
		}
		return r.pr.BaseRef
	}
	return r.pr.HeadSHA
}

// cacheable reports whether answers about the base may be cached: only
// when the base is a SHA, not a branch that moves.
func (r *Reader) cacheable() bool { return r.pr.BaseSHA != "" }

func (r *Reader) rangeKey() string {
	return r.pr.Repository + "@" + r.pr.BaseSHA + "..." + r.pr.HeadSHA
}

// Definitions resolves the change's definitions (see Resolve), once per
// base and head SHA for every reader of the Service.
func (r *Reader) Definitions(ctx context.Context) (*Definitions, error) {
	r.defsMu.Lock()
	defer r.defsMu.Unlock()
	if r.defs != nil {
		return r.defs, nil
	}
	if d, ok := r.s.defs.Get(r.rangeKey()); ok && r.cacheable() {
		r.defs = d
		return d, nil
	}
	d, err := Resolve(ctx, r, r.s.drivers)
	if err != nil {
		return nil, err
	}
	if r.cacheable() {
		r.s.defs.Add(r.rangeKey(), d)
	}
	r.defs = d
	return d, nil
}

// BehindBy is how many commits of the base the head lacks.
func (r *Reader) BehindBy(ctx context.Context) (int, error) {
	cmp, err := r.compare(ctx)
	if err != nil {
		return 0, err
	}
	return cmp.GetBehindBy(), nil
}

// compare asks GitHub how base and head relate (merge base, ahead and
// behind, and up to 300 changed files), once per reader.
func (r *Reader) compare(ctx context.Context) (*github.CommitsComparison, error) {
	r.cmpMu.Lock()
	defer r.cmpMu.Unlock()
	if r.cmp != nil {
		return r.cmp, nil
	}
	// Files are listed on the first page only, whatever per_page says; one
	// commit per page keeps the answer small.
	cmp, _, err := r.gh.Repositories.CompareCommits(ctx, r.owner, r.name, r.sha(Base), r.pr.HeadSHA, &github.ListOptions{PerPage: 1})
	if err != nil {
		return nil, fmt.Errorf("compare %s...%s: %w", short(r.sha(Base)), short(r.pr.HeadSHA), err)
	}
	r.cmp = cmp
	return cmp, nil
}

// compared is the comparison when this reader already fetched it, else nil.
func (r *Reader) compared() *github.CommitsComparison {
	r.cmpMu.Lock()
	defer r.cmpMu.Unlock()
	return r.cmp
}

// Commits lists the pull request's commits, oldest first (what GitHub lists:
// at most 250), cached by head SHA; a change without a pull request has none.
func (r *Reader) Commits(ctx context.Context) ([]Commit, error) {
	if r.pr.Number == 0 {
		return nil, nil
	}
	key := fmt.Sprintf("%s#%d@%s", r.pr.Repository, r.pr.Number, r.pr.HeadSHA)
	if c, ok := r.s.commits.Get(key); ok {
		return c, nil
	}
	var out []Commit
	opt := &github.ListOptions{PerPage: 100}
	for {
		page, resp, err := r.gh.PullRequests.ListCommits(ctx, r.owner, r.name, r.pr.Number, opt)
		if err != nil {
			return nil, fmt.Errorf("list commits of #%d: %w", r.pr.Number, err)
		}
		for _, c := range page {
			author := c.GetCommit().GetAuthor().GetName()
			if login := c.GetAuthor().GetLogin(); login != "" {
				author = "@" + login
			}
			out = append(out, Commit{SHA: c.GetSHA(), Message: FirstLine(c.GetCommit().GetMessage()), Author: author})
		}
		if resp.NextPage == 0 {
			break
		}
		opt.Page = resp.NextPage
	}
	r.s.commits.Add(key, out)
	return out, nil
}

// FirstLine is a commit message's subject.
func FirstLine(msg string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(msg), "\n")
	return strings.TrimSpace(line)
}

// BaseConfig is .github/conveyor.yml at the base; (nil, nil, nil) when the
// base has none.
func (r *Reader) BaseConfig(ctx context.Context) (*repoconfig.Config, []repoconfig.Problem, error) {
	key := r.pr.Repository + "@" + r.sha(Base)
	if pc, ok := r.s.baseConfigs.Get(key); ok && r.cacheable() {
		return pc.cfg, pc.problems, nil
	}
	data, err := r.ReadFile(ctx, Base, repoconfig.Path)
	if isNotExist(err) {
		if r.cacheable() {
			r.s.baseConfigs.Add(key, &parsedConfig{})
		}
		return nil, nil, nil
	}
	if probs := tooLargeConfig(err); probs != nil {
		return nil, probs, nil
	}
	if err != nil {
		return nil, nil, err
	}
	cfg, probs := repoconfig.Parse(data)
	if r.cacheable() {
		r.s.baseConfigs.Add(key, &parsedConfig{cfg: cfg, problems: probs})
	}
	return cfg, probs, nil
}

func short(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}
