package deploy

import (
	"context"
	"errors"
	"testing"

	"github.com/conveyor-dev/conveyor/deploy/driver"
	"github.com/conveyor-dev/conveyor/internal/secretmask"
	"github.com/conveyor-dev/conveyor/internal/store"
)

// dbtRequest deploys one dbt artifact, analytics, of pr.
func dbtRequest(e *env, branch, envName string) (Request, string) {
	pr := e.openPR(branch)
	r := request(pr, envName)
	r.Artifacts = []ArtifactPlan{{Name: "analytics", Kind: "dbt", Driver: "dbt", Spec: driver.EncodeSpec(&driver.DBTRef{Project: "analytics/"}),
		Summary: "analytics @ " + pr.HeadSHA[:7]}}
	return r, pr.HeadSHA
}

// The manifest a dbt deploy's run wrote is kept for the environment and
// the SHA it built, with secrets masked.
func TestDBTDeployKeepsItsManifest(t *testing.T) {
	e := newEnv(t, func(e *env) { e.opts.Mask = secretmask.New("s3cret-value") })
	e.drv.manifests = map[string][]byte{"analytics": []byte(`{"metadata": {"project_name": "analytics"}, "password": "s3cret-value"}`)}
	r, sha := dbtRequest(e, "feature", "staging")
	d := e.startOK(r)
	e.wait(d.ID, StateSucceeded)
	got, err := store.DBTManifest(context.Background(), e.store.DB, repo, "analytics", "staging", sha)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"metadata": {"project_name": "analytics"}, "password": "***"}`; string(got) != want {
		t.Errorf("kept %q, want %q", got, want)
	}
	if _, err := store.DBTManifest(context.Background(), e.store.DB, repo, "analytics", "production", sha); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("kept for production too: %v", err)
	}
}

// Keeping the manifest cannot fail a deploy: with the table gone the
// deploy still succeeds (the failure is logged).
func TestDBTDeploySucceedsWhenTheManifestCannotBeKept(t *testing.T) {
	e := newEnv(t)
	e.drv.manifests = map[string][]byte{"analytics": []byte(`{"metadata": {}}`)}
	if _, err := e.store.DB.Exec(`DROP TABLE dbt_manifests`); err != nil {
		t.Fatal(err)
	}
	r, _ := dbtRequest(e, "feature", "staging")
	d := e.startOK(r)
	if d = e.wait(d.ID, StateSucceeded); d.Error != "" {
		t.Errorf("error = %q", d.Error)
	}
}
