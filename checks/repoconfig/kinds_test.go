package repoconfig

import (
	"encoding/json"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/conveyor-dev/conveyor/checks/kind"
	"github.com/conveyor-dev/conveyor/checks/kind/app"
	"github.com/conveyor-dev/conveyor/checks/kind/dbt"
	"github.com/conveyor-dev/conveyor/checks/kind/model"
)

// The configs under test use the three built-in kinds.
func init() { kind.Ensure(app.Kind{}, model.Kind{}, dbt.Kind{}) }

// The kinds' own blocks, as the tests read them.
func paths(a *Artifact) []string { return a.Spec.(*app.Spec).Paths }

func modelSpec(a *Artifact) *model.Spec { return a.Spec.(*model.Spec) }

func dbtSpec(a *Artifact) *dbt.Spec { return a.Spec.(*dbt.Spec) }

// A kind says which of its fields govern: a new model's evaluation gate is
// listed as a governance change and is not applied before merge, and a
// changed gate of an existing model stays the base's.
func TestGovernTakesKindGoverningFieldsFromBase(t *testing.T) {
	base := mustParse(t, "version: 1\nartifacts:\n  m: {kind: model, pointer: m.yaml, evaluation: {metric: auc, min: 0.9}}\n")
	head := mustParse(t, "version: 1\nartifacts:\n  m: {kind: model, pointer: m.yaml, evaluation: {metric: auc, min: 0.5}}\n"+
		"  n: {kind: model, pointer: n.yaml, evaluation: {metric: auc, min: 0.1}}\n")
	eff, changes := Govern(base, head)
	if ev := modelSpec(eff.Artifact("m")).Evaluation; len(ev) != 1 || *ev[0].Min != 0.9 {
		t.Fatalf("m's evaluation = %+v, want the base's min 0.9", ev)
	}
	n := eff.Artifact("n")
	if modelSpec(n).Evaluation != nil || modelSpec(n).Pointer != "n.yaml" {
		t.Fatalf("new model n = %+v: want the head's pointer and no evaluation before merge", modelSpec(n))
	}
	if modelSpec(head.Artifact("n")).Evaluation == nil {
		t.Fatal("Govern modified the head's config")
	}
	got := map[string]string{}
	for _, c := range changes {
		got[c.Field] = c.String()
	}
	for field, want := range map[string]string{
		"artifacts.m.evaluation.min": "artifacts.m.evaluation.min: 0.9 -> 0.5",
		"artifacts.n.evaluation.min": "artifacts.n.evaluation.min: (none) -> 0.1",
	} {
		if got[field] != want {
			t.Errorf("change %s = %q, want %q (all: %v)", field, got[field], want, changes)
		}
	}
	if _, ok := got["artifacts.n.pointer"]; ok {
		t.Error("a new model's pointer is listed as a governance change; it applies now")
	}
}

// A dbt artifact's adapter and CI manifest govern: a pull request cannot
// loosen which constraint removals break a contract, nor swap the manifest
// the comparison trusts; a new dbt artifact gets neither before merge.
func TestGovernTakesDBTAdapterAndCIManifestFromBase(t *testing.T) {
	base := mustParse(t, "version: 1\nartifacts:\n  d: {kind: dbt, project: a, adapter: postgres, ci_manifest: {workflow: dbt.yml, artifact: m}}\n")
	head := mustParse(t, "version: 1\nartifacts:\n  d: {kind: dbt, project: a, adapter: spark, ci_manifest: {workflow: other.yml, artifact: m, wait_for_start: 1s}}\n"+
		"  e: {kind: dbt, project: e, adapter: athena, ci_manifest: {workflow: dbt.yml, artifact: m}}\n")
	eff, changes := Govern(base, head)
	d := dbtSpec(eff.Artifact("d"))
	if d.Adapter != "postgres" || d.CIManifest == nil || d.CIManifest.Workflow != "dbt.yml" || d.CIManifest.StartWait != 10*time.Minute {
		t.Fatalf("d = %+v, want the base's adapter, workflow and wait for the run to start (the default 10m)", d)
	}
	e := dbtSpec(eff.Artifact("e"))
	if e.Adapter != "" || e.CIManifest != nil || e.Project != "e" {
		t.Fatalf("new e = %+v: want its project and neither adapter nor CI manifest before merge", e)
	}
	got := map[string]string{}
	for _, c := range changes {
		got[c.Field] = c.String()
	}
	for field, want := range map[string]string{
		"artifacts.d.adapter":                    "artifacts.d.adapter: postgres -> spark",
		"artifacts.d.ci_manifest.workflow":       "artifacts.d.ci_manifest.workflow: dbt.yml -> other.yml",
		"artifacts.d.ci_manifest.wait_for_start": "artifacts.d.ci_manifest.wait_for_start: 10m -> 1s",
		"artifacts.e.adapter":                    "artifacts.e.adapter: (none) -> athena",
	} {
		if got[field] != want {
			t.Errorf("change %s = %q, want %q (all: %v)", field, got[field], want, changes)
		}
	}
}

// docs/conveyor.schema.json lists what the registered kinds say: the kind
// enum is the registry's names, and each kind's keys are described by the
// fragment the kind itself gives (Kind.Schema).
func TestSchemaDocumentsEveryKind(t *testing.T) {
	data, err := os.ReadFile(schemaPath)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Defs struct {
			Artifact struct {
				Properties map[string]any `json:"properties"`
			} `json:"artifact"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	props := doc.Defs.Artifact.Properties
	var enum []string
	for _, v := range props["kind"].(map[string]any)["enum"].([]any) {
		enum = append(enum, v.(string))
	}
	if !reflect.DeepEqual(enum, kind.Names()) {
		t.Errorf("schema kind enum = %v, registered kinds = %v", enum, kind.Names())
	}
	for _, k := range kind.All() {
		frag := k.Schema()
		for _, key := range k.Keys() {
			if _, ok := frag[key]; !ok {
				t.Errorf("kind %s: key %s has no schema fragment", k.Name(), key)
			}
		}
		for key, want := range frag {
			if got := props[key]; !reflect.DeepEqual(got, want) {
				t.Errorf("kind %s: docs/conveyor.schema.json describes %s as\n%v\nthe kind says\n%v", k.Name(), key, got, want)
			}
		}
	}
}
