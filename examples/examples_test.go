package examples

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/conveyor-dev/conveyor/checks/kind"
	"github.com/conveyor-dev/conveyor/checks/kind/app"
	"github.com/conveyor-dev/conveyor/checks/kind/dbt"
	"github.com/conveyor-dev/conveyor/checks/kind/model"
	"github.com/conveyor-dev/conveyor/checks/repoconfig"
	"github.com/conveyor-dev/conveyor/internal/serverconfig"
)

// The example repositories use the three built-in kinds.
func init() { kind.Ensure(app.Kind{}, model.Kind{}, dbt.Kind{}) }

func loadMonorepo(t *testing.T) map[string]string {
	t.Helper()
	files, err := LoadRepo("monorepo")
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func serverDrivers(t *testing.T) map[string]bool {
	t.Helper()
	sc, err := serverconfig.Load("monorepo/conveyor.server.yml")
	if err != nil {
		t.Fatal(err)
	}
	drivers := map[string]bool{}
	for name := range sc.Drivers {
		drivers[name] = true
	}
	return drivers
}

func TestMonorepoConfigIsClean(t *testing.T) {
	files := loadMonorepo(t)
	c, probs := repoconfig.Parse([]byte(files[repoconfig.Path]))
	if len(probs) > 0 {
		t.Fatalf("parse: %v", probs)
	}
	if probs := repoconfig.Validate(c, repoconfig.MapRepo(files), serverDrivers(t)); len(probs) > 0 {
		t.Fatalf("validate: %v", probs)
	}
	var names []string
	for _, a := range c.Artifacts {
		names = append(names, a.Name+":"+a.Kind)
	}
	if got := strings.Join(names, " "); got != "web:app fraud-model:model churn-model:model analytics:dbt" {
		t.Errorf("artifacts = %s", got)
	}
	p, probs := model.ParsePointer([]byte(files["models/fraud.yaml"]))
	if len(probs) > 0 || p.Registry != "main" || p.Model != "fraud-detector" || p.Version != "13" {
		t.Errorf("fraud pointer on main = %+v %v", p, probs)
	}
	prod := c.Environment("production")
	if prod.Approvals.Count != 2 || prod.Rollout.Pause.String() != "1s" || prod.Requires[0] != "staging" {
		t.Errorf("production = %+v", prod)
	}
}

func TestLoadRepoSkipsChanges(t *testing.T) {
	files, err := LoadRepo(".")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := files["monorepo/"+repoconfig.Path]; !ok {
		t.Error("monorepo files missing")
	}
	for p := range files {
		if strings.HasPrefix(p, "changes/") {
			t.Fatalf("LoadRepo read %s from a change directory", p)
		}
	}
	if _, err := LoadRepo("does-not-exist"); err == nil {
		t.Error("LoadRepo of a missing directory must fail")
	}
}

func TestMLflowSeed(t *testing.T) {
	b, err := os.ReadFile("monorepo/mlflow.json")
	if err != nil {
		t.Fatal(err)
	}
	var seed struct {
		Models []struct {
			Name     string
			Versions []struct {
				Version, Status string
				Metrics         map[string]float64
			}
			Aliases map[string]string
		}
	}
	if err := json.Unmarshal(b, &seed); err != nil {
		t.Fatal(err)
	}
	auc := map[string]float64{}
	for _, m := range seed.Models {
		if m.Name == "fraud-detector" {
			for _, v := range m.Versions {
				auc[v.Version] = v.Metrics["auc"]
			}
			if m.Aliases["production"] != "13" {
				t.Errorf("production alias = %q", m.Aliases["production"])
			}
		}
	}
	// The scripted changes rely on these: 14 passes min 0.90 and max_regression
	// 0.005 against 13; 15 fails both.
	if !(auc["14"] >= 0.90 && auc["13"]-auc["14"] <= 0.005 && auc["15"] < 0.90) {
		t.Errorf("fraud-detector metrics = %v", auc)
	}
}

// TestChanges replays every scripted change over the monorepo: the head
// config is checked, and the changed files touch exactly the artifacts the
// change expects a conclusion for.
func TestChanges(t *testing.T) {
	base := loadMonorepo(t)
	drivers := serverDrivers(t)
	changes, err := LoadChanges("changes")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, ch := range changes {
		names = append(names, ch.Name)
	}
	if got := strings.Join(names, ","); got != "auc-regression,broken-config,contract-break,good,missing-tests,over-quota" {
		t.Fatalf("changes = %s", got)
	}
	for _, ch := range changes {
		t.Run(ch.Name, func(t *testing.T) {
			head := ch.Apply(base)
			for _, p := range ch.Changed() {
				if _, inBase := base[p]; !inBase && head[p] == "" {
					t.Errorf("changed file %s is neither in the monorepo nor in the overlay", p)
				}
				if base[p] == head[p] {
					t.Errorf("%s: the overlay does not change it", p)
				}
			}
			c, probs := repoconfig.Parse([]byte(head[repoconfig.Path]))
			probs = append(probs, repoconfig.Validate(c, repoconfig.MapRepo(head), drivers)...)
			for _, want := range ch.Expect.Problems {
				if !hasProblem(probs, want) {
					t.Errorf("missing problem %+v in %v", want, probs)
				}
			}
			if len(ch.Expect.Problems) == 0 && len(probs) > 0 {
				t.Errorf("unexpected config problems: %v", probs)
			}
			touched, _ := repoconfig.NewClassifier(c).Classify(ch.Changed())
			if got, want := sortedKeys(touched), sortedKeys(ch.Expect.Artifacts); !reflect.DeepEqual(got, want) {
				t.Errorf("touched %v, but expect lists %v", got, want)
			}
		})
	}
}

func TestBrokenConfigProblems(t *testing.T) {
	ch, err := LoadChange("changes/broken-config")
	if err != nil {
		t.Fatal(err)
	}
	head := ch.Apply(loadMonorepo(t))
	c, probs := repoconfig.Parse([]byte(head[repoconfig.Path]))
	if len(probs) != 1 || probs[0].Line != 8 || probs[0].Column != 5 || !strings.Contains(probs[0].Message, `did you mean "owners"`) {
		t.Fatalf("parse problems = %v", probs)
	}
	probs = repoconfig.Validate(c, repoconfig.MapRepo(head), nil)
	if len(probs) != 1 || probs[0].Line != 7 || probs[0].Column != 32 || !strings.Contains(probs[0].Message, `"services/webapp/**" matches no file`) {
		t.Fatalf("validate problems = %v", probs)
	}
}

func TestApplyDeletesAndOverlays(t *testing.T) {
	ch := &Change{Delete: []string{"a"}, Files: map[string]string{"b": "new", "c": "added"}}
	base := map[string]string{"a": "1", "b": "2"}
	head := ch.Apply(base)
	if !reflect.DeepEqual(head, map[string]string{"b": "new", "c": "added"}) {
		t.Errorf("head = %v", head)
	}
	if base["a"] != "1" || base["b"] != "2" {
		t.Error("Apply modified its input")
	}
	if got := ch.Changed(); !reflect.DeepEqual(got, []string{"a", "b", "c"}) {
		t.Errorf("Changed() = %v", got)
	}
}

func TestLoadChangeRejectsBadFiles(t *testing.T) {
	cases := map[string]string{
		"no title":     "expect: {gate: success}\n",
		"bad gate":     "title: t\nexpect: {gate: green}\n",
		"bad artifact": "title: t\nexpect: {gate: success, artifacts: {web: ok}}\n",
		"unknown key":  "title: t\nexpect: {gate: success}\nfiles: {}\n",
		"bad delete":   "title: t\nexpect: {gate: success}\ndelete: [../etc/passwd]\n",
		"no changes":   "title: t\nexpect: {gate: success}\n",
	}
	wants := map[string]string{
		"no title": "title is missing", "bad gate": "write success or failure", "bad artifact": "expect.artifacts.web",
		"unknown key": "field files not found", "bad delete": "not a clean repository path", "no changes": "changes nothing",
	}
	for name, src := range cases {
		dir := filepath.Join(t.TempDir(), "c")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, ChangeFile), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := LoadChange(dir)
		if err == nil || !strings.Contains(err.Error(), wants[name]) {
			t.Errorf("%s: err = %v, want it to mention %q", name, err, wants[name])
		}
	}
	if _, err := LoadChange(t.TempDir()); err == nil {
		t.Error("a directory without change.yaml must fail")
	}
}

func hasProblem(probs []repoconfig.Problem, want ExpectProblem) bool {
	for _, p := range probs {
		if p.File == want.File && p.Line == want.Line && strings.Contains(p.Message, want.Contains) {
			return true
		}
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	out := []string{}
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
