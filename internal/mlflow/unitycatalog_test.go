package mlflow_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/conveyor-dev/conveyor/internal/mlflow"
	"github.com/conveyor-dev/conveyor/internal/mlflowfake"
	"github.com/conveyor-dev/conveyor/internal/serverconfig"
)

func ucFake(t *testing.T) *mlflowfake.Server {
	t.Helper()
	f := mlflowfake.NewTest(t, mlflowfake.WithToken("dapi-123"))
	f.AddVersion("main.ml.fraud", "3", "", map[string]float64{"auc": 0.91})
	f.AddVersion("main.ml.fraud", "4", "", map[string]float64{"auc": 0.93})
	f.SetAlias("main.ml.fraud", "production", "3")
	return f
}

func ucClient(f *mlflowfake.Server) *mlflow.Client {
	return mlflow.FromConfig(serverconfig.Registry{Type: "unity-catalog", URL: f.URL(), TokenEnv: "T", UIURL: "https://dbc.example.cloud.databricks.com"},
		func(string) string { return "dapi-123" })
}

// A Unity Catalog registry is read and moved through its own endpoints,
// with its tokens and its three-level names; metrics come from the run on
// the workspace's tracking server.
func TestUnityCatalogReadsAndMovesAliases(t *testing.T) {
	f := ucFake(t)
	c := ucClient(f)
	ctx := context.Background()
	if !c.UnityCatalog() {
		t.Fatal("type unity-catalog did not make a Unity Catalog client")
	}
	mv, err := c.GetModelVersionByAlias(ctx, "main.ml.fraud", "production")
	if err != nil || mv == nil || mv.Version != "3" || len(mv.Aliases) != 1 || mv.Aliases[0] != "production" {
		t.Fatalf("production = %+v, %v", mv, err)
	}
	m, err := c.VersionMetrics(ctx, mv)
	if err != nil || m["auc"] != 0.91 {
		t.Fatalf("metrics = %v, %v", m, err)
	}
	if err := c.SetAlias(ctx, "main.ml.fraud", "production", "4"); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteAlias(ctx, "main.ml.fraud", "production"); err != nil {
		t.Fatal(err)
	}
	if mv, err := c.GetModelVersionByAlias(ctx, "main.ml.fraud", "production"); err != nil || mv != nil {
		t.Fatalf("after delete: %+v, %v (an unset UC alias is RESOURCE_DOES_NOT_EXIST: nothing serving)", mv, err)
	}
	var paths []string
	for _, call := range f.Calls() {
		if call.Status >= 500 {
			t.Errorf("%s %s answered %d", call.Method, call.Path, call.Status)
		}
		paths = append(paths, call.Method+" "+call.Path)
	}
	want := []string{
		"GET " + mlflowfake.PathUCAlias, "GET " + mlflowfake.PathRun, "POST " + mlflowfake.PathUCAlias,
		"DELETE " + mlflowfake.PathUCAlias, "GET " + mlflowfake.PathUCAlias,
	}
	if strings.Join(paths, ",") != strings.Join(want, ",") {
		t.Fatalf("calls = %v, want %v", paths, want)
	}
	if got := c.VersionURL("main.ml.fraud", "4"); got != "https://dbc.example.cloud.databricks.com/explore/data/models/main/ml/fraud/version/4" {
		t.Errorf("VersionURL = %s", got)
	}
	if got := c.RunURL("run-1"); got != "" {
		t.Errorf("RunURL = %q, want none (Databricks links runs under their experiment)", got)
	}
}

// A name that is not catalog.schema.model is refused before any request,
// saying what to write.
func TestUnityCatalogNeedsThreeLevelNames(t *testing.T) {
	f := ucFake(t)
	c := ucClient(f)
	for _, name := range []string{"fraud", "ml.fraud", "main..fraud", "a.b.c.d"} {
		_, err := c.GetModelVersion(context.Background(), name, "3")
		var ne *mlflow.NameError
		if err == nil || !strings.Contains(err.Error(), "catalog.schema.model") || !asNameError(err, &ne) {
			t.Errorf("%q: %v", name, err)
		}
	}
	if n := len(f.Calls()); n != 0 {
		t.Fatalf("%d requests sent for names Unity Catalog cannot hold", n)
	}
	if err := mlflow.New(f.URL()).CheckModelName("fraud"); err != nil {
		t.Errorf("an MLflow registry took the UC rule: %v", err)
	}
	// The workspace registry's endpoints do not know UC models.
	_, err := mlflow.New(f.URL(), mlflow.WithToken("dapi-123")).GetModelVersion(context.Background(), "main.ml.fraud", "3")
	if !mlflow.IsNotFound(err) {
		t.Fatalf("UC model through the workspace registry: %v", err)
	}
	if last := f.Calls()[len(f.Calls())-1]; last.Status != http.StatusNotFound {
		t.Fatalf("last call %+v", last)
	}
}

func asNameError(err error, target **mlflow.NameError) bool {
	ne, ok := err.(*mlflow.NameError)
	*target = ne
	return ok
}
