package checks

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/conveyor-dev/conveyor/internal/ghfake"
	"github.com/conveyor-dev/conveyor/internal/testwait"
)

// The dbt check reads the project folder at both commits and nothing else:
// no tarball of the repository, no blob or file outside analytics/ is
// fetched (ghfake records every call), and the unchanged files are fetched
// once for both sides.
func TestDBTCheckFetchesOnlyTheProjectSubtree(t *testing.T) {
	e := newGHEnv(t, 2, 20*time.Millisecond)
	pr := e.openPR("dbt-only", map[string]*string{
		"analytics/models/staging/stg_orders.sql": strp(e.base["analytics/models/staging/stg_orders.sql"] + "\n-- reviewed\n"),
	})
	e.gh.ResetCalls()
	e.send("pull_request", e.gh.PullRequestEvent("opened", pr))
	cr := e.waitSettled(pr.HeadSHA)[CheckName("analytics")]
	if !strings.Contains(cr.Summary+cr.Text, "stg_orders") {
		t.Fatalf("analytics check does not report the edit: %s\n%s", cr.Summary, cr.Text)
	}
	outside := map[string]string{} // blob SHA -> path, for every file outside the project
	inside := 0
	for p, content := range e.base {
		if strings.HasPrefix(p, "analytics/") {
			inside++
			continue
		}
		outside[gitBlobSHA(content)] = p
	}
	blobs := 0
	for _, c := range e.gh.Calls() {
		switch {
		case strings.Contains(c.Path, "/tarball"), strings.HasPrefix(c.Path, "/_codeload/"):
			t.Errorf("the repository tarball was fetched: %s %s", c.Method, c.Path)
		case strings.Contains(c.Path, "/git/blobs/"):
			blobs++
			sha := c.Path[strings.LastIndex(c.Path, "/")+1:]
			if p, ok := outside[sha]; ok {
				t.Errorf("a file outside the project was fetched: %s (%s)", p, c.Path)
			}
		case strings.Contains(c.Path, "/contents/"):
			p := c.Path[strings.Index(c.Path, "/contents/")+len("/contents/"):]
			if !strings.HasPrefix(p, "analytics/") && p != ".github/conveyor.yml" {
				t.Errorf("a file outside the project was read: %s", p)
			}
		}
	}
	// Both sides: every project file once (shared blobs are cached) and
	// the edited one twice.
	if blobs != inside+1 {
		t.Errorf("%d blob fetches for %d project files and 1 edit, want %d", blobs, inside, inside+1)
	}
}

func gitBlobSHA(content string) string {
	sum := sha1.Sum([]byte(fmt.Sprintf("blob %d\x00%s", len(content), content)))
	return hex.EncodeToString(sum[:])
}

// ciManifestJSON is a manifest dbt would write for the monorepo's analytics
// project with stg_orders' body as given.
func ciManifestJSON(stg string) string {
	sum := sha256.Sum256([]byte(stg))
	return `{"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json", "project_name": "analytics", "adapter_type": "postgres"},
  "nodes": {"model.analytics.stg_orders": {"resource_type": "model", "name": "stg_orders", "package_name": "analytics",
      "original_file_path": "models/staging/stg_orders.sql", "raw_code": "` + stg + `", "checksum": {"name": "sha256", "checksum": "` + hex.EncodeToString(sum[:]) + `"},
      "config": {"materialized": "view"}, "unrendered_config": {}},
    "model.analytics.fct_orders": {"resource_type": "model", "name": "fct_orders", "package_name": "analytics",
      "original_file_path": "models/marts/fct_orders.sql", "raw_code": "select * from {{ ref('stg_orders') }}", "checksum": {"name": "sha256", "checksum": "x"},
      "config": {"materialized": "table"}, "unrendered_config": {}, "depends_on": {"nodes": ["model.analytics.stg_orders"]}},
    "test.analytics.t": {"resource_type": "test", "name": "t", "package_name": "analytics", "depends_on": {"nodes": ["model.analytics.stg_orders", "model.analytics.fct_orders"]}}}}`
}

// With ci_manifest on the base branch, the analytics check waits in
// progress while the head's workflow run goes, then compares the manifest
// that run uploaded with the base run's, read through GitHub's artifacts
// API, without any event from GitHub.
func TestDBTCIManifestEndToEnd(t *testing.T) {
	e := newGHEnv(t, 2, 20*time.Millisecond, func(o *Options) { o.RetryDelay = 200 * time.Millisecond })
	cfg := strings.Replace(e.base[".github/conveyor.yml"], "    project: analytics/\n",
		"    project: analytics/\n    ci_manifest: {workflow: dbt.yml, artifact: dbt-manifest}\n", 1)
	if cfg == e.base[".github/conveyor.yml"] {
		t.Fatal("the example config changed: no project: analytics/ line")
	}
	baseSHA := e.gh.Commit(testRepo, "main", map[string]*string{".github/conveyor.yml": &cfg,
		".github/workflows/dbt.yml": strp("on: [push, pull_request]\n")}, "dbt manifests from CI")
	run, err := e.gh.AddWorkflowRun(testRepo, "dbt.yml", baseSHA, "push", "completed", "success")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.gh.UploadArtifact(testRepo, run, "dbt-manifest", map[string]string{"manifest.json": ciManifestJSON("select 1")}); err != nil {
		t.Fatal(err)
	}
	pr := e.openPR("dbt-ci", map[string]*string{"analytics/models/staging/stg_orders.sql": strp("select 2")})
	headRun, err := e.gh.AddWorkflowRun(testRepo, "dbt.yml", pr.HeadSHA, "pull_request", "in_progress", "")
	if err != nil {
		t.Fatal(err)
	}
	e.send("pull_request", e.gh.PullRequestEvent("opened", pr))
	var cr ghfake.CheckRun
	testwait.For(t, "the analytics check to wait for the run", func() bool {
		cr = e.checkRuns(pr.HeadSHA)[CheckName("analytics")]
		return strings.Contains(cr.Summary, "waiting for dbt.yml run #")
	}, func() string { return cr.Status + ": " + cr.Summary })
	if cr.Status != StatusInProgress || cr.Conclusion != "" || !strings.Contains(cr.Summary, "(in_progress) to upload dbt-manifest") {
		t.Fatalf("while the run goes: %s/%s\n%s", cr.Status, cr.Conclusion, cr.Summary)
	}
	if _, err := e.gh.UploadArtifact(testRepo, headRun, "dbt-manifest", map[string]string{"manifest.json": ciManifestJSON("select 2")}); err != nil {
		t.Fatal(err)
	}
	if err := e.gh.SetWorkflowRunStatus(testRepo, headRun, "completed", "success"); err != nil {
		t.Fatal(err)
	}
	cr = e.waitForSummary(pr.HeadSHA, "analytics", "compared dbt's manifests with the base, dbt.yml run #1")
	if cr.Status != StatusCompleted || !strings.Contains(cr.Summary+cr.Text, "stg_orders") || !strings.Contains(cr.Summary+cr.Text, "fct_orders") {
		t.Fatalf("after the run: %s/%s\n%s\n%s", cr.Status, cr.Conclusion, cr.Summary, cr.Text)
	}
}
