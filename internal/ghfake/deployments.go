package ghfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"
)

// Deployment is a GitHub deployment.
type Deployment struct {
	ID                    int64
	Repo                  string
	Ref                   string
	SHA                   string
	Task                  string
	Environment           string
	Description           string
	Payload               json.RawMessage
	TransientEnvironment  bool
	ProductionEnvironment bool
	Creator               string
	CreatedAt             time.Time
}

// DeploymentStatus is one status of a deployment.
type DeploymentStatus struct {
	ID             int64
	DeploymentID   int64
	State          string
	Description    string
	Environment    string
	EnvironmentURL string
	LogURL         string
	Creator        string
	CreatedAt      time.Time
}

var deploymentStates = []string{"error", "failure", "inactive", "in_progress", "queued", "pending", "success"}

// Deployments returns the repository's deployments, oldest first.
func (s *Server) Deployments(repo string) []Deployment {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Deployment
	for _, d := range s.mustRepo(repo).deployments {
		out = append(out, *d)
	}
	return out
}

// DeploymentStatuses returns a deployment's statuses, oldest first.
func (s *Server) DeploymentStatuses(repo string, id int64) []DeploymentStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []DeploymentStatus
	for _, st := range s.mustRepo(repo).depStatuses[id] {
		out = append(out, *st)
	}
	return out
}

func (s *Server) handleCreateDeployment(w http.ResponseWriter, r *http.Request, rs *repoState) {
	var req struct {
		Ref                   string          `json:"ref"`
		Task                  string          `json:"task"`
		Environment           string          `json:"environment"`
		Description           string          `json:"description"`
		Payload               json.RawMessage `json:"payload"`
		TransientEnvironment  bool            `json:"transient_environment"`
		ProductionEnvironment *bool           `json:"production_environment"`
		RequiredContexts      *[]string       `json:"required_contexts"`
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
		writeError(w, http.StatusConflict, fmt.Sprintf("No ref found for: %s", req.Ref))
		return
	}
	if failed := rs.failedContexts(c.sha, req.RequiredContexts); len(failed) > 0 {
		writeJSON(w, http.StatusConflict, map[string]any{
			"message": "Conflict: Commit status checks failed for " + req.Ref + ".",
			"errors": []any{map[string]any{"contexts": failed, "resource": "Deployment",
				"field": "required_contexts", "code": "invalid"}},
			"documentation_url": "https://docs.github.com/rest/deployments/deployments#create-a-deployment",
		})
		return
	}
	if req.Task == "" {
		req.Task = "deploy"
	}
	if req.Environment == "" {
		req.Environment = "production"
	}
	if len(req.Payload) == 0 || string(req.Payload) == "null" {
		req.Payload = json.RawMessage("{}")
	}
	prod := req.Environment == "production"
	if req.ProductionEnvironment != nil {
		prod = *req.ProductionEnvironment
	}
	d := &Deployment{ID: s.newID(), Repo: rs.fullName, Ref: req.Ref, SHA: c.sha, Task: req.Task,
		Environment: req.Environment, Description: req.Description, Payload: req.Payload,
		TransientEnvironment: req.TransientEnvironment, ProductionEnvironment: prod,
		Creator: s.actorLogin(), CreatedAt: time.Now().UTC().Truncate(time.Second)}
	rs.deployments = append(rs.deployments, d)
	writeJSON(w, http.StatusCreated, s.deploymentJSON(rs, d))
}

// failedContexts lists the commit status contexts on sha that stop a deployment:
// "If you omit this parameter, GitHub verifies all unique contexts before creating
// a deployment. To bypass checking entirely, pass an empty array" (REST reference,
// create a deployment, required_contexts). A required context with no status has
// not passed either. Callers hold s.mu.
func (rs *repoState) failedContexts(sha string, required *[]string) []any {
	latest := map[string]string{}
	var order []string
	for _, st := range rs.latestStatuses(sha) {
		latest[st.Context] = st.State
		order = append(order, st.Context)
	}
	if required != nil {
		order = *required
	}
	var failed []any
	for _, ctx := range order {
		state, ok := latest[ctx]
		if !ok {
			state = "pending"
		}
		if state != "success" {
			failed = append(failed, map[string]any{"context": ctx, "state": state})
		}
	}
	return failed
}

func (s *Server) deploymentJSON(rs *repoState, d *Deployment) map[string]any {
	url := s.ts.URL + "/repos/" + rs.fullName + "/deployments/" + strconv.FormatInt(d.ID, 10)
	return map[string]any{
		"id": d.ID, "node_id": nodeID("DE", d.ID), "url": url, "sha": d.SHA, "ref": d.Ref, "task": d.Task,
		"payload": d.Payload, "environment": d.Environment, "original_environment": d.Environment,
		"description": d.Description, "creator": s.userJSON(d.Creator),
		"created_at": ts(d.CreatedAt), "updated_at": ts(d.CreatedAt),
		"statuses_url": url + "/statuses", "repository_url": s.ts.URL + "/repos/" + rs.fullName,
		"transient_environment": d.TransientEnvironment, "production_environment": d.ProductionEnvironment,
	}
}

// handleListDeployments is GET deployments?environment=&sha=&ref=&task=, newest first.
func (s *Server) handleListDeployments(w http.ResponseWriter, r *http.Request, rs *repoState) {
	q := r.URL.Query()
	var list []*Deployment
	for i := len(rs.deployments) - 1; i >= 0; i-- {
		d := rs.deployments[i]
		switch {
		case q.Get("environment") != "" && q.Get("environment") != d.Environment,
			q.Get("sha") != "" && q.Get("sha") != d.SHA,
			q.Get("ref") != "" && q.Get("ref") != d.Ref,
			q.Get("task") != "" && q.Get("task") != d.Task:
			continue
		}
		list = append(list, d)
	}
	out := []any{}
	for _, d := range paginate(s, w, r, list) {
		out = append(out, s.deploymentJSON(rs, d))
	}
	writeJSON(w, http.StatusOK, out)
}

func (rs *repoState) deployment(idText string) *Deployment {
	id, _ := strconv.ParseInt(idText, 10, 64)
	for _, d := range rs.deployments {
		if d.ID == id {
			return d
		}
	}
	return nil
}

// handleCreateDeploymentStatus is POST deployments/{id}/statuses. With auto_inactive (the
// default) a success marks every earlier deployment to the same environment whose latest
// status is success as inactive, the way GitHub retires the previous deployment.
func (s *Server) handleCreateDeploymentStatus(w http.ResponseWriter, r *http.Request, rs *repoState) {
	d := rs.deployment(r.PathValue("id"))
	if d == nil {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	var req struct {
		State          string `json:"state"`
		Description    string `json:"description"`
		Environment    string `json:"environment"`
		EnvironmentURL string `json:"environment_url"`
		LogURL         string `json:"log_url"`
		TargetURL      string `json:"target_url"`
		AutoInactive   *bool  `json:"auto_inactive"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	if !slices.Contains(deploymentStates, req.State) {
		writeValidation(w, fmt.Sprintf("Validation Failed: state %q is not one of %v", req.State, deploymentStates))
		return
	}
	if len(req.Description) > 140 {
		writeValidation(w, "Validation Failed: description is too long (maximum is 140 characters)")
		return
	}
	if req.Environment != "" {
		d.Environment = req.Environment
	}
	if req.LogURL == "" {
		req.LogURL = req.TargetURL
	}
	st := s.addDeploymentStatus(rs, d, req.State, req.Description, req.EnvironmentURL, req.LogURL)
	if req.State == "success" && (req.AutoInactive == nil || *req.AutoInactive) {
		for _, other := range rs.deployments {
			if other.ID >= d.ID || other.Environment != d.Environment {
				continue
			}
			if sts := rs.depStatuses[other.ID]; len(sts) > 0 && sts[len(sts)-1].State == "success" {
				s.addDeploymentStatus(rs, other, "inactive", "", sts[len(sts)-1].EnvironmentURL, "")
			}
		}
	}
	writeJSON(w, http.StatusCreated, s.deploymentStatusJSON(rs, d, st))
}

// addDeploymentStatus stores a status; callers hold s.mu.
func (s *Server) addDeploymentStatus(rs *repoState, d *Deployment, state, desc, envURL, logURL string) *DeploymentStatus {
	st := &DeploymentStatus{ID: s.newID(), DeploymentID: d.ID, State: state, Description: desc,
		Environment: d.Environment, EnvironmentURL: envURL, LogURL: logURL, Creator: s.actorLogin(),
		CreatedAt: time.Now().UTC().Truncate(time.Second)}
	rs.depStatuses[d.ID] = append(rs.depStatuses[d.ID], st)
	return st
}

func (s *Server) deploymentStatusJSON(rs *repoState, d *Deployment, st *DeploymentStatus) map[string]any {
	depURL := s.ts.URL + "/repos/" + rs.fullName + "/deployments/" + strconv.FormatInt(d.ID, 10)
	return map[string]any{
		"id": st.ID, "node_id": nodeID("DES", st.ID), "state": st.State, "description": st.Description,
		"environment": st.Environment, "environment_url": st.EnvironmentURL, "log_url": st.LogURL,
		"target_url": st.LogURL, "creator": s.userJSON(st.Creator),
		"created_at": ts(st.CreatedAt), "updated_at": ts(st.CreatedAt),
		"url": depURL + "/statuses/" + strconv.FormatInt(st.ID, 10), "deployment_url": depURL,
		"repository_url": s.ts.URL + "/repos/" + rs.fullName,
	}
}

// handleListDeploymentStatuses is GET deployments/{id}/statuses, newest first.
func (s *Server) handleListDeploymentStatuses(w http.ResponseWriter, r *http.Request, rs *repoState) {
	d := rs.deployment(r.PathValue("id"))
	if d == nil {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	sts := slices.Clone(rs.depStatuses[d.ID])
	slices.Reverse(sts)
	out := []any{}
	for _, st := range paginate(s, w, r, sts) {
		out = append(out, s.deploymentStatusJSON(rs, d, st))
	}
	writeJSON(w, http.StatusOK, out)
}
