package driver

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/conveyor-dev/conveyor/internal/mlflow"
	"github.com/conveyor-dev/conveyor/internal/mlflowfake"
	"github.com/conveyor-dev/conveyor/internal/serverconfig"
)

// The mlflow driver ships a Unity Catalog model by its aliases alone (UC
// has no stages), through the UC endpoints, with the registry's token; the
// emulator holds every request to the UC protos.
func TestMLflowDriverWithUnityCatalog(t *testing.T) {
	f := mlflowfake.NewTest(t, mlflowfake.WithToken("dapi-1"))
	for _, v := range []string{"13", "14"} {
		f.AddVersion("main.ml.fraud", v, "", nil)
	}
	f.SetAlias("main.ml.fraud", "production", "13")
	reg := mlflow.FromConfig(serverconfig.Registry{Type: "unity-catalog", URL: f.URL(), TokenEnv: "DATABRICKS_TOKEN"},
		func(string) string { return "dapi-1" })
	cfg := serverconfig.Driver{Type: "mlflow", Registry: "uc"}
	cfg.Timeout.Duration = time.Minute
	d, err := New("mlflow", cfg, Deps{MLflow: func(string) (ModelRegistry, error) { return reg, nil }})
	if err != nil {
		t.Fatal(err)
	}
	tg := modelTarget()
	tg.Spec = EncodeSpec(&ModelRef{Registry: "uc", Name: "main.ml.fraud", Version: "14"})
	ctx := context.Background()
	tg.Percent = 10
	if _, err := d.Deploy(ctx, tg, nil); err != nil {
		t.Fatal(err)
	}
	if f.Alias("main.ml.fraud", "production-canary") != "14" || f.Alias("main.ml.fraud", "production") != "13" {
		t.Fatalf("after 10 %%: canary %q, production %q", f.Alias("main.ml.fraud", "production-canary"), f.Alias("main.ml.fraud", "production"))
	}
	tg.Percent = 100
	res, err := d.Deploy(ctx, tg, nil)
	if err != nil || !strings.Contains(res.Output, "alias production: 13 -> 14") {
		t.Fatalf("Deploy = %+v, %v", res, err)
	}
	if f.Alias("main.ml.fraud", "production") != "14" || f.Alias("main.ml.fraud", "production-canary") != "" {
		t.Fatalf("after 100 %%: production %q, canary %q", f.Alias("main.ml.fraud", "production"), f.Alias("main.ml.fraud", "production-canary"))
	}
	if _, err := d.Rollback(ctx, tg, nil); err != nil {
		t.Fatal(err)
	}
	if f.Alias("main.ml.fraud", "production") != "13" {
		t.Fatalf("after rollback: production %q, want 13", f.Alias("main.ml.fraud", "production"))
	}
	for _, c := range f.Calls() {
		if !strings.HasPrefix(c.Path, "/api/2.0/mlflow/unity-catalog/") {
			t.Errorf("%s %s: not a Unity Catalog endpoint", c.Method, c.Path)
		}
	}
}
