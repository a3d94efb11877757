package ghfake

import (
	"fmt"
	"net/http"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// WorkflowDispatch is one accepted workflow_dispatch request.
type WorkflowDispatch struct {
	Workflow string // workflow file path, e.g. .github/workflows/deploy.yml
	Ref      string
	Inputs   map[string]any
	RunID    int64
}

// WorkflowRun is an Actions run created by a dispatch.
type WorkflowRun struct {
	ID         int64
	Repo       string
	WorkflowID int64
	Path       string
	Name       string
	HeadBranch string
	HeadSHA    string
	Event      string
	Status     string // queued, in_progress, completed
	Conclusion string
	RunNumber  int
	Inputs     map[string]any
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// WorkflowDispatches returns the accepted dispatches on repo, oldest first.
func (s *Server) WorkflowDispatches(repo string) []WorkflowDispatch {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.mustRepo(repo).dispatches)
}

// WorkflowRuns returns the repository's runs, oldest first.
func (s *Server) WorkflowRuns(repo string) []WorkflowRun {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []WorkflowRun
	for _, run := range s.mustRepo(repo).runs {
		out = append(out, *run)
	}
	return out
}

// CompleteWorkflowRun completes a run with conclusion (success, failure, cancelled...) and
// delivers the signed workflow_run "completed" webhook. It returns the delivery GUID.
func (s *Server) CompleteWorkflowRun(repo string, runID int64, conclusion string) (string, error) {
	s.mu.Lock()
	rs := s.mustRepo(repo)
	var run *WorkflowRun
	for _, r := range rs.runs {
		if r.ID == runID {
			run = r
		}
	}
	if run == nil {
		s.mu.Unlock()
		return "", fmt.Errorf("ghfake: %s has no workflow run %d; take the ID from WorkflowDispatches", repo, runID)
	}
	run.Status, run.Conclusion, run.UpdatedAt = "completed", conclusion, time.Now().UTC().Truncate(time.Second)
	payload := s.workflowRunPayload(rs, run, "completed")
	s.mu.Unlock()
	id, _, err := s.Send("workflow_run", payload)
	return id, err
}

// findWorkflow resolves a workflow ID or file name to a file path in the commit; callers hold s.mu.
func (rs *repoState) findWorkflow(c *commitState, idOrFile string) (string, bool) {
	for p := range c.files {
		if path.Dir(p) != ".github/workflows" {
			continue
		}
		if path.Base(p) == idOrFile || strconv.FormatInt(numericID(rs.fullName+"/"+p), 10) == idOrFile {
			return p, true
		}
	}
	return "", false
}

// knowsWorkflow says whether a workflow ID or file name is one of the
// repository's: in the default branch's .github/workflows, or run before;
// callers hold s.mu.
func (rs *repoState) knowsWorkflow(idOrFile string) bool {
	if c := rs.commits[rs.branches[rs.defaultBranch]]; c != nil {
		if _, ok := rs.findWorkflow(c, idOrFile); ok {
			return true
		}
	}
	for _, run := range rs.runs {
		if path.Base(run.Path) == idOrFile || strconv.FormatInt(run.WorkflowID, 10) == idOrFile {
			return true
		}
	}
	return false
}

// handleDispatch is POST actions/workflows/{id}/dispatches. Like GitHub, the workflow file must
// exist at ref and declare the workflow_dispatch trigger.
func (s *Server) handleDispatch(w http.ResponseWriter, r *http.Request, rs *repoState) {
	var req struct {
		Ref    string         `json:"ref"`
		Inputs map[string]any `json:"inputs"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	if req.Ref == "" {
		writeValidation(w, "Invalid request.\n\n\"ref\" wasn't supplied.")
		return
	}
	c := rs.resolve(req.Ref)
	if c == nil {
		writeValidation(w, "No ref found for: "+req.Ref)
		return
	}
	wfPath, ok := rs.findWorkflow(c, r.PathValue("id"))
	if !ok {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	if !strings.Contains(c.files[wfPath], "workflow_dispatch") {
		writeValidation(w, "Workflow does not have 'workflow_dispatch' trigger")
		return
	}
	if len(req.Inputs) > 25 {
		writeValidation(w, "you may only define up to 25 `inputs` for a `workflow_dispatch` event")
		return
	}
	if msg := checkDispatchInputs(c.files[wfPath], req.Inputs); msg != "" {
		writeValidation(w, msg)
		return
	}
	now := time.Now().UTC().Truncate(time.Second)
	branch := strings.TrimPrefix(req.Ref, "refs/heads/")
	if _, isBranch := rs.branches[branch]; !isBranch {
		branch = ""
	}
	run := &WorkflowRun{ID: s.newID(), Repo: rs.fullName, WorkflowID: numericID(rs.fullName + "/" + wfPath),
		Path: wfPath, Name: strings.TrimSuffix(path.Base(wfPath), path.Ext(wfPath)), HeadBranch: branch,
		HeadSHA: c.sha, Event: "workflow_dispatch", Status: "queued", RunNumber: len(rs.runs) + 1,
		Inputs: req.Inputs, CreatedAt: now, UpdatedAt: now}
	rs.runs = append(rs.runs, run)
	rs.dispatches = append(rs.dispatches, WorkflowDispatch{Workflow: wfPath, Ref: req.Ref, Inputs: req.Inputs, RunID: run.ID})
	w.WriteHeader(http.StatusNoContent)
}

// handleListRuns is GET actions/runs and actions/workflows/{id}/runs, newest first.
func (s *Server) handleListRuns(w http.ResponseWriter, r *http.Request, rs *repoState) {
	q := r.URL.Query()
	wf := r.PathValue("id")
	if wf != "" && !rs.knowsWorkflow(wf) {
		// GitHub answers 404 for a workflow ID or file name it does not know.
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	var list []*WorkflowRun
	for i := len(rs.runs) - 1; i >= 0; i-- {
		run := rs.runs[i]
		switch {
		case wf != "" && path.Base(run.Path) != wf && strconv.FormatInt(run.WorkflowID, 10) != wf,
			q.Get("event") != "" && q.Get("event") != run.Event,
			q.Get("branch") != "" && q.Get("branch") != run.HeadBranch,
			q.Get("head_sha") != "" && q.Get("head_sha") != run.HeadSHA,
			q.Get("status") != "" && q.Get("status") != run.Status && q.Get("status") != run.Conclusion:
			continue
		}
		list = append(list, run)
	}
	out := []any{}
	for _, run := range paginate(s, w, r, list) {
		out = append(out, s.runJSON(rs, run))
	}
	writeJSON(w, http.StatusOK, map[string]any{"total_count": len(list), "workflow_runs": out})
}

func (s *Server) handleGetRun(w http.ResponseWriter, r *http.Request, rs *repoState) {
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	for _, run := range rs.runs {
		if run.ID == id {
			writeJSON(w, http.StatusOK, s.runJSON(rs, run))
			return
		}
	}
	writeError(w, http.StatusNotFound, "Not Found")
}

// runJSON is GitHub's workflow-run object; callers hold s.mu.
func (s *Server) runJSON(rs *repoState, run *WorkflowRun) map[string]any {
	var conclusion any
	if run.Conclusion != "" {
		conclusion = run.Conclusion
	}
	url := s.ts.URL + "/repos/" + rs.fullName + "/actions/runs/" + strconv.FormatInt(run.ID, 10)
	return map[string]any{
		"id": run.ID, "node_id": nodeID("WFR", run.ID), "name": run.Name, "display_title": run.Name,
		"path": run.Path, "head_branch": run.HeadBranch, "head_sha": run.HeadSHA, "event": run.Event,
		"status": run.Status, "conclusion": conclusion, "workflow_id": run.WorkflowID,
		"run_number": run.RunNumber, "run_attempt": 1, "url": url,
		"html_url":   fmt.Sprintf("https://github.com/%s/actions/runs/%d", rs.fullName, run.ID),
		"created_at": ts(run.CreatedAt), "updated_at": ts(run.UpdatedAt), "run_started_at": ts(run.CreatedAt),
		"actor": s.userJSON(s.botLogin()), "triggering_actor": s.userJSON(s.botLogin()),
		"repository": s.repoJSON(rs), "head_repository": s.repoJSON(rs),
		"workflow_url": s.ts.URL + "/repos/" + rs.fullName + "/actions/workflows/" + strconv.FormatInt(run.WorkflowID, 10),
		"jobs_url":     url + "/jobs", "logs_url": url + "/logs", "check_suite_url": url + "/check-suite",
		"cancel_url": url + "/cancel", "rerun_url": url + "/rerun", "artifacts_url": url + "/artifacts",
		"pull_requests": []any{}, "head_commit": s.headCommitJSON(rs, run.HeadSHA),
	}
}

// headCommitJSON is a workflow run's head_commit (simple-commit); callers hold s.mu.
func (s *Server) headCommitJSON(rs *repoState, sha string) any {
	c := rs.commits[sha]
	if c == nil {
		return nil
	}
	who := map[string]any{"name": c.author, "email": c.author + "@users.noreply.github.com"}
	return map[string]any{"id": c.sha, "tree_id": c.tree, "message": c.message, "timestamp": ts(c.time),
		"author": who, "committer": who}
}

// workflowRunPayload is the workflow_run webhook body; callers hold s.mu.
func (s *Server) workflowRunPayload(rs *repoState, run *WorkflowRun, action string) map[string]any {
	p := s.basePayload(rs, s.botLogin())
	p["action"] = action
	p["workflow_run"] = s.runJSON(rs, run)
	p["workflow"] = map[string]any{"id": run.WorkflowID, "name": run.Name, "path": run.Path, "state": "active"}
	return p
}

// checkDispatchInputs holds dispatch inputs to the ones the workflow declares under
// on.workflow_dispatch.inputs, as GitHub does: an undeclared input is refused with
// "Unexpected inputs provided: [...]" and a missing required one (without a default)
// with "Required input '...' not provided" (both 422).
func checkDispatchInputs(workflow string, inputs map[string]any) string {
	var wf struct {
		On yaml.Node `yaml:"on"`
	}
	if err := yaml.Unmarshal([]byte(workflow), &wf); err != nil {
		return "Invalid workflow file: " + err.Error()
	}
	declared := map[string]struct {
		Required bool `yaml:"required"`
		Default  any  `yaml:"default"`
	}{}
	if wf.On.Kind == yaml.MappingNode {
		var on map[string]yaml.Node
		if err := wf.On.Decode(&on); err != nil {
			return "Invalid workflow file: " + err.Error()
		}
		if wd, ok := on["workflow_dispatch"]; ok && wd.Kind == yaml.MappingNode {
			var d struct {
				Inputs map[string]struct {
					Required bool `yaml:"required"`
					Default  any  `yaml:"default"`
				} `yaml:"inputs"`
			}
			if err := wd.Decode(&d); err != nil {
				return "Invalid workflow file: " + err.Error()
			}
			for k, v := range d.Inputs {
				declared[k] = v
			}
		}
	}
	var unexpected []string
	for k := range inputs {
		if _, ok := declared[k]; !ok {
			unexpected = append(unexpected, strconv.Quote(k))
		}
	}
	if len(unexpected) > 0 {
		sort.Strings(unexpected)
		return "Unexpected inputs provided: [" + strings.Join(unexpected, ", ") + "]"
	}
	names := make([]string, 0, len(declared))
	for k := range declared {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if _, given := inputs[k]; !given && declared[k].Required && declared[k].Default == nil {
			return "Required input '" + k + "' not provided"
		}
	}
	return ""
}
