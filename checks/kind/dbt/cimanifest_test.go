package dbt

import (
	"context"
	"fmt"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/conveyor-dev/conveyor/checks/kind"
)

// ciEnv is a kind.Env whose GitHub Actions hold runs and artifacts.
type ciEnv struct {
	treeEnv
	acts    *fakeActions
	serving map[string]map[string]string
	age     time.Duration     // how long the head has been known; 0: an hour
	kept    map[string][]byte // env/artifact@sha -> the manifest its deploy kept
}

func (e ciEnv) DeployedManifest(_ context.Context, env, artifact, sha string) ([]byte, error) {
	if b, ok := e.kept[env+"/"+artifact+"@"+sha]; ok {
		return b, nil
	}
	return nil, fs.ErrNotExist
}

func (e ciEnv) HeadAge() time.Duration {
	if e.age == 0 {
		return time.Hour
	}
	return e.age
}

func (ciEnv) HeadSHA() string { return "headsha0000000" }
func (ciEnv) BaseSHA() string { return "basesha0000000" }
func (e ciEnv) Serving(_ context.Context, env string) (map[string]string, error) {
	return e.serving[env], nil
}
func (e ciEnv) Actions() (kind.Actions, error) {
	if e.acts == nil {
		return nil, kind.ErrNoActions
	}
	return e.acts, nil
}

// fakeActions answers runs by SHA and artifact files by run ID, as the
// prfacts reader does (its own tests hold it to GitHub's API through
// ghfake).
type fakeActions struct {
	runs  map[string]*kind.WorkflowRun
	files map[int64][]byte
	errs  map[int64]error
	asked []string
}

func (f *fakeActions) LatestRun(_ context.Context, workflow, sha string) (*kind.WorkflowRun, error) {
	f.asked = append(f.asked, workflow+"@"+sha)
	return f.runs[sha], nil
}

func (f *fakeActions) ArtifactFile(_ context.Context, runID int64, artifact, name string, limit int64) ([]byte, error) {
	if err := f.errs[runID]; err != nil {
		return nil, err
	}
	if artifact != "dbt-manifest" || name != "target/manifest.json" || limit != MaxCIManifestBytes {
		return nil, fmt.Errorf("asked for %s/%s (limit %d): %w", artifact, name, limit, fs.ErrNotExist)
	}
	return f.files[runID], nil
}

// shopManifest is a manifest dbt would write for the shop project: stg's
// body and the macro orders uses are the parameters.
func shopManifest(stgSQL, macroSQL string) string {
	return `{"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json", "project_name": "shop", "adapter_type": "snowflake"},
  "nodes": {
    "seed.shop.raw": {"resource_type": "seed", "name": "raw", "package_name": "shop", "original_file_path": "seeds/raw.csv",
      "checksum": {"name": "sha256", "checksum": "` + sha("id\n1\n") + `"}, "config": {}, "unrendered_config": {}},
    "model.shop.stg": {"resource_type": "model", "name": "stg", "package_name": "shop", "original_file_path": "models/stg.sql",
      "raw_code": "` + stgSQL + `", "checksum": {"name": "sha256", "checksum": "` + sha(stgSQL) + `"}, "config": {"materialized": "view"},
      "unrendered_config": {}, "depends_on": {"nodes": ["seed.shop.raw"]}},
    "model.shop.orders": {"resource_type": "model", "name": "orders", "package_name": "shop", "original_file_path": "models/orders.sql",
      "raw_code": "select {{ cents('x') }} from {{ ref('stg') }}", "checksum": {"name": "sha256", "checksum": "` + sha("select {{ cents('x') }} from {{ ref('stg') }}") + `"},
      "config": {"materialized": "table"}, "unrendered_config": {}, "depends_on": {"nodes": ["model.shop.stg"], "macros": ["macro.shop.cents"]}},
    "test.shop.t1": {"resource_type": "test", "name": "t1", "package_name": "shop", "depends_on": {"nodes": ["model.shop.stg", "model.shop.orders"]}}},
  "macros": {"macro.shop.cents": {"name": "cents", "package_name": "shop", "original_file_path": "macros/cents.sql", "macro_sql": "` + macroSQL + `"}}}`
}

func ciSpec(compare string) *Spec {
	return &Spec{Project: "analytics", CIManifest: &CIManifest{Workflow: "dbt.yml", Artifact: "dbt-manifest", Path: "target/manifest.json", Compare: compare, StartWait: DefaultStartWait}}
}

func done(id int64, n int) *kind.WorkflowRun {
	return &kind.WorkflowRun{ID: id, Number: n, Status: "completed", Conclusion: "success", URL: fmt.Sprintf("https://github.com/acme/shop/actions/runs/%d", id)}
}

// The PR's manifest, written by the project's CI for the head SHA, is
// compared with the manifest its CI wrote for the base SHA, by dbt's rules
// on manifest nodes: a macro edit modifies the node that depends on it,
// though no file under the project changed between the trees read here.
func TestEvaluateComparesTheManifestsCIWrote(t *testing.T) {
	acts := &fakeActions{
		runs:  map[string]*kind.WorkflowRun{"headsha0000000": done(12, 7), "basesha0000000": done(10, 6)},
		files: map[int64][]byte{12: []byte(shopManifest("select 1", "{% macro cents(c) %}{{ c }} * 100{% endmacro %}")), 10: []byte(shopManifest("select 1", "{% macro cents(c) %}{{ c }}{% endmacro %}"))},
	}
	env := ciEnv{treeEnv: treeEnv{base: files(nil), head: files(nil)}, acts: acts}
	o := Kind{}.Evaluate(context.Background(), env, kind.Artifact{Name: "analytics", Spec: ciSpec("base")})
	if o.Validate.Result != kind.Pass || !strings.Contains(o.Validate.Summary, "in dbt's manifest from dbt.yml run #7 on headsha") {
		t.Fatalf("validate: %+v", o.Validate)
	}
	assertSelection(t, o.Selection, []string{"orders"})
	if !strings.Contains(o.Quality.Summary, "compared dbt's manifests with the base, dbt.yml run #6 on basesha") {
		t.Errorf("quality: %+v", o.Quality)
	}
	if !strings.Contains(o.Persona, "macros changed | `shop.cents`") {
		t.Errorf("persona:\n%s", o.Persona)
	}
	assertSelection(t, acts.asked, []string{"dbt.yml@headsha0000000", "dbt.yml@basesha0000000"})
}

// compare: production compares with the manifest of the run on the SHA
// production last deployed; nothing deployed yet compares with the base.
func TestEvaluateComparesWithWhatAnEnvironmentRuns(t *testing.T) {
	acts := &fakeActions{
		runs: map[string]*kind.WorkflowRun{"headsha0000000": done(12, 7), "basesha0000000": done(10, 6), "prodsha0000000": done(5, 3)},
		files: map[int64][]byte{12: []byte(shopManifest("select 2", "m")), 10: []byte(shopManifest("select 2", "m")),
			5: []byte(shopManifest("select 1", "m"))},
	}
	env := ciEnv{treeEnv: treeEnv{base: files(nil), head: files(nil)}, acts: acts,
		serving: map[string]map[string]string{"production": {"analytics": "prodsha0000000"}}}
	o := Kind{}.Evaluate(context.Background(), env, kind.Artifact{Name: "analytics", Spec: ciSpec("production")})
	assertSelection(t, o.Selection, []string{"stg"})
	if !strings.Contains(o.Quality.Summary, "with what production runs, dbt.yml run #3 on prodsha") {
		t.Errorf("quality: %+v", o.Quality)
	}
	env.serving = nil
	o = Kind{}.Evaluate(context.Background(), env, kind.Artifact{Name: "analytics", Spec: ciSpec("production")})
	assertSelection(t, o.Selection, nil)
	if !strings.Contains(o.Quality.Summary, "with the base (nothing deployed to production yet), dbt.yml run #6") {
		t.Errorf("quality: %+v", o.Quality)
	}
}

// compare: production prefers the manifest the deploy kept for the SHA
// production runs over the CI run's artifact (which may have expired):
// the kept one is compared without asking GitHub for that SHA.
func TestEvaluateComparesWithTheManifestKeptAtDeploy(t *testing.T) {
	acts := &fakeActions{
		runs:  map[string]*kind.WorkflowRun{"headsha0000000": done(12, 7), "prodsha0000000": done(5, 3)},
		files: map[int64][]byte{12: []byte(shopManifest("select 2", "m"))},
		errs:  map[int64]error{5: kind.ErrArtifactExpired},
	}
	env := ciEnv{treeEnv: treeEnv{base: files(nil), head: files(nil)}, acts: acts,
		serving: map[string]map[string]string{"production": {"analytics": "prodsha0000000"}},
		kept:    map[string][]byte{"production/analytics@prodsha0000000": []byte(shopManifest("select 1", "m"))}}
	o := Kind{}.Evaluate(context.Background(), env, kind.Artifact{Name: "analytics", Spec: ciSpec("production")})
	assertSelection(t, o.Selection, []string{"stg"})
	if !strings.Contains(o.Quality.Summary, "compared dbt's manifests with what production runs, the manifest kept when it deployed prodsha") {
		t.Errorf("quality: %+v", o.Quality)
	}
	assertSelection(t, acts.asked, []string{"dbt.yml@headsha0000000"})

	// Nothing kept: the CI artifact, here expired, is the fallback.
	env.kept = nil
	o = Kind{}.Evaluate(context.Background(), env, kind.Artifact{Name: "analytics", Spec: ciSpec("production")})
	if d := strings.Join(o.Validate.Details, "\n"); !strings.Contains(d, "artifact dbt-manifest of dbt.yml run #3 on prodsha has expired") {
		t.Errorf("details: %s", d)
	}
}

// While the run on the head (or on the base) is going the check waits and
// says for what; it is evaluated again later.
func TestEvaluateWaitsForTheRun(t *testing.T) {
	for _, side := range []string{"headsha0000000", "basesha0000000"} {
		acts := &fakeActions{runs: map[string]*kind.WorkflowRun{"headsha0000000": done(12, 7), "basesha0000000": done(10, 6)},
			files: map[int64][]byte{12: []byte(shopManifest("select 1", "m")), 10: []byte(shopManifest("select 1", "m"))}}
		acts.runs[side] = &kind.WorkflowRun{ID: 13, Number: 8, Status: "in_progress"}
		o := Kind{}.Evaluate(context.Background(), ciEnv{treeEnv: treeEnv{base: files(nil), head: files(nil)}, acts: acts},
			kind.Artifact{Name: "analytics", Spec: ciSpec("base")})
		want := "waiting for dbt.yml run #8 on " + side[:7] + " (in_progress) to upload dbt-manifest"
		if o.Validate.Result != kind.Wait || o.Validate.Summary != want || o.Quality.Result != kind.Wait || !o.Retry {
			t.Errorf("%s: validate %+v quality %+v retry %v; want Wait %q", side, o.Validate, o.Quality, o.Retry, want)
		}
	}
}

// GitHub creates the run a few seconds after the push: while the head is
// younger than wait_for_start and has no run, the check waits for the run
// to start; the base's run is not waited for. Past the bound the project
// is parsed with a warning.
func TestEvaluateWaitsForTheRunToStart(t *testing.T) {
	acts := &fakeActions{runs: map[string]*kind.WorkflowRun{"basesha0000000": done(10, 6)},
		files: map[int64][]byte{10: []byte(shopManifest("select 1", "m"))}}
	env := ciEnv{treeEnv: treeEnv{base: files(nil), head: files(map[string]string{"seeds/raw.csv": "id\n2\n"})}, acts: acts, age: 5 * time.Second}
	o := Kind{}.Evaluate(context.Background(), env, kind.Artifact{Name: "analytics", Spec: ciSpec("base")})
	want := "waiting for workflow dbt.yml to start on headsha (up to 10m after the push, then the project is parsed)"
	if o.Validate.Result != kind.Wait || o.Validate.Summary != want || o.Quality.Result != kind.Wait || !o.Retry {
		t.Fatalf("validate %+v quality %+v retry %v; want Wait %q", o.Validate, o.Quality, o.Retry, want)
	}

	spec := ciSpec("base")
	spec.CIManifest.StartWait = 2 * time.Minute
	env.age = 2*time.Minute + time.Second
	o = Kind{}.Evaluate(context.Background(), env, kind.Artifact{Name: "analytics", Line: 4, Spec: spec})
	if o.Validate.Result != kind.Pass || o.Retry {
		t.Fatalf("past the bound: validate %+v retry %v", o.Validate, o.Retry)
	}
	if d := strings.Join(o.Validate.Details, "\n"); !strings.Contains(d, "warning: dbt.yml has no run on headsha 2m after the push") {
		t.Errorf("details: %s", d)
	}
	assertSelection(t, o.Selection, []string{"raw"})

	// The head's run is there but the base has none: no wait, however
	// young the head.
	acts = &fakeActions{runs: map[string]*kind.WorkflowRun{"headsha0000000": done(12, 7)}, files: map[int64][]byte{12: []byte(shopManifest("select 1", "m"))}}
	env = ciEnv{treeEnv: treeEnv{base: files(nil), head: files(nil)}, acts: acts, age: time.Second}
	o = Kind{}.Evaluate(context.Background(), env, kind.Artifact{Name: "analytics", Spec: ciSpec("base")})
	if o.Retry || !strings.Contains(strings.Join(o.Validate.Details, "\n"), "dbt.yml has no run on basesha, so") {
		t.Errorf("no base run: validate %+v retry %v", o.Validate, o.Retry)
	}
}

// A run that failed, is absent, uploaded no manifest or whose artifact
// expired, a manifest that is not one, and an evaluation without GitHub:
// each says why and the project is parsed instead (the seed edit in the
// trees is what is modified then).
func TestEvaluateFallsBackToParsingWithAWarning(t *testing.T) {
	good := []byte(shopManifest("select 1", "m"))
	cases := []struct {
		name string
		acts *fakeActions
		want string
	}{
		{"failed run", &fakeActions{runs: map[string]*kind.WorkflowRun{"headsha0000000": {ID: 12, Number: 7, Status: "completed", Conclusion: "failure", URL: "https://github.com/acme/shop/actions/runs/12"}}},
			"dbt.yml run #7 on headsha concluded failure, so its manifest is not trusted"},
		{"no run on the head", &fakeActions{}, "dbt.yml has no run on headsha 10m after the push, so dbt's manifest for it is not known: the project is parsed instead (lineage may differ from dbt's); check the workflow's triggers"},
		{"no run on the base", &fakeActions{runs: map[string]*kind.WorkflowRun{"headsha0000000": done(12, 7)}, files: map[int64][]byte{12: good}},
			"dbt.yml has no run on basesha, so dbt's manifest for it is not known: the project is parsed instead (lineage may differ from dbt's); re-run this check once the workflow has run (the manifest the base is compared with)"},
		{"expired", &fakeActions{runs: map[string]*kind.WorkflowRun{"headsha0000000": done(12, 7)}, errs: map[int64]error{12: kind.ErrArtifactExpired}},
			"artifact dbt-manifest of dbt.yml run #7 on headsha has expired"},
		{"no artifact", &fakeActions{runs: map[string]*kind.WorkflowRun{"headsha0000000": done(12, 7)}, errs: map[int64]error{12: fmt.Errorf("artifact dbt-manifest of run 12: %w", fs.ErrNotExist)}},
			"dbt.yml run #7 on headsha uploaded no target/manifest.json"},
		{"too large", &fakeActions{runs: map[string]*kind.WorkflowRun{"headsha0000000": done(12, 7)}, errs: map[int64]error{12: &kind.TooLargeError{Path: "target/manifest.json", Size: 300 << 20}}},
			"the manifest of dbt.yml run #7 is too large (target/manifest.json is 300 MiB"},
		{"not a manifest", &fakeActions{runs: map[string]*kind.WorkflowRun{"headsha0000000": done(12, 7), "basesha0000000": done(10, 6)},
			files: map[int64][]byte{12: []byte(`{"nodes": {}}`), 10: good}},
			"the manifest from dbt.yml run #7 on headsha cannot be used (not a dbt manifest"},
		{"without GitHub", nil, "ci_manifest: GitHub Actions are read on the pull request only; the project is parsed here"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := ciEnv{treeEnv: treeEnv{base: files(nil), head: files(map[string]string{"seeds/raw.csv": "id\n2\n"})}, acts: tc.acts}
			if tc.acts == nil {
				env.acts = nil
			}
			o := Kind{}.Evaluate(context.Background(), env, kind.Artifact{Name: "analytics", Line: 4, Spec: ciSpec("base")})
			if o.Validate.Result != kind.Pass || o.Retry {
				t.Fatalf("validate: %+v (retry %v)", o.Validate, o.Retry)
			}
			var warned bool
			for _, a := range o.Annotations {
				if a.Path == ".github/conveyor.yml" && a.Line == 4 && a.Level == "warning" && strings.Contains(a.Message, tc.want) {
					warned = true
				}
			}
			if !warned || !strings.Contains(strings.Join(o.Validate.Details, "\n"), tc.want) {
				t.Errorf("no warning %q in %+v / %v", tc.want, o.Annotations, o.Validate.Details)
			}
			assertSelection(t, o.Selection, []string{"raw"})
		})
	}
}

var _ fs.FS = fstest.MapFS{}
