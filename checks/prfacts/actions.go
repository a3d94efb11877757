package prfacts

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/google/go-github/v66/github"

	"github.com/conveyor-dev/conveyor/checks/kind"
)

// blobClient downloads artifact archives from the signed storage URL GitHub
// redirects to. It is a plain client on purpose: the URL carries its own
// signature, and the installation token must never travel to the storage
// host (the GitHub client's transport would add it).
var blobClient = &http.Client{Timeout: 5 * time.Minute}

// LatestRun implements kind.Actions: the newest run of workflow on sha
// (GET /repos/{owner}/{repo}/actions/workflows/{workflow_id}/runs?head_sha=,
// newest first). A run's state changes until it completes, so nothing is
// cached.
func (r *Reader) LatestRun(ctx context.Context, workflow, sha string) (*kind.WorkflowRun, error) {
	runs, _, err := r.gh.Actions.ListWorkflowRunsByFileName(ctx, r.owner, r.name, workflow,
		&github.ListWorkflowRunsOptions{HeadSHA: sha, ListOptions: github.ListOptions{PerPage: 1}})
	var ge *github.ErrorResponse
	if errors.As(err, &ge) && ge.Response != nil && ge.Response.StatusCode == http.StatusNotFound {
		return nil, fmt.Errorf("workflow %s: %w (no such file under .github/workflows on the default branch)", workflow, fs.ErrNotExist)
	}
	if err != nil {
		return nil, fmt.Errorf("runs of %s on %s: %w", workflow, short(sha), err)
	}
	if len(runs.WorkflowRuns) == 0 {
		return nil, nil
	}
	w := runs.WorkflowRuns[0]
	return &kind.WorkflowRun{ID: w.GetID(), Number: w.GetRunNumber(), Status: w.GetStatus(), Conclusion: w.GetConclusion(), URL: w.GetHTMLURL()}, nil
}

// ArtifactFile implements kind.Actions: it finds the run's artifact by
// name (GET /repos/{owner}/{repo}/actions/runs/{run_id}/artifacts?name=),
// asks for its archive (GET .../actions/artifacts/{artifact_id}/zip, a 302
// to a signed URL that "expires after 1 minute", 410 once the artifact has
// expired), downloads it without the token and reads one file out of the
// zip, holding the archive and the file to limit bytes. A completed run's
// artifact never changes, so the file is cached by run.
func (r *Reader) ArtifactFile(ctx context.Context, runID int64, artifact, name string, limit int64) ([]byte, error) {
	key := fmt.Sprintf("%s/%d/%s/%s", strings.ToLower(r.pr.Repository), runID, artifact, name)
	if b, ok := r.s.artifacts.Get(key); ok {
		return b, nil
	}
	what := fmt.Sprintf("artifact %s of run %d", artifact, runID)
	req, err := r.gh.NewRequest(http.MethodGet, fmt.Sprintf("repos/%s/%s/actions/runs/%d/artifacts?name=%s&per_page=100",
		r.owner, r.name, runID, url.QueryEscape(artifact)), nil)
	if err != nil {
		return nil, err
	}
	var list github.ArtifactList
	if _, err := r.gh.Do(ctx, req, &list); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	var found *github.Artifact
	for _, a := range list.Artifacts {
		if a.GetName() == artifact && (found == nil || a.GetCreatedAt().After(found.GetCreatedAt().Time)) {
			found = a
		}
	}
	switch {
	case found == nil:
		return nil, fmt.Errorf("%s: %w", what, fs.ErrNotExist)
	case found.GetExpired():
		return nil, fmt.Errorf("%s: %w", what, kind.ErrArtifactExpired)
	case found.GetSizeInBytes() > limit:
		return nil, fmt.Errorf("%s: %w", what, &kind.TooLargeError{Path: artifact + ".zip", Size: found.GetSizeInBytes()})
	}
	loc, resp, err := r.gh.Actions.DownloadArtifact(ctx, r.owner, r.name, found.GetID(), 0)
	if resp != nil && resp.StatusCode == http.StatusGone {
		return nil, fmt.Errorf("%s: %w", what, kind.ErrArtifactExpired)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: archive: %w", what, err)
	}
	archive, err := download(ctx, loc.String(), limit)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	b, err := unzipOne(archive, name, limit)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	r.s.artifacts.Add(key, b)
	return b, nil
}

// download reads a signed URL, at most limit bytes.
func download(ctx context.Context, u string, limit int64) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := blobClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("download: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("download: the storage host answered %s", resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("download: %w", err)
	}
	if int64(len(b)) > limit {
		return nil, &kind.TooLargeError{Path: "artifact.zip", Size: resp.ContentLength}
	}
	return b, nil
}

// unzipOne reads the file name out of a zip archive, refusing one whose
// content is over limit bytes whatever its header claims (a zip bomb's
// header lies).
func unzipOne(archive []byte, name string, limit int64) ([]byte, error) {
	zr, err := zip.NewReader(bytes.NewReader(archive), int64(len(archive)))
	if err != nil {
		return nil, fmt.Errorf("not a zip archive: %w", err)
	}
	name = strings.TrimPrefix(name, "./")
	var names []string
	for _, f := range zr.File {
		if f.FileInfo().IsDir() {
			continue
		}
		if strings.TrimPrefix(f.Name, "./") != name {
			names = append(names, f.Name)
			continue
		}
		if f.UncompressedSize64 > uint64(limit) {
			return nil, &kind.TooLargeError{Path: name, Size: int64(f.UncompressedSize64)}
		}
		rc, err := f.Open()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		defer rc.Close()
		b, err := io.ReadAll(io.LimitReader(rc, limit+1))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if int64(len(b)) > limit {
			return nil, &kind.TooLargeError{Path: name}
		}
		return b, nil
	}
	sort.Strings(names)
	if len(names) > 5 {
		names = append(names[:5], "...")
	}
	return nil, fmt.Errorf("%s is not in the archive (it holds %s): %w", name, orNothing(names), fs.ErrNotExist)
}

func orNothing(names []string) string {
	if len(names) == 0 {
		return "nothing"
	}
	return strings.Join(names, ", ")
}
