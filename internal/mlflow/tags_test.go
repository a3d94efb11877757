package mlflow_test

import (
	"context"
	"testing"

	"github.com/conveyor-dev/conveyor/internal/mlflow"
	"github.com/conveyor-dev/conveyor/internal/mlflowfake"
)

func TestVersionTags(t *testing.T) {
	f := mlflowfake.NewTest(t)
	f.AddVersion("fraud", "12", "", map[string]float64{"auc": 0.93})
	f.AddVersion("fraud", "13", "", map[string]float64{"auc": 0.94})
	f.SetVersionTag("fraud", "12", "psi", "0.31")
	f.SetVersionTag("fraud", "12", "drift_window", "2026-05-01/2026-05-07")
	c := mlflow.New(f.URL())
	ctx := context.Background()
	tags, err := c.VersionTags(ctx, "fraud", "12")
	if err != nil {
		t.Fatal(err)
	}
	if len(tags) != 2 || tags["psi"] != "0.31" || tags["drift_window"] != "2026-05-01/2026-05-07" {
		t.Errorf("tags of v12 = %v", tags)
	}
	if tags, err := c.VersionTags(ctx, "fraud", "13"); err != nil || len(tags) != 0 {
		t.Errorf("a version without tags: %v, %v; want an empty map", tags, err)
	}
	if _, err := c.VersionTags(ctx, "fraud", "99"); !mlflow.IsNotFound(err) {
		t.Errorf("unknown version: %v, want RESOURCE_DOES_NOT_EXIST", err)
	}
	if _, err := c.VersionTags(ctx, "fraud", ""); err == nil {
		t.Error("an empty version was sent")
	}
}

func TestVersionTagsInUnityCatalog(t *testing.T) {
	f := ucFake(t)
	f.SetVersionTag("main.ml.fraud", "3", "psi", "0.12")
	c := ucClient(f)
	tags, err := c.VersionTags(context.Background(), "main.ml.fraud", "3")
	if err != nil || tags["psi"] != "0.12" {
		t.Fatalf("tags = %v, %v", tags, err)
	}
	if _, err := c.VersionTags(context.Background(), "fraud", "3"); err == nil {
		t.Error("a two-level name reached a Unity Catalog registry")
	}
}
