package driver

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-github/v66/github"
)

func TestDeploymentOfSkipsConveyorsAndOtherArtifacts(t *testing.T) {
	cases := map[string]bool{
		``:                    true,  // no payload: Actions' deployments
		`{}`:                  true,  // an empty object
		`"deploying web"`:     true,  // a string payload names no artifact
		`{"artifact": "web"}`: true,  // this artifact
		`{"artifact": "api"}`: false, // another artifact's
		`{"artifact": "web", "conveyor_deployment_id": 7}`: false, // Conveyor's own, in its history already
		`{"conveyor_deployment_id": 7}`:                    false,
		`{"artifact": 3}`:                                  true, // not a name: treated as naming none
	}
	for payload, want := range cases {
		d := &github.Deployment{Payload: json.RawMessage(payload)}
		if got := deploymentOf(d, "web"); got != want {
			t.Errorf("payload %s: deploymentOf = %v, want %v", payload, got, want)
		}
	}
}

func TestBaselineIsAskedOnlyBeforeTheFirstDeploy(t *testing.T) {
	gh := newFakeGitHub(t)
	p := newProgress(nil, nil)
	tg := appTarget()
	var res Result
	reportBaseline(t.Context(), gh.client(), tg, p, &res) // Previous is set: Conveyor knows
	tg.Previous, tg.Step = "", 1
	reportBaseline(t.Context(), gh.client(), tg, p, &res) // a later step: the engine keeps the first's
	if len(gh.requests) != 0 || res.Previous != "" {
		t.Fatalf("asked GitHub %v, previous %q; want no question", gh.requests, res.Previous)
	}
	tg.Step = 0
	reportBaseline(t.Context(), gh.client(), tg, p, &res) // this fake has no Deployments API: a 404
	if res.Previous != "" || len(gh.requests) != 1 {
		t.Fatalf("requests %v, previous %q", gh.requests, res.Previous)
	}
	if out := p.Output(); !strings.Contains(out, "what served before: unknown, GitHub could not be asked") || !strings.Contains(out, "/rollback after this deploy has nothing to return to") {
		t.Errorf("progress = %q", out)
	}
}
