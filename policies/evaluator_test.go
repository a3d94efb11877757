package policies

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

type memRecorder struct {
	records []Record
	err     error
}

func (m *memRecorder) RecordDecision(_ context.Context, r Record) error {
	m.records = append(m.records, r)
	return m.err
}

func newTestEvaluator(t *testing.T, dir string, rec Recorder) *Evaluator {
	t.Helper()
	e, err := New(context.Background(), Options{Dir: dir, Config: testConfig(t), Recorder: rec})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func writePolicy(t *testing.T, name, text string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestProductionDeployAllowedWithApprovals(t *testing.T) {
	e := newTestEvaluator(t, "", nil)
	d, meta, err := e.Eval(context.Background(), productionDeploy())
	if err != nil {
		t.Fatal(err)
	}
	want := Decision{
		Allow: true, Deny: []string{}, Warn: []string{},
		ApprovalsRequired: ApprovalsRequired{
			Count: 2, From: []string{"acme/ml-leads", "acme/sre"},
			Groups: []ApprovalGroup{{Count: 2, From: []string{"acme/sre", "acme/ml-leads"}}},
		},
	}
	if !reflect.DeepEqual(d, want) {
		t.Fatalf("decision = %+v\nwant %+v", d, want)
	}
	if len(meta.InputDigest) != 64 || len(meta.Revision) != 64 || meta.Revision != e.Revision() {
		t.Errorf("meta = %+v", meta)
	}
}

func TestProductionDeployDenials(t *testing.T) {
	e := newTestEvaluator(t, "", nil)
	in := productionDeploy()
	in.Actor.Teams = []string{"acme/web"}
	in.Deployments["staging"] = DeploymentFact{SHA: "4f2a9c1e0b7d", State: "failed"}
	in.Artifacts[1].Resources.GPU = 3 // 4 running + 6 requested > 8
	in.Artifacts[1].Cost.DeltaUSD = 650
	in.Now = "2025-06-07T10:00:00Z" // Saturday
	d, _, err := e.Eval(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if d.Allow {
		t.Fatal("allowed; want denied")
	}
	wantDeny := []string{
		"@sam has write permission; production needs maintain or membership in acme/sre or acme/ml-leads",
		"production is frozen now (freeze window \"Fri 15:00-Mon 08:00 Europe/Berlin\"); deploy after it closes or ask for the window to be lifted",
		"production requires a successful deployment of 4f2a9c1 to staging first; run /deploy staging",
		"team acme/ml would use 10 GPU in production (4 running + 6 requested), above its quota of 8; lower the request or ask for a larger quota",
	}
	if !reflect.DeepEqual(d.Deny, wantDeny) {
		t.Errorf("deny =\n%s\nwant\n%s", strings.Join(d.Deny, "\n"), strings.Join(wantDeny, "\n"))
	}
	wantWarn := []string{"monthly cost rises by $650.00, above the $500.00 cost gate; 1 approval from acme/finance is required"}
	if !reflect.DeepEqual(d.Warn, wantWarn) {
		t.Errorf("warn = %q", d.Warn)
	}
	if d.ApprovalsRequired.Count != 3 || len(d.ApprovalsRequired.Groups) != 2 {
		t.Errorf("approvals = %+v; want 2 from sre/ml-leads and 1 from finance", d.ApprovalsRequired)
	}
}

func TestOverrideTeamFromServerConfig(t *testing.T) {
	e := newTestEvaluator(t, "", nil)
	in := productionDeploy()
	in.Artifacts[1].Evidence.Metrics.Passed = false
	d, _, _ := e.Eval(context.Background(), in)
	if d.Allow || len(d.Deny) != 1 || !strings.Contains(d.Deny[0], "the model evaluation did not pass") {
		t.Fatalf("failed model: %+v", d)
	}
	in.Actor.Teams = append(in.Actor.Teams, "acme/ml-leads")
	d, _, _ = e.Eval(context.Background(), in)
	if !d.Allow || len(d.Warn) != 1 || !strings.HasPrefix(d.Warn[0], "overridden by acme/ml-leads: fraud-model:") {
		t.Fatalf("overridden: %+v", d)
	}
}

func TestExtraDirAddsDeny(t *testing.T) {
	dir := writePolicy(t, "legacy.rego", `package conveyor

deny contains "acme/shop is read-only while it moves to acme/store; deploy from there" if input.repository == "acme/shop"
`)
	e := newTestEvaluator(t, dir, nil)
	d, _, _ := e.Eval(context.Background(), productionDeploy())
	if d.Allow || !reflect.DeepEqual(d.Deny, []string{"acme/shop is read-only while it moves to acme/store; deploy from there"}) {
		t.Fatalf("decision = %+v", d)
	}
	if base := newTestEvaluator(t, "", nil); base.Revision() == e.Revision() {
		t.Error("revision did not change with an extra policy")
	}
}

func TestBadPolicyDirNamesFileAndLine(t *testing.T) {
	cases := map[string]string{
		"package conveyor\n\ndeny contains msg if {\n\tmsg := \n}\n":               "broken.rego:5: unexpected } token",
		"package conveyor\n\ndeny contains msg if {\n\tundefined_fn(input)\n}\n":   "broken.rego:4: undefined function undefined_fn",
		"package conveyor\n\nallow := true\n\ndeny contains x if {\n\ty := 1\n}\n": "broken.rego:5: var x is unsafe",
	}
	for text, want := range cases {
		dir := writePolicy(t, "broken.rego", text)
		_, err := New(context.Background(), Options{Dir: dir})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("New with %q: error = %v; want it to contain %q", text, err, want)
		}
	}
	if _, err := New(context.Background(), Options{Dir: filepath.Join(t.TempDir(), "missing")}); err == nil {
		t.Error("missing policy directory accepted")
	}
}

func TestFailClosed(t *testing.T) {
	cases := map[string]struct{ policy, want string }{
		"undefined": {
			"package conveyor\n\ndecision := d if { d := input.nothing }\n",
			"policy evaluation failed: data.conveyor.decision is undefined; denying",
		},
		"eval error": {
			"package conveyor\n\ndecision := {\"allow\": true} if input.action\n\ndecision := {\"allow\": false} if input.action\n",
			"policy evaluation failed: ",
		},
		"malformed allow": {
			"package conveyor\n\ndecision := {\"allow\": \"yes\", \"deny\": [], \"warn\": [], \"approvals_required\": {\"count\": 0, \"from\": []}}\n",
			"policy evaluation failed: the decision's allow is missing or not a boolean; denying",
		},
		"malformed deny": {
			"package conveyor\n\ndecision := {\"allow\": true, \"deny\": [1], \"warn\": [], \"approvals_required\": {\"count\": 0, \"from\": []}}\n",
			"policy evaluation failed: the decision's deny is missing or not a list of strings; denying",
		},
		"not an object": {
			"package conveyor\n\ndecision := true\n",
			"policy evaluation failed: data.conveyor.decision is boolean, not an object with allow, deny, warn and approvals_required; denying",
		},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			rec := &memRecorder{}
			e, err := newEvaluator(context.Background(), []source{{name: "p.rego", text: c.policy}}, Options{Recorder: rec})
			if err != nil {
				t.Fatal(err)
			}
			d, _, err := e.Eval(context.Background(), productionDeploy())
			if err != nil {
				t.Fatal(err)
			}
			if d.Allow || len(d.Deny) != 1 || !strings.HasPrefix(d.Deny[0], c.want) || !strings.HasSuffix(d.Deny[0], "; denying") {
				t.Fatalf("decision = %+v; want a denial starting %q", d, c.want)
			}
			if len(rec.records) != 1 || rec.records[0].Decision.Allow {
				t.Errorf("fail-closed decision not recorded: %+v", rec.records)
			}
		})
	}
}

func TestExtraDirMayAllowForks(t *testing.T) {
	in := productionDeploy()
	in.PullRequest.FromFork = true
	d, _, _ := newTestEvaluator(t, "", nil).Eval(context.Background(), in)
	if d.Allow {
		t.Fatal("fork PR deployed by the default bundle")
	}
	dir := writePolicy(t, "forks.rego", "package conveyor\n\nfork_deploy_allowed if input.repository == \"acme/shop\"\n")
	d, _, _ = newTestEvaluator(t, dir, nil).Eval(context.Background(), in)
	if !d.Allow {
		t.Fatalf("fork PR denied despite fork_deploy_allowed: %+v", d)
	}
}

func TestExtraDirConflictFailsClosed(t *testing.T) {
	dir := writePolicy(t, "conflict.rego", "package conveyor\n\nenv_name := \"staging\" if input.action == \"deploy\"\n")
	d, _, err := newTestEvaluator(t, dir, nil).Eval(context.Background(), productionDeploy())
	if err != nil {
		t.Fatal(err)
	}
	if d.Allow || len(d.Deny) != 1 || !strings.HasPrefix(d.Deny[0], "policy evaluation failed: ") || !strings.Contains(d.Deny[0], "conflict") {
		t.Fatalf("conflicting rules: %+v; want fail closed", d)
	}
}

func TestAllowWithDenyReasonsIsDenied(t *testing.T) {
	policy := "package conveyor\n\ndecision := {\"allow\": true, \"deny\": [\"no\"], \"warn\": [], \"approvals_required\": {\"count\": 0, \"from\": []}}\n"
	e, err := newEvaluator(context.Background(), []source{{name: "p.rego", text: policy}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	d, _, _ := e.Eval(context.Background(), productionDeploy())
	if d.Allow || !reflect.DeepEqual(d.Deny, []string{"no"}) {
		t.Fatalf("decision = %+v", d)
	}
}

func TestRecorderGetsEveryDecision(t *testing.T) {
	rec := &memRecorder{}
	e := newTestEvaluator(t, "", rec)
	in := productionDeploy()
	d, meta, err := e.Eval(context.Background(), in)
	if err != nil || meta.RecordErr != nil {
		t.Fatal(err, meta.RecordErr)
	}
	if len(rec.records) != 1 {
		t.Fatalf("%d records, want 1", len(rec.records))
	}
	r := rec.records[0]
	if r.Action != "deploy" || r.Actor != "sam" || r.Repository != "acme/shop" || r.InputDigest != meta.InputDigest ||
		r.Revision != e.Revision() || !reflect.DeepEqual(r.Decision, d) || r.Time.IsZero() {
		t.Errorf("record = %+v", r)
	}

	rec.err = errors.New("audit log unavailable")
	d2, meta, err := e.Eval(context.Background(), in)
	if err != nil || !errors.Is(meta.RecordErr, rec.err) || !reflect.DeepEqual(d2, d) {
		t.Fatalf("recorder error: err=%v recordErr=%v decision=%+v", err, meta.RecordErr, d2)
	}
}

func TestCheckActionNeedsNoApprovals(t *testing.T) {
	e := newTestEvaluator(t, "", nil)
	in := productionDeploy()
	in.Action = "check"
	in.Actor.Permission = "read"
	in.Artifacts[2].Owners = nil
	in.Artifacts[1].Cost.DeltaUSD = 700
	d, _, _ := e.Eval(context.Background(), in)
	want := []string{
		"a monthly cost delta above $500.00 needs 1 approval from acme/finance at deploy time",
		"analytics has no owners; add owners: [\"@org/team\"] to it in .github/conveyor.yml",
		"monthly cost changes by +$700.00 (fraud-model +$700.00)",
	}
	if !d.Allow || d.ApprovalsRequired.Count != 0 || !reflect.DeepEqual(d.Warn, want) {
		t.Fatalf("check = %+v", d)
	}
}

// TestEvalCancelled: a cancelled request is denied, and the error says so.
func TestEvalCancelled(t *testing.T) {
	ctx, stop := context.WithCancel(context.Background())
	stop()
	rec := &memRecorder{}
	d, _, err := newTestEvaluator(t, "", rec).Eval(ctx, productionDeploy())
	if !errors.Is(err, context.Canceled) || d.Allow || len(d.Deny) != 1 || !strings.HasPrefix(d.Deny[0], "policy evaluation failed: ") {
		t.Fatalf("cancelled decision %+v, %v", d, err)
	}
	if len(rec.records) != 1 || rec.records[0].Decision.Allow {
		t.Errorf("the denial was not recorded: %+v", rec.records)
	}
}

// TestEvalConcurrent shares one Evaluator between goroutines (go test -race
// checks the prepared query and the shared store); every decision must
// match the one made alone.
func TestEvalConcurrent(t *testing.T) {
	ctx := context.Background()
	e, err := New(ctx, Options{Config: testConfig(t)})
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewSource(5))
	ins := make([]Input, 40)
	want := make([]Decision, len(ins))
	for i := range ins {
		ins[i] = generatedInput(r)
		if want[i], _, err = e.Eval(ctx, ins[i]); err != nil {
			t.Fatal(err)
		}
	}
	errs := make(chan error, 8)
	for g := range 8 {
		go func() {
			for n := range 50 {
				i := (g*7 + n) % len(ins)
				got, _, err := e.Eval(ctx, ins[i])
				if err == nil && !reflect.DeepEqual(got, want[i]) {
					err = fmt.Errorf("input %d: got %+v, want %+v", i, got, want[i])
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
