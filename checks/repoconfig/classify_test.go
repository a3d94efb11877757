package repoconfig

import (
	"fmt"
	"github.com/conveyor-dev/conveyor/checks/kind/app"
	"github.com/conveyor-dev/conveyor/checks/kind/dbt"
	"github.com/conveyor-dev/conveyor/checks/kind/model"
	"math/rand"
	"reflect"
	"sort"
	"testing"

	"github.com/bmatcuk/doublestar/v4"
)

func TestClassify(t *testing.T) {
	c := mustParse(t, `version: 1
artifacts:
  web: {kind: app, paths: ["services/web/**", "libs/shared/**/*.go"]}
  docs: {kind: app, paths: ["**/*.md", "Makefile"]}
  fraud-model: {kind: model, pointer: models/fraud.yaml}
  analytics: {kind: dbt, project: analytics/}
`)
	changed := []string{
		"services/web/main.go",
		"services/web/README.md",
		"libs/shared/log/log.go",
		"libs/shared/log/log_test.py",
		"models/fraud.yaml",
		"models/churn.yaml",
		"analytics/models/a.sql",
		"analyticsx/b.sql",
		"Makefile",
		"services/web/main.go", // listed twice: counted once per artifact
	}
	touched, unowned := NewClassifier(c).Classify(changed)
	want := map[string][]string{
		"web":         {"services/web/main.go", "services/web/README.md", "libs/shared/log/log.go"},
		"docs":        {"services/web/README.md", "Makefile"},
		"fraud-model": {"models/fraud.yaml"},
		"analytics":   {"analytics/models/a.sql"},
	}
	if !reflect.DeepEqual(touched, want) {
		t.Errorf("touched = %v\nwant      %v", touched, want)
	}
	if !reflect.DeepEqual(unowned, []string{"libs/shared/log/log_test.py", "models/churn.yaml", "analyticsx/b.sql"}) {
		t.Errorf("unowned = %v", unowned)
	}
	cl := NewClassifier(c)
	if got := cl.Match("services/web/docs/x.md"); !reflect.DeepEqual(got, []string{"web", "docs"}) {
		t.Errorf("Match = %v", got)
	}
	if got := cl.Match("nowhere"); got != nil {
		t.Errorf("Match(nowhere) = %v", got)
	}
}

func TestClassifyRootProjectAndEmptyInput(t *testing.T) {
	c := mustParse(t, "version: 1\nartifacts:\n  all: {kind: dbt, project: .}\n")
	touched, unowned := NewClassifier(c).Classify([]string{"a", "b/c"})
	if len(touched["all"]) != 2 || unowned != nil {
		t.Errorf("touched = %v, unowned = %v", touched, unowned)
	}
	touched, unowned = NewClassifier(c).Classify(nil)
	if len(touched) != 0 || len(unowned) != 0 {
		t.Errorf("empty input: %v %v", touched, unowned)
	}
}

// TestClassifyAgreesWithDoublestar checks the index against matching every
// glob against every file.
func TestClassifyAgreesWithDoublestar(t *testing.T) {
	globs := []string{
		"a/**", "a/b/**", "a/*/c/**", "**/*.go", "a/b/*.go", "a/{b,c}/**", "*", "a/b",
		"**", "a/**/d", "x?/**", "a/[bc]/*", "a/b/c/d.txt", "{a,x1}/b/**",
	}
	files := []string{"a", "a/b", "a/b/c", "a/b/c/d.txt", "a/c/c/e.go", "a/x.go", "x1/b/y",
		"x12/b", "b/a/d", "a/q/r/d", "main.go", "a/b/c.go", ".hidden/a.go", "a/c/z"}
	rng := rand.New(rand.NewSource(1))
	for round := 0; round < 50; round++ {
		c := &Config{}
		for i := 0; i < 4; i++ {
			c.Artifacts = append(c.Artifacts, &Artifact{Name: fmt.Sprint("app", i), Kind: "app",
				Spec: &app.Spec{Paths: []string{globs[rng.Intn(len(globs))], globs[rng.Intn(len(globs))]}}})
		}
		cl := NewClassifier(c)
		for _, f := range files {
			var want []string
			for _, a := range c.Artifacts {
				for _, g := range paths(a) {
					if ok, _ := doublestar.Match(g, f); ok {
						want = append(want, a.Name)
						break
					}
				}
			}
			got := cl.Match(f)
			sort.Strings(got)
			sort.Strings(want)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("file %q with %v: got %v, want %v", f, artifactsPaths(c), got, want)
			}
		}
	}
}

func artifactsPaths(c *Config) [][]string {
	var out [][]string
	for _, a := range c.Artifacts {
		out = append(out, paths(a))
	}
	return out
}

// benchConfig has 200 artifacts: 140 apps (dir globs, extension globs and
// literal files), 30 models and 30 dbt projects; benchFiles has 5,000 paths.
func benchConfig() (*Config, []string) {
	c := &Config{Version: 1}
	for i := 0; i < 140; i++ {
		paths := []string{fmt.Sprintf("services/svc%03d/**", i)}
		if i%3 == 0 {
			paths = append(paths, fmt.Sprintf("libs/lib%03d/**/*.go", i), fmt.Sprintf("deploy/svc%03d.yaml", i))
		}
		if i%10 == 0 {
			paths = append(paths, "proto/**/*.proto")
		}
		c.Artifacts = append(c.Artifacts, &Artifact{Name: fmt.Sprintf("svc%03d", i), Kind: "app", Spec: &app.Spec{Paths: paths}})
	}
	for i := 0; i < 30; i++ {
		c.Artifacts = append(c.Artifacts, &Artifact{Name: fmt.Sprintf("model%02d", i), Kind: "model", Spec: &model.Spec{Pointer: fmt.Sprintf("models/m%02d.yaml", i)}})
		c.Artifacts = append(c.Artifacts, &Artifact{Name: fmt.Sprintf("dbt%02d", i), Kind: "dbt", Spec: &dbt.Spec{Project: fmt.Sprintf("data/p%02d", i)}})
	}
	var files []string
	for i := 0; len(files) < 5000; i++ {
		switch i % 6 {
		case 0, 1:
			files = append(files, fmt.Sprintf("services/svc%03d/pkg/sub%d/file%d.go", i%170, i%7, i))
		case 2:
			files = append(files, fmt.Sprintf("libs/lib%03d/internal/x/f%d.go", i%150, i))
		case 3:
			files = append(files, fmt.Sprintf("data/p%02d/models/staging/m%d.sql", i%40, i))
		case 4:
			files = append(files, fmt.Sprintf("models/m%02d.yaml", i%40), fmt.Sprintf("proto/api/v%d/x.proto", i%3))
		default:
			files = append(files, fmt.Sprintf("docs/section%d/page%d.md", i%20, i))
		}
	}
	return c, files[:5000]
}

func TestBenchConfigClassifies(t *testing.T) {
	c, files := benchConfig()
	touched, unowned := NewClassifier(c).Classify(files)
	if len(touched) < 150 || len(unowned) == 0 || len(touched["svc000"]) == 0 || len(touched["model04"]) == 0 || len(touched["dbt07"]) == 0 {
		t.Errorf("%d touched, %d unowned", len(touched), len(unowned))
	}
}

func BenchmarkClassify(b *testing.B) {
	c, files := benchConfig()
	cl := NewClassifier(c)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		cl.Classify(files)
	}
}
