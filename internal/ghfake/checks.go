package ghfake

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// CheckRun is a check run as the emulator stores it.
type CheckRun struct {
	ID          int64
	Repo        string
	Name        string
	HeadSHA     string
	Status      string
	Conclusion  string
	DetailsURL  string
	ExternalID  string
	Title       string
	Summary     string
	Text        string
	Annotations []Annotation
	Actions     []CheckAction
	StartedAt   time.Time
	CompletedAt time.Time
}

// Annotation is a check run annotation (GitHub accepts at most 50 per request).
type Annotation struct {
	Path            string `json:"path"`
	StartLine       int    `json:"start_line"`
	EndLine         int    `json:"end_line"`
	AnnotationLevel string `json:"annotation_level"`
	Message         string `json:"message"`
	Title           string `json:"title,omitempty"`
	RawDetails      string `json:"raw_details,omitempty"`
}

// CheckAction is a button on a check run; clicking it sends check_run.requested_action.
type CheckAction struct {
	Label       string `json:"label"`
	Description string `json:"description"`
	Identifier  string `json:"identifier"`
}

type checkRunRequest struct {
	Name        *string    `json:"name"`
	HeadSHA     *string    `json:"head_sha"`
	DetailsURL  *string    `json:"details_url"`
	ExternalID  *string    `json:"external_id"`
	Status      *string    `json:"status"`
	Conclusion  *string    `json:"conclusion"`
	StartedAt   *time.Time `json:"started_at"`
	CompletedAt *time.Time `json:"completed_at"`
	Output      *struct {
		Title       *string      `json:"title"`
		Summary     *string      `json:"summary"`
		Text        *string      `json:"text"`
		Annotations []Annotation `json:"annotations"`
	} `json:"output"`
	Actions []CheckAction `json:"actions"`
}

var (
	checkStatuses    = []string{"queued", "in_progress", "completed", "waiting", "requested", "pending"}
	checkConclusions = []string{"action_required", "cancelled", "failure", "neutral", "success", "skipped", "stale", "timed_out"}
)

// CheckRuns returns the check runs on a commit SHA, oldest first.
func (s *Server) CheckRuns(repo, sha string) []CheckRun {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []CheckRun
	for _, cr := range s.mustRepo(repo).checkRuns {
		if cr.HeadSHA == sha {
			out = append(out, cloneCheckRun(cr))
		}
	}
	return out
}

func cloneCheckRun(cr *CheckRun) CheckRun {
	c := *cr
	c.Annotations = slices.Clone(cr.Annotations)
	c.Actions = slices.Clone(cr.Actions)
	return c
}

// applyCheckRun validates req and applies it to cr; it returns GitHub's 422 message on bad input.
func applyCheckRun(cr *CheckRun, req *checkRunRequest) string {
	if req.Name != nil {
		if *req.Name == "" {
			return "Invalid request.\n\n\"name\" wasn't supplied."
		}
		cr.Name = *req.Name
	}
	if req.DetailsURL != nil {
		cr.DetailsURL = *req.DetailsURL
	}
	if req.ExternalID != nil {
		cr.ExternalID = *req.ExternalID
	}
	if req.Status != nil {
		if !slices.Contains(checkStatuses, *req.Status) {
			return fmt.Sprintf("Invalid request.\n\n%q is not a member of %v", *req.Status, checkStatuses)
		}
		cr.Status = *req.Status
	}
	if req.StartedAt != nil {
		cr.StartedAt = *req.StartedAt
	}
	if req.Conclusion != nil && *req.Conclusion != "" {
		if !slices.Contains(checkConclusions, *req.Conclusion) {
			return fmt.Sprintf("Invalid request.\n\n%q is not a member of %v", *req.Conclusion, checkConclusions)
		}
		cr.Conclusion = *req.Conclusion
		cr.Status = "completed"
	}
	if cr.Status == "completed" {
		if cr.Conclusion == "" {
			return "Invalid request.\n\n\"conclusion\" wasn't supplied; a completed check run needs one."
		}
		if req.CompletedAt != nil {
			cr.CompletedAt = *req.CompletedAt
		} else if cr.CompletedAt.IsZero() {
			cr.CompletedAt = time.Now().UTC().Truncate(time.Second)
		}
	}
	if o := req.Output; o != nil {
		if o.Title == nil || o.Summary == nil {
			return "Invalid request.\n\nFor 'properties/output', \"title\" and \"summary\" are both required."
		}
		// GitHub counts characters, not bytes: "Maximum length: 65535 characters"
		// (REST reference, create a check run, output.summary and output.text).
		if utf8.RuneCountInString(*o.Summary) > 65535 || (o.Text != nil && utf8.RuneCountInString(*o.Text) > 65535) {
			return "Invalid request.\n\nOnly 65535 characters are allowed in output.summary and output.text."
		}
		if len(o.Annotations) > 50 {
			return "Invalid request.\n\nOnly 50 annotations are allowed per request; send the rest in further updates."
		}
		for _, a := range o.Annotations {
			if a.Path == "" || a.Message == "" || a.StartLine == 0 || a.EndLine == 0 ||
				!slices.Contains([]string{"notice", "warning", "failure"}, a.AnnotationLevel) {
				return "Invalid request.\n\nEach annotation needs path, start_line, end_line, message and annotation_level notice|warning|failure."
			}
		}
		cr.Title, cr.Summary = *o.Title, *o.Summary
		if o.Text != nil {
			cr.Text = *o.Text
		}
		cr.Annotations = append(cr.Annotations, o.Annotations...)
	}
	if req.Actions != nil {
		if len(req.Actions) > 3 {
			return "Invalid request.\n\nOnly 3 actions are allowed on a check run."
		}
		for _, a := range req.Actions {
			if a.Label == "" || utf8.RuneCountInString(a.Label) > 20 || a.Description == "" || utf8.RuneCountInString(a.Description) > 40 ||
				a.Identifier == "" || utf8.RuneCountInString(a.Identifier) > 20 {
				return "Invalid request.\n\nEach action needs label (max 20 chars), description (max 40) and identifier (max 20)."
			}
		}
		cr.Actions = slices.Clone(req.Actions)
	}
	return ""
}

func (s *Server) handleCreateCheckRun(w http.ResponseWriter, r *http.Request, rs *repoState) {
	var req checkRunRequest
	if !decodeBody(w, r, &req) {
		return
	}
	if req.Name == nil || req.HeadSHA == nil {
		writeValidation(w, "Invalid request.\n\n\"name\" and \"head_sha\" are required.")
		return
	}
	if _, ok := rs.commits[*req.HeadSHA]; !ok {
		writeValidation(w, "No commit found for SHA: "+*req.HeadSHA)
		return
	}
	cr := &CheckRun{ID: s.newID(), Repo: rs.fullName, HeadSHA: *req.HeadSHA, Status: "queued",
		StartedAt: time.Now().UTC().Truncate(time.Second)}
	if msg := applyCheckRun(cr, &req); msg != "" {
		writeValidation(w, msg)
		return
	}
	rs.checkRuns = append(rs.checkRuns, cr)
	writeJSON(w, http.StatusCreated, s.checkRunJSON(rs, cr))
}

func (s *Server) checkRunFromRoute(w http.ResponseWriter, r *http.Request, rs *repoState) *CheckRun {
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	for _, cr := range rs.checkRuns {
		if cr.ID == id {
			return cr
		}
	}
	writeError(w, http.StatusNotFound, "Not Found")
	return nil
}

func (s *Server) handleUpdateCheckRun(w http.ResponseWriter, r *http.Request, rs *repoState) {
	cr := s.checkRunFromRoute(w, r, rs)
	if cr == nil {
		return
	}
	var req checkRunRequest
	if !decodeBody(w, r, &req) {
		return
	}
	updated := cloneCheckRun(cr)
	if msg := applyCheckRun(&updated, &req); msg != "" {
		writeValidation(w, msg)
		return
	}
	*cr = updated
	writeJSON(w, http.StatusOK, s.checkRunJSON(rs, cr))
}

func (s *Server) handleGetCheckRun(w http.ResponseWriter, r *http.Request, rs *repoState) {
	if cr := s.checkRunFromRoute(w, r, rs); cr != nil {
		writeJSON(w, http.StatusOK, s.checkRunJSON(rs, cr))
	}
}

// listCheckRunsForRef is GET commits/{ref}/check-runs with check_name, status and filter.
func (s *Server) listCheckRunsForRef(w http.ResponseWriter, r *http.Request, rs *repoState, ref string) {
	c := rs.resolve(ref)
	if c == nil {
		writeValidation(w, "No commit found for SHA: "+ref)
		return
	}
	q := r.URL.Query()
	latest := map[string]int64{}
	for _, cr := range rs.checkRuns {
		if cr.HeadSHA == c.sha {
			latest[cr.Name] = cr.ID
		}
	}
	var list []*CheckRun
	for i := len(rs.checkRuns) - 1; i >= 0; i-- {
		cr := rs.checkRuns[i]
		switch {
		case cr.HeadSHA != c.sha,
			q.Get("check_name") != "" && q.Get("check_name") != cr.Name,
			q.Get("status") != "" && q.Get("status") != cr.Status,
			q.Get("filter") != "all" && latest[cr.Name] != cr.ID:
			continue
		}
		list = append(list, cr)
	}
	out := []any{}
	for _, cr := range paginate(s, w, r, list) {
		out = append(out, s.checkRunJSON(rs, cr))
	}
	writeJSON(w, http.StatusOK, map[string]any{"total_count": len(list), "check_runs": out})
}

// checkRunJSON is GitHub's check-run object; callers hold s.mu.
func (s *Server) checkRunJSON(rs *repoState, cr *CheckRun) map[string]any {
	var conclusion, completedAt any
	if cr.Conclusion != "" {
		conclusion = cr.Conclusion
	}
	if !cr.CompletedAt.IsZero() {
		completedAt = ts(cr.CompletedAt)
	}
	url := s.ts.URL + "/repos/" + rs.fullName + "/check-runs/" + strconv.FormatInt(cr.ID, 10)
	prs := []any{}
	for _, p := range rs.pulls {
		if rs.branches[p.head] == cr.HeadSHA && p.state == "open" {
			repo := map[string]any{"id": rs.id, "url": s.ts.URL + "/repos/" + rs.fullName, "name": rs.name}
			prs = append(prs, map[string]any{"id": p.id, "number": p.number,
				"url":  s.ts.URL + "/repos/" + rs.fullName + "/pulls/" + strconv.Itoa(p.number),
				"head": map[string]any{"ref": p.head, "sha": cr.HeadSHA, "repo": repo},
				"base": map[string]any{"ref": p.base, "sha": rs.branches[p.base], "repo": repo}})
		}
	}
	return map[string]any{
		"id": cr.ID, "node_id": nodeID("CR", cr.ID), "name": cr.Name, "head_sha": cr.HeadSHA,
		"external_id": cr.ExternalID, "details_url": cr.DetailsURL, "url": url,
		"html_url": fmt.Sprintf("https://github.com/%s/runs/%d", rs.fullName, cr.ID),
		"status":   cr.Status, "conclusion": conclusion, "started_at": ts(cr.StartedAt), "completed_at": completedAt,
		"output": map[string]any{"title": cr.Title, "summary": cr.Summary, "text": cr.Text,
			"annotations_count": len(cr.Annotations), "annotations_url": url + "/annotations"},
		"check_suite":   map[string]any{"id": numericID(rs.fullName + cr.HeadSHA)},
		"app":           s.appJSON(),
		"pull_requests": prs,
	}
}
