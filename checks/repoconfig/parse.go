package repoconfig

import (
	"path"
	"regexp"
	"strconv"
	"strings"

	"github.com/bmatcuk/doublestar/v4"
	"gopkg.in/yaml.v3"

	"github.com/conveyor-dev/conveyor/internal/resources"
)

var (
	topKeys        = []string{"version", "artifacts", "environments"}
	artifactKeys   = []string{"kind", "paths", "pointer", "project", "manifest", "owners", "ci", "resources", "evaluation", "deploy"}
	resourceKeys   = []string{"cpu", "memory", "gpu", "replicas"}
	evaluationKeys = []string{"metric", "min", "max_regression"}
	deployKeys     = []string{"driver"}
	kinds          = []string{KindApp, KindModel, KindDBT}

	// nameRE is the shape of artifact and environment names: they appear in
	// check run names, commands and URLs.
	nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)
)

// kindOnly says which keys belong to one kind only.
var kindOnly = map[string]string{
	"paths": KindApp, "pointer": KindModel, "evaluation": KindModel, "project": KindDBT, "manifest": KindDBT,
}

// Parse reads a .github/conveyor.yml document. It checks syntax and shape:
// known keys, types, names, kind-specific required keys, resources, rollout
// steps and references between environments. Problems carry File = Path.
// The returned Config holds everything that could be read, so Validate can
// still run; it is nil only when the document is not YAML or is empty.
func Parse(data []byte) (*Config, []Problem) {
	r := &reader{file: Path}
	root, syn := parseDocument(Path, data)
	if syn != nil {
		return nil, []Problem{*syn}
	}
	if root == nil || isNull(root) {
		return nil, []Problem{{File: Path, Line: 1, Message: "the file is empty; write at least \"version: 1\" and an artifacts: mapping"}}
	}
	c := &Config{}
	var haveVersion bool
	var envNode *yaml.Node
	ok := r.fields(root, "the top level", "version: 1", topKeys, func(k, v *yaml.Node) {
		switch k.Value {
		case "version":
			haveVersion = true
			if n, ok := r.integer(v, "version", "version: 1"); ok {
				if n != 1 {
					r.add(v, "version %d is not supported; write version: 1", n)
				}
				c.Version = n
			}
		case "artifacts":
			r.entries(v, "artifacts", "artifacts: {web: {kind: app, paths: [\"services/web/**\"]}}", func(k, v *yaml.Node) {
				if a := r.artifact(k, v); a != nil {
					c.Artifacts = append(c.Artifacts, a)
				}
			})
		case "environments":
			envNode = v
			r.entries(v, "environments", "environments: {staging: {}}", func(k, v *yaml.Node) {
				if e := r.environment(k, v); e != nil {
					c.Environments = append(c.Environments, e)
				}
			})
		}
	})
	if ok && !haveVersion {
		r.add(root, "version is missing; write version: 1 as the first line")
	}
	r.checkRequires(c, envNode)
	sortProblems(r.probs)
	return c, r.probs
}

func (r *reader) artifact(k, v *yaml.Node) *Artifact {
	a := &Artifact{Name: k.Value, Line: k.Line}
	if !nameRE.MatchString(a.Name) {
		r.add(k, "artifact name %q is not allowed; use lowercase letters, digits and dashes, starting with a letter or digit (for example fraud-model)", a.Name)
	}
	what := "artifact " + strconv.Quote(a.Name)
	seen := map[string]*yaml.Node{}
	// Read kind first so kind-specific keys can be judged wherever they appear.
	if m := resolve(v); m != nil && m.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(m.Content); i += 2 {
			if key := resolve(m.Content[i]); key != nil && key.Kind == yaml.ScalarNode && key.Value == "kind" {
				if s, ok := r.str(m.Content[i+1], what+": kind", "kind: app"); ok {
					if !contains(kinds, s) {
						r.add(m.Content[i+1], "%s: kind %q is not known; write app, model or dbt", what, s)
					} else {
						a.Kind = s
					}
				}
				break
			}
		}
	}
	r.fields(v, what, "{kind: app, paths: [\"services/web/**\"]}", artifactKeys, func(k, v *yaml.Node) {
		seen[k.Value] = k
		if want, only := kindOnly[k.Value]; only && a.Kind != "" && a.Kind != want {
			r.add(k, "%s: %s applies to %s artifacts only; remove it from this %s artifact", what, k.Value, want, a.Kind)
			return
		}
		switch k.Value {
		case "paths":
			list, pos := r.strList(v, what+": paths", `paths: ["services/web/**"]`)
			for i, p := range list {
				if msg := checkGlob(p); msg != "" {
					r.add(nodeAt(v, i), "%s: paths entry %q %s", what, p, msg)
					continue
				}
				a.Paths = append(a.Paths, p)
				a.pos.paths = append(a.pos.paths, pos[i])
			}
		case "pointer":
			if s, ok := r.str(v, what+": pointer", "pointer: models/fraud.yaml"); ok {
				if msg := checkFilePath(s, "models/fraud.yaml"); msg != "" {
					r.add(v, "%s: pointer %q %s", what, s, msg)
				} else {
					a.Pointer, a.pos.pointer = s, position{v.Line, v.Column}
				}
			}
		case "project":
			if s, ok := r.str(v, what+": project", "project: analytics/"); ok {
				dir := strings.TrimRight(s, "/")
				if s == "." || s == "./" {
					dir = "."
				} else if msg := checkFilePath(dir, "analytics/"); msg != "" || dir == "" {
					r.add(v, "%s: project %q %s", what, s, msg)
					break
				}
				a.Project, a.pos.project = dir, position{v.Line, v.Column}
			}
		case "manifest":
			if s, ok := r.str(v, what+": manifest", "manifest: analytics/target/manifest.json"); ok {
				if msg := checkFilePath(s, "analytics/target/manifest.json"); msg != "" {
					r.add(v, "%s: manifest %q %s", what, s, msg)
				} else {
					a.Manifest, a.pos.manifest = s, position{v.Line, v.Column}
				}
			}
		case "owners":
			list, _ := r.strList(v, what+": owners", `owners: ["@acme/web"]`)
			a.Owners = trimAt(list)
		case "ci":
			a.CI, _ = r.strList(v, what+": ci", `ci: ["build", "test"]`)
		case "resources":
			a.Resources = r.resources(v, what)
		case "evaluation":
			a.Evaluation = r.evaluation(k, v, what)
		case "deploy":
			r.fields(v, what+": deploy", "deploy: {driver: web-argo}", deployKeys, func(_, v *yaml.Node) {
				if s, ok := r.str(v, what+": deploy.driver", "driver: web-argo"); ok {
					a.Deploy.Driver, a.pos.driver = s, position{v.Line, v.Column}
				}
			})
		}
	})
	switch {
	case seen["kind"] == nil && (isNull(resolve(v)) || resolve(v).Kind == yaml.MappingNode):
		r.add(k, "%s has no kind; write kind: app, kind: model or kind: dbt", what)
	case a.Kind == KindApp && seen["paths"] == nil:
		r.add(k, "%s is an app and needs paths; write for example paths: [\"services/%s/**\"]", what, a.Name)
	case a.Kind == KindModel && seen["pointer"] == nil:
		r.add(k, "%s is a model and needs pointer; write for example pointer: models/%s.yaml", what, a.Name)
	case a.Kind == KindDBT && seen["project"] == nil:
		r.add(k, "%s is a dbt project and needs project; write for example project: analytics/", what)
	}
	return a
}

func (r *reader) resources(v *yaml.Node, what string) resources.Spec {
	var s resources.Spec
	what += ": resources"
	r.fields(v, what, "resources: {cpu: 2, memory: 4Gi, gpu: 0, replicas: 3}", resourceKeys, func(k, v *yaml.Node) {
		switch k.Value {
		case "cpu":
			s.CPU = r.nonNegative(v, what+".cpu", "cpu: 2 or cpu: 500m")
		case "gpu":
			s.GPU = r.nonNegative(v, what+".gpu", "gpu: 1")
		case "replicas":
			if n, ok := r.integer(v, what+".replicas", "replicas: 3"); ok {
				if n < 0 {
					r.add(v, "%s.replicas must not be negative; write for example replicas: 3", what)
				} else {
					s.Replicas = n
				}
			}
		case "memory":
			v = resolve(v)
			if v == nil || v.Kind != yaml.ScalarNode || (v.Tag != "!!str" && v.Tag != "!!int") {
				r.add(v, "%s.memory must be a quantity, not %s; write for example memory: 4Gi", what, describe(v))
				return
			}
			b, err := resources.ParseMemory(v.Value)
			if err != nil {
				r.add(v, "%s.memory: %v", what, err)
				return
			}
			s.MemoryBytes = b
		}
	})
	return s
}

// nonNegative reads a cpu or gpu amount: a number, or millicores ("500m").
func (r *reader) nonNegative(v *yaml.Node, what, example string) float64 {
	v = resolve(v)
	if v != nil && v.Kind == yaml.ScalarNode && v.Tag == "!!str" && strings.HasSuffix(v.Value, "m") {
		if n, err := strconv.Atoi(strings.TrimSuffix(v.Value, "m")); err == nil && n >= 0 {
			return float64(n) / 1000
		}
	}
	f, ok := r.number(v, what, example)
	if ok && f < 0 {
		r.add(v, "%s must not be negative; write for example %s", what, example)
		return 0
	}
	return f
}

func (r *reader) evaluation(k, v *yaml.Node, what string) *Evaluation {
	e := &Evaluation{}
	what += ": evaluation"
	example := "evaluation: {metric: auc, min: 0.90, max_regression: 0.005}"
	ok := r.fields(v, what, example, evaluationKeys, func(k, v *yaml.Node) {
		switch k.Value {
		case "metric":
			e.Metric, _ = r.str(v, what+".metric", "metric: auc")
		case "min":
			if f, ok := r.number(v, what+".min", "min: 0.90"); ok {
				e.Min = &f
			}
		case "max_regression":
			if f, ok := r.number(v, what+".max_regression", "max_regression: 0.005"); ok {
				if f < 0 {
					r.add(v, "%s.max_regression must not be negative; write for example max_regression: 0.005", what)
				} else {
					e.MaxRegression = &f
				}
			}
		}
	})
	if ok && e.Metric == "" && !hasKey(v, "metric") {
		r.add(k, "%s needs metric, the run metric to gate on; write for example %s", what, example)
	}
	return e
}

func hasKey(n *yaml.Node, key string) bool {
	n = resolve(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return false
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := resolve(n.Content[i]); k != nil && k.Value == key {
			return true
		}
	}
	return false
}

// nodeAt returns the i-th item of a sequence node, or the node itself when it
// is a single scalar written in place of a list.
func nodeAt(n *yaml.Node, i int) *yaml.Node {
	n = resolve(n)
	if n != nil && n.Kind == yaml.SequenceNode && i < len(n.Content) {
		return n.Content[i]
	}
	return n
}

// checkGlob returns why p is not a usable repository glob, or "".
func checkGlob(p string) string {
	if msg := checkRelative(p, "services/web/**"); msg != "" {
		return msg
	}
	if !doublestar.ValidatePattern(p) {
		return `is not a valid glob (check brackets and braces); write for example "services/web/**"`
	}
	return ""
}

// checkFilePath returns why p is not a clean repository-relative path, or "".
func checkFilePath(p, example string) string {
	if msg := checkRelative(p, example); msg != "" {
		return msg
	}
	if path.Clean(p) != p || strings.ContainsAny(p, "*?[{\\") {
		return "is not a plain path (no globs, doubled or trailing slashes); write for example " + example
	}
	return ""
}

func checkRelative(p, example string) string {
	switch {
	case strings.HasPrefix(p, "/"):
		return "must be relative to the repository root; drop the leading / (for example " + example + ")"
	case strings.HasPrefix(p, "./"):
		return "must be relative to the repository root; drop the leading ./ (for example " + example + ")"
	case p == ".." || strings.HasPrefix(p, "../") || strings.Contains(p, "/../") || strings.HasSuffix(p, "/.."):
		return "must stay inside the repository; remove the .. segments (for example " + example + ")"
	}
	return ""
}

func trimAt(list []string) []string {
	for i, s := range list {
		list[i] = strings.TrimPrefix(s, "@")
	}
	return list
}
