package policies

import (
	"math"
	"sort"

	"github.com/open-policy-agent/opa/v1/ast"
)

// The functions below build the input as an ast.Value directly, so the hot
// path skips a JSON encode/decode. They mirror the json tags in input.go
// (TestValueMatchesJSON keeps them in step), except that nil slices and maps
// become empty arrays and objects: rules can then iterate without guarding
// against null.

func inputValue(in Input) ast.Value {
	items := make([][2]*ast.Term, 0, 12)
	items = append(items,
		item("action", str(in.Action)),
		item("actor", ast.NewTerm(actorValue(in.Actor))),
		item("repository", str(in.Repository)),
	)
	if in.PullRequest != nil {
		items = append(items, item("pull_request", ast.NewTerm(pullRequestValue(*in.PullRequest))))
	}
	items = append(items,
		item("environment", ast.ObjectTerm(
			item("name", str(in.Environment.Name)),
			item("config", ast.NewTerm(envConfigValue(in.Environment.Config))),
			item("freeze_windows", ast.NewTerm(freezeReadingsValue(freezeReadings(in.Environment.Config.Freeze)))),
		)),
		item("artifacts", ast.NewTerm(artifactsValue(in.Artifacts))),
		item("deployments", ast.NewTerm(deploymentsValue(in.Deployments))),
		item("approvals", ast.NewTerm(approvalsValue(in.Approvals))),
	)
	if in.Requester != "" {
		items = append(items, item("requester", str(in.Requester)))
	}
	items = append(items,
		item("usage", ast.NewTerm(usageValue(in.Usage))),
		item("requested", ast.NewTerm(requestedValue(in))),
		item("now", str(in.Now)),
	)
	return ast.NewObject(items...)
}

// keyTerms holds the input's field names as shared terms, so building an
// input allocates only its values. Map keys from users (teams, environments,
// check names) are not in it and get fresh terms.
var keyTerms = func() map[string]*ast.Term {
	m := map[string]*ast.Term{}
	for _, k := range []string{
		"action", "actor", "repository", "pull_request", "environment", "artifacts", "deployments",
		"approvals", "requester", "usage", "now", "login", "permission", "teams", "number", "author",
		"head_sha", "base", "from_fork", "name", "config", "requires", "count", "from", "rollout",
		"steps", "pause", "freeze", "kind", "owners", "resources", "cpu", "memory_gib", "gpu",
		"replicas", "cost", "monthly_usd", "delta_usd", "evidence", "ci", "metrics", "dbt", "metric",
		"candidate", "production", "min", "max_regression", "regression", "passed", "modified",
		"downstream", "untested", "contract_breaks", "sha", "state", "via", "staging",
		// Values from small fixed sets: actions, permissions, kinds, states,
		// check conclusions, approval channels and the usual environments.
		"check", "deploy", "approve", "rollback", "lock", "admin", "maintain", "write", "triage", "read",
		"app", "model", "dbt", "succeeded", "failed", "running", "pending", "rolled_back", "success",
		"failure", "neutral", "cancelled", "skipped", "timed_out", "action_required", "slack", "github",
		"production", "main", "",
	} {
		m[k] = ast.StringTerm(k)
	}
	return m
}()

// str is a string term, shared when the string is one of keyTerms.
func str(s string) *ast.Term {
	if t, ok := keyTerms[s]; ok {
		return t
	}
	return ast.StringTerm(s)
}

func item(key string, v *ast.Term) [2]*ast.Term {
	if t, ok := keyTerms[key]; ok {
		return ast.Item(t, v)
	}
	return ast.Item(ast.StringTerm(key), v)
}

// num is a number term; whole numbers use OPA's interned small integers,
// which print the same ("4" for 4.0) as the JSON form.
func num(f float64) *ast.Term {
	if f >= 0 && f < 512 && f == math.Trunc(f) && !(f == 0 && math.Signbit(f)) {
		return ast.InternedTerm(int(f))
	}
	return ast.FloatNumberTerm(f)
}

func stringArray(xs []string) ast.Value {
	terms := make([]*ast.Term, len(xs))
	for i, x := range xs {
		terms[i] = str(x)
	}
	return ast.NewArray(terms...)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func actorValue(a Actor) ast.Value {
	return ast.NewObject(
		item("login", str(a.Login)),
		item("permission", str(a.Permission)),
		item("teams", ast.NewTerm(stringArray(a.Teams))),
	)
}

func pullRequestValue(p PullRequest) ast.Value {
	return ast.NewObject(
		item("number", ast.InternedTerm(p.Number)),
		item("author", str(p.Author)),
		item("head_sha", str(p.HeadSHA)),
		item("base", str(p.Base)),
		item("from_fork", ast.InternedTerm(p.FromFork)),
	)
}

func envConfigValue(c EnvironmentConfig) ast.Value {
	steps := make([]*ast.Term, len(c.Rollout.Steps))
	for i, s := range c.Rollout.Steps {
		steps[i] = ast.InternedTerm(s)
	}
	return ast.NewObject(
		item("requires", ast.NewTerm(stringArray(c.Requires))),
		item("approvals", ast.ObjectTerm(
			item("count", ast.InternedTerm(c.Approvals.Count)),
			item("from", ast.NewTerm(stringArray(c.Approvals.From))),
		)),
		item("rollout", ast.ObjectTerm(
			item("steps", ast.ArrayTerm(steps...)),
			item("pause", str(c.Rollout.Pause)),
		)),
		item("freeze", ast.NewTerm(stringArray(c.Freeze))),
	)
}

func artifactsValue(as []Artifact) ast.Value {
	terms := make([]*ast.Term, len(as))
	for i, a := range as {
		terms[i] = ast.ObjectTerm(
			item("name", str(a.Name)),
			item("kind", str(a.Kind)),
			item("owners", ast.NewTerm(stringArray(a.Owners))),
			item("resources", ast.ObjectTerm(
				item("cpu", num(a.Resources.CPU)),
				item("memory_gib", num(a.Resources.MemoryGiB)),
				item("gpu", num(a.Resources.GPU)),
				item("replicas", ast.InternedTerm(a.Resources.Replicas)),
			)),
			item("cost", ast.ObjectTerm(
				item("monthly_usd", num(a.Cost.MonthlyUSD)),
				item("delta_usd", num(a.Cost.DeltaUSD)),
			)),
			item("evidence", ast.NewTerm(evidenceValue(a.Evidence))),
		)
	}
	return ast.NewArray(terms...)
}

func evidenceValue(e Evidence) ast.Value {
	ci := make([][2]*ast.Term, 0, len(e.CI))
	for _, k := range sortedKeys(e.CI) {
		ci = append(ci, item(k, str(e.CI[k])))
	}
	items := [][2]*ast.Term{item("ci", ast.ObjectTerm(ci...))}
	if m := e.Metrics; m != nil {
		items = append(items, item("metrics", ast.ObjectTerm(
			item("metric", str(m.Metric)),
			item("candidate", num(m.Candidate)),
			item("production", num(m.Production)),
			item("min", num(m.Min)),
			item("max_regression", num(m.MaxRegression)),
			item("regression", num(m.Regression)),
			item("passed", ast.InternedTerm(m.Passed)),
		)))
	}
	if d := e.DBT; d != nil {
		items = append(items, item("dbt", ast.ObjectTerm(
			item("modified", ast.NewTerm(stringArray(d.Modified))),
			item("downstream", ast.NewTerm(stringArray(d.Downstream))),
			item("untested", ast.NewTerm(stringArray(d.Untested))),
			item("contract_breaks", ast.NewTerm(stringArray(d.ContractBreaks))),
		)))
	}
	return ast.NewObject(items...)
}

func deploymentsValue(m map[string]DeploymentFact) ast.Value {
	items := make([][2]*ast.Term, 0, len(m))
	for _, k := range sortedKeys(m) {
		items = append(items, item(k, ast.ObjectTerm(
			item("sha", str(m[k].SHA)),
			item("state", str(m[k].State)),
		)))
	}
	return ast.NewObject(items...)
}

func approvalsValue(as []Approval) ast.Value {
	terms := make([]*ast.Term, len(as))
	for i, a := range as {
		terms[i] = ast.ObjectTerm(
			item("login", str(a.Login)),
			item("via", str(a.Via)),
			item("sha", str(a.SHA)),
		)
	}
	return ast.NewArray(terms...)
}

// requestedValue is input.requested: per owning team, what the candidates ask
// for in the environment (TeamUsage over the artifacts), derived from the
// input so the quota rule compares instead of summing in Rego.
func requestedValue(in Input) ast.Value {
	sums := teamSums(in.Artifacts)
	teams := make([][2]*ast.Term, 0, len(sums))
	for _, t := range sums {
		u := t.usage
		teams = append(teams, item(t.team, ast.ObjectTerm(
			item("cpu", num(u.CPU)),
			item("memory_gib", num(u.MemoryGiB)),
			item("gpu", num(u.GPU)),
		)))
	}
	return ast.NewObject(teams...)
}

func usageValue(m map[string]map[string]Usage) ast.Value {
	teams := make([][2]*ast.Term, 0, len(m))
	for _, team := range sortedKeys(m) {
		envs := make([][2]*ast.Term, 0, len(m[team]))
		for _, env := range sortedKeys(m[team]) {
			u := m[team][env]
			envs = append(envs, item(env, ast.ObjectTerm(
				item("cpu", num(u.CPU)),
				item("memory_gib", num(u.MemoryGiB)),
				item("gpu", num(u.GPU)),
			)))
		}
		teams = append(teams, item(team, ast.ObjectTerm(envs...)))
	}
	return ast.NewObject(teams...)
}

func freezeReadingsValue(rs []FreezeReading) ast.Value {
	terms := make([]*ast.Term, len(rs))
	for i, r := range rs {
		terms[i] = ast.ObjectTerm(
			item("window", str(r.Window)),
			item("form", str(r.Form)),
			item("start", ast.InternedTerm(r.Start)),
			item("end", ast.InternedTerm(r.End)),
			item("zone", str(r.Zone)),
		)
	}
	return ast.NewArray(terms...)
}
