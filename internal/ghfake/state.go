package ghfake

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// repoState is one repository: snapshot commits, branches and everything hung off them.
type repoState struct {
	id             int64
	owner, name    string
	fullName       string
	defaultBranch  string
	installationID int64
	created        time.Time

	commits  map[string]*commitState
	trees    map[string]string // tree SHA -> commit SHA
	branches map[string]string // branch -> head commit SHA
	pulls    map[int]*prState
	nextNum  int
	perms    map[string]string // lower login -> role

	checkRuns   []*CheckRun
	statuses    []*Status
	comments    []*Comment
	reactions   map[int64][]*Reaction
	deployments []*Deployment
	depStatuses map[int64][]*DeploymentStatus
	runs        []*WorkflowRun
	dispatches  []WorkflowDispatch
	artifacts   []*Artifact
}

// commitState is a commit with a full snapshot of the tree (path -> content).
type commitState struct {
	sha     string
	tree    string
	parent  string
	files   map[string]string
	message string
	author  string
	time    time.Time
}

// AddRepo creates a repository (with an empty initial commit on defaultBranch) that
// installationID can access; the installation is created if needed. It panics on a
// malformed fullName, because that is a mistake in the test, not input to validate.
func (s *Server) AddRepo(fullName, defaultBranch string, installationID int64) {
	owner, name, ok := strings.Cut(fullName, "/")
	if !ok || owner == "" || name == "" || strings.Contains(name, "/") {
		panic(fmt.Sprintf("ghfake: AddRepo(%q): write the repository as owner/name", fullName))
	}
	if defaultBranch == "" {
		defaultBranch = "main"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.installations[installationID] == nil {
		s.installations[installationID] = &installationState{id: installationID, account: owner}
	}
	rs := &repoState{
		id: s.newID(), owner: owner, name: name, fullName: fullName, defaultBranch: defaultBranch,
		installationID: installationID, created: time.Now(),
		commits: map[string]*commitState{}, trees: map[string]string{}, branches: map[string]string{},
		pulls: map[int]*prState{}, nextNum: 1, perms: map[string]string{},
		reactions: map[int64][]*Reaction{}, depStatuses: map[int64][]*DeploymentStatus{},
	}
	s.repos[strings.ToLower(fullName)] = rs
	c := rs.addCommit("", map[string]string{}, "Initial commit", owner)
	rs.branches[defaultBranch] = c.sha
}

// Commit applies files (nil content deletes the path) on top of branch and returns the new
// commit SHA. A branch that does not exist yet forks from the default branch.
func (s *Server) Commit(repo, branch string, files map[string]*string, message string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.mustRepo(repo)
	parent, ok := rs.branches[branch]
	if !ok {
		parent = rs.branches[rs.defaultBranch]
	}
	next := maps.Clone(rs.commits[parent].files)
	for p, content := range files {
		p = strings.Trim(p, "/")
		if content == nil {
			delete(next, p)
		} else {
			next[p] = *content
		}
	}
	c := rs.addCommit(parent, next, message, "octocat")
	rs.branches[branch] = c.sha
	// A push to a pull request's head branch updates the pull request, as
	// GitHub's updated_at shows.
	now := time.Now()
	for _, p := range rs.pulls {
		if p.head == branch && p.state == "open" {
			p.updated = now
		}
	}
	return c.sha
}

// Branch creates newBranch pointing at the head of fromBranch.
func (s *Server) Branch(repo, newBranch, fromBranch string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.mustRepo(repo)
	sha, ok := rs.branches[fromBranch]
	if !ok {
		panic(fmt.Sprintf("ghfake: Branch: %s has no branch %q to fork from", repo, fromBranch))
	}
	rs.branches[newBranch] = sha
}

// BranchSHA returns the head commit of a branch, or "" if it does not exist.
func (s *Server) BranchSHA(repo, branch string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mustRepo(repo).branches[branch]
}

// AddUser registers a login with its type ("User", "Bot" or "Organization").
func (s *Server) AddUser(login, typ string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[strings.ToLower(login)] = typ
}

// SetPermission gives login a role on repo: admin, maintain, write, triage, read or none.
func (s *Server) SetPermission(repo, login, perm string) {
	if !slices.Contains([]string{"admin", "maintain", "write", "triage", "read", "none"}, perm) {
		panic(fmt.Sprintf("ghfake: SetPermission(%q): write admin, maintain, write, triage, read or none", perm))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.registerUser(login)
	s.mustRepo(repo).perms[strings.ToLower(login)] = perm
}

// AddTeamMember makes login an active member of the team org/slug.
func (s *Server) AddTeamMember(org, slug, login string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.registerUser(login)
	key := strings.ToLower(org + "/" + slug)
	if s.teams[key] == nil {
		s.teams[key] = map[string]string{}
	}
	s.teams[key][strings.ToLower(login)] = "member"
}

// RemoveTeamMember takes login out of the team org/slug.
func (s *Server) RemoveTeamMember(org, slug, login string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.teams[strings.ToLower(org+"/"+slug)], strings.ToLower(login))
}

// registerUser records that a login exists; callers hold s.mu.
func (s *Server) registerUser(login string) {
	if _, ok := s.users[strings.ToLower(login)]; !ok {
		s.users[strings.ToLower(login)] = s.userType(login)
	}
}

// mustRepo finds a repo for the test-facing API; callers hold s.mu.
func (s *Server) mustRepo(fullName string) *repoState {
	rs := s.repos[strings.ToLower(fullName)]
	if rs == nil {
		panic(fmt.Sprintf("ghfake: no repository %q; call AddRepo(%q, \"main\", installationID) first", fullName, fullName))
	}
	return rs
}

// sortedRepos lists repos by ID; callers hold s.mu.
func (s *Server) sortedRepos() []*repoState {
	out := slices.Collect(maps.Values(s.repos))
	slices.SortFunc(out, func(a, b *repoState) int { return int(a.id - b.id) })
	return out
}

func (rs *repoState) addCommit(parent string, files map[string]string, message, author string) *commitState {
	now := time.Now()
	h := sha1.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%d\x00%d", parent, message, author, now.UnixNano(), len(rs.commits))
	treeH := sha1.New()
	for _, p := range slices.Sorted(maps.Keys(files)) {
		fmt.Fprintf(h, "%s\x00%s\x00", p, blobSHA(files[p]))
		fmt.Fprintf(treeH, "%s\x00%s\x00", p, blobSHA(files[p]))
	}
	fmt.Fprintf(treeH, "%s", rs.fullName)
	c := &commitState{sha: hex.EncodeToString(h.Sum(nil)), tree: hex.EncodeToString(treeH.Sum(nil)),
		parent: parent, files: files, message: message, author: author, time: now}
	rs.commits[c.sha] = c
	if _, ok := rs.trees[c.tree]; !ok {
		rs.trees[c.tree] = c.sha
	}
	return c
}

// resolve finds the commit for a branch, refs/heads/ name, full or abbreviated SHA, or tree SHA.
func (rs *repoState) resolve(ref string) *commitState {
	ref = strings.TrimPrefix(ref, "refs/heads/")
	if ref == "" || ref == "HEAD" {
		ref = rs.defaultBranch
	}
	if sha, ok := rs.branches[ref]; ok {
		return rs.commits[sha]
	}
	if c, ok := rs.commits[ref]; ok {
		return c
	}
	if sha, ok := rs.trees[ref]; ok {
		return rs.commits[sha]
	}
	if len(ref) >= 7 && len(ref) < 40 {
		for sha, c := range rs.commits {
			if strings.HasPrefix(sha, strings.ToLower(ref)) {
				return c
			}
		}
	}
	return nil
}

// ancestry lists a commit and its ancestors, newest first.
func (rs *repoState) ancestry(c *commitState) []*commitState {
	var out []*commitState
	for c != nil {
		out = append(out, c)
		c = rs.commits[c.parent]
	}
	return out
}

// mergeBase is the newest common ancestor of a and b.
func (rs *repoState) mergeBase(a, b *commitState) *commitState {
	seen := map[string]bool{}
	for _, c := range rs.ancestry(a) {
		seen[c.sha] = true
	}
	for _, c := range rs.ancestry(b) {
		if seen[c.sha] {
			return c
		}
	}
	return nil
}

// commitsBetween lists commits reachable from head but not from base, oldest first.
func (rs *repoState) commitsBetween(base, head *commitState) []*commitState {
	var out []*commitState
	for _, c := range rs.ancestry(head) {
		if base != nil && c.sha == base.sha {
			break
		}
		out = append(out, c)
	}
	slices.Reverse(out)
	return out
}

// blobSHA is git's blob object ID for content.
func blobSHA(content string) string {
	sum := sha1.Sum([]byte(fmt.Sprintf("blob %d\x00%s", len(content), content)))
	return hex.EncodeToString(sum[:])
}
