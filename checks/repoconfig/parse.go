package repoconfig

import (
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/conveyor-dev/conveyor/checks/kind"
	"github.com/conveyor-dev/conveyor/internal/resources"
)

var (
	topKeys      = []string{"version", "artifacts", "environments"}
	resourceKeys = []string{"cpu", "memory", "gpu", "replicas"}
	deployKeys   = []string{"driver"}

	// nameRE is the shape of artifact and environment names: they appear in
	// check run names, commands and URLs.
	nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)
)

// commonKeys are the artifact keys every kind shares; each kind adds its own
// (kind.Kind.Keys).
var commonKeys = []string{"kind", "owners", "ci", "resources", "deploy"}

// artifactKeys is every key an artifact block may have, for suggestions:
// kind, then each registered kind's keys, then the shared ones.
func artifactKeys() (keys []string, owner map[string]string) {
	keys, owner = []string{"kind"}, map[string]string{}
	for _, k := range kind.All() {
		for _, key := range k.Keys() {
			if _, dup := owner[key]; !dup && !contains(commonKeys, key) {
				owner[key] = k.Name()
				keys = append(keys, key)
			}
		}
	}
	return append(keys, commonKeys[1:]...), owner
}

// Parse reads a .github/conveyor.yml document. It checks syntax and shape:
// known keys, types, names, kind-specific required keys, resources, rollout
// steps and references between environments. Problems carry File = Path.
// The returned Config holds everything that could be read, so Validate can
// still run; it is nil only when the document is not YAML or is empty.
func Parse(data []byte) (*Config, []Problem) {
	r := newReader(Path)
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
	ok := r.Fields(root, "the top level", "version: 1", topKeys, func(k, v *yaml.Node) {
		switch k.Value {
		case "version":
			haveVersion = true
			if n, ok := r.Integer(v, "version", "version: 1"); ok {
				if n != 1 {
					r.Add(v, "version %d is not supported; write version: 1", n)
				}
				c.Version = n
			}
		case "artifacts":
			r.Entries(v, "artifacts", "artifacts: {web: {kind: app, paths: [\"services/web/**\"]}}", func(k, v *yaml.Node) {
				if a := r.artifact(k, v); a != nil {
					c.Artifacts = append(c.Artifacts, a)
				}
			})
		case "environments":
			envNode = v
			r.Entries(v, "environments", "environments: {staging: {}}", func(k, v *yaml.Node) {
				if e := r.environment(k, v); e != nil {
					c.Environments = append(c.Environments, e)
				}
			})
		}
	})
	if ok && !haveVersion {
		r.Add(root, "version is missing; write version: 1 as the first line")
	}
	r.checkRequires(c, envNode)
	sortProblems(r.Probs)
	return c, r.Probs
}

func (r *reader) artifact(k, v *yaml.Node) *Artifact {
	a := &Artifact{Name: k.Value, Line: k.Line}
	if !nameRE.MatchString(a.Name) {
		r.Add(k, "artifact name %q is not allowed; use lowercase letters, digits and dashes, starting with a letter or digit (for example fraud-model)", a.Name)
	}
	what := "artifact " + strconv.Quote(a.Name)
	seen := map[string]*yaml.Node{}
	names := kind.Names()
	var kd kind.Kind
	// Read kind first so kind-specific keys can be judged wherever they appear.
	if m := resolve(v); m != nil && m.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(m.Content); i += 2 {
			if key := resolve(m.Content[i]); key != nil && key.Kind == yaml.ScalarNode && key.Value == "kind" {
				if s, ok := r.Str(m.Content[i+1], what+": kind", "kind: app"); ok {
					if kd = kind.Lookup(s); kd == nil {
						r.Add(m.Content[i+1], "%s: kind %q is not known; write %s", what, s, kind.Or(names))
					} else {
						a.Kind = s
					}
				}
				break
			}
		}
	}
	keys, owner := artifactKeys()
	var own []kind.Field
	r.Fields(v, what, "{kind: app, paths: [\"services/web/**\"]}", keys, func(k, v *yaml.Node) {
		seen[k.Value] = k
		if want, only := owner[k.Value]; only {
			switch {
			case kd != nil && !contains(kd.Keys(), k.Value):
				r.Add(k, "%s: %s applies to %s artifacts only; remove it from this %s artifact", what, k.Value, want, a.Kind)
			case kd != nil:
				own = append(own, kind.Field{Key: k.Value, Node: k, Value: v})
			}
			return
		}
		switch k.Value {
		case "owners":
			list, _ := r.StrList(v, what+": owners", `owners: ["@acme/web"]`)
			a.Owners = trimAt(list)
		case "ci":
			a.CI, _ = r.StrList(v, what+": ci", `ci: ["build", "test"]`)
		case "resources":
			a.Resources = r.resources(v, what)
		case "deploy":
			r.Fields(v, what+": deploy", "deploy: {driver: web-argo}", deployKeys, func(_, v *yaml.Node) {
				if s, ok := r.Str(v, what+": deploy.driver", "driver: web-argo"); ok {
					a.Deploy.Driver, a.driverAt = s, position{Line: v.Line, Col: v.Column}
				}
			})
		}
	})
	switch {
	case seen["kind"] == nil && (isNull(resolve(v)) || resolve(v).Kind == yaml.MappingNode):
		alts := make([]string, len(names))
		for i, n := range names {
			alts[i] = "kind: " + n
		}
		r.Add(k, "%s has no kind; write %s", what, kind.Or(alts))
	case kd != nil && (isNull(resolve(v)) || resolve(v).Kind == yaml.MappingNode):
		a.Spec = kd.Parse(r.Doc, kind.Ident{Name: a.Name, Node: k}, own)
	}
	return a
}

func (r *reader) resources(v *yaml.Node, what string) resources.Spec {
	var s resources.Spec
	what += ": resources"
	r.Fields(v, what, "resources: {cpu: 2, memory: 4Gi, gpu: 0, replicas: 3}", resourceKeys, func(k, v *yaml.Node) {
		switch k.Value {
		case "cpu":
			s.CPU = r.nonNegative(v, what+".cpu", "cpu: 2 or cpu: 500m")
		case "gpu":
			s.GPU = r.nonNegative(v, what+".gpu", "gpu: 1")
		case "replicas":
			if n, ok := r.Integer(v, what+".replicas", "replicas: 3"); ok {
				if n < 0 {
					r.Add(v, "%s.replicas must not be negative; write for example replicas: 3", what)
				} else {
					s.Replicas = n
				}
			}
		case "memory":
			v = resolve(v)
			if v == nil || v.Kind != yaml.ScalarNode || (v.Tag != "!!str" && v.Tag != "!!int") {
				r.Add(v, "%s.memory must be a quantity, not %s; write for example memory: 4Gi", what, describe(v))
				return
			}
			b, err := resources.ParseMemory(v.Value)
			if err != nil {
				r.Add(v, "%s.memory: %v", what, err)
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
	f, ok := r.Number(v, what, example)
	if ok && f < 0 {
		r.Add(v, "%s must not be negative; write for example %s", what, example)
		return 0
	}
	return f
}

func trimAt(list []string) []string {
	for i, s := range list {
		list[i] = strings.TrimPrefix(s, "@")
	}
	return list
}
