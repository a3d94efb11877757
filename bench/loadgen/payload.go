package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/conveyor-dev/conveyor/internal/ghfake"
	"github.com/conveyor-dev/conveyor/internal/store"
)

// This file builds pull_request.synchronize deliveries in the shape GitHub
// sends them: every field of the pull request, its head and base with their
// full repository objects, the repository, the sender and the installation,
// as in the payload examples that octokit/webhooks keeps
// (payload-examples/api.github.com/pull_request/synchronize.payload.json).
// The values are this generator's own; the shape, and so the size (about
// 25 KB) and the work of parsing it, are GitHub's.

// syncPR is what one synthetic pull_request.synchronize payload is about.
type syncPR struct {
	Owner, Repo      string
	RepoID           int64
	InstallationID   int64
	Number           int
	ID               int64
	Title, Body      string
	Author           string
	HeadRef, HeadSHA string
	BaseRef, BaseSHA string
	BeforeSHA        string
	Created, Updated time.Time
}

// ghUser is a GitHub user object with every URL GitHub includes.
func ghUser(login string, id int64) map[string]any {
	api := "https://api.github.com/users/" + login
	return map[string]any{
		"login": login, "id": id, "node_id": nodeID("U_", id),
		"avatar_url":          fmt.Sprintf("https://avatars.githubusercontent.com/u/%d?v=4", id),
		"gravatar_id":         "",
		"url":                 api,
		"html_url":            "https://github.com/" + login,
		"followers_url":       api + "/followers",
		"following_url":       api + "/following{/other_user}",
		"gists_url":           api + "/gists{/gist_id}",
		"starred_url":         api + "/starred{/owner}{/repo}",
		"subscriptions_url":   api + "/subscriptions",
		"organizations_url":   api + "/orgs",
		"repos_url":           api + "/repos",
		"events_url":          api + "/events{/privacy}",
		"received_events_url": api + "/received_events",
		"type":                "User",
		"user_view_type":      "public",
		"site_admin":          false,
	}
}

func nodeID(prefix string, id int64) string { return fmt.Sprintf("%s%012x", prefix, id) }

// ghRepo is a repository object as webhooks carry it.
func ghRepo(p *syncPR, ownerID int64) map[string]any {
	full := p.Owner + "/" + p.Repo
	api := "https://api.github.com/repos/" + full
	r := map[string]any{
		"id": p.RepoID, "node_id": nodeID("R_", p.RepoID), "name": p.Repo, "full_name": full,
		"private": true, "owner": ghUser(p.Owner, ownerID), "html_url": "https://github.com/" + full,
		"description": "The acme shop monorepo", "fork": false, "url": api,
		"created_at": "2024-03-01T09:00:00Z", "updated_at": p.Updated.Format(time.RFC3339), "pushed_at": p.Updated.Format(time.RFC3339),
		"git_url": "git://github.com/" + full + ".git", "ssh_url": "git@github.com:" + full + ".git",
		"clone_url": "https://github.com/" + full + ".git", "svn_url": "https://github.com/" + full,
		"homepage": nil, "size": 48213, "stargazers_count": 12, "watchers_count": 12, "language": "Go",
		"has_issues": true, "has_projects": true, "has_downloads": true, "has_wiki": false, "has_pages": false,
		"has_discussions": false, "forks_count": 0, "mirror_url": nil, "archived": false, "disabled": false,
		"open_issues_count": 311, "license": nil, "allow_forking": false, "is_template": false,
		"web_commit_signoff_required": false, "topics": []string{}, "visibility": "private",
		"forks": 0, "open_issues": 311, "watchers": 12, "default_branch": p.BaseRef,
		"allow_squash_merge": true, "allow_merge_commit": false, "allow_rebase_merge": true,
		"allow_auto_merge": true, "delete_branch_on_merge": true, "allow_update_branch": true,
		"use_squash_pr_title_as_default": true, "squash_merge_commit_message": "COMMIT_MESSAGES",
		"squash_merge_commit_title": "COMMIT_OR_PR_TITLE", "merge_commit_message": "PR_TITLE", "merge_commit_title": "MERGE_MESSAGE",
	}
	for k, path := range map[string]string{
		"forks_url": "/forks", "keys_url": "/keys{/key_id}", "collaborators_url": "/collaborators{/collaborator}",
		"teams_url": "/teams", "hooks_url": "/hooks", "issue_events_url": "/issues/events{/number}",
		"events_url": "/events", "assignees_url": "/assignees{/user}", "branches_url": "/branches{/branch}",
		"tags_url": "/tags", "blobs_url": "/git/blobs{/sha}", "git_tags_url": "/git/tags{/sha}",
		"git_refs_url": "/git/refs{/sha}", "trees_url": "/git/trees{/sha}", "statuses_url": "/statuses/{sha}",
		"languages_url": "/languages", "stargazers_url": "/stargazers", "contributors_url": "/contributors",
		"subscribers_url": "/subscribers", "subscription_url": "/subscription", "commits_url": "/commits{/sha}",
		"git_commits_url": "/git/commits{/sha}", "comments_url": "/comments{/number}",
		"issue_comment_url": "/issues/comments{/number}", "contents_url": "/contents/{+path}",
		"compare_url": "/compare/{base}...{head}", "merges_url": "/merges", "archive_url": "/{archive_format}{/ref}",
		"downloads_url": "/downloads", "issues_url": "/issues{/number}", "pulls_url": "/pulls{/number}",
		"milestones_url": "/milestones{/number}", "notifications_url": "/notifications{?since,all,participating}",
		"labels_url": "/labels{/name}", "releases_url": "/releases{/id}", "deployments_url": "/deployments",
	} {
		r[k] = api + path
	}
	return r
}

// syncPayload renders the pull_request.synchronize delivery for p.
func syncPayload(p *syncPR) []byte {
	const ownerID, authorID, reviewerID = 90210, 1_000_001, 1_000_002
	full := p.Owner + "/" + p.Repo
	api := "https://api.github.com/repos/" + full
	html := "https://github.com/" + full
	repo := ghRepo(p, ownerID)
	author := ghUser(p.Author, authorID)
	num := fmt.Sprint(p.Number)
	pr := map[string]any{
		"url": api + "/pulls/" + num, "id": p.ID, "node_id": nodeID("PR_", p.ID),
		"html_url": html + "/pull/" + num, "diff_url": html + "/pull/" + num + ".diff",
		"patch_url": html + "/pull/" + num + ".patch", "issue_url": api + "/issues/" + num,
		"number": p.Number, "state": "open", "locked": false, "title": p.Title, "user": author, "body": p.Body,
		"created_at": p.Created.Format(time.RFC3339), "updated_at": p.Updated.Format(time.RFC3339),
		"closed_at": nil, "merged_at": nil, "merge_commit_sha": nil, "assignee": author,
		"assignees":           []any{author},
		"requested_reviewers": []any{ghUser("reviewer-one", reviewerID)},
		"requested_teams": []any{map[string]any{
			"name": "web", "id": 4242, "node_id": nodeID("T_", 4242), "slug": "web", "description": "Web team",
			"privacy": "closed", "notification_setting": "notifications_enabled",
			"url": "https://api.github.com/organizations/90210/team/4242", "html_url": "https://github.com/orgs/" + p.Owner + "/teams/web",
			"members_url":      "https://api.github.com/organizations/90210/team/4242/members{/member}",
			"repositories_url": "https://api.github.com/organizations/90210/team/4242/repos", "permission": "pull", "parent": nil,
		}},
		"labels": []any{map[string]any{
			"id": 5150, "node_id": nodeID("LA_", 5150), "url": api + "/labels/enhancement",
			"name": "enhancement", "color": "a2eeef", "default": true, "description": "New feature or request",
		}},
		"milestone": nil, "draft": false,
		"commits_url":         api + "/pulls/" + num + "/commits",
		"review_comments_url": api + "/pulls/" + num + "/comments",
		"review_comment_url":  api + "/pulls/comments{/number}",
		"comments_url":        api + "/issues/" + num + "/comments",
		"statuses_url":        api + "/statuses/" + p.HeadSHA,
		"head": map[string]any{
			"label": p.Owner + ":" + p.HeadRef, "ref": p.HeadRef, "sha": p.HeadSHA,
			"user": ghUser(p.Owner, ownerID), "repo": repo,
		},
		"base": map[string]any{
			"label": p.Owner + ":" + p.BaseRef, "ref": p.BaseRef, "sha": p.BaseSHA,
			"user": ghUser(p.Owner, ownerID), "repo": repo,
		},
		"_links": map[string]any{
			"self":            map[string]string{"href": api + "/pulls/" + num},
			"html":            map[string]string{"href": html + "/pull/" + num},
			"issue":           map[string]string{"href": api + "/issues/" + num},
			"comments":        map[string]string{"href": api + "/issues/" + num + "/comments"},
			"review_comments": map[string]string{"href": api + "/pulls/" + num + "/comments"},
			"review_comment":  map[string]string{"href": api + "/pulls/comments{/number}"},
			"commits":         map[string]string{"href": api + "/pulls/" + num + "/commits"},
			"statuses":        map[string]string{"href": api + "/statuses/" + p.HeadSHA},
		},
		"author_association": "MEMBER", "auto_merge": nil, "active_lock_reason": nil,
		"merged": false, "mergeable": nil, "rebaseable": nil, "mergeable_state": "unknown", "merged_by": nil,
		"comments": 3, "review_comments": 1, "maintainer_can_modify": false,
		"commits": 4, "additions": 120, "deletions": 37, "changed_files": 5,
	}
	payload := map[string]any{
		"action": "synchronize", "number": p.Number, "before": p.BeforeSHA, "after": p.HeadSHA,
		"pull_request": pr, "repository": repo,
		"organization": map[string]any{
			"login": p.Owner, "id": ownerID, "node_id": nodeID("O_", ownerID),
			"url": "https://api.github.com/orgs/" + p.Owner, "repos_url": "https://api.github.com/orgs/" + p.Owner + "/repos",
			"events_url": "https://api.github.com/orgs/" + p.Owner + "/events", "hooks_url": "https://api.github.com/orgs/" + p.Owner + "/hooks",
			"issues_url": "https://api.github.com/orgs/" + p.Owner + "/issues", "members_url": "https://api.github.com/orgs/" + p.Owner + "/members{/member}",
			"public_members_url": "https://api.github.com/orgs/" + p.Owner + "/public_members{/member}",
			"avatar_url":         fmt.Sprintf("https://avatars.githubusercontent.com/u/%d?v=4", ownerID), "description": "",
		},
		"sender":       author,
		"installation": map[string]any{"id": p.InstallationID, "node_id": nodeID("MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9u", p.InstallationID)},
	}
	b, err := json.Marshal(payload)
	if err != nil {
		panic(err)
	}
	return b
}

// prBody is a PR description of a realistic length.
func prBody(n int) string {
	return fmt.Sprintf("## What\n\nRework the checkout flow (part %d).\n\n## Why\n\n%s\n\n## Testing\n\n- [x] unit tests\n- [x] ran locally\n",
		n, strings.Repeat("The previous flow made two round trips per cart update; this one batches them. ", 8))
}

// loadConfig is the repository config of the sync mix: two apps, so the
// check worker classifies files and evaluates both.
const loadConfig = `version: 1
artifacts:
  web:
    kind: app
    paths: ["services/web/**"]
    owners: ["@acme/web"]
  api:
    kind: app
    paths: ["services/api/**"]
    owners: ["@acme/api"]
`

// seedPRs starts the GitHub emulator holding acme/shop with n open pull
// requests, each one commit ahead of main, and returns it with one
// synchronize payload per pull request.
func seedPRs(n int) (*ghfake.Server, [][]byte) {
	gh := ghfake.New(ghfake.WithAppSlug("conveyor"))
	const repo, installation = "acme/shop", 7
	gh.AddRepo(repo, "main", installation)
	cfg, web, api := loadConfig, "package web\n", "package api\n"
	gh.Commit(repo, "main", map[string]*string{".github/conveyor.yml": &cfg, "services/web/main.go": &web, "services/api/main.go": &api}, "initial import")
	gh.SetPermission(repo, "dev", "write")
	base := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	bodies := make([][]byte, 0, n)
	for i := 1; i <= n; i++ {
		branch := fmt.Sprintf("feature/checkout-%d", i)
		before := gh.Commit(repo, branch, map[string]*string{fmt.Sprintf("services/web/part%d.go", i): ptr("package web\n")}, "first try")
		change := fmt.Sprintf("package web // part %d, reworked\n", i)
		head := gh.Commit(repo, branch, map[string]*string{fmt.Sprintf("services/web/part%d.go", i): &change}, "address review")
		pr := gh.OpenPR(repo, branch, "main", fmt.Sprintf("Checkout flow, part %d", i), "dev")
		bodies = append(bodies, syncPayload(&syncPR{
			Owner: "acme", Repo: "shop", RepoID: 186853002, InstallationID: installation,
			Number: pr.Number, ID: pr.ID, Title: pr.Title, Body: prBody(i), Author: "dev",
			HeadRef: branch, HeadSHA: head, BaseRef: "main", BaseSHA: pr.BaseSHA, BeforeSHA: before,
			Created: base.Add(time.Duration(i) * time.Minute), Updated: base.Add(time.Duration(i)*time.Minute + time.Hour),
		}))
	}
	return gh, bodies
}

func ptr(s string) *string { return &s }

// backlog says how many stored deliveries the workers had processed.
func backlog(dbURL string) string {
	st, err := store.Open(context.Background(), dbURL)
	if err != nil {
		return "backlog unknown: " + err.Error()
	}
	defer st.Close()
	stored, processed, err := st.DeliveryCounts(context.Background())
	if err != nil {
		return "backlog unknown: " + err.Error()
	}
	return fmt.Sprintf("%d of %d stored deliveries processed", processed, stored)
}
