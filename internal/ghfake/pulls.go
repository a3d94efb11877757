package ghfake

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// maxPRFiles is how many files GitHub lists for a pull request at most.
const maxPRFiles = 3000

type prState struct {
	id          int64
	number      int
	title       string
	body        string
	head        string
	base        string
	author      string
	fromFork    bool
	forkDeleted bool
	state       string
	merged      bool
	draft       bool
	created     time.Time
	updated     time.Time
}

// PR is a snapshot of a pull request as the emulator holds it.
type PR struct {
	Repo     string
	Number   int
	ID       int64
	Title    string
	Head     string // head branch
	Base     string // base branch
	HeadSHA  string
	BaseSHA  string
	Author   string
	FromFork bool
	State    string // open or closed
	Merged   bool
}

// PROption adjusts a pull request when it is opened.
type PROption func(*prState)

// FromFork marks the pull request as coming from the author's fork of the repository.
func FromFork() PROption { return func(p *prState) { p.fromFork = true } }

// DeletedFork marks the pull request as coming from a fork that has since been
// deleted: GitHub then answers "head": {"repo": null, ...} in the pull request
// object of the REST API and of webhooks.
func DeletedFork() PROption { return func(p *prState) { p.fromFork, p.forkDeleted = true, true } }

// Draft marks the pull request as a draft.
func Draft() PROption { return func(p *prState) { p.draft = true } }

// WithBody sets the pull request description.
func WithBody(body string) PROption { return func(p *prState) { p.body = body } }

// OpenPR opens a pull request from head into base (both branches must exist).
func (s *Server) OpenPR(repo, head, base, title, author string, opts ...PROption) *PR {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.mustRepo(repo)
	for _, b := range []string{head, base} {
		if _, ok := rs.branches[b]; !ok {
			panic(fmt.Sprintf("ghfake: OpenPR: %s has no branch %q; create it with Commit or Branch first", repo, b))
		}
	}
	s.registerUser(author)
	now := time.Now()
	p := &prState{id: s.newID(), number: rs.nextNum, title: title, head: head, base: base, author: author,
		state: "open", created: now, updated: now}
	rs.nextNum++
	for _, o := range opts {
		o(p)
	}
	rs.pulls[p.number] = p
	return rs.snapshotPR(p)
}

// PR returns the current state of a pull request (head and base SHAs follow their branches).
func (s *Server) PR(repo string, number int) *PR {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.mustRepo(repo)
	p := rs.pulls[number]
	if p == nil {
		panic(fmt.Sprintf("ghfake: %s has no pull request #%d", repo, number))
	}
	return rs.snapshotPR(p)
}

// ClosePR closes a pull request, merging it into its base branch when merge is true.
func (s *Server) ClosePR(repo string, number int, merge bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.mustRepo(repo)
	p := rs.pulls[number]
	if p == nil {
		panic(fmt.Sprintf("ghfake: %s has no pull request #%d", repo, number))
	}
	p.state, p.updated = "closed", time.Now()
	if merge {
		head := rs.commits[rs.branches[p.head]]
		c := rs.addCommit(rs.branches[p.base], maps.Clone(head.files),
			fmt.Sprintf("Merge pull request #%d from %s", p.number, p.head), p.author)
		rs.branches[p.base] = c.sha
		p.merged = true
	}
}

func (rs *repoState) snapshotPR(p *prState) *PR {
	return &PR{Repo: rs.fullName, Number: p.number, ID: p.id, Title: p.title, Head: p.head, Base: p.base,
		HeadSHA: rs.branches[p.head], BaseSHA: rs.branches[p.base], Author: p.author,
		FromFork: p.fromFork, State: p.state, Merged: p.merged}
}

// prFiles is the diff between the merge base and the head; callers hold s.mu.
func (rs *repoState) prFiles(p *prState) []fileChange {
	head := rs.commits[rs.branches[p.head]]
	mb := rs.mergeBase(rs.commits[rs.branches[p.base]], head)
	return diffTrees(mb.files, head.files)
}

// prJSON is a GitHub pull-request object; callers hold s.mu.
func (s *Server) prJSON(rs *repoState, p *prState) map[string]any {
	headRepo := s.repoJSON(rs)
	headOwner := rs.owner
	if p.fromFork {
		headOwner = p.author
		headRepo["full_name"] = p.author + "/" + rs.name
		headRepo["owner"] = s.userJSON(p.author)
		headRepo["fork"] = true
		headRepo["id"] = numericID(p.author + "/" + rs.name)
		headRepo["html_url"] = "https://github.com/" + p.author + "/" + rs.name
	}
	files := rs.prFiles(p)
	adds, dels := 0, 0
	for _, fc := range files {
		_, a, d := unifiedPatch(fc.old, fc.new)
		adds, dels = adds+a, dels+d
	}
	head := rs.commits[rs.branches[p.head]]
	mb := rs.mergeBase(rs.commits[rs.branches[p.base]], head)
	var closedAt, mergedAt any
	if p.state == "closed" {
		closedAt = ts(p.updated)
	}
	if p.merged {
		mergedAt = ts(p.updated)
	}
	num := strconv.Itoa(p.number)
	api := s.ts.URL + "/repos/" + rs.fullName + "/pulls/" + num
	link := func(href string) map[string]any { return map[string]any{"href": href} }
	return map[string]any{
		"id": p.id, "node_id": nodeID("PR", p.id), "number": p.number, "state": p.state, "locked": false,
		"title": p.title, "body": p.body, "user": s.userJSON(p.author), "draft": p.draft,
		"url":        s.ts.URL + "/repos/" + rs.fullName + "/pulls/" + num,
		"html_url":   "https://github.com/" + rs.fullName + "/pull/" + num,
		"issue_url":  s.ts.URL + "/repos/" + rs.fullName + "/issues/" + num,
		"created_at": ts(p.created), "updated_at": ts(p.updated), "closed_at": closedAt, "merged_at": mergedAt,
		"merged": p.merged, "mergeable": !p.merged && p.state == "open", "mergeable_state": "clean",
		"author_association": s.association(rs, p.author),
		"head": map[string]any{"label": headOwner + ":" + p.head, "ref": p.head, "sha": head.sha,
			"user": s.userJSON(headOwner), "repo": headRepoOrNull(headRepo, p.forkDeleted)},
		"base": map[string]any{"label": rs.owner + ":" + p.base, "ref": p.base, "sha": rs.branches[p.base],
			"user": s.userJSON(rs.owner), "repo": s.repoJSON(rs)},
		"commits": len(rs.commitsBetween(mb, head)), "additions": adds, "deletions": dels,
		"changed_files": len(files), "comments": len(rs.commentsOn(p.number)),
		"assignee": nil, "assignees": []any{}, "labels": []any{}, "milestone": nil, "auto_merge": nil,
		"merge_commit_sha": nil, "merged_by": nil, "maintainer_can_modify": false, "review_comments": 0,
		"requested_reviewers": []any{}, "requested_teams": []any{},
		"diff_url":            "https://github.com/" + rs.fullName + "/pull/" + num + ".diff",
		"patch_url":           "https://github.com/" + rs.fullName + "/pull/" + num + ".patch",
		"commits_url":         api + "/commits",
		"review_comments_url": api + "/comments",
		"review_comment_url":  s.ts.URL + "/repos/" + rs.fullName + "/pulls/comments{/number}",
		"comments_url":        s.ts.URL + "/repos/" + rs.fullName + "/issues/" + num + "/comments",
		"statuses_url":        s.ts.URL + "/repos/" + rs.fullName + "/statuses/" + head.sha,
		"_links": map[string]any{
			"self": link(api), "html": link("https://github.com/" + rs.fullName + "/pull/" + num),
			"issue": link(s.ts.URL + "/repos/" + rs.fullName + "/issues/" + num), "commits": link(api + "/commits"),
			"comments":        link(s.ts.URL + "/repos/" + rs.fullName + "/issues/" + num + "/comments"),
			"review_comments": link(api + "/comments"),
			"review_comment":  link(s.ts.URL + "/repos/" + rs.fullName + "/pulls/comments{/number}"),
			"statuses":        link(s.ts.URL + "/repos/" + rs.fullName + "/statuses/" + head.sha),
		},
	}
}

func headRepoOrNull(repo map[string]any, deleted bool) any {
	if deleted {
		return nil
	}
	return repo
}

// association is the author_association GitHub reports for login on rs; callers hold s.mu.
func (s *Server) association(rs *repoState, login string) string {
	switch rs.perms[strings.ToLower(login)] {
	case "admin", "maintain", "write":
		return "COLLABORATOR"
	}
	if strings.EqualFold(login, rs.owner) {
		return "OWNER"
	}
	return "CONTRIBUTOR"
}

func (s *Server) prFromRoute(w http.ResponseWriter, r *http.Request, rs *repoState) *prState {
	n, err := strconv.Atoi(r.PathValue("number"))
	p := rs.pulls[n]
	if err != nil || p == nil {
		writeError(w, http.StatusNotFound, "Not Found")
		return nil
	}
	return p
}

func (s *Server) handleGetPull(w http.ResponseWriter, r *http.Request, rs *repoState) {
	if p := s.prFromRoute(w, r, rs); p != nil {
		writeJSON(w, http.StatusOK, s.prJSON(rs, p))
	}
}

func (s *Server) handlePullFiles(w http.ResponseWriter, r *http.Request, rs *repoState) {
	p := s.prFromRoute(w, r, rs)
	if p == nil {
		return
	}
	changes := rs.prFiles(p)
	if len(changes) > maxPRFiles {
		changes = changes[:maxPRFiles]
	}
	page := paginate(s, w, r, changes)
	head := rs.branches[p.head]
	out := make([]any, 0, len(page))
	for _, fc := range page {
		out = append(out, s.fileJSON(rs, head, fc))
	}
	writeJSON(w, http.StatusOK, out)
}

// maxPRCommits is how many commits GitHub lists for a pull request.
const maxPRCommits = 250

// handlePullCommits is GET pulls/{number}/commits: the commits on the head
// branch since the merge base, oldest first, at most 250, paginated.
func (s *Server) handlePullCommits(w http.ResponseWriter, r *http.Request, rs *repoState) {
	p := s.prFromRoute(w, r, rs)
	if p == nil {
		return
	}
	head := rs.commits[rs.branches[p.head]]
	commits := rs.commitsBetween(rs.mergeBase(rs.commits[rs.branches[p.base]], head), head)
	if len(commits) > maxPRCommits {
		commits = commits[:maxPRCommits]
	}
	out := []any{}
	for _, c := range paginate(s, w, r, commits) {
		out = append(out, s.commitJSON(rs, c))
	}
	writeJSON(w, http.StatusOK, out)
}

// handleListPulls is GET pulls?state=&head=&base=, newest first.
func (s *Server) handleListPulls(w http.ResponseWriter, r *http.Request, rs *repoState) {
	q := r.URL.Query()
	state := q.Get("state")
	if state == "" {
		state = "open"
	}
	var list []*prState
	for _, n := range slices.Sorted(maps.Keys(rs.pulls)) {
		p := rs.pulls[n]
		if state != "all" && p.state != state {
			continue
		}
		if b := q.Get("base"); b != "" && b != p.base {
			continue
		}
		if h := q.Get("head"); h != "" && h != p.head && !strings.HasSuffix(h, ":"+p.head) {
			continue
		}
		list = append(list, p)
	}
	slices.Reverse(list)
	out := []any{}
	for _, p := range paginate(s, w, r, list) {
		out = append(out, s.prJSON(rs, p))
	}
	writeJSON(w, http.StatusOK, out)
}
