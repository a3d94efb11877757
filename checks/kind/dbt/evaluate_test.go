package dbt

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/conveyor-dev/conveyor/checks/kind"
)

// treeEnv is a kind.Env holding a base and a head tree.
type treeEnv struct {
	kind.Env
	base, head fstest.MapFS
}

func (e treeEnv) Tree(_ context.Context, side kind.Side) (fs.FS, error) {
	if side == kind.Base {
		return e.base, nil
	}
	return e.head, nil
}

func (e treeEnv) ReadFile(_ context.Context, side kind.Side, name string) ([]byte, error) {
	t, _ := e.Tree(context.Background(), side)
	return fs.ReadFile(t, name)
}

// Subtree holds only the files under dirs, as the GitHub facts fetch them.
func (e treeEnv) Subtree(ctx context.Context, side kind.Side, dirs []string) (fs.FS, error) {
	t, _ := e.Tree(ctx, side)
	out := fstest.MapFS{}
	for name, f := range t.(fstest.MapFS) {
		for _, d := range dirs {
			if d == "." || strings.HasPrefix(name, d+"/") {
				out[name] = f
			}
		}
	}
	return out, nil
}

func (treeEnv) Environments() []string { return []string{"staging", "production"} }

func files(extra map[string]string) fstest.MapFS {
	out := fstest.MapFS{
		"analytics/dbt_project.yml":     {Data: []byte("name: shop\n")},
		"analytics/packages.yml":        {Data: []byte("packages:\n  - package: dbt-labs/dbt_utils\n    version: 1.3.0\n")},
		"analytics/seeds/raw.csv":       {Data: []byte("id\n1\n")},
		"analytics/models/stg.sql":      {Data: []byte("select * from {{ ref('raw') }}")},
		"analytics/models/orders.sql":   {Data: []byte("select * from {{ ref('stg') }}")},
		"analytics/models/exposure.yml": {Data: []byte("exposures:\n  - name: revenue_dashboard\n    type: dashboard\n    depends_on: [\"ref('orders')\"]\n")},
		"analytics/models/schema.yml": {Data: []byte("models:\n  - name: stg\n    description: staged\n    data_tests: [x]\n" +
			"  - name: orders\n    data_tests: [x]\n")},
	}
	for k, v := range extra {
		out["analytics/"+k] = &fstest.MapFile{Data: []byte(v)}
	}
	return out
}

func evaluate(t *testing.T, head fstest.MapFS) kind.Outcome {
	t.Helper()
	return Kind{}.Evaluate(context.Background(), treeEnv{base: files(nil), head: head}, kind.Artifact{Name: "analytics", Spec: &Spec{Project: "analytics"}})
}

// A seed edit rebuilds the seed and what reads it; the check says what a
// deploy builds, with the --select the driver passes, the target of each
// environment and the exposure downstream. The unvendored package is a
// warning, not a failure.
func TestEvaluateSaysWhatADeployBuilds(t *testing.T) {
	o := evaluate(t, files(map[string]string{"seeds/raw.csv": "id\n2\n"}))
	if o.Validate.Result != kind.Pass || !strings.Contains(o.Validate.Summary, "2 models, 1 seed parse") || !strings.Contains(o.Validate.Summary, "1 warning") {
		t.Fatalf("validate: %+v", o.Validate)
	}
	var warned bool
	for _, a := range o.Annotations {
		if a.Level == "warning" && strings.Contains(a.Message, "run dbt deps, or commit dbt_packages") {
			warned = true
		}
	}
	if !warned {
		t.Errorf("no unvendored-package warning in %+v", o.Annotations)
	}
	for _, want := range []string{"| modified | `raw` (body) |", "`--select=raw+` builds 3 nodes: `orders`, `raw`, `stg`.",
		"Exposures downstream (dashboards, ML consumers): `revenue_dashboard`.", "| production | `--target=production` |"} {
		if !strings.Contains(o.Persona, want) {
			t.Errorf("persona lacks %q:\n%s", want, o.Persona)
		}
	}
	assertSelection(t, o.Selection, []string{"raw"})
}

// Test-only and description-only edits are said as such and not built.
func TestEvaluateTestAndDescriptionEditsAreNotRebuilt(t *testing.T) {
	head := files(map[string]string{"models/schema.yml": "models:\n  - name: stg\n    description: the staged rows\n    data_tests: [x, y]\n" +
		"  - name: orders\n    data_tests: [x]\n"})
	o := evaluate(t, head)
	if o.Quality.Result != kind.Pass || !strings.Contains(o.Quality.Summary, "0 nodes modified") ||
		!strings.Contains(o.Quality.Summary, "tests changed: 1; not rebuilt") || !strings.Contains(o.Quality.Summary, "descriptions changed: 1; not rebuilt") {
		t.Errorf("quality: %+v", o.Quality)
	}
	assertSelection(t, o.Selection, nil)
}

func assertSelection(t *testing.T, got, want []string) {
	t.Helper()
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("selection %v, want %v", got, want)
	}
}

// A base whose committed manifest is stale is parsed, and so is the head
// then, even when its manifest is fresh: checksums from a manifest and from
// parsed files are not comparable. Only the edited model is modified.
func TestEvaluateMixedManifestStatesCompareParsedFiles(t *testing.T) {
	manifest := func(sql string) string {
		return `{"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json", "project_name": "shop"},
  "nodes": {"model.shop.stg": {"resource_type": "model", "name": "stg", "package_name": "shop", "original_file_path": "models/stg.sql",
    "raw_code": "` + sql + `", "checksum": {"name": "sha256", "checksum": "` + sha(sql) + `"}, "config": {"materialized": "view"}, "unrendered_config": {}},
  "model.shop.orders": {"resource_type": "model", "name": "orders", "package_name": "shop", "original_file_path": "models/orders.sql",
    "raw_code": "select * from {{ ref('stg') }}", "checksum": {"name": "sha256", "checksum": "` + sha("select * from {{ ref('stg') }}") + `"},
    "config": {"materialized": "view"}, "unrendered_config": {}, "depends_on": {"nodes": ["model.shop.stg"]}}}}`
	}
	only := func(extra map[string]string) fstest.MapFS {
		f := files(nil)
		delete(f, "analytics/seeds/raw.csv")
		delete(f, "analytics/packages.yml")
		f["analytics/models/stg.sql"] = &fstest.MapFile{Data: []byte("select 1")}
		for k, v := range extra {
			f["analytics/"+k] = &fstest.MapFile{Data: []byte(v)}
		}
		return f
	}
	base := only(map[string]string{"target/manifest.json": manifest("select 0")}) // stale: stg.sql says select 1
	head := only(map[string]string{"models/stg.sql": "select 2", "target/manifest.json": manifest("select 2")})
	o := Kind{}.Evaluate(context.Background(), treeEnv{base: base, head: head}, kind.Artifact{Name: "analytics", Spec: &Spec{Project: "analytics"}})
	if o.Validate.Result != kind.Pass {
		t.Fatalf("validate: %+v", o.Validate)
	}
	assertSelection(t, o.Selection, []string{"stg"})
}

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
