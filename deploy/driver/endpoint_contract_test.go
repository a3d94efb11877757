package driver

import (
	"context"
	"strings"
	"testing"
	"time"
)

// endpointWorld is a model-serving driver wired to an emulated endpoint
// that serves fraud-detector v13 at the start.
type endpointWorld struct {
	contractWorld
	// split is the endpoint's traffic by model version, in percent.
	split func() map[string]int
	// source is the artifact location the service's copy of a version was
	// created from.
	source func(version string) string
	// doneText is a phrase of the progress once the old model no longer
	// serves at 100 %.
	doneText string
}

// endpointHarness builds a fresh endpoint world.
type endpointHarness struct {
	name  string
	setup func(t *testing.T) endpointWorld
}

// runEndpointContract is what every endpoint driver (sagemaker, vertex)
// does with the rollout steps, beyond the driver contract: partial steps
// split the traffic between the version serving and the candidate, 100 %
// leaves the candidate alone, and a rollback (mid-rollout or after 100 %)
// leaves the previous version alone again.
func runEndpointContract(t *testing.T, h endpointHarness) {
	ctx := context.Background()
	t.Run("steps split the traffic, then the candidate serves alone", func(t *testing.T) {
		w := h.setup(t)
		tg := w.target
		var progress lines
		for _, pct := range []int{10, 50} {
			tg.Percent = pct
			res, err := w.driver.Deploy(ctx, tg, progress.log)
			if err != nil {
				t.Fatalf("Deploy at %d %%: %v", pct, err)
			}
			if got := w.split(); len(got) != 2 || got["13"] != 100-pct || got["14"] != pct {
				t.Errorf("at %d %%: split %v; want 13: %d, 14: %d", pct, got, 100-pct, pct)
			}
			if res.Serving != "14" || res.Previous != "13" {
				t.Errorf("at %d %%: Result %+v", pct, res)
			}
		}
		if got := w.source("14"); got != "s3://models/fraud-detector/14/model.tar.gz" {
			t.Errorf("the candidate was created from %q, want the registry's source", got)
		}
		tg.Percent = 100
		if _, err := w.driver.Deploy(ctx, tg, progress.log); err != nil {
			t.Fatalf("Deploy at 100 %%: %v", err)
		}
		if got := w.split(); len(got) != 1 || got["14"] != 100 {
			t.Errorf("at 100 %%: split %v; want 14 alone", got)
		}
		if !strings.Contains(strings.Join(progress.all(), "\n"), w.doneText) {
			t.Errorf("progress lacks %q: %q", w.doneText, progress.all())
		}
		res, err := w.driver.Rollback(ctx, tg, progress.log)
		if err != nil {
			t.Fatalf("Rollback after 100 %%: %v", err)
		}
		if got := w.split(); len(got) != 1 || got["13"] != 100 || res.Serving != "13" {
			t.Errorf("after rolling back from 100 %%: split %v, Result %+v; want 13 alone", got, res)
		}
	})

	t.Run("rollback mid-rollout restores the previous version", func(t *testing.T) {
		w := h.setup(t)
		tg := w.target
		tg.Percent = 10
		if _, err := w.driver.Deploy(ctx, tg, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := w.driver.Rollback(ctx, tg, nil); err != nil {
			t.Fatal(err)
		}
		if got := w.split(); len(got) != 1 || got["13"] != 100 {
			t.Errorf("after rollback at 10 %%: split %v; want 13 alone", got)
		}
	})

	t.Run("a repeated step changes nothing", func(t *testing.T) {
		// A rollout step runs again after a restart: the same percentage
		// again leaves the same split.
		w := h.setup(t)
		tg := w.target
		tg.Percent = 10
		for i := 0; i < 2; i++ {
			if _, err := w.driver.Deploy(ctx, tg, nil); err != nil {
				t.Fatalf("Deploy %d at 10 %%: %v", i+1, err)
			}
		}
		if got := w.split(); len(got) != 2 || got["13"] != 90 || got["14"] != 10 {
			t.Errorf("after two deploys at 10 %%: split %v", got)
		}
	})
}

func TestEndpointDriverContract(t *testing.T) {
	for _, h := range []endpointHarness{sagemakerEndpoints, vertexEndpoints} {
		t.Run(h.name, func(t *testing.T) { runEndpointContract(t, h) })
	}
}

var (
	sagemakerEndpoints = endpointHarness{name: "sagemaker", setup: func(t *testing.T) endpointWorld {
		w, sm := sagemakerWorld(t, time.Minute)
		return endpointWorld{contractWorld: w, doneText: "waiting for InService",
			split: func() map[string]int {
				ep, _ := sm.Endpoint(smEndpoint)
				var sum float64
				for _, v := range ep.Weights {
					sum += v
				}
				out := map[string]int{}
				for name, v := range ep.Weights {
					out[strings.TrimPrefix(name, "v")] = int(v/sum*100 + 0.5)
				}
				return out
			},
			source: func(v string) string { return sm.ModelDataURL("fraud-model-v" + v) },
		}
	}}
	vertexEndpoints = endpointHarness{name: "vertex", setup: func(t *testing.T) endpointWorld {
		w, vx := vertexWorld(t, time.Minute)
		return endpointWorld{contractWorld: w, doneText: "fraud-model-v13 undeployed",
			split: func() map[string]int {
				out := map[string]int{}
				for name, pct := range vx.Traffic(vxEndpointName) {
					out[strings.TrimPrefix(name, "fraud-model-v")] = pct
				}
				return out
			},
			source: func(v string) string {
				for _, m := range vx.Models() {
					if name, uri, _ := strings.Cut(m, " "); name == "fraud-model-v"+v {
						return uri
					}
				}
				return ""
			},
		}
	}}
)
