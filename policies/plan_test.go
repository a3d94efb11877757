package policies

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand"
	"reflect"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/topdown"
	"github.com/open-policy-agent/opa/v1/util"
)

// engines is the default bundle under one server config, prepared for both
// topdown and the plan interpreter.
type engines struct {
	topdown rego.PreparedEvalQuery
	plan    *program
}

func newEngines(t testing.TB, srcs []source, cfg map[string]any) engines {
	t.Helper()
	compiler := mustCompile(t, srcs)
	store, err := newStore(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	pq, err := rego.New(rego.ParsedQuery(ast.MustParseBody(DecisionQuery)), rego.Compiler(compiler), rego.Store(store),
		rego.GenerateJSON(func(t *ast.Term, _ *rego.EvalContext) (any, error) { return t, nil }),
	).PrepareForEval(ctx)
	if err != nil {
		t.Fatal(err)
	}
	prog, err := newProgram(ctx, DecisionQuery, compiler, store)
	if err != nil {
		t.Fatal(err)
	}
	return engines{topdown: pq, plan: prog}
}

// both evaluates in on each engine and returns the decision documents, or
// "error" when an engine failed.
func (e engines) both(t testing.TB, in ast.Value) (td, pl string) {
	ctx := context.Background()
	td = "undefined"
	rs, err := e.topdown.Eval(ctx, rego.EvalParsedInput(in))
	switch {
	case err != nil:
		td = "error"
	case len(rs) == 1:
		td = rs[0].Expressions[0].Value.(*ast.Term).String()
	}
	pl = "undefined"
	v, err := e.plan.eval(ctx, in, topdown.NewCancel())
	switch {
	case err != nil:
		pl = "error"
	case v != nil:
		pl = v.String()
	}
	return td, pl
}

// TestPlanMatchesTopdown runs the generated inputs of TestDecisionsUnchanged
// (every action, partial inputs, odd freeze windows, every server config)
// through both engines: every decision document must be the same.
func TestPlanMatchesTopdown(t *testing.T) {
	srcs, err := defaultSources(false)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewSource(20261127))
	compared, denied := 0, 0
	for _, cfg := range decisionConfigs(t) {
		e := newEngines(t, srcs, cfg)
		for range 400 {
			in := inputValue(generatedInput(r))
			if r.Intn(3) == 0 {
				in = dropFields(r, withoutKey(in, "requested"))
			}
			td, pl := e.both(t, in)
			if td != pl {
				t.Fatalf("engines differ on input %v:\ntopdown %s\nplan    %s", in, td, pl)
			}
			compared++
			if strings.Contains(td, `"allow": false`) {
				denied++
			}
		}
	}
	// The comparison means something only if both outcomes occur often.
	if denied < compared/10 || denied > compared*9/10 {
		t.Fatalf("%d of %d decisions denied; the generator no longer covers both outcomes", denied, compared)
	}
}

// TestPlanMatchesTopdownOnOperatorPolicies covers what the default bundle
// does not: extra policies that override bundle rules, conflicts, undefined
// and malformed decisions.
func TestPlanMatchesTopdownOnOperatorPolicies(t *testing.T) {
	policies := map[string]string{
		"fork allowed": "package conveyor\n\nfork_deploy_allowed if input.repository == \"acme/shop\"\n",
		"extra deny":   "package conveyor\n\ndeny contains \"no GPUs on Fridays\" if { some a in input.artifacts; a.resources.gpu > 0 }\n",
		"conflict":     "package conveyor\n\nenv_name := \"staging\" if input.action == \"deploy\"\n",
		"object conflict": "package conveyor\n\nby_kind := {a.kind: a.name | some a in input.artifacts}\n\n" +
			"deny contains k if some k, _ in by_kind\n",
		"set and object ops": "package conveyor\n\nkinds := {a.kind | some a in input.artifacts}\n\n" +
			"warn contains sprintf(\"%d kinds, %v\", [count(kinds), sort(kinds)]) if count(kinds) > 1\n\n" +
			"warn contains x if { x := concat(\",\", [n | some n, _ in input.deployments]); x != \"\" }\n",
		"else chains": "package conveyor\n\nsize := \"big\" if { count(input.artifacts) > 2 } else := \"small\" if { count(input.artifacts) > 0 } else := \"none\"\n\n" +
			"warn contains size\n",
		"every and not": "package conveyor\n\nwarn contains \"all owned\" if every a in input.artifacts { count(a.owners) > 0 }\n\n" +
			"warn contains \"someone is missing\" if not input.requester\n",
		"functions": "package conveyor\n\nshout(s) := upper(s)\n\nshout(s) := s if false\n\nwarn contains shout(input.actor.login)\n",
		"destructuring": "package conveyor\n\nwarn contains x if { some a in input.artifacts; {\"name\": x, \"kind\": \"app\"} = a }\n\n" +
			"warn contains sprintf(\"first step %v\", [a]) if [a, _, _] = input.environment.config.rollout.steps\n",
		"partial objects": "package conveyor\n\nowners_of[a.name] := a.owners if some a in input.artifacts\n\n" +
			"kind_count[k] := n if { some a in input.artifacts; k := a.kind; n := count([b | some b in input.artifacts; b.kind == k]) }\n\n" +
			"warn contains sprintf(\"%s: %d\", [k, n]) if some k, n in kind_count\n\n" +
			"warn contains sprintf(\"%s has %d owners\", [name, count(o)]) if { some name, o in owners_of; count(o) > 1 }\n",
		"builtins": "package conveyor\n\nwarn contains \"sha-like\" if regex.match(`^[0-9a-f]{7,40}$`, input.pull_request.head_sha)\n\n" +
			"warn contains \"web glob\" if { some a in input.artifacts; glob.match(\"w*\", [], a.name) }\n\n" +
			"warn contains sprintf(\"%v\", [object.union({\"a\": 1}, {\"b\": count(input.approvals)})])\n\n" +
			"warn contains sprintf(\"%v\", [doubled]) if doubled := [y | some x in numbers.range(1, count(input.artifacts)); y := x * 2]\n\n" +
			"warn contains concat(\"/\", split(input.repository, \"/\"))\n",
		"imported library": "package conveyor\n\nimport data.acme.lib\n\n" +
			"warn contains sprintf(\"big team %s\", [t]) if { some t in input.actor.teams; lib.big(t) }\n\n" +
			"deny contains \"blocked\" if lib.blocked[input.actor.login]\n",
		"sets and strings": "package conveyor\n\nteams := {x | some x in input.actor.teams}\n\n" +
			"warn contains t if { some t in teams; startswith(t, \"acme/\") }\n\n" +
			"warn contains \"sre\" if teams[\"acme/sre\"]\n\n" +
			"warn contains \"long login\" if count(input.actor.login) > 3\n\n" +
			"warn contains sprintf(\"%v\", [sum([s | some s in input.environment.config.rollout.steps]) / 3])\n\n" +
			"warn contains sprintf(\"%v=%v\", [k, v]) if { some k, v in input.deployments; v.state == \"failed\" }\n",
	}
	r := rand.New(rand.NewSource(7))
	for name, text := range policies {
		if name == "library" {
			continue // a second file, added to every case below
		}
		t.Run(name, func(t *testing.T) {
			srcs, err := defaultSources(false)
			if err != nil {
				t.Fatal(err)
			}
			srcs = append(srcs, source{name: "extra.rego", text: text},
				source{name: "lib.rego", text: "package acme.lib\n\nbig(t) if endswith(t, \"/sre\")\n\nblocked := {\"SAM\", \"kim\"}\n"})
			e := newEngines(t, srcs, map[string]any{})
			ins := []ast.Value{inputValue(productionDeploy())}
			for range 60 {
				ins = append(ins, inputValue(generatedInput(r)))
			}
			for _, in := range ins {
				if td, pl := e.both(t, in); td != pl {
					t.Fatalf("engines differ on input %v:\ntopdown %s\nplan    %s", in, td, pl)
				}
			}
		})
	}
}

// TestPlanRefusalKeepsTopdown: a policy the interpreter does not run is
// decided by topdown, and Engine says why.
func TestPlanRefusalKeepsTopdown(t *testing.T) {
	cases := map[string]string{
		"with":              "package conveyor\n\nprod_like if production with input.environment.name as \"production\"\n\nwarn contains \"prod-like\" if prod_like\n",
		"non-deterministic": "package conveyor\n\nwarn contains \"late\" if time.now_ns() < 0\n",
		"relation":          "package conveyor\n\nwarn contains \"deep\" if { walk(input, [p, _]); count(p) > 9 }\n",
	}
	for name, text := range cases {
		t.Run(name, func(t *testing.T) {
			srcs, err := defaultSources(false)
			if err != nil {
				t.Fatal(err)
			}
			e, err := newEvaluator(context.Background(), append(srcs, source{name: "extra.rego", text: text}), Options{Config: testConfig(t)})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(e.Engine(), "topdown (the policy cannot run as a plan: ") {
				t.Fatalf("engine = %q", e.Engine())
			}
			d, _, err := e.Eval(context.Background(), productionDeploy())
			if err != nil || !d.Allow {
				t.Fatalf("decision %+v, %v", d, err)
			}
		})
	}
	e, err := New(context.Background(), Options{Config: testConfig(t)})
	if err != nil {
		t.Fatal(err)
	}
	if e.Engine() != "plan" {
		t.Fatalf("default bundle engine = %q, want plan", e.Engine())
	}
	e, err = New(context.Background(), Options{Config: testConfig(t), Topdown: true})
	if err != nil {
		t.Fatal(err)
	}
	if e.Engine() != "topdown (asked for)" {
		t.Fatalf("engine = %q", e.Engine())
	}
}

// TestEvaluatorEnginesAgree runs the Evaluator itself, with its Go input,
// recorder and decoding, on both engines.
func TestEvaluatorEnginesAgree(t *testing.T) {
	ctx := context.Background()
	pl, err := New(ctx, Options{Config: testConfig(t)})
	if err != nil {
		t.Fatal(err)
	}
	td, err := New(ctx, Options{Config: testConfig(t), Topdown: true})
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewSource(11))
	for i := range 300 {
		in := generatedInput(r)
		if i == 0 {
			in = productionDeploy()
		}
		a, ma, err := pl.Eval(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		b, mb, err := td.Eval(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(a, b) || ma.InputDigest != mb.InputDigest {
			t.Fatalf("input %+v:\nplan    %+v\ntopdown %+v", in, a, b)
		}
	}
}

// TestPlanCancelled: a cancelled evaluation stops with an error, which the
// evaluator turns into a denial.
func TestPlanCancelled(t *testing.T) {
	srcs, err := defaultSources(false)
	if err != nil {
		t.Fatal(err)
	}
	e := newEngines(t, srcs, map[string]any{})
	cancel := topdown.NewCancel()
	cancel.Cancel()
	if v, err := e.plan.eval(context.Background(), inputValue(productionDeploy()), cancel); err == nil {
		t.Fatalf("cancelled plan returned %v", v)
	}
	ctx, stop := context.WithCancel(context.Background())
	stop()
	ev, err := New(context.Background(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	d, _, err := ev.Eval(ctx, productionDeploy())
	if err == nil || d.Allow {
		t.Fatalf("cancelled decision %+v, %v", d, err)
	}
}

// FuzzPlanMatchesTopdown feeds arbitrary JSON documents as the input, so
// both engines meet wrong types, missing fields and odd values; they must
// decide alike.
func FuzzPlanMatchesTopdown(f *testing.F) {
	seed, err := json.Marshal(inputValue(productionDeploy()))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	r := rand.New(rand.NewSource(3))
	for range 8 {
		b, err := json.Marshal(dropFields(r, inputValue(generatedInput(r))))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"action":"deploy","artifacts":"web","environment":{"name":7,"config":{"freeze":[1,"Fri 15:00-Mon 08:00 Nowhere"]}}}`))
	f.Add([]byte(`{"action":"approve","approvals":[{"login":null}],"actor":{"teams":{"a":1}},"requested":[]}`))
	srcs, err := defaultSources(false)
	if err != nil {
		f.Fatal(err)
	}
	cfg, err := configData(testConfig(f))
	if err != nil {
		f.Fatal(err)
	}
	e := newEngines(f, srcs, cfg)
	f.Fuzz(func(t *testing.T, doc []byte) {
		var x any
		if err := util.NewJSONDecoder(bytes.NewReader(doc)).Decode(&x); err != nil {
			return
		}
		in, err := ast.InterfaceToValue(x)
		if err != nil {
			return
		}
		if td, pl := e.both(t, in); td != pl {
			t.Fatalf("engines differ on input %v:\ntopdown %s\nplan    %s", in, td, pl)
		}
	})
}

// TestPlanConcurrent shares one Evaluator between goroutines (go test -race
// checks the pooled runs and the shared data); every decision must match
// the one made alone.
func TestPlanConcurrent(t *testing.T) {
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
			for n := range 100 {
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
