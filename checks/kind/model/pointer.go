package model

import (
	"regexp"

	"gopkg.in/yaml.v3"

	"github.com/conveyor-dev/conveyor/checks/kind"
)

var pointerKeys = []string{"registry", "model", "version", "alias"}

// aliasName is MLflow's rule for alias names (mlflow/utils/validation.py,
// _validate_model_alias_name).
var aliasName = regexp.MustCompile(`^[\w\-]+$`)

// Pointer is a model pointer file: which registered model version a model
// artifact ships.
type Pointer struct {
	Registry string // a registry named in the server config
	Model    string // registered model name
	Version  string // candidate version, written as a number or a string
	// Alias names the candidate by a registry alias (champion) instead of
	// a version; the check resolves it and the deploy ships the version
	// the check evaluated.
	Alias string
	Line  int // line of the version (or alias) value, for annotations
}

// ParsePointer reads a model pointer file such as models/fraud.yaml.
// Problems leave File empty: the caller knows the path and fills it in.
func ParsePointer(data []byte) (*Pointer, []kind.Problem) {
	r := &kind.Doc{}
	root, syn := kind.ParseDocument("", data)
	if syn != nil {
		return nil, []kind.Problem{*syn}
	}
	example := "registry: main\nmodel: fraud-detector\nversion: \"14\""
	if root == nil || kind.IsNull(root) {
		return nil, []kind.Problem{{Line: 1, Message: "the pointer file is empty; write registry, model and version, for example " + example}}
	}
	p := &Pointer{}
	seen := map[string]bool{}
	ok := r.Fields(root, "the pointer file", example, pointerKeys, func(k, v *yaml.Node) {
		seen[k.Value] = true
		switch k.Value {
		case "registry":
			p.Registry, _ = r.Str(v, "registry", "registry: main")
		case "model":
			p.Model, _ = r.Str(v, "model", "model: fraud-detector")
		case "version":
			v = kind.Resolve(v)
			if v == nil || v.Kind != yaml.ScalarNode || (v.Tag != "!!str" && v.Tag != "!!int") || v.Value == "" {
				r.Add(v, "version must be a registry version number, not %s; write for example version: \"14\"", kind.Describe(v))
				return
			}
			p.Version, p.Line = v.Value, v.Line
		case "alias":
			if a, ok := r.Str(v, "alias", "alias: champion"); ok {
				if !aliasName.MatchString(a) {
					r.Add(v, "alias %q is not an MLflow alias name (letters, digits, _ and -); write for example alias: champion", a)
				} else {
					p.Alias, p.Line = a, v.Line
				}
			}
		}
	})
	if ok {
		for _, key := range []string{"registry", "model"} {
			if !seen[key] {
				r.Add(root, "the pointer file has no %s; write for example %s", key, example)
			}
		}
		switch {
		case seen["version"] && seen["alias"]:
			r.Add(root, "the pointer file names both a version and an alias; keep one (version: \"14\" or alias: champion)")
		case !seen["version"] && !seen["alias"]:
			r.Add(root, "the pointer file has no version; write for example %s (or name an alias: alias: champion)", example)
		}
	}
	kind.SortProblems(r.Probs)
	return p, r.Probs
}
