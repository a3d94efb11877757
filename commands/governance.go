package commands

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/google/go-github/v66/github"

	"github.com/conveyor-dev/conveyor/checks/prfacts"
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

// governance is what a command acts under, as the shared PR-facts reader
// resolves it for the chosen SHA: the base branch's config governs, the
// artifact definitions are repoconfig.Govern(base, head), and the touched
// artifacts are classified under them.
type governance struct {
	Base    *repoconfig.Config // environments, approvals and every governing field
	Defs    *repoconfig.Config // artifact definitions (repoconfig.Govern)
	Touched []string           // touched artifacts, in Defs order
	Notes   []string           // things the reply should mention

	facts *prfacts.Reader
}

// PRFacts is the PR-facts reader the commands ask (*prfacts.Service, shared
// with the check suite so both read one cache and agree on what governs).
type PRFacts interface {
	For(gh *github.Client, pr prfacts.PR) (*prfacts.Reader, error)
	RememberAuthor(repo string, number int, login string)
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
	s.h.prFacts.RememberAuthor(s.repo, s.pr, s.prInfo.Author)
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
	r, err := s.h.prFacts.For(s.gh, prfacts.PR{Repository: s.repo, Number: s.pr, BaseRef: pr.BaseRef, BaseSHA: pr.BaseSHA,
		HeadSHA: hc.SHA, Current: hc.SHA == pr.CurrentHead})
	if err != nil {
		return nil, err
	}
	// The base's config first: without a sound one nothing governs the
	// repository, and nothing else needs reading.
	base, baseProblems, err := r.BaseConfig(ctx)
	if err != nil {
		return nil, err
	}
	if base == nil {
		return nil, userErr("%s has no %s on %s, so no environment is defined; merge a config to %s first", s.repo, repoconfig.Path, pr.BaseRef, pr.BaseRef)
	}
	if len(baseProblems) > 0 {
		var lines []string
		for _, p := range baseProblems {
			lines = append(lines, "- "+p.String())
		}
		return nil, userErr("%s on %s has problems, so Conveyor will not act on it; fix them on %s first:\n%s", repoconfig.Path, pr.BaseRef, pr.BaseRef, strings.Join(lines, "\n"))
	}
	// A command for production checks how far behind the branch is, which
	// takes a comparison; asked first, it also lists the changed files
	// (when it holds them all), so the PR's file list is not read as well.
	if s.namesProduction(base) {
		if _, err := r.BehindBy(ctx); err != nil {
			return nil, err
		}
	}
	d, err := r.Definitions(ctx)
	if err != nil {
		return nil, err
	}
	g := &governance{Base: d.Base, Defs: d.Effective, Touched: d.TouchedNames(), facts: r}
	if d.ConfigChanged && d.Head == nil {
		g.Notes = append(g.Notes, fmt.Sprintf("This PR's %s has problems (see the conveyor check); the base branch's artifacts are used.", repoconfig.Path))
	}
	if len(d.Governance) > 0 {
		g.Notes = append(g.Notes, governanceNote(d.Governance))
	}
	s.gov = g
	return g, nil
}

// namesProduction reports whether a command of the session names an
// environment that deploys only code containing the base branch head.
func (s *session) namesProduction(base *repoconfig.Config) bool {
	if base == nil {
		return false
	}
	for _, name := range s.envs {
		if e := base.Environment(name); e != nil && isProduction(e) {
			return true
		}
	}
	return false
}

// withGovernance adds to a refusal the governance changes the PR makes: its
// own edits to the config are why a reader might expect another answer.
func withGovernance(text string, g *governance) string {
	if g == nil {
		return text
	}
	for _, n := range g.Notes {
		if strings.HasPrefix(n, governanceHeading) {
			text += "\n\n" + n
		}
	}
	return text
}

// governanceHeading starts the note listing governance changes.
const governanceHeading = "Governance changes take effect after merge"

// governanceNote says which governing fields the PR edits: they apply only
// after merge, so the command acts under the base branch's values.
func governanceNote(changes []repoconfig.GovernanceChange) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: this PR edits %s, and commands act under the base branch's values:", governanceHeading, repoconfig.Path)
	for _, c := range changes {
		fmt.Fprintf(&b, "\n- `%s`: %s -> %s", c.Field, c.Base, c.Head)
	}
	return b.String()
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
