package ghfake

import (
	"archive/zip"
	"bytes"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-github/v66/github"
)

func artifactFixture(t *testing.T) (*Server, *github.Client, string, int64) {
	t.Helper()
	s, gh := fixture(t)
	sha := s.Commit("acme/web", "main", map[string]*string{".github/workflows/dbt.yml": str("on: [push, pull_request]\n")}, "ci")
	run, err := s.AddWorkflowRun("acme/web", "dbt.yml", sha, "push", "completed", "success")
	if err != nil {
		t.Fatal(err)
	}
	return s, gh, sha, run
}

// A run's artifacts are listed (filtered by exact name), their archive is a
// 302 to a signed URL that serves the zip without a token, and the runs of
// a workflow are found by head_sha.
func TestArtifactsListAndDownload(t *testing.T) {
	s, gh, sha, run := artifactFixture(t)
	id, err := s.UploadArtifact("acme/web", run, "dbt-manifest", map[string]string{"target/manifest.json": `{"nodes": {}}`})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.UploadArtifact("acme/web", run, "logs", map[string]string{"dbt.log": "ok"}); err != nil {
		t.Fatal(err)
	}
	runs, _, err := gh.Actions.ListWorkflowRunsByFileName(ctx, "acme", "web", "dbt.yml", &github.ListWorkflowRunsOptions{HeadSHA: sha})
	if err != nil || runs.GetTotalCount() != 1 || runs.WorkflowRuns[0].GetID() != run {
		t.Fatalf("runs = %+v, %v", runs, err)
	}
	all, _, err := gh.Actions.ListWorkflowRunArtifacts(ctx, "acme", "web", run, nil)
	if err != nil || all.GetTotalCount() != 2 || all.Artifacts[0].GetName() != "logs" {
		t.Fatalf("artifacts = %+v, %v (want 2, newest first)", all, err)
	}
	req, _ := gh.NewRequest("GET", "repos/acme/web/actions/runs/"+itoa(run)+"/artifacts?name=dbt-manifest", nil)
	var named github.ArtifactList
	if _, err := gh.Do(ctx, req, &named); err != nil || named.GetTotalCount() != 1 || named.Artifacts[0].GetID() != id ||
		named.Artifacts[0].GetWorkflowRun().GetHeadSHA() != sha || named.Artifacts[0].GetSizeInBytes() == 0 {
		t.Fatalf("by name = %+v, %v", named, err)
	}
	loc, resp, err := gh.Actions.DownloadArtifact(ctx, "acme", "web", id, 0)
	if err != nil || resp.StatusCode != http.StatusFound {
		t.Fatalf("download = %v, %v", resp, err)
	}
	// The signed URL refuses a token: it must not travel to the storage host.
	withToken, _ := http.NewRequest("GET", loc.String(), nil)
	withToken.Header.Set("Authorization", "token ghs_x")
	if r, err := http.DefaultClient.Do(withToken); err != nil || r.StatusCode != http.StatusBadRequest {
		t.Fatalf("download with a token = %v, %v; want 400", r, err)
	}
	r, err := http.Get(loc.String())
	if err != nil || r.StatusCode != http.StatusOK || r.Header.Get("Content-Type") != "application/zip" {
		t.Fatalf("blob = %v, %v", r, err)
	}
	body, _ := io.ReadAll(r.Body)
	r.Body.Close()
	zr, err := zip.NewReader(bytes.NewReader(body), int64(len(body)))
	if err != nil || len(zr.File) != 1 || zr.File[0].Name != "target/manifest.json" {
		t.Fatalf("zip = %v, %v", zr, err)
	}
	// Blob requests are the storage host's, not API calls: no installation.
	for _, c := range s.CallsMatching("GET", "/_artifacts/") {
		if c.InstallationID != 0 {
			t.Errorf("blob call authenticated: %+v", c)
		}
	}
}

// What GitHub refuses is refused: an expired artifact is 410 Gone, another
// archive format or method is 404, an unknown run or workflow is 404, and a
// signed URL stops working when it is unknown.
func TestArtifactsStrictness(t *testing.T) {
	s, gh, sha, run := artifactFixture(t)
	id, _ := s.UploadArtifact("acme/web", run, "dbt-manifest", map[string]string{"manifest.json": "{}"})
	if _, resp, err := gh.Actions.DownloadArtifact(ctx, "acme", "web", 999999, 0); resp == nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown artifact: %v, %v", resp, err)
	}
	req, _ := gh.NewRequest("GET", "repos/acme/web/actions/artifacts/"+itoa(id)+"/tar", nil)
	if resp, _ := gh.Do(ctx, req, nil); resp == nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("tar format: %v", resp)
	}
	req, _ = gh.NewRequest("DELETE", "repos/acme/web/actions/runs/"+itoa(run)+"/artifacts", nil)
	if resp, _ := gh.Do(ctx, req, nil); resp == nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("wrong method: %v, want 404 as GitHub answers", resp)
	}
	if _, resp, _ := gh.Actions.ListWorkflowRunArtifacts(ctx, "acme", "web", 424242, nil); resp == nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown run: %v", resp)
	}
	if _, resp, _ := gh.Actions.ListWorkflowRunsByFileName(ctx, "acme", "web", "nope.yml", nil); resp == nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown workflow: %v", resp)
	}
	if _, err := s.AddWorkflowRun("acme/web", "nope.yml", sha, "push", "queued", ""); err == nil {
		t.Error("a run of a workflow the commit lacks was accepted")
	}
	if _, err := s.AddWorkflowRun("acme/web", "dbt.yml", sha, "push", "completed", ""); err == nil {
		t.Error("a completed run without a conclusion was accepted")
	}
	if err := s.ExpireArtifact("acme/web", id); err != nil {
		t.Fatal(err)
	}
	_, resp, err := gh.Actions.DownloadArtifact(ctx, "acme", "web", id, 0)
	if resp == nil || resp.StatusCode != http.StatusGone || err == nil {
		t.Errorf("expired: %v, %v; want 410", resp, err)
	}
	list, _, _ := gh.Actions.ListWorkflowRunArtifacts(ctx, "acme", "web", run, nil)
	if list.GetTotalCount() != 1 || !list.Artifacts[0].GetExpired() {
		t.Errorf("an expired artifact is still listed, expired: %+v", list)
	}
	r, err := http.Get(s.URL() + "/_artifacts/" + itoa(id) + "?sig=forged")
	if err != nil || r.StatusCode != http.StatusForbidden {
		t.Errorf("forged signature: %v, %v", r, err)
	}
	if err == nil {
		b, _ := io.ReadAll(r.Body)
		r.Body.Close()
		if !strings.Contains(string(b), "AuthenticationFailed") {
			t.Errorf("storage error body %q", b)
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
