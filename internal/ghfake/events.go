package ghfake

import (
	"fmt"
	"strings"
	"time"
)

// Payload builders produce the JSON bodies GitHub sends for each event, from the emulator's
// current state; pass the result to Send. They panic on unknown repos, PRs or IDs because
// that is a mistake in the test.

// basePayload carries installation, repository and sender; callers hold s.mu.
func (s *Server) basePayload(rs *repoState, sender string) map[string]any {
	return map[string]any{
		"installation": map[string]any{"id": rs.installationID, "node_id": nodeID("MDIz", rs.installationID)},
		"repository":   s.repoJSON(rs),
		"organization": map[string]any{"login": rs.owner, "id": numericID(rs.owner)},
		"sender":       s.userJSON(sender),
	}
}

func (s *Server) prState(repo string, number int) (*repoState, *prState) {
	rs := s.mustRepo(repo)
	p := rs.pulls[number]
	if p == nil {
		panic(fmt.Sprintf("ghfake: %s has no pull request #%d; open it with OpenPR first", repo, number))
	}
	return rs, p
}

// PullRequestEvent is a pull_request webhook (opened, synchronize, reopened, closed...) for pr.
func (s *Server) PullRequestEvent(action string, pr *PR) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs, p := s.prState(pr.Repo, pr.Number)
	out := s.basePayload(rs, p.author)
	out["action"] = action
	out["number"] = p.number
	out["pull_request"] = s.prJSON(rs, p)
	if action == "synchronize" {
		head := rs.commits[rs.branches[p.head]]
		out["before"], out["after"] = head.parent, head.sha
	}
	return out
}

// IssueCommentEvent is an issue_comment webhook on pr. With commentID 0 (or an unknown ID)
// and action "created" the comment is created in state; with "edited" its body is updated.
func (s *Server) IssueCommentEvent(action string, pr *PR, commentID int64, body, login string) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs, p := s.prState(pr.Repo, pr.Number)
	s.registerUser(login)
	c := rs.comment(commentID)
	switch {
	case c == nil:
		c = s.addComment(rs, p.number, login, body)
		if commentID != 0 {
			c.ID = commentID
		}
	case action == "edited":
		c.Body, c.UpdatedAt = body, time.Now().UTC().Truncate(time.Second)
	}
	out := s.basePayload(rs, login)
	out["action"] = action
	issue := s.prJSON(rs, p)
	issue["pull_request"] = map[string]any{"url": issue["url"], "html_url": issue["html_url"]}
	issue["url"] = issue["issue_url"]
	out["issue"] = issue
	out["comment"] = s.commentJSON(rs, c)
	return out
}

// CommentOnPR creates a comment by login on PR number and returns its ID and the
// issue_comment "created" payload.
func (s *Server) CommentOnPR(repo string, number int, login, body string) (int64, map[string]any) {
	p := s.PR(repo, number)
	payload := s.IssueCommentEvent("created", p, 0, body, login)
	return payload["comment"].(map[string]any)["id"].(int64), payload
}

// CheckRunEvent is a check_run webhook for a stored check run; for action
// "requested_action" pass the clicked button's identifier.
func (s *Server) CheckRunEvent(action, repo string, checkRunID int64, identifier, login string) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.mustRepo(repo)
	var cr *CheckRun
	for _, c := range rs.checkRuns {
		if c.ID == checkRunID {
			cr = c
		}
	}
	if cr == nil {
		panic(fmt.Sprintf("ghfake: %s has no check run %d", repo, checkRunID))
	}
	out := s.basePayload(rs, login)
	out["action"] = action
	out["check_run"] = s.checkRunJSON(rs, cr)
	if action == "requested_action" {
		out["requested_action"] = map[string]any{"identifier": identifier}
	}
	return out
}

// StatusEvent posts a commit status as an outside integration and returns the status webhook.
func (s *Server) StatusEvent(repo, sha, context, state string) map[string]any {
	s.SetStatus(repo, sha, context, state)
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.mustRepo(repo)
	st := rs.latestStatuses(sha)[0]
	for _, cand := range rs.latestStatuses(sha) {
		if cand.Context == context {
			st = cand
		}
	}
	out := s.basePayload(rs, st.Creator)
	out["id"] = st.ID
	out["sha"] = sha
	out["state"] = state
	out["context"] = context
	out["description"] = st.Description
	out["target_url"] = st.TargetURL
	var branches []any
	for name, head := range rs.branches {
		if head == sha {
			branches = append(branches, map[string]any{"name": name, "commit": map[string]any{"sha": sha}})
		}
	}
	out["branches"] = branches
	out["commit"] = s.commitJSON(rs, rs.commits[sha])
	out["created_at"], out["updated_at"] = ts(st.CreatedAt), ts(st.CreatedAt)
	return out
}

// installationJSON is the full installation object; callers hold s.mu.
func (s *Server) installationJSON(in *installationState) map[string]any {
	account := s.userJSON(in.account)
	if _, known := s.users[strings.ToLower(in.account)]; !known {
		account["type"] = "Organization"
	}
	return map[string]any{
		"id": in.id, "node_id": nodeID("MDIz", in.id), "app_id": s.appID, "app_slug": s.appSlug,
		"account": account, "target_type": account["type"], "repository_selection": "selected",
		"permissions": appPermissions(), "events": appEvents(),
		"access_tokens_url": fmt.Sprintf("%s/app/installations/%d/access_tokens", s.ts.URL, in.id),
		"html_url":          fmt.Sprintf("https://github.com/settings/installations/%d", in.id),
		"repositories_url":  s.ts.URL + "/installation/repositories",
		"target_id":         account["id"], "single_file_name": nil, "suspended_by": nil, "suspended_at": nil,
		"created_at": "2024-01-01T00:00:00Z", "updated_at": "2024-01-01T00:00:00Z",
	}
}

func (s *Server) mustInstallation(id int64) *installationState {
	in := s.installations[id]
	if in == nil {
		panic(fmt.Sprintf("ghfake: no installation %d; AddRepo creates it", id))
	}
	return in
}

// InstallationEvent is an installation webhook (created, deleted, suspend...) listing its repos.
func (s *Server) InstallationEvent(action string, installationID int64) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.mustInstallation(installationID)
	var repos []any
	for _, rs := range s.sortedRepos() {
		if rs.installationID == installationID {
			repos = append(repos, map[string]any{"id": rs.id, "name": rs.name, "full_name": rs.fullName, "private": true})
		}
	}
	return map[string]any{"action": action, "installation": s.installationJSON(in), "repositories": repos,
		"sender": s.userJSON(in.account)}
}

// InstallationRepositoriesEvent is an installation_repositories webhook (added or removed).
func (s *Server) InstallationRepositoriesEvent(action string, installationID int64, added, removed []string) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.mustInstallation(installationID)
	list := func(names []string) []any {
		out := []any{}
		for _, n := range names {
			rs := s.mustRepo(n)
			out = append(out, map[string]any{"id": rs.id, "name": rs.name, "full_name": rs.fullName, "private": true})
		}
		return out
	}
	return map[string]any{"action": action, "installation": s.installationJSON(in),
		"repository_selection": "selected", "repositories_added": list(added), "repositories_removed": list(removed),
		"sender": s.userJSON(in.account)}
}

// WorkflowRunEvent is a workflow_run webhook (requested, in_progress, completed) for a run.
func (s *Server) WorkflowRunEvent(action, repo string, runID int64) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.mustRepo(repo)
	for _, run := range rs.runs {
		if run.ID == runID {
			return s.workflowRunPayload(rs, run, action)
		}
	}
	panic(fmt.Sprintf("ghfake: %s has no workflow run %d", repo, runID))
}

// PushEvent is a push webhook for the commits on branch from before (exclusive) to its head.
func (s *Server) PushEvent(repo, branch, before string) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.mustRepo(repo)
	head := rs.commits[rs.branches[branch]]
	if head == nil {
		panic(fmt.Sprintf("ghfake: %s has no branch %q", repo, branch))
	}
	var commits []any
	for _, c := range rs.commitsBetween(rs.commits[before], head) {
		commits = append(commits, map[string]any{"id": c.sha, "message": c.message, "timestamp": ts(c.time),
			"author": map[string]any{"name": c.author, "username": c.author}, "distinct": true})
	}
	out := s.basePayload(rs, head.author)
	out["ref"] = "refs/heads/" + branch
	out["before"], out["after"] = before, head.sha
	out["commits"] = commits
	out["head_commit"] = map[string]any{"id": head.sha, "message": head.message, "timestamp": ts(head.time)}
	out["pusher"] = map[string]any{"name": head.author}
	return out
}

// MembershipEvent is a membership webhook; "added" and "removed" also change team state.
func (s *Server) MembershipEvent(action, org, slug, login string) map[string]any {
	switch action {
	case "added":
		s.AddTeamMember(org, slug, login)
	case "removed":
		s.RemoveTeamMember(org, slug, login)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var instID int64
	for _, in := range s.installations {
		if strings.EqualFold(in.account, org) {
			instID = in.id
		}
	}
	return map[string]any{
		"action": action, "scope": "team", "member": s.userJSON(login), "sender": s.userJSON(org),
		"team":         map[string]any{"slug": slug, "name": slug, "id": numericID(org + "/" + slug)},
		"organization": map[string]any{"login": org, "id": numericID(org)},
		"installation": map[string]any{"id": instID},
	}
}
