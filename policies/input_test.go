package policies

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
)

func TestValueMatchesJSON(t *testing.T) {
	in := productionDeploy()
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	want, err := ast.ValueFromReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	full := mustInputValue(t, in)
	if got := withoutFreezeReadings(withoutKey(full, "requested")); got.Compare(want) != 0 {
		t.Fatalf("ast input differs from its JSON form:\n got %v\nwant %v", got, want)
	}
	// input.requested is derived: per owning team, the candidates' resources
	// times replicas (web 2 CPU x 3, fraud-model 4 CPU / 16 GiB / 1 GPU x 2).
	wantReq := ast.MustParseTerm(`{"acme/data": {"cpu": 0, "gpu": 0, "memory_gib": 0}, "acme/ml": {"cpu": 8, "gpu": 2, "memory_gib": 32}, "acme/web": {"cpu": 6, "gpu": 0, "memory_gib": 12}}`)
	if got := full.(ast.Object).Get(ast.StringTerm("requested")); got == nil || got.Value.Compare(wantReq.Value) != 0 {
		t.Fatalf("requested = %v, want %v", got, wantReq)
	}
	// Without a PR, requester or evidence the optional keys are left out.
	in.PullRequest, in.Requester, in.Artifacts[1].Evidence.Metrics = nil, "", nil
	b, _ = json.Marshal(in)
	want, _ = ast.ValueFromReader(bytes.NewReader(b))
	if got := withoutFreezeReadings(withoutKey(mustInputValue(t, in), "requested")); got.Compare(want) != 0 {
		t.Fatalf("optional keys differ:\n got %v\nwant %v", got, want)
	}
}

func TestNilCollectionsBecomeEmpty(t *testing.T) {
	v := mustInputValue(t, Input{Action: "check"}).(ast.Object)
	for _, key := range []string{"artifacts", "approvals"} {
		if a, ok := v.Get(ast.StringTerm(key)).Value.(*ast.Array); !ok || a.Len() != 0 {
			t.Errorf("%s = %v; want []", key, v.Get(ast.StringTerm(key)))
		}
	}
	if o, ok := v.Get(ast.StringTerm("usage")).Value.(ast.Object); !ok || o.Len() != 0 {
		t.Errorf("usage = %v; want {}", v.Get(ast.StringTerm("usage")))
	}
}

func TestDigestIsStable(t *testing.T) {
	a, b := productionDeploy(), productionDeploy()
	// Build b's maps in the other order: the digest must not depend on it.
	b.Deployments = map[string]DeploymentFact{}
	b.Deployments["production"] = a.Deployments["production"]
	b.Deployments["staging"] = a.Deployments["staging"]
	da, err := Digest(a)
	if err != nil {
		t.Fatal(err)
	}
	// The digest is sha256 over encoding/json's bytes, so anyone can
	// recompute it from a stored input (docs/policies.md, the audit log).
	raw0, _ := json.Marshal(a)
	if sum := sha256.Sum256(raw0); hex.EncodeToString(sum[:]) != da {
		t.Fatalf("Digest = %s, not the sha256 of the input's JSON", da)
	}
	for i := 0; i < 20; i++ {
		if db, _ := Digest(b); db != da {
			t.Fatalf("digest changed: %s vs %s", db, da)
		}
	}
	b.Now = "2025-06-11T10:00:01Z"
	if db, _ := Digest(b); db == da {
		t.Fatal("digest ignores a changed field")
	}
	raw, _ := json.Marshal(a)
	parsed, err := ParseInput(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if dp, _ := Digest(parsed); dp != da {
		t.Fatal("digest of the parsed input differs from the original")
	}
	a.Artifacts[0].Cost.DeltaUSD = math.NaN()
	if _, err := Digest(a); err == nil {
		t.Fatal("NaN cost encoded")
	}
}

func TestUnencodableInputFailsClosed(t *testing.T) {
	e := newTestEvaluator(t, "", nil)
	in := productionDeploy()
	in.Artifacts[0].Cost.DeltaUSD = math.Inf(1)
	d, _, err := e.Eval(t.Context(), in)
	if err != nil {
		t.Fatal(err)
	}
	if d.Allow || len(d.Deny) != 1 || !strings.HasPrefix(d.Deny[0], "policy evaluation failed: encode policy input:") {
		t.Fatalf("decision = %+v", d)
	}
}

func TestParseInput(t *testing.T) {
	in, err := ParseInput(strings.NewReader(`{"action": "approve", "actor": {"login": "sam", "permission": "write", "teams": ["acme/sre"]},
		"repository": "acme/shop", "pull_request": {"number": 7, "author": "ana", "head_sha": "abc", "base": "main", "from_fork": true},
		"environment": {"name": "production", "config": {"approvals": {"count": 2, "from": ["@acme/sre"]}}},
		"artifacts": [{"name": "fraud-model", "kind": "model", "owners": [], "resources": {"cpu": 4, "memory_gib": 16, "gpu": 1, "replicas": 2},
		  "cost": {"monthly_usd": 4000.4, "delta_usd": 12}, "evidence": {"ci": {"build": "success"}, "metrics": {"metric": "auc", "passed": true}, "dbt": {}}}],
		"deployments": {"staging": {"sha": "abc", "state": "succeeded"}}, "approvals": [{"login": "kim", "via": "slack", "sha": "abc"}],
		"usage": {"acme/ml": {"production": {"cpu": 1}}}, "now": "2025-06-11T10:00:00Z"}`))
	if err != nil {
		t.Fatal(err)
	}
	if in.Action != "approve" || !in.PullRequest.FromFork || in.Environment.Config.Approvals.Count != 2 ||
		in.Artifacts[0].Resources.GPU != 1 || in.Artifacts[0].Evidence.Metrics.Metric != "auc" ||
		in.Usage["acme/ml"]["production"].CPU != 1 || in.Approvals[0].Via != "slack" {
		t.Fatalf("parsed = %+v", in)
	}

	bad := map[string]string{
		``:                                                                "empty document",
		`{"action": "check", "colour": "red"}`:                            `unknown field "colour"`,
		`{"action": "check", "artifacts": {}}`:                            "artifacts must be a list, not a JSON object (docs/policies.md",
		`{"action": "launch"}`:                                            `action "launch" is not one of check, deploy, approve, rollback, lock (docs/policies.md`,
		`{"action": "check"`:                                              "unexpected EOF",
		`{"action": "check"} {"action": "check"}`:                         "more than one JSON document",
		`{"action": "check", "now": 5}`:                                   "now must be a string",
		`{"action": "check", "now": "yesterday"}`:                         `now "yesterday" is not an RFC 3339 time`,
		`{"action": "check", "actor": {"permission": "owner"}}`:           `actor.permission "owner" is not one of admin, maintain, write, triage, read`,
		`{"action": "check", "pull_request": {"number": "7"}}`:            "pull_request.number must be a whole number, not a JSON string",
		`{"action": "check", "environment": {"config": {"freeze": "x"}}}`: "environment.config.freeze must be a list",
	}
	for doc, want := range bad {
		if _, err := ParseInput(strings.NewReader(doc)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseInput(%q) error = %v; want it to mention %q", doc, err, want)
		} else if strings.Contains(err.Error(), "DESIGN") {
			t.Errorf("ParseInput(%q) error cites a document outside the repository: %v", doc, err)
		}
	}
	// A missing action is the caller's to supply (policy eval --action).
	if in, err := ParseInput(strings.NewReader(`{"repository": "acme/shop"}`)); err != nil || in.Action != "" {
		t.Errorf("input without action: %+v, %v", in, err)
	}
}

func TestCheckAction(t *testing.T) {
	for _, a := range Actions {
		if err := CheckAction(a); err != nil {
			t.Errorf("CheckAction(%q) = %v", a, err)
		}
	}
	for a, want := range map[string]string{
		"deply": `action "deply" is not one of check, deploy, approve, rollback, lock (docs/policies.md, section "The contract")`,
		"":      `no action; write one of check, deploy, approve, rollback, lock (docs/policies.md, section "The contract")`,
	} {
		if err := CheckAction(a); err == nil || err.Error() != want {
			t.Errorf("CheckAction(%q) = %v, want %s", a, err, want)
		}
	}
}
