package repoconfig

import (
	"testing"
	"time"

	"github.com/conveyor-dev/conveyor/internal/resources"
)

func TestPolicyViews(t *testing.T) {
	a := &Artifact{Resources: resources.Spec{CPU: 2, MemoryBytes: 3 << 29, GPU: 1, Replicas: 4}}
	if r := a.PolicyResources(); r.CPU != 2 || r.MemoryGiB != 1.5 || r.GPU != 1 || r.Replicas != 4 {
		t.Fatalf("PolicyResources = %+v", r)
	}
	var e Environment
	c := e.PolicyConfig()
	if c.Requires == nil || c.Approvals.From == nil || c.Freeze == nil || c.Rollout.Steps == nil || c.Rollout.Pause != "" {
		t.Fatalf("empty environment = %+v; want empty lists, no pause", c)
	}
	e.Requires, e.Rollout.Steps, e.Rollout.Pause = []string{"staging"}, []int{10, 100}, 2*time.Minute
	if c := e.PolicyConfig(); c.Requires[0] != "staging" || len(c.Rollout.Steps) != 2 || c.Rollout.Pause != "2m0s" {
		t.Fatalf("PolicyConfig = %+v", c)
	}
}
