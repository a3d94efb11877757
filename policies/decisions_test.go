package policies

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
)

var updateDecisions = flag.Bool("update-decisions", false, "rewrite testdata/decisions.golden from the current bundle")

const decisionsGolden = "testdata/decisions.golden"

// TestDecisionsUnchanged evaluates the default bundle over generated inputs
// and server configs and compares every decision with the one recorded in
// testdata/decisions.golden. It pins decisions while the bundle is reworked
// for speed; a change that is meant to alter decisions rewrites the file with
// go test ./policies/ -run TestDecisionsUnchanged -update-decisions.
func TestDecisionsUnchanged(t *testing.T) {
	srcs, err := defaultSources(false)
	if err != nil {
		t.Fatal(err)
	}
	got, docs := decisionLines(t, srcs)
	if *updateDecisions {
		if err := os.MkdirAll(filepath.Dir(decisionsGolden), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(decisionsGolden, []byte(strings.Join(got, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	f, err := os.Open(decisionsGolden)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var want []string
	for sc := bufio.NewScanner(f); sc.Scan(); {
		want = append(want, sc.Text())
	}
	if len(want) != len(got) {
		t.Fatalf("%s has %d decisions, the generator makes %d", decisionsGolden, len(want), len(got))
	}
	failed := 0
	for i := range got {
		if got[i] != want[i] && failed < 5 {
			failed++
			t.Errorf("decision %s changed (recorded %s); now:\n%s", got[i], want[i], docs[i])
		}
	}
}

// decisionLines evaluates srcs over every generated case: one line per case,
// its config and input number and the digest of the decision document, and
// the input and decision themselves for reporting.
func decisionLines(t testing.TB, srcs []source) (lines, docs []string) {
	ctx := context.Background()
	r := rand.New(rand.NewSource(20250611))
	for ci, cfg := range decisionConfigs(t) {
		pq := preparedDecision(t, srcs, cfg)
		for i := 0; i < 250; i++ {
			// The fields are dropped from the input as its writer made it;
			// the freeze readings are then derived from whatever windows
			// remain, as Conveyor derives them for any input.
			in := withoutFreezeReadings(mustInputValue(t, generatedInput(r)))
			if r.Intn(3) == 0 {
				// A partial input has no input.requested (the Rego sums the
				// candidates itself); a whole one has it, as Conveyor sends it.
				in = dropFields(r, withoutKey(in, "requested"))
			}
			in = withFreezeReadings(t, in)
			rs, err := pq.Eval(ctx, rego.EvalParsedInput(in))
			out := "error " + fmt.Sprint(err)
			if err == nil && len(rs) == 1 {
				out = rs[0].Expressions[0].Value.(*ast.Term).String()
			}
			sum := sha256.Sum256([]byte(out))
			lines = append(lines, fmt.Sprintf("%d/%d %s", ci, i, hex.EncodeToString(sum[:8])))
			docs = append(docs, fmt.Sprintf("input %v\ndecision %s", in, out))
		}
	}
	return lines, docs
}

// decisionConfigs are server configs that exercise quotas, the cost gate and
// overrides, and their absence.
func decisionConfigs(t testing.TB) []map[string]any {
	def, err := configData(nil)
	if err != nil {
		t.Fatal(err)
	}
	design, err := configData(testConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	return []map[string]any{
		{},
		def,
		design,
		{
			"teams": map[string]any{
				"acme/ml":   map[string]any{"quota": map[string]any{"production": map[string]any{"cpu": 64, "memory_gib": 256, "gpu": 8}, "staging": map[string]any{"cpu": 8, "memory_gib": 0, "gpu": 1}}},
				"acme/web":  map[string]any{"quota": map[string]any{"production": map[string]any{"cpu": 10, "memory_gib": 20.5, "gpu": 0}}},
				"acme/data": map[string]any{"quota": map[string]any{}},
				"octocat":   map[string]any{"quota": map[string]any{"production": map[string]any{"cpu": 1}}},
			},
			"pricing":  map[string]any{"cost_gate_usd": 500, "finance_team": "@acme/finance"},
			"policies": map[string]any{"override_teams": []any{"@acme/ml-leads", "acme/web"}},
		},
		{"pricing": map[string]any{"cost_gate_usd": 0.001, "finance_team": ""}, "policies": map[string]any{"override_teams": []any{}}},
		{"pricing": map[string]any{"cost_gate_usd": 380}, "teams": map[string]any{"acme/ml": map[string]any{"quota": map[string]any{"production": map[string]any{"cpu": 0.5, "gpu": 2, "other": 1}}}}},
	}
}

func pick[T any](r *rand.Rand, xs ...T) T { return xs[r.Intn(len(xs))] }

// some returns a random subset of xs, sometimes nil.
func some(r *rand.Rand, xs ...string) []string {
	if r.Intn(5) == 0 {
		return nil
	}
	var out []string
	for _, x := range xs {
		if r.Intn(3) == 0 {
			out = append(out, x)
		}
	}
	return out
}

// generatedWindow is a freeze window of either form, often with fields out
// of range or an unknown zone.
func generatedWindow(r *rand.Rand) string {
	zones := []string{"", " UTC", " Europe/Berlin", " America/New_York", " Australia/Lord_Howe", " Mars/Olympus", " Local"}
	if r.Intn(2) == 0 {
		days := []string{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}
		return fmt.Sprintf("%s %02d:%02d-%s %02d:%02d%s", pick(r, days...), r.Intn(25), r.Intn(61),
			pick(r, days...), r.Intn(25), r.Intn(61), pick(r, zones...))
	}
	months := []string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}
	return fmt.Sprintf("%s %d-%s %d%s", pick(r, months...), r.Intn(33), pick(r, months...), r.Intn(33), pick(r, zones...))
}

// generatedInput is an input of any action, drawn from small pools so that
// logins, teams, SHAs and environments meet.
func generatedInput(r *rand.Rand) Input {
	logins := []string{"sam", "ana", "kim", "Ana", "", "SAM"}
	windows := []string{
		"Fri 15:00-Mon 08:00 Europe/Berlin", "Fri 15:00-Mon 08:00", "Tue 09:00-Thu 17:00 UTC", "Sat 00:00-Sat 00:00 UTC",
		"Dec 24-Dec 26 UTC", "Dec 28-Jan 02 UTC", "Jun 01-Jun 30 Europe/Berlin", "Jun 11-Jun 11 UTC", "weekends", "",
		"  Fri 15:00-Mon 08:00 UTC  ", "Fri 24:00-Mon 08:00", "Dec 24-Dec 26", "Fri 15:00-Mon 08:00 Mars/Olympus",
	}
	now := time.Unix(1735689600+r.Int63n(2*366*86400), 0).UTC().Format(time.RFC3339)
	if r.Intn(4) == 0 {
		now = pick(r, "2025-06-11T10:00:00Z", "2025-06-07T10:00:00Z", "2025-12-25T10:00:00Z", "2025-06-11T10:00:00+02:00", "yesterday", "")
	}
	in := Input{
		Action: pick(r, "check", "deploy", "deploy", "deploy", "approve", "approve", "rollback", "lock", "", "bogus"),
		Actor: Actor{
			Login:      pick(r, logins...),
			Permission: pick(r, "read", "triage", "write", "write", "maintain", "admin", "", "owner"),
			Teams:      some(r, "acme/sre", "acme/web", "acme/ml-leads", "acme/finance", "@acme/sre", "acme/ml", "acme/data"),
		},
		Repository: pick(r, "acme/shop", ""),
		Requester:  pick(r, "", "", "ana", "sam", "kim", "Sam"),
		Now:        now,
	}
	if r.Intn(4) != 0 {
		in.PullRequest = &PullRequest{Number: r.Intn(2000), Author: pick(r, logins...), HeadSHA: pick(r, "4f2a9c1e0b7d", "", "abc"),
			Base: "main", FromFork: r.Intn(4) == 0}
	}
	in.Environment.Name = pick(r, "production", "production", "staging", "dev", "")
	c := &in.Environment.Config
	c.Requires = some(r, "staging", "dev", "qa")
	c.Approvals = ApprovalConfig{Count: r.Intn(4), From: some(r, "@acme/sre", "@acme/ml-leads", "acme/web", "@octocat", "@acme/finance")}
	c.Freeze = some(r, pick(r, windows...), pick(r, windows...), generatedWindow(r), generatedWindow(r))
	if r.Intn(2) == 0 {
		c.Rollout = Rollout{Steps: []int{10, 50, 100}, Pause: "2m"}
	}
	for n := r.Intn(5); n > 0; n-- {
		a := Artifact{
			Name: pick(r, "web", "fraud-model", "analytics", "risk"), Kind: pick(r, "app", "model", "dbt"),
			Owners: some(r, "@acme/ml", "@acme/web", "acme/data", "@octocat", "@acme/ml", "@acme/data", "acme/ml"),
			Resources: Resources{
				CPU: pick(r, 0, 1, 2, 4, 0.5, 64, 100), MemoryGiB: pick(r, 0, 4, 16, 0.25, 300), GPU: pick(r, 0, 0, 1, 3, 8.0),
				Replicas: pick(r, 0, 1, 2, 3, -1),
			},
			Cost:     Cost{MonthlyUSD: pick(r, 0, 219, 4000.4), DeltaUSD: pick(r, 0, 0, 120.5, -30, 600, 1e6, 0.005, -0.004, 499.995, 500, 380)},
			Evidence: Evidence{CI: map[string]string{"build": "success"}},
		}
		if r.Intn(3) == 0 {
			a.Evidence.Metrics = &MetricsEvidence{Metric: pick(r, "auc", ""), Candidate: 0.93, Production: 0.92, Min: 0.9, Regression: -0.01, Passed: r.Intn(2) == 0}
		}
		if r.Intn(3) == 0 {
			a.Evidence.DBT = &DBTEvidence{Modified: []string{"orders"}, Untested: some(r, "orders", "rev"), ContractBreaks: some(r, "orders.id dropped", "x")}
		}
		in.Artifacts = append(in.Artifacts, a)
	}
	if r.Intn(5) != 0 {
		in.Deployments = map[string]DeploymentFact{}
		for _, e := range some(r, "staging", "dev", "production", "qa") {
			in.Deployments[e] = DeploymentFact{SHA: pick(r, "4f2a9c1e0b7d", "0c1d2e3f4a5b", ""), State: pick(r, "succeeded", "failed", "running")}
		}
	}
	if r.Intn(4) != 0 {
		in.Usage = map[string]map[string]Usage{}
		for _, team := range some(r, "acme/ml", "acme/web", "acme/data") {
			in.Usage[team] = map[string]Usage{pick(r, "production", "staging"): {CPU: pick(r, 0, 40, 60, 63.5), MemoryGiB: pick(r, 0, 128, 250.0), GPU: pick(r, 0, 4, 6, 8.0)}}
		}
	}
	return in
}

// dropFields removes random fields (or sets them to null) at every level, so
// the bundle's defaults for partial inputs are exercised too.
// withoutKey is the object v without key.
func withoutKey(v ast.Value, key string) ast.Value {
	obj := v.(ast.Object)
	var items [][2]*ast.Term
	obj.Foreach(func(k, val *ast.Term) {
		if k.Value.Compare(ast.String(key)) != 0 {
			items = append(items, [2]*ast.Term{k, val})
		}
	})
	return ast.NewObject(items...)
}

func dropFields(r *rand.Rand, v ast.Value) ast.Value {
	switch x := v.(type) {
	case ast.Object:
		var items [][2]*ast.Term
		x.Foreach(func(k, val *ast.Term) {
			switch r.Intn(40) {
			case 0, 1, 2:
				return
			case 3:
				items = append(items, [2]*ast.Term{k, ast.NullTerm()})
			default:
				items = append(items, [2]*ast.Term{k, ast.NewTerm(dropFields(r, val.Value))})
			}
		})
		return ast.NewObject(items...)
	case *ast.Array:
		var ts []*ast.Term
		x.Foreach(func(t *ast.Term) { ts = append(ts, ast.NewTerm(dropFields(r, t.Value))) })
		return ast.NewArray(ts...)
	}
	return v
}

// withoutFreezeReadings is the input without environment.freeze_windows.
func withoutFreezeReadings(v ast.Value) ast.Value {
	env, ok := v.(ast.Object).Get(ast.StringTerm("environment")).Value.(ast.Object)
	if !ok {
		return v
	}
	return setKey(v, "environment", withoutKey(env, "freeze_windows"))
}

// withFreezeReadings adds environment.freeze_windows read from whatever
// environment.config.freeze holds, when there is an environment object.
func withFreezeReadings(t testing.TB, v ast.Value) ast.Value {
	obj, ok := v.(ast.Object)
	if !ok {
		return v
	}
	envTerm := obj.Get(ast.StringTerm("environment"))
	if envTerm == nil {
		return v
	}
	env, ok := envTerm.Value.(ast.Object)
	if !ok {
		return v
	}
	var windows []string
	if cfg, ok := field(env, "config").(ast.Object); ok {
		if arr, ok := field(cfg, "freeze").(*ast.Array); ok {
			arr.Foreach(func(t *ast.Term) {
				if s, ok := t.Value.(ast.String); ok {
					windows = append(windows, string(s))
				}
			})
		}
	}
	readings, err := ast.InterfaceToValue(freezeReadings(windows))
	if err != nil {
		t.Fatal(err)
	}
	return setKey(obj, "environment", setKey(env, "freeze_windows", readings))
}

// setKey is the object v with key set to val.
func setKey(v ast.Value, key string, val ast.Value) ast.Value {
	obj := withoutKey(v, key).(ast.Object)
	obj.Insert(ast.StringTerm(key), ast.NewTerm(val))
	return obj
}

// preparedDecision prepares the decision query over srcs with cfg as
// data.conveyor.config, as New does.
func preparedDecision(t testing.TB, srcs []source, cfg map[string]any) rego.PreparedEvalQuery {
	t.Helper()
	store, err := newStore(cfg)
	if err != nil {
		t.Fatal(err)
	}
	pq, err := rego.New(rego.ParsedQuery(ast.MustParseBody(DecisionQuery)), rego.Compiler(mustCompile(t, srcs)), rego.Store(store),
		rego.GenerateJSON(func(t *ast.Term, _ *rego.EvalContext) (any, error) { return t, nil }),
	).PrepareForEval(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return pq
}

func mustInputValue(t testing.TB, in Input) ast.Value {
	t.Helper()
	v, err := inputValue(in)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
