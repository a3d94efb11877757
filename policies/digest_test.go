package policies

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math"
	"strings"
	"testing"
)

// TestDigestEncodingMatchesJSON checks that Digest hashes exactly the bytes
// json.Marshal writes, for inputs that exercise every branch of the encoder.
func TestDigestEncodingMatchesJSON(t *testing.T) {
	odd := productionDeploy()
	odd.Actor.Login = "<script>&\"quote\"\\\n\t\u2028é\xff"
	odd.Artifacts[0].Evidence.CI = map[string]string{"z<": "a&b", "a": "ok", "é": "\x01"}
	odd.Artifacts[0].Resources.CPU = 1e-7
	odd.Artifacts[0].Resources.MemoryGiB = 1e21
	odd.Artifacts[0].Cost.DeltaUSD = -123456.789
	odd.Artifacts[1].Cost.MonthlyUSD = -0.000001
	odd.Artifacts[2].Owners = nil
	odd.Usage["acme/empty"] = nil
	odd.Usage["acme/web"]["staging"] = Usage{CPU: 0.5}
	odd.PullRequest.FromFork = true

	bare := Input{Action: "check"}
	empty := Input{Action: "lock", Artifacts: []Artifact{{}}, Deployments: map[string]DeploymentFact{},
		Approvals: []Approval{}, Usage: map[string]map[string]Usage{}, Environment: Environment{Config: EnvironmentConfig{
			Requires: []string{}, Rollout: Rollout{Steps: []int{}}, Freeze: []string{},
		}}}
	for name, in := range map[string]Input{"production deploy": productionDeploy(), "odd values": odd, "bare": bare, "empty collections": empty} {
		want, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(want)
		got, err := Digest(in)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got != hex.EncodeToString(sum[:]) {
			e := &inputEncoder{}
			e.input(&in)
			t.Errorf("%s: digest differs from the JSON form\n got %s\nwant %s", name, e.buf, want)
		}
	}
}

func TestDigestRejectsNonFiniteNumbers(t *testing.T) {
	for _, f := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		in := productionDeploy()
		in.Usage["acme/ml"]["production"] = Usage{GPU: f}
		_, err := Digest(in)
		if err == nil || !strings.HasPrefix(err.Error(), "encode policy input: json: unsupported value:") {
			t.Errorf("Digest with usage gpu %v: error = %v; want json's unsupported value error", f, err)
		}
	}
	// A failed encoding leaves nothing behind for the next digest.
	a, _ := Digest(productionDeploy())
	raw, _ := json.Marshal(productionDeploy())
	parsed, _ := ParseInput(bytes.NewReader(raw))
	if b, _ := Digest(parsed); a != b {
		t.Fatal("digest changed after a failed encoding")
	}
}
