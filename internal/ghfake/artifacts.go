package ghfake

import (
	"archive/zip"
	"bytes"
	"fmt"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The Actions artifacts API, as GitHub's REST reference describes it
// ("REST API endpoints for GitHub Actions artifacts"):
//
//   - GET /repos/{owner}/{repo}/actions/runs/{run_id}/artifacts lists a run's
//     artifacts, newest first, filtered by an exact `name`; an unknown run is
//     404.
//   - GET /repos/{owner}/{repo}/actions/artifacts/{artifact_id}/{archive_format}
//     answers 302 with a Location that "expires after 1 minute"; "the
//     :archive_format must be zip" (anything else is 404 here, as an unknown
//     route is), and an expired artifact is 410 Gone.
//   - The Location is a signed blob-storage URL: it needs no Authorization
//     header and refuses one (a token must never travel to the storage host),
//     and it stops working when it expires (403, as a stale SAS signature).

// artifactURLTTL is how long a download URL handed out by the zip endpoint works.
const artifactURLTTL = time.Minute

// Artifact is an artifact uploaded by a workflow run.
type Artifact struct {
	ID        int64
	RunID     int64
	Name      string
	Zip       []byte // the archive GitHub serves
	Expired   bool
	CreatedAt time.Time
	ExpiresAt time.Time
}

// artifactURL is one handed-out download URL.
type artifactURL struct {
	repo    string
	id      int64
	expires time.Time
}

// AddWorkflowRun records a run of the workflow file workflow (its name under
// .github/workflows, which must exist at sha) on sha, as a push or
// pull_request event creates one, with status queued, in_progress or
// completed (then conclusion: success, failure, cancelled...). It returns
// the run's ID.
func (s *Server) AddWorkflowRun(repo, workflow, sha, event, status, conclusion string) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.mustRepo(repo)
	c := rs.resolve(sha)
	if c == nil {
		return 0, fmt.Errorf("ghfake: %s has no commit %s", repo, sha)
	}
	wf, ok := rs.findWorkflow(c, workflow)
	if !ok {
		return 0, fmt.Errorf("ghfake: %s has no .github/workflows/%s at %s: GitHub runs only workflows in the commit", repo, workflow, sha)
	}
	if err := checkRunState(status, conclusion); err != nil {
		return 0, err
	}
	now := time.Now().UTC().Truncate(time.Second)
	run := &WorkflowRun{ID: s.newID(), Repo: rs.fullName, WorkflowID: numericID(rs.fullName + "/" + wf),
		Path: wf, Name: strings.TrimSuffix(path.Base(wf), path.Ext(wf)), HeadSHA: c.sha, Event: event, Status: status, Conclusion: conclusion,
		RunNumber: len(rs.runs) + 1, CreatedAt: now, UpdatedAt: now}
	rs.runs = append(rs.runs, run)
	return run.ID, nil
}

// SetWorkflowRunStatus moves a run to status (and conclusion, when
// completed) without delivering a webhook; CompleteWorkflowRun delivers one.
func (s *Server) SetWorkflowRunStatus(repo string, runID int64, status, conclusion string) error {
	if err := checkRunState(status, conclusion); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	run := s.mustRepo(repo).run(runID)
	if run == nil {
		return fmt.Errorf("ghfake: %s has no workflow run %d", repo, runID)
	}
	run.Status, run.Conclusion, run.UpdatedAt = status, conclusion, time.Now().UTC().Truncate(time.Second)
	return nil
}

func checkRunState(status, conclusion string) error {
	switch {
	case status != "queued" && status != "in_progress" && status != "completed":
		return fmt.Errorf("ghfake: workflow run status %q: write queued, in_progress or completed", status)
	case (status == "completed") != (conclusion != ""):
		return fmt.Errorf("ghfake: a workflow run has a conclusion exactly when it is completed (status %q, conclusion %q)", status, conclusion)
	}
	return nil
}

// run finds a run by ID; callers hold s.mu.
func (rs *repoState) run(id int64) *WorkflowRun {
	for _, r := range rs.runs {
		if r.ID == id {
			return r
		}
	}
	return nil
}

// UploadArtifact stores files (path -> content) as a zip artifact of the
// run, as actions/upload-artifact does, and returns its ID. Artifacts live
// 90 days, GitHub's default retention.
func (s *Server) UploadArtifact(repo string, runID int64, name string, files map[string]string) (int64, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		f, err := zw.Create(n)
		if err != nil {
			return 0, err
		}
		if _, err := f.Write([]byte(files[n])); err != nil {
			return 0, err
		}
	}
	if err := zw.Close(); err != nil {
		return 0, err
	}
	return s.UploadArtifactZip(repo, runID, name, buf.Bytes())
}

// UploadArtifactZip stores raw bytes as the run's artifact name (for
// archives a real upload would not produce: corrupt, or bombs).
func (s *Server) UploadArtifactZip(repo string, runID int64, name string, archive []byte) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.mustRepo(repo)
	if rs.run(runID) == nil {
		return 0, fmt.Errorf("ghfake: %s has no workflow run %d", repo, runID)
	}
	now := time.Now().UTC().Truncate(time.Second)
	a := &Artifact{ID: s.newID(), RunID: runID, Name: name, Zip: append([]byte(nil), archive...),
		CreatedAt: now, ExpiresAt: now.Add(90 * 24 * time.Hour)}
	rs.artifacts = append(rs.artifacts, a)
	return a.ID, nil
}

// ExpireArtifact marks an artifact expired: it is still listed (expired:
// true) and its download answers 410.
func (s *Server) ExpireArtifact(repo string, id int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range s.mustRepo(repo).artifacts {
		if a.ID == id {
			a.Expired, a.ExpiresAt = true, time.Now().UTC().Truncate(time.Second)
			return nil
		}
	}
	return fmt.Errorf("ghfake: %s has no artifact %d", repo, id)
}

// handleRunArtifacts is GET actions/runs/{id}/artifacts.
func (s *Server) handleRunArtifacts(w http.ResponseWriter, r *http.Request, rs *repoState) {
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	run := rs.run(id)
	if run == nil {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	name := r.URL.Query().Get("name")
	var list []*Artifact
	for i := len(rs.artifacts) - 1; i >= 0; i-- {
		a := rs.artifacts[i]
		if a.RunID == id && (name == "" || a.Name == name) {
			list = append(list, a)
		}
	}
	if r.URL.Query().Get("direction") == "asc" {
		slices.Reverse(list)
	}
	out := []any{}
	for _, a := range paginate(s, w, r, list) {
		out = append(out, s.artifactJSON(r, rs, run, a))
	}
	writeJSON(w, http.StatusOK, map[string]any{"total_count": len(list), "artifacts": out})
}

// artifactJSON is GitHub's artifact object; callers hold s.mu.
func (s *Server) artifactJSON(r *http.Request, rs *repoState, run *WorkflowRun, a *Artifact) map[string]any {
	u := s.apiURL(r, fmt.Sprintf("/repos/%s/actions/artifacts/%d", rs.fullName, a.ID))
	return map[string]any{
		"id": a.ID, "node_id": nodeID("MDg6QXJ0aWZhY3Q", a.ID), "name": a.Name, "size_in_bytes": len(a.Zip),
		"url": u, "archive_download_url": u + "/zip", "expired": a.Expired, "digest": nil,
		"created_at": ts(a.CreatedAt), "updated_at": ts(a.CreatedAt), "expires_at": ts(a.ExpiresAt),
		"workflow_run": map[string]any{"id": run.ID, "repository_id": rs.id, "head_repository_id": rs.id,
			"head_branch": run.HeadBranch, "head_sha": run.HeadSHA},
	}
}

// handleArtifactArchive is GET actions/artifacts/{id}/{format}: a redirect
// to a short-lived signed URL.
func (s *Server) handleArtifactArchive(w http.ResponseWriter, r *http.Request, rs *repoState) {
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	var a *Artifact
	for _, x := range rs.artifacts {
		if x.ID == id {
			a = x
		}
	}
	if a == nil || r.PathValue("format") != "zip" {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	if a.Expired {
		writeError(w, http.StatusGone, "Artifact has expired")
		return
	}
	token := newGUID()
	if s.artifactURLs == nil {
		s.artifactURLs = map[string]artifactURL{}
	}
	s.artifactURLs[token] = artifactURL{repo: rs.fullName, id: a.ID, expires: time.Now().Add(artifactURLTTL)}
	w.Header().Set("Location", fmt.Sprintf("%s/_artifacts/%d?sig=%s", s.ts.URL, a.ID, token))
	w.WriteHeader(http.StatusFound)
}

// handleArtifactBlob serves the archive behind a signed URL. It stands for
// the blob storage host: it refuses an Authorization header and a stale or
// unknown signature.
func (s *Server) handleArtifactBlob(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "" {
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`<?xml version="1.0" encoding="utf-8"?><Error><Code>InvalidAuthenticationInfo</Code>` +
			`<Message>Authentication information is not given in the correct format. The URL is signed: send no Authorization header.</Message></Error>`))
		return
	}
	s.mu.Lock()
	u, ok := s.artifactURLs[r.URL.Query().Get("sig")]
	var archive []byte
	if ok && strconv.FormatInt(u.id, 10) == r.PathValue("id") && time.Now().Before(u.expires) {
		for _, a := range s.mustRepo(u.repo).artifacts {
			if a.ID == u.id && !a.Expired {
				archive = a.Zip
			}
		}
	}
	s.mu.Unlock()
	if archive == nil {
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`<?xml version="1.0" encoding="utf-8"?><Error><Code>AuthenticationFailed</Code>` +
			`<Message>Server failed to authenticate the request: the signature is unknown or expired.</Message></Error>`))
		return
	}
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Length", strconv.Itoa(len(archive)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(archive)
}
