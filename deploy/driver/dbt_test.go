package driver

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/conveyor-dev/conveyor/internal/serverconfig"
)

// fakeDBT records its arguments, working directory and the checkout's
// VERSION file, and "builds" by writing that version as what serves.
const fakeDBT = `#!/bin/sh
rec=__REC__
printf '%s\n' "$@" > "$rec/args"
pwd > "$rec/cwd"
echo "$CONVEYOR_ENVIRONMENT $(cat VERSION) $CONVEYOR_PERCENT" > "$rec/observed"
echo "Running with dbt=1.8.0"
case $(cat "$rec/mode") in
fail) echo "Failure in test not_null_orders_id: boom, 3 rows" ; exit 1;;
hang) sleep 1000 & wait;;
esac
cat VERSION > "$rec/serving"
mkdir -p "${DBT_TARGET_PATH:-target}" && printf '{"metadata": {"project_name": "analytics"}, "built": "%s"}' "$(cat VERSION)" > "${DBT_TARGET_PATH:-target}/manifest.json"
echo "Completed successfully"
`

func dbtArchive(t *testing.T, sha string) []byte {
	top := "acme-shop-" + sha[:7] + "/"
	return makeTarball(t,
		tarEntry{Name: top, Type: '5'},
		tarEntry{Name: top + "analytics/", Type: '5'},
		tarEntry{Name: top + "analytics/dbt_project.yml", Body: "name: analytics\n"},
		tarEntry{Name: top + "analytics/VERSION", Body: sha + "\n"},
		tarEntry{Name: top + "analytics/models/orders.sql", Body: "select 1\n"},
		tarEntry{Name: top + "analytics/models/customers.sql", Body: "select 2\n"},
		tarEntry{Name: top + "analytics/models/staging/--profiles-dir=evil.sql", Body: "select 3\n"},
		tarEntry{Name: top + "README.md", Body: "shop\n"},
	)
}

func dbtTarget() Target {
	tg := appTarget()
	tg.Artifact, tg.Kind = "analytics", "dbt"
	tg.Spec = EncodeSpec(&DBTRef{Project: "analytics/", Select: []string{"orders", "customers+"}})
	return tg
}

func newDBTWorld(t *testing.T, timeout time.Duration) (contractWorld, string, string) {
	gh := newFakeGitHub(t)
	gh.tarballs[shaOld] = dbtArchive(t, shaOld)
	gh.tarballs[shaNew] = dbtArchive(t, shaNew)
	rec := t.TempDir()
	work := t.TempDir()
	script := writeScript(t, t.TempDir(), "dbt", strings.ReplaceAll(fakeDBT, "__REC__", rec))
	os.WriteFile(filepath.Join(rec, "mode"), []byte("ok"), 0o644)
	os.WriteFile(filepath.Join(rec, "serving"), []byte(shaOld), 0o644)
	cfg := serverconfig.Driver{Type: "dbt", Command: []string{script, "build"}, ProfilesDir: "/etc/dbt"}
	cfg.Timeout.Duration = timeout
	deps := gh.deps()
	deps.WorkDir = work
	d, err := New("dbt", cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	return contractWorld{
		driver:  d,
		target:  dbtTarget(),
		setMode: func(m string) { os.WriteFile(filepath.Join(rec, "mode"), []byte(m), 0o644) },
		serving: func() string { return readTrim(t, filepath.Join(rec, "serving")) },
		observed: func() observation {
			f := strings.Fields(readTrim(t, filepath.Join(rec, "observed")))
			if len(f) < 3 {
				return observation{}
			}
			return observation{Env: f[0], Subject: f[1], Partial: f[2] != "100"}
		},
	}, rec, work
}

var dbtHarness = contractHarness{
	name:     "dbt",
	failText: "not_null_orders_id",
	setup: func(t *testing.T, timeout time.Duration) contractWorld {
		w, _, _ := newDBTWorld(t, timeout)
		return w
	},
}

func TestDBTCommandLineAndCheckout(t *testing.T) {
	w, rec, work := newDBTWorld(t, time.Minute)
	var got lines
	res, err := w.driver.Deploy(context.Background(), w.target, got.log)
	if err != nil {
		t.Fatal(err)
	}
	// The manifest dbt wrote is handed back for the engine to keep.
	if want := `{"metadata": {"project_name": "analytics"}, "built": "` + shaNew + `"}`; string(res.Manifest) != want {
		t.Errorf("Result.Manifest = %q, want %q", res.Manifest, want)
	}
	// One argv word per line: the selection is one word in "=" form.
	if args := readTrim(t, filepath.Join(rec, "args")); args != "build\n--select=orders+ customers+\n--target=production\n--profiles-dir=/etc/dbt" {
		t.Errorf("dbt args = %q", args)
	}
	if cwd := readTrim(t, filepath.Join(rec, "cwd")); !strings.HasPrefix(cwd, work) || !strings.HasSuffix(cwd, "/analytics") {
		t.Errorf("dbt ran in %q; want <checkout under %s>/analytics", cwd, work)
	}
	if left, _ := os.ReadDir(work); len(left) != 0 {
		t.Errorf("checkout not cleaned up: %v", left)
	}
	if !strings.Contains(strings.Join(got.all(), "\n"), "Completed successfully") {
		t.Errorf("dbt's output was not streamed: %q", got.all())
	}
}

// The manifest is read where dbt writes it: DBT_TARGET_PATH, else
// target-path in dbt_project.yml, else target/; one outside the project,
// or none at all, is said in the output and fails nothing.
func TestDBTManifestTargetPath(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	read := func(env ...string) (string, string) {
		var got lines
		p := newProgress(got.log, nil)
		return string(readManifest(dir, env, p)), p.Output()
	}
	write("dbt_project.yml", "name: analytics\n")
	if m, out := read(); m != "" || !strings.Contains(out, "dbt wrote no target/manifest.json") {
		t.Errorf("no manifest: %q, output %q", m, out)
	}
	write("target/manifest.json", "default")
	write("out/manifest.json", "from the project file")
	write("env/manifest.json", "from the environment")
	if m, _ := read(); m != "default" {
		t.Errorf("default: %q", m)
	}
	write("dbt_project.yml", "name: analytics\ntarget-path: out\n")
	if m, _ := read(); m != "from the project file" {
		t.Errorf("target-path: %q", m)
	}
	if m, _ := read("DBT_TARGET_PATH=env"); m != "from the environment" {
		t.Errorf("DBT_TARGET_PATH: %q", m)
	}
	if m, out := read("DBT_TARGET_PATH=../../etc"); m != "" || !strings.Contains(out, "outside the project") {
		t.Errorf("outside: %q, output %q", m, out)
	}
}

func TestDBTRollbackSaysThereIsNoUndo(t *testing.T) {
	w, rec, _ := newDBTWorld(t, time.Minute)
	tg := w.target
	ref := tg.DBTRef()
	ref.Target = "prod_warehouse"
	tg.Spec = EncodeSpec(ref)
	res, err := w.driver.Rollback(context.Background(), tg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(res.Output, "no undo") || res.Serving != shaOld {
		t.Errorf("Result = %+v; want a no-undo note and the previous SHA serving", res)
	}
	if args := readTrim(t, filepath.Join(rec, "args")); !strings.Contains(args, "--target=prod_warehouse") {
		t.Errorf("args %q do not use the configured dbt target", args)
	}
	tg.Previous = ""
	os.Remove(filepath.Join(rec, "args"))
	res, err = w.driver.Rollback(context.Background(), tg, nil)
	if err != nil || !strings.Contains(res.Output, "nothing was deployed") {
		t.Errorf("rollback with nothing before = %+v, %v", res, err)
	}
	if _, err := os.Stat(filepath.Join(rec, "args")); err == nil {
		t.Error("dbt ran although there was nothing to rebuild")
	}
}

func TestDBTBadProjectAndMissingCommit(t *testing.T) {
	w, _, _ := newDBTWorld(t, time.Minute)
	tg := w.target
	tg.Spec = EncodeSpec(&DBTRef{Project: "../elsewhere"})
	if _, err := w.driver.Deploy(context.Background(), tg, nil); err == nil || !strings.Contains(err.Error(), "leaves the repository") {
		t.Errorf("project outside the repo: err = %v", err)
	}
	tg.Spec = EncodeSpec(&DBTRef{Project: "warehouse"})
	if _, err := w.driver.Deploy(context.Background(), tg, nil); err == nil || !strings.Contains(err.Error(), `no dbt_project.yml in "warehouse"`) {
		t.Errorf("project without dbt_project.yml: err = %v", err)
	}
	tg = w.target
	tg.SHA = "cccccccccccccccccccccccccccccccccccccccc"
	_, err := w.driver.Deploy(context.Background(), tg, nil)
	if err == nil || !strings.Contains(err.Error(), "tarball of acme/shop at ccccccc") || strings.Contains(err.Error(), "sekrit") {
		t.Errorf("missing commit: err = %v", err)
	}
}

// A model file named models/staging/--profiles-dir=evil.sql must never
// become a dbt option: the deploy is refused, dbt never runs, and the
// message says what to rename.
func TestDBTRefusesAModelNameThatLooksLikeAnOption(t *testing.T) {
	w, rec, _ := newDBTWorld(t, time.Minute)
	tg := w.target
	tg.Spec = EncodeSpec(&DBTRef{Project: "analytics", Select: []string{"orders", "--profiles-dir=evil"}})
	_, err := w.driver.Deploy(context.Background(), tg, nil)
	if err == nil {
		t.Fatal("deploy with a model named --profiles-dir=evil succeeded")
	}
	for _, want := range []string{`dbt node "--profiles-dir=evil" cannot be selected`, "rename the file", "profiles_dir_evil.sql"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if _, serr := os.Stat(filepath.Join(rec, "args")); serr == nil {
		t.Errorf("dbt ran with args %q", readTrim(t, filepath.Join(rec, "args")))
	}
}

// Whatever the PR selects, no argv word that came from it starts with "-"
// on its own: the selection is always inside "--select=".
func TestDBTArgvHasNoWordFromThePR(t *testing.T) {
	w, rec, _ := newDBTWorld(t, time.Minute)
	tg := w.target
	tg.Spec = EncodeSpec(&DBTRef{Project: "analytics", Select: []string{"orders", "analytics.customers+"}})
	if _, err := w.driver.Deploy(context.Background(), tg, nil); err != nil {
		t.Fatal(err)
	}
	words := strings.Split(readTrim(t, filepath.Join(rec, "args")), "\n")
	fixed := map[string]bool{"build": true, "--select=orders+ customers+": true, "--target=production": true, "--profiles-dir=/etc/dbt": true}
	for _, wd := range words {
		if !fixed[wd] {
			t.Errorf("argv word %q is not one the driver builds itself", wd)
		}
	}
	if len(words) != len(fixed) {
		t.Errorf("argv = %q", words)
	}
}

func TestDBTRefusesModelsTheProjectDoesNotHave(t *testing.T) {
	w, rec, _ := newDBTWorld(t, time.Minute)
	tg := w.target
	tg.Spec = EncodeSpec(&DBTRef{Project: "analytics", Select: []string{"ghost"}})
	_, err := w.driver.Deploy(context.Background(), tg, nil)
	if err == nil || !strings.Contains(err.Error(), "has no model ghost") {
		t.Errorf("err = %v; want the missing model named", err)
	}
	if _, serr := os.Stat(filepath.Join(rec, "args")); serr == nil {
		t.Error("dbt ran for a model the project does not have")
	}
}

func TestCheckDBTSelectionForms(t *testing.T) {
	models := map[string]bool{"orders": true, "dim_customers.v2": true, "dim_customers.v1": true, "_private": true}
	has := func(k string) bool { return models[k] }
	got, err := CheckDBTSelection([]string{"orders+", "dim_customers.v2", "shop.dim_customers.v1", "shop.orders", "_private"}, "shop", has)
	if err != nil {
		t.Fatal(err)
	}
	if want := "orders dim_customers.v2 dim_customers.v1 _private"; strings.Join(got, " ") != want {
		t.Errorf("keys = %q, want %q", got, want)
	}
	for _, bad := range []string{"-x", "--profiles-dir=evil", "path:models/orders.sql", "models/orders", "ord*", "1orders", "a b", "other.orders", "a.b.c", "", "orders;rm", "+orders"} {
		if _, err := CheckDBTSelection([]string{bad}, "shop", func(string) bool { return true }); err == nil {
			t.Errorf("%q was accepted", bad)
		} else if !strings.Contains(err.Error(), "cannot be selected") {
			t.Errorf("%q: error %q does not say it cannot be selected", bad, err)
		}
	}
}
