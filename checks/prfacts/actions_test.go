package prfacts

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"io/fs"
	"strings"
	"testing"

	"github.com/conveyor-dev/conveyor/checks/kind"
)

// The reader finds the newest run of a workflow on a commit and reads one
// file out of a run's zip artifact through GitHub's artifacts API: the
// archive is fetched from the signed URL without the token (ghfake's
// storage refuses one), and a completed run's file is read once.
func TestActionsRunsAndArtifactFiles(t *testing.T) {
	w := newWorld(t)
	sha := w.gh.Commit(repo, "main", map[string]*string{".github/workflows/dbt.yml": strp("on: push\n")}, "ci")
	r, err := New(Options{}).For(w.client, PR{Repository: repo, BaseRef: "main", HeadSHA: sha})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if run, err := r.LatestRun(ctx, "dbt.yml", sha); err != nil || run != nil {
		t.Fatalf("no run yet: %+v, %v", run, err)
	}
	if _, err := r.LatestRun(ctx, "missing.yml", sha); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("unknown workflow: %v, want fs.ErrNotExist", err)
	}
	old, _ := w.gh.AddWorkflowRun(repo, "dbt.yml", sha, "push", "completed", "failure")
	id, _ := w.gh.AddWorkflowRun(repo, "dbt.yml", sha, "push", "in_progress", "")
	run, err := r.LatestRun(ctx, "dbt.yml", sha)
	if err != nil || run == nil || run.ID != id || run.Status != "in_progress" || !strings.Contains(run.URL, "/actions/runs/") {
		t.Fatalf("latest run = %+v, %v (want %d, not the older %d)", run, err, id, old)
	}
	if err := w.gh.SetWorkflowRunStatus(repo, id, "completed", "success"); err != nil {
		t.Fatal(err)
	}
	if run, _ := r.LatestRun(ctx, "dbt.yml", sha); run.Conclusion != "success" {
		t.Fatalf("run state is not cached: %+v", run)
	}
	manifest := `{"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json"}}`
	if _, err := w.gh.UploadArtifact(repo, id, "dbt-manifest", map[string]string{"target/manifest.json": manifest, "target/run_results.json": "{}"}); err != nil {
		t.Fatal(err)
	}
	w.gh.ResetCalls()
	for range 2 {
		got, err := r.ArtifactFile(ctx, id, "dbt-manifest", "target/manifest.json", 1<<20)
		if err != nil || string(got) != manifest {
			t.Fatalf("manifest = %q, %v", got, err)
		}
	}
	if n := len(w.gh.CallsMatching("GET", "/_artifacts/")); n != 1 {
		t.Errorf("archive downloaded %d times, want once (cached by run)", n)
	}
	for _, c := range w.gh.CallsMatching("GET", "/_artifacts/") {
		if c.Status != 200 {
			t.Errorf("storage answered %d", c.Status)
		}
	}
	_, err = r.ArtifactFile(ctx, id, "dbt-manifest", "manifest.json", 1<<20)
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "it holds target/manifest.json, target/run_results.json") {
		t.Errorf("missing file: %v", err)
	}
	if _, err := r.ArtifactFile(ctx, id, "other", "manifest.json", 1<<20); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing artifact: %v", err)
	}
}

// Expired artifacts, archives over the limit, a zip bomb whose header lies
// about its size and bytes that are not a zip are each refused clearly.
func TestActionsArtifactRefusals(t *testing.T) {
	w := newWorld(t)
	sha := w.gh.Commit(repo, "main", map[string]*string{".github/workflows/dbt.yml": strp("on: push\n")}, "ci")
	r, _ := New(Options{}).For(w.client, PR{Repository: repo, BaseRef: "main", HeadSHA: sha})
	ctx := context.Background()
	run := func() int64 {
		id, err := w.gh.AddWorkflowRun(repo, "dbt.yml", sha, "push", "completed", "success")
		if err != nil {
			t.Fatal(err)
		}
		return id
	}

	expired := run()
	a, _ := w.gh.UploadArtifact(repo, expired, "m", map[string]string{"manifest.json": "{}"})
	_ = w.gh.ExpireArtifact(repo, a)
	if _, err := r.ArtifactFile(ctx, expired, "m", "manifest.json", 1<<20); !errors.Is(err, kind.ErrArtifactExpired) {
		t.Errorf("expired: %v", err)
	}

	big := run()
	_, _ = w.gh.UploadArtifact(repo, big, "m", map[string]string{"manifest.json": strings.Repeat("x", 4096)})
	if _, err := r.ArtifactFile(ctx, big, "m", "manifest.json", 100); err == nil {
		t.Error("an archive over the limit was read")
	} else if _, ok := kind.IsTooLarge(err); !ok {
		t.Errorf("over the limit: %v, want a TooLargeError", err)
	}

	// Compresses to a small archive but inflates past the limit: refused
	// by its size before it is inflated.
	bomb := run()
	_, _ = w.gh.UploadArtifact(repo, bomb, "m", map[string]string{"manifest.json": strings.Repeat("0", 1<<20)})
	if _, err := r.ArtifactFile(ctx, bomb, "m", "manifest.json", 64<<10); err == nil {
		t.Error("a zip bomb was read")
	} else if tl, ok := kind.IsTooLarge(err); !ok || tl.Size != 1<<20 {
		t.Errorf("zip bomb: %v, want a TooLargeError of 1 MiB", err)
	}
	// A header that lies about the size: the inflated bytes past it are
	// refused (archive/zip checks the count) and nothing past limit is read.
	liar := run()
	_, _ = w.gh.UploadArtifactZip(repo, liar, "m", lyingZip(t, "manifest.json", 1<<20))
	if _, err := r.ArtifactFile(ctx, liar, "m", "manifest.json", 64<<10); err == nil || !strings.Contains(err.Error(), "manifest.json: ") {
		t.Errorf("lying header: %v", err)
	}

	junk := run()
	_, _ = w.gh.UploadArtifactZip(repo, junk, "m", []byte("not a zip at all"))
	if _, err := r.ArtifactFile(ctx, junk, "m", "manifest.json", 1<<20); err == nil || !strings.Contains(err.Error(), "not a zip archive") {
		t.Errorf("junk: %v", err)
	}
}

// lyingZip builds a small archive (deflated zeros) whose entry's header
// claims 10 bytes while it inflates to n.
func lyingZip(t *testing.T, name string, n int) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	f, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate})
	if err != nil {
		t.Fatal(err)
	}
	_, _ = f.Write(make([]byte, n))
	_ = zw.Close()
	b := buf.Bytes()
	// Rewrite the uncompressed sizes (local header offset 22, central
	// directory entry offset 24) to 10 bytes.
	if i := bytes.Index(b, []byte("PK\x03\x04")); i >= 0 {
		b[i+22], b[i+23], b[i+24], b[i+25] = 10, 0, 0, 0
	}
	if i := bytes.Index(b, []byte("PK\x01\x02")); i >= 0 {
		b[i+24], b[i+25], b[i+26], b[i+27] = 10, 0, 0, 0
	}
	return b
}
