package ghfake

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Comment is an issue (pull request conversation) comment.
type Comment struct {
	ID        int64
	Repo      string
	Number    int
	Body      string
	Login     string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Reaction is an emoji reaction on an issue comment.
type Reaction struct {
	ID      int64
	Content string
	Login   string
}

var reactionContents = []string{"+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes"}

// Comments returns the comments on issue/PR number, oldest first.
func (s *Server) Comments(repo string, number int) []Comment {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Comment
	for _, c := range s.mustRepo(repo).commentsOn(number) {
		out = append(out, *c)
	}
	return out
}

// Reactions returns the reactions on an issue comment, oldest first.
func (s *Server) Reactions(repo string, commentID int64) []Reaction {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Reaction
	for _, r := range s.mustRepo(repo).reactions[commentID] {
		out = append(out, *r)
	}
	return out
}

// addComment stores a comment; callers hold s.mu.
func (s *Server) addComment(rs *repoState, number int, login, body string) *Comment {
	now := time.Now().UTC().Truncate(time.Second)
	c := &Comment{ID: s.newID(), Repo: rs.fullName, Number: number, Body: body, Login: login,
		CreatedAt: now, UpdatedAt: now}
	rs.comments = append(rs.comments, c)
	return c
}

func (rs *repoState) commentsOn(number int) []*Comment {
	var out []*Comment
	for _, c := range rs.comments {
		if c.Number == number {
			out = append(out, c)
		}
	}
	return out
}

// commentJSON is GitHub's issue-comment object; callers hold s.mu.
func (s *Server) commentJSON(rs *repoState, c *Comment) map[string]any {
	return map[string]any{
		"id": c.ID, "node_id": nodeID("IC", c.ID), "body": c.Body, "user": s.userJSON(c.Login),
		"url":                s.ts.URL + "/repos/" + rs.fullName + "/issues/comments/" + strconv.FormatInt(c.ID, 10),
		"html_url":           fmt.Sprintf("https://github.com/%s/pull/%d#issuecomment-%d", rs.fullName, c.Number, c.ID),
		"issue_url":          fmt.Sprintf("%s/repos/%s/issues/%d", s.ts.URL, rs.fullName, c.Number),
		"created_at":         ts(c.CreatedAt),
		"updated_at":         ts(c.UpdatedAt),
		"author_association": s.association(rs, c.Login),
	}
}

func validCommentBody(w http.ResponseWriter, body *string) bool {
	if body == nil || *body == "" {
		writeValidation(w, "Invalid request.\n\n\"body\" wasn't supplied.")
		return false
	}
	// The limit is in characters ("maximum is 65536 characters"), so a comment of
	// multi-byte text may be longer than 65536 bytes.
	if utf8.RuneCountInString(*body) > 65536 {
		writeValidation(w, "Validation Failed: body is too long (maximum is 65536 characters)")
		return false
	}
	return true
}

func (s *Server) handleCreateComment(w http.ResponseWriter, r *http.Request, rs *repoState) {
	n, _ := strconv.Atoi(r.PathValue("number"))
	if rs.pulls[n] == nil {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	var req struct {
		Body *string `json:"body"`
	}
	if !decodeBody(w, r, &req) || !validCommentBody(w, req.Body) {
		return
	}
	c := s.addComment(rs, n, s.actorLogin(), *req.Body)
	writeJSON(w, http.StatusCreated, s.commentJSON(rs, c))
}

func (rs *repoState) comment(id int64) *Comment {
	for _, c := range rs.comments {
		if c.ID == id {
			return c
		}
	}
	return nil
}

func (s *Server) handleUpdateComment(w http.ResponseWriter, r *http.Request, rs *repoState) {
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	c := rs.comment(id)
	if c == nil {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	var req struct {
		Body *string `json:"body"`
	}
	if !decodeBody(w, r, &req) || !validCommentBody(w, req.Body) {
		return
	}
	c.Body, c.UpdatedAt = *req.Body, time.Now().UTC().Truncate(time.Second)
	writeJSON(w, http.StatusOK, s.commentJSON(rs, c))
}

// handleIssuesGet serves both GET issues/comments/{id} and GET issues/{n}/comments, which
// share a shape that net/http cannot tell apart by pattern.
func (s *Server) handleIssuesGet(w http.ResponseWriter, r *http.Request, rs *repoState) {
	a, b := r.PathValue("a"), r.PathValue("b")
	if a == "comments" {
		id, _ := strconv.ParseInt(b, 10, 64)
		if c := rs.comment(id); c != nil {
			writeJSON(w, http.StatusOK, s.commentJSON(rs, c))
			return
		}
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	n, err := strconv.Atoi(a)
	if b != "comments" || err != nil || rs.pulls[n] == nil {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	comments := rs.commentsOn(n)
	// since: only comments last updated at or after the time (ISO 8601,
	// YYYY-MM-DDTHH:MM:SSZ), as GitHub's "List issue comments" documents.
	if v := r.URL.Query().Get("since"); v != "" {
		since, err := time.Parse(time.RFC3339, v)
		if err != nil {
			writeValidation(w, fmt.Sprintf("Invalid value for since: %q is not an ISO 8601 timestamp", v))
			return
		}
		var kept []*Comment
		for _, c := range comments {
			if !c.UpdatedAt.Before(since) {
				kept = append(kept, c)
			}
		}
		comments = kept
	}
	out := []any{}
	for _, c := range paginate(s, w, r, comments) {
		out = append(out, s.commentJSON(rs, c))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleCreateReaction(w http.ResponseWriter, r *http.Request, rs *repoState) {
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if rs.comment(id) == nil {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	var req struct {
		Content string `json:"content"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	if !slices.Contains(reactionContents, req.Content) {
		writeValidation(w, fmt.Sprintf("Validation Failed: content %q is not one of %s",
			req.Content, strings.Join(reactionContents, ", ")))
		return
	}
	login := s.actorLogin()
	for _, re := range rs.reactions[id] {
		if re.Login == login && re.Content == req.Content {
			writeJSON(w, http.StatusOK, s.reactionJSON(re))
			return
		}
	}
	re := &Reaction{ID: s.newID(), Content: req.Content, Login: login}
	rs.reactions[id] = append(rs.reactions[id], re)
	writeJSON(w, http.StatusCreated, s.reactionJSON(re))
}

func (s *Server) reactionJSON(re *Reaction) map[string]any {
	return map[string]any{"id": re.ID, "node_id": nodeID("REA", re.ID), "content": re.Content,
		"user": s.userJSON(re.Login), "created_at": ts(time.Now())}
}

// handlePermission is GET collaborators/{user}/permission.
func (s *Server) handlePermission(w http.ResponseWriter, r *http.Request, rs *repoState) {
	login := r.PathValue("user")
	if _, known := s.users[strings.ToLower(login)]; !known {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	role := rs.perms[strings.ToLower(login)]
	if role == "" {
		role = "none"
	}
	perm := role
	switch role {
	case "maintain":
		perm = "write"
	case "triage":
		perm = "read"
	}
	user := s.userJSON(login)
	user["role_name"] = role // the collaborator object carries the role too
	writeJSON(w, http.StatusOK, map[string]any{"permission": perm, "role_name": role, "user": user})
}

// handleTeamMembership is GET /orgs/{org}/teams/{slug}/memberships/{user}.
func (s *Server) handleTeamMembership(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	org, slug, login := r.PathValue("org"), r.PathValue("slug"), r.PathValue("user")
	role, ok := s.teams[strings.ToLower(org+"/"+slug)][strings.ToLower(login)]
	if !ok {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"url":   fmt.Sprintf("%s/orgs/%s/teams/%s/memberships/%s", s.ts.URL, org, slug, login),
		"role":  role,
		"state": "active",
	})
}
