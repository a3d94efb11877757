package ghfake

import (
	"net/http"
	"slices"
	"time"
)

// Status is a commit status (the pre-Checks API).
type Status struct {
	ID          int64
	SHA         string
	State       string
	Context     string
	Description string
	TargetURL   string
	Creator     string
	CreatedAt   time.Time
}

// Statuses returns the commit statuses posted on sha, oldest first.
func (s *Server) Statuses(repo, sha string) []Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Status
	for _, st := range s.mustRepo(repo).statuses {
		if st.SHA == sha {
			out = append(out, *st)
		}
	}
	return out
}

// SetStatus posts a commit status as another integration (e.g. external CI) would.
func (s *Server) SetStatus(repo, sha, context, state string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.mustRepo(repo)
	rs.statuses = append(rs.statuses, &Status{ID: s.newID(), SHA: sha, State: state, Context: context,
		Creator: "ci-bot", CreatedAt: time.Now().UTC()})
}

func (s *Server) handleCreateStatus(w http.ResponseWriter, r *http.Request, rs *repoState) {
	var req struct {
		State       string `json:"state"`
		TargetURL   string `json:"target_url"`
		Description string `json:"description"`
		Context     string `json:"context"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	sha := r.PathValue("sha")
	if _, ok := rs.commits[sha]; !ok {
		writeValidation(w, "No commit found for SHA: "+sha)
		return
	}
	if !slices.Contains([]string{"error", "failure", "pending", "success"}, req.State) {
		writeValidation(w, "Validation Failed: state must be one of error, failure, pending, success")
		return
	}
	if len(req.Description) > 140 {
		writeValidation(w, "Validation Failed: description is too long (maximum is 140 characters)")
		return
	}
	if req.Context == "" {
		req.Context = "default"
	}
	st := &Status{ID: s.newID(), SHA: sha, State: req.State, Context: req.Context, Description: req.Description,
		TargetURL: req.TargetURL, Creator: s.actorLogin(), CreatedAt: time.Now().UTC().Truncate(time.Second)}
	rs.statuses = append(rs.statuses, st)
	writeJSON(w, http.StatusCreated, s.statusJSON(rs, st))
}

func (s *Server) statusJSON(rs *repoState, st *Status) map[string]any {
	return map[string]any{
		"id": st.ID, "node_id": nodeID("SC", st.ID), "state": st.State, "context": st.Context,
		"description": st.Description, "target_url": st.TargetURL, "creator": s.userJSON(st.Creator),
		"created_at": ts(st.CreatedAt), "updated_at": ts(st.CreatedAt),
		"url":        s.ts.URL + "/repos/" + rs.fullName + "/statuses/" + st.SHA,
		"avatar_url": s.userJSON(st.Creator)["avatar_url"],
	}
}

// latestStatuses is the newest status per context on sha, newest first; callers hold s.mu.
func (rs *repoState) latestStatuses(sha string) []*Status {
	seen := map[string]bool{}
	var out []*Status
	for i := len(rs.statuses) - 1; i >= 0; i-- {
		st := rs.statuses[i]
		if st.SHA == sha && !seen[st.Context] {
			seen[st.Context] = true
			out = append(out, st)
		}
	}
	return out
}

// combinedStatus is GET commits/{ref}/status.
func (s *Server) combinedStatus(w http.ResponseWriter, r *http.Request, rs *repoState, ref string) {
	c := rs.resolve(ref)
	if c == nil {
		writeError(w, http.StatusNotFound, "No commit found for SHA: "+ref)
		return
	}
	latest := rs.latestStatuses(c.sha)
	state := "success"
	if len(latest) == 0 {
		state = "pending"
	}
	for _, st := range latest {
		switch st.State {
		case "error", "failure":
			state = "failure"
		case "pending":
			if state != "failure" {
				state = "pending"
			}
		}
	}
	list := []any{}
	for _, st := range latest {
		list = append(list, s.statusJSON(rs, st))
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"state": state, "sha": c.sha, "total_count": len(latest), "statuses": list,
		"repository": s.repoJSON(rs),
		"commit_url": s.ts.URL + "/repos/" + rs.fullName + "/commits/" + c.sha,
		"url":        s.ts.URL + "/repos/" + rs.fullName + "/commits/" + c.sha + "/status",
	})
}

// listStatuses is GET commits/{ref}/statuses, newest first.
func (s *Server) listStatuses(w http.ResponseWriter, r *http.Request, rs *repoState, ref string) {
	c := rs.resolve(ref)
	if c == nil {
		writeError(w, http.StatusNotFound, "No commit found for SHA: "+ref)
		return
	}
	var all []*Status
	for i := len(rs.statuses) - 1; i >= 0; i-- {
		if rs.statuses[i].SHA == c.sha {
			all = append(all, rs.statuses[i])
		}
	}
	out := []any{}
	for _, st := range paginate(s, w, r, all) {
		out = append(out, s.statusJSON(rs, st))
	}
	writeJSON(w, http.StatusOK, out)
}
