package deploy

import (
	"testing"

	"github.com/conveyor-dev/conveyor/deploy/driver"
)

// A stored payload sits under its kind's name, the shape rows written before
// payloads were kind-owned already have ({"model": {...}}, {"dbt": {...}},
// {} for an app), so old deployments still roll back to the right version.
func TestStoredSpecShape(t *testing.T) {
	spec := driver.EncodeSpec(&driver.ModelRef{Registry: "main", Name: "fraud", Version: "14"})
	if got := encodeSpec("model", spec); got != `{"model":{"registry":"main","name":"fraud","version":"14"}}` {
		t.Errorf("stored = %s", got)
	}
	if got := encodeSpec("app", nil); got != "{}" {
		t.Errorf("app stored = %s", got)
	}
	old := `{"dbt":{"Project":"analytics","Select":["orders"],"Target":""}}`
	ref := driver.Target{Kind: "dbt", Spec: decodeSpec("dbt", old)}.DBTRef()
	if ref == nil || ref.Project != "analytics" || len(ref.Select) != 1 {
		t.Errorf("old dbt row = %+v", ref)
	}
	if decodeSpec("model", old) != nil || decodeSpec("model", "not json") != nil {
		t.Error("a row of another kind, or a broken row, gave a payload")
	}
}
