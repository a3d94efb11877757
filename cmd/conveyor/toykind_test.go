package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/conveyor-dev/conveyor/checks/kind"
	"github.com/conveyor-dev/conveyor/deploy"
	"github.com/conveyor-dev/conveyor/examples"
	"github.com/conveyor-dev/conveyor/internal/ghfake"
)

// notebookKind is a kind that exists only in this test: Jupyter notebooks
// under paths:, whose Quality rule is that committed notebooks carry no
// outputs, deployed by an exec driver that receives the kernel to run them
// on. It proves a kind is one package plus one registration line: nothing
// outside this file knows it.
type notebookKind struct{}

type notebookSpec struct {
	Paths  []string
	Kernel string
	at     []kind.Pos
}

// notebookPayload is what the deploy driver receives for a notebook.
type notebookPayload struct {
	Kernel    string   `json:"kernel"`
	Notebooks []string `json:"notebooks"`
}

func (notebookKind) Name() string    { return "notebook" }
func (notebookKind) Persona() string { return "the data scientist" }
func (notebookKind) Keys() []string  { return []string{"paths", "kernel"} }
func (notebookKind) Schema() map[string]any {
	return map[string]any{"kernel": map[string]any{"type": "string"}}
}

func (notebookKind) Parse(r *kind.Doc, a kind.Ident, fields []kind.Field) kind.Spec {
	s := &notebookSpec{Kernel: "python3"}
	what := "artifact " + strconv.Quote(a.Name)
	for _, f := range fields {
		switch f.Key {
		case "paths":
			list, pos := r.StrList(f.Value, what+": paths", `paths: ["notebooks/**"]`)
			s.Paths, s.at = list, pos
		case "kernel":
			s.Kernel, _ = r.Str(f.Value, what+": kernel", "kernel: python3")
		}
	}
	if len(s.Paths) == 0 {
		r.Add(a.Node, "%s is a notebook and needs paths; write for example paths: [\"notebooks/**\"]", what)
	}
	return s
}

func (s *notebookSpec) Claims() []kind.Claim {
	var out []kind.Claim
	for i, p := range s.Paths {
		out = append(out, kind.Claim{Kind: kind.Glob, Path: p, MustMatch: true, Key: "paths", At: s.at[i]})
	}
	return out
}

func (s *notebookSpec) Validate(kind.Tree, func(kind.Problem)) {}

func (s *notebookSpec) Fields() []kind.FieldValue {
	return []kind.FieldValue{{Name: "paths", Value: kind.List(s.Paths)}, {Name: "kernel", Value: s.Kernel, Governs: true}}
}

func (s *notebookSpec) Ungoverned() kind.Spec {
	out := *s
	out.Kernel = "python3"
	return &out
}

// Evaluate: Validate is that every changed notebook is JSON; Quality that
// no cell carries outputs.
func (notebookKind) Evaluate(ctx context.Context, env kind.Env, a kind.Artifact) kind.Outcome {
	var o kind.Outcome
	var dirty []string
	cells := 0
	for _, f := range a.Files {
		data, err := env.ReadFile(ctx, kind.Head, f)
		if err != nil {
			continue // deleted
		}
		var nb struct {
			Cells []struct {
				Outputs []json.RawMessage `json:"outputs"`
			} `json:"cells"`
		}
		if err := json.Unmarshal(data, &nb); err != nil {
			o.Validate = kind.Stage{Result: kind.Fail, Summary: f + " is not a notebook (not JSON)"}
			o.Quality = kind.NotEvaluated
			return o
		}
		cells += len(nb.Cells)
		for _, c := range nb.Cells {
			if len(c.Outputs) > 0 {
				dirty = append(dirty, f)
				o.Annotations = append(o.Annotations, kind.Annotation{Path: f, Line: 1, Level: "failure",
					Title: "Notebook with outputs", Message: "clear the outputs before committing (jupyter nbconvert --clear-output)"})
				break
			}
		}
	}
	o.Validate = kind.Stage{Result: kind.Pass, Summary: kind.Plural(len(a.Files), "notebook") + " parse"}
	if len(dirty) > 0 {
		o.Quality = kind.Stage{Result: kind.Fail, Summary: "outputs committed in " + strings.Join(dirty, ", ")}
	} else {
		o.Quality = kind.Stage{Result: kind.Pass, Summary: "every notebook is committed without outputs"}
	}
	o.Selection = a.Files
	o.Evidence.Kinds = map[string]any{"notebook": map[string]any{"cells": cells, "dirty": len(dirty)}}
	o.Persona = "### Notebooks\n\n"
	for _, f := range a.Files {
		o.Persona += "- `" + f + "`\n"
	}
	return o
}

func (notebookKind) Plan(_ context.Context, env kind.PlanEnv, a kind.Artifact) (kind.Payload, string) {
	s := a.Spec.(*notebookSpec)
	return kind.Payload{Spec: notebookPayload{Kernel: s.Kernel, Notebooks: env.Selection()},
		Version: "kernel " + s.Kernel,
		Summary: fmt.Sprintf("notebooks on %s at %s", s.Kernel, kind.Short(env.SHA()))}, ""
}

// The one registration line a new kind needs (cmd/conveyor/kinds.go holds
// the built-in kinds' lines).
func init() { kind.Ensure(notebookKind{}) }

// TestToyKindEndToEnd drives the notebook kind through the real server and
// emulators: classification, the four stages as check runs on the PR,
// /plan, and /deploy staging through the exec driver, which receives the
// kind's payload.
func TestToyKindEndToEnd(t *testing.T) {
	dir := t.TempDir()
	repo := filepath.Join(dir, "repo")
	out := filepath.Join(dir, "driver-env")
	write := func(p, content string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(repo, ".github/conveyor.yml"), `version: 1
artifacts:
  reports:
    kind: notebook
    paths: ["notebooks/**"]
    kernel: python3.12
    owners: ["@acme/data"]
    deploy: {driver: nb-deploy}
  web:
    kind: app
    paths: ["services/web/**"]
environments:
  staging: {}
`)
	write(filepath.Join(repo, "notebooks/intro.ipynb"), `{"cells": []}`)
	write(filepath.Join(repo, "services/web/main.go"), "package main\n")
	write(filepath.Join(repo, "mlflow.json"), `{"models": [{"name": "unused", "versions": [{"version": "1", "status": "READY", "run_id": "r1", "metrics": {"auc": 0.9}}]}]}`)
	write(filepath.Join(dir, "deploy.sh"), "env | grep '^CONVEYOR_' | sort > \"$NB_OUT\"\n")
	// The operators' own rules read the notebook kind's evidence, on the
	// check and (after the store's round trip) on the deploy.
	write(filepath.Join(dir, "policies/notebook.rego"), `package conveyor

warn contains msg if {
	input.action == "check"
	some a in input.artifacts
	n := a.evidence.notebook.cells
	msg := sprintf("%s: %d notebook cells to review", [a.name, n])
}

deny contains msg if {
	input.action == "deploy"
	some a in input.artifacts
	a.kind == "notebook"
	not a.evidence.notebook
	msg := sprintf("%s: no notebook evidence", [a.name])
}
`)
	write(filepath.Join(repo, "conveyor.server.yml"), fmt.Sprintf(`drivers:
  nb-deploy: {type: exec, command: ["sh", %q], env: {NB_OUT: %q}}
policies: {dir: %q}
`, filepath.Join(dir, "deploy.sh"), out, filepath.Join(dir, "policies")))

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var log bytes.Buffer
	d := &demo{out: &log, dir: dir, secret: "toy-secret", failing: filepath.Join(dir, "unused"), prs: map[int]*ghfake.PR{}}
	if err := d.start(ctx, &demoOptions{}, repo); err != nil {
		t.Fatal(err)
	}
	defer d.stop()
	d.gh.SetPermission(demoRepo, "dev", "maintain")
	d.gh.AddTeamMember("acme", "data", "dev")

	checks := func(pr *ghfake.PR) map[string]ghfake.CheckRun {
		t.Helper()
		var runs []ghfake.CheckRun
		err := wait(ctx, "the check suite", func() bool {
			runs = latestRuns(d.gh.CheckRuns(demoRepo, pr.HeadSHA))
			for _, r := range runs {
				if r.Status != "completed" {
					return false
				}
			}
			return hasRun(runs, "conveyor") && hasRun(runs, "conveyor / reports")
		})
		if err != nil {
			t.Fatal(err)
		}
		byName := map[string]ghfake.CheckRun{}
		for _, r := range runs {
			byName[r.Name] = r
		}
		return byName
	}

	// A notebook committed with outputs fails Quality, and only the
	// notebook artifact is touched (classification by the kind's claims).
	dirty, err := d.openPR(ctx, "dirty", "Add a notebook with outputs", "dev", &examples.Change{Files: map[string]string{
		"notebooks/churn.ipynb": `{"cells": [{"outputs": [{"text": "0.93"}]}]}`}})
	if err != nil {
		t.Fatal(err)
	}
	runs := checks(dirty)
	nb := runs["conveyor / reports"]
	if nb.Conclusion != "failure" || !strings.Contains(nb.Summary, "outputs committed in notebooks/churn.ipynb") {
		t.Fatalf("notebook check = %s %q\n%s", nb.Conclusion, nb.Title, nb.Summary)
	}
	if len(nb.Annotations) != 1 || nb.Annotations[0].Path != "notebooks/churn.ipynb" {
		t.Errorf("annotations = %+v, want one on the notebook", nb.Annotations)
	}
	if _, ok := runs["conveyor / web"]; ok {
		t.Error("the app was not touched but has a check run")
	}
	if g := runs["conveyor"]; g.Conclusion != "failure" {
		t.Errorf("gate = %s, want failure", g.Conclusion)
	}

	// A clean notebook passes all four stages and deploys.
	clean, err := d.openPR(ctx, "clean", "Add a clean notebook", "dev", &examples.Change{Files: map[string]string{
		"notebooks/churn.ipynb": `{"cells": [{"outputs": []}]}`}})
	if err != nil {
		t.Fatal(err)
	}
	runs = checks(clean)
	nb = runs["conveyor / reports"]
	if nb.Conclusion != "success" {
		t.Fatalf("notebook check = %s %q\n%s", nb.Conclusion, nb.Title, nb.Summary)
	}
	for _, want := range []string{"Validate", "1 notebook parse", "Quality", "every notebook is committed without outputs",
		"Policy", "reports: 1 notebook cells to review", "Readiness", "may go to staging now", "### Notebooks", "`notebooks/churn.ipynb`"} {
		if !strings.Contains(nb.Summary, want) {
			t.Errorf("notebook check does not show %q:\n%s", want, nb.Summary)
		}
	}
	if g := runs["conveyor"]; g.Conclusion != "success" {
		t.Fatalf("gate = %s %q", g.Conclusion, g.Summary)
	}

	before := len(d.botComments(clean))
	if _, err := d.comment(clean, "dev", "/plan staging"); err != nil {
		t.Fatal(err)
	}
	if err := wait(ctx, "the /plan reply", func() bool { return len(d.botComments(clean)) > before }); err != nil {
		t.Fatal(err)
	}
	replies := d.botComments(clean)
	plan := replies[len(replies)-1].Body
	for _, want := range []string{"| reports | notebook | nothing yet | kernel python3.12 | - | nb-deploy |", "Preconditions: all met"} {
		if !strings.Contains(plan, want) {
			t.Errorf("/plan reply does not contain %q:\n%s", want, plan)
		}
	}

	if _, err := d.comment(clean, "dev", "/deploy staging"); err != nil {
		t.Fatal(err)
	}
	state, status, err := d.waitDeployment(ctx, clean, "staging", finalStates)
	if err != nil {
		t.Fatal(err)
	}
	if state != deploy.StateSucceeded {
		t.Fatalf("deployment %s:\n%s", state, status)
	}
	if !strings.Contains(status, "notebooks on python3.12 at "+short(clean.HeadSHA)) {
		t.Errorf("status comment does not show the kind's summary:\n%s", status)
	}
	env, err := os.ReadFile(out)
	if err != nil {
		t.Fatalf("the exec driver did not run: %v", err)
	}
	for _, want := range []string{"CONVEYOR_KIND=notebook", "CONVEYOR_ARTIFACT=reports", "CONVEYOR_ENVIRONMENT=staging",
		`CONVEYOR_SPEC={"kernel":"python3.12","notebooks":["notebooks/churn.ipynb"]}`} {
		if !strings.Contains(string(env), want+"\n") {
			t.Errorf("driver environment lacks %s:\n%s", want, env)
		}
	}
	// The deployment changed what Readiness says, and the check run follows
	// without any event from GitHub.
	var summary string
	if err := wait(ctx, "Readiness to say the head serves in staging", func() bool {
		for _, r := range latestRuns(d.gh.CheckRuns(demoRepo, clean.HeadSHA)) {
			if r.Name == "conveyor / reports" {
				summary = r.Summary
			}
		}
		return strings.Contains(summary, "| Readiness | ℹ️ info | serving in staging |")
	}); err != nil {
		t.Fatalf("%v:\n%s", err, summary)
	}
}
