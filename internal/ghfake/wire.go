package ghfake

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// ts formats a time the way GitHub does (RFC 3339, UTC, seconds).
func ts(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"message":"ghfake: cannot encode response"}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// writeError writes GitHub's error body and returns false so callers can `return writeError(...)`.
func writeError(w http.ResponseWriter, status int, msg string) bool {
	writeJSON(w, status, map[string]any{"message": msg, "documentation_url": "https://docs.github.com/rest"})
	return false
}

// writeValidation writes a 422 the way GitHub reports invalid input.
func writeValidation(w http.ResponseWriter, msg string) {
	writeJSON(w, http.StatusUnprocessableEntity, map[string]any{
		"message":           msg,
		"errors":            []any{map[string]any{"resource": "Request", "code": "invalid", "message": msg}},
		"documentation_url": "https://docs.github.com/rest",
	})
}

// decodeBody decodes a JSON request body (an empty body is allowed) or writes GitHub's 400.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(v); err != nil && err.Error() != "EOF" {
		writeError(w, http.StatusBadRequest, "Problems parsing JSON")
		return false
	}
	return true
}

// paginate cuts items to the page asked for by page/per_page and sets GitHub's Link header.
func paginate[T any](s *Server, w http.ResponseWriter, r *http.Request, items []T) []T {
	q := r.URL.Query()
	per, _ := strconv.Atoi(q.Get("per_page"))
	if per <= 0 {
		per = 30
	}
	per = min(per, 100)
	page, _ := strconv.Atoi(q.Get("page"))
	page = max(page, 1)
	last := max((len(items)+per-1)/per, 1)
	link := func(p int, rel string) string {
		q2 := r.URL.Query()
		q2.Set("page", strconv.Itoa(p))
		q2.Set("per_page", strconv.Itoa(per))
		return fmt.Sprintf(`<%s?%s>; rel="%s"`, s.apiURL(r, r.URL.Path), q2.Encode(), rel)
	}
	var links []string
	if page > 1 {
		links = append(links, link(page-1, "prev"))
	}
	if page < last {
		links = append(links, link(page+1, "next"), link(last, "last"))
	}
	if page > 1 {
		links = append(links, link(1, "first"))
	}
	if len(links) > 0 {
		w.Header().Set("Link", strings.Join(links, ", "))
	}
	start := (page - 1) * per
	if start >= len(items) {
		return []T{}
	}
	return items[start:min(start+per, len(items))]
}

// numericID derives a stable positive ID from a string (user and workflow IDs).
func numericID(s string) int64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(strings.ToLower(s)))
	return int64(h.Sum64()>>34) + 1
}

func nodeID(kind string, id int64) string { return fmt.Sprintf("%s_kgDO%d", kind, id) }

func newGUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// userType is "Bot" for app users, else what was registered, else "User"; callers hold s.mu.
func (s *Server) userType(login string) string {
	if strings.HasSuffix(login, "[bot]") {
		return "Bot"
	}
	if t, ok := s.users[strings.ToLower(login)]; ok {
		return t
	}
	return "User"
}

// userJSON is a GitHub simple-user object; callers hold s.mu.
func (s *Server) userJSON(login string) map[string]any {
	id := numericID(login)
	api := s.ts.URL + "/users/" + url.PathEscape(login)
	return map[string]any{
		"login": login, "id": id, "node_id": nodeID("U", id), "type": s.userType(login),
		"site_admin": false, "gravatar_id": "",
		"url":        api,
		"html_url":   "https://github.com/" + url.PathEscape(login),
		"avatar_url": "https://avatars.githubusercontent.com/u/" + strconv.FormatInt(id, 10),
		// The link fields GitHub's simple-user requires, as GitHub spells them.
		"events_url": api + "/events{/privacy}", "followers_url": api + "/followers",
		"following_url": api + "/following{/other_user}", "gists_url": api + "/gists{/gist_id}",
		"organizations_url": api + "/orgs", "received_events_url": api + "/received_events",
		"repos_url": api + "/repos", "starred_url": api + "/starred{/owner}{/repo}",
		"subscriptions_url": api + "/subscriptions",
	}
}

// orgJSON is an organization as GitHub's simple-user shape carries it.
func (s *Server) orgJSON(login string) map[string]any {
	u := s.userJSON(login)
	u["type"] = "Organization"
	return u
}

// repoJSON is a GitHub repository object; callers hold s.mu.
func (s *Server) repoJSON(rs *repoState) map[string]any {
	owner := s.userJSON(rs.owner)
	if _, known := s.users[strings.ToLower(rs.owner)]; !known {
		owner["type"] = "Organization"
	}
	out := map[string]any{
		"id": rs.id, "node_id": nodeID("R", rs.id), "name": rs.name, "full_name": rs.fullName,
		"owner": owner, "private": true, "visibility": "private", "fork": false,
		"default_branch": rs.defaultBranch,
		"html_url":       "https://github.com/" + rs.fullName,
		"url":            s.ts.URL + "/repos/" + rs.fullName,
		"clone_url":      "https://github.com/" + rs.fullName + ".git",
		"created_at":     ts(rs.created), "updated_at": ts(rs.created), "pushed_at": ts(rs.created),
		"archived": false, "disabled": false,
		"description": nil, "homepage": nil, "language": nil, "license": nil, "mirror_url": nil,
		"size": 0, "forks": 0, "forks_count": 0, "open_issues": 0, "open_issues_count": 0,
		"stargazers_count": 0, "watchers": 0, "watchers_count": 0, "network_count": 0, "subscribers_count": 0,
		"has_issues": true, "has_projects": false, "has_wiki": false, "has_pages": false,
		"has_downloads": false, "has_discussions": false,
		"git_url": "git://github.com/" + rs.fullName + ".git", "ssh_url": "git@github.com:" + rs.fullName + ".git",
		"svn_url": "https://github.com/" + rs.fullName,
	}
	// The URL templates GitHub's repository objects require, as GitHub spells them.
	api := s.ts.URL + "/repos/" + rs.fullName
	for name, tmpl := range repoURLTemplates {
		out[name+"_url"] = api + tmpl
	}
	return out
}

var repoURLTemplates = map[string]string{
	"archive": "/{archive_format}{/ref}", "assignees": "/assignees{/user}", "blobs": "/git/blobs{/sha}",
	"branches": "/branches{/branch}", "collaborators": "/collaborators{/collaborator}",
	"comments": "/comments{/number}", "commits": "/commits{/sha}", "compare": "/compare/{base}...{head}",
	"contents": "/contents/{+path}", "contributors": "/contributors", "deployments": "/deployments",
	"downloads": "/downloads", "events": "/events", "forks": "/forks", "git_commits": "/git/commits{/sha}",
	"git_refs": "/git/refs{/sha}", "git_tags": "/git/tags{/sha}", "hooks": "/hooks",
	"issue_comment": "/issues/comments{/number}", "issue_events": "/issues/events{/number}",
	"issues": "/issues{/number}", "keys": "/keys{/key_id}", "labels": "/labels{/name}",
	"languages": "/languages", "merges": "/merges", "milestones": "/milestones{/number}",
	"notifications": "/notifications{?since,all,participating}", "pulls": "/pulls{/number}",
	"releases": "/releases{/id}", "stargazers": "/stargazers", "statuses": "/statuses/{sha}",
	"subscribers": "/subscribers", "subscription": "/subscription", "tags": "/tags",
	"teams": "/teams", "trees": "/git/trees{/sha}",
}

// botLogin is the app's bot user.
func (s *Server) botLogin() string { return s.appSlug + "[bot]" }

// actorLogin is who an authenticated call acts as: the app's bot user for installation tokens.
func (s *Server) actorLogin() string { return s.botLogin() }
