// Package pageurl holds the addresses of the dashboard's pages, so that check
// runs, status comments and Slack cards link to the same pages the dashboard
// serves without importing the dashboard itself.
package pageurl

import (
	"net/url"
	"strconv"
	"strings"
)

// Base is the dashboard's public address (CONVEYOR_PUBLIC_URL), e.g.
// "https://conveyor.example.com". The zero Base makes every link empty, so
// callers can leave a link out when no public address is configured.
type Base string

func (b Base) join(p string) string {
	if b == "" {
		return ""
	}
	return strings.TrimRight(string(b), "/") + p
}

// Overview is the dashboard's overview page.
func (b Base) Overview() string { return b.join("/") }

// Pull is the pull request page of repo ("owner/name") and number n; with a
// non-empty artifact the link points at that artifact's section.
func (b Base) Pull(repo string, n int, artifact string) string {
	u := b.join("/r/" + repo + "/pull/" + strconv.Itoa(n))
	if u != "" && artifact != "" {
		u += "#artifact-" + url.PathEscape(artifact)
	}
	return u
}

// Artifact is the page of one artifact of repo: its deployment history per
// environment and what /rollback would return to.
func (b Base) Artifact(repo, artifact string) string {
	return b.join("/r/" + repo + "/artifact/" + url.PathEscape(artifact))
}

// Audit is the audit page filtered by repo (empty for every repository).
func (b Base) Audit(repo string) string {
	if repo == "" {
		return b.join("/audit")
	}
	return b.join("/audit?repo=" + url.QueryEscape(repo))
}
