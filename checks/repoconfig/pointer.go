package repoconfig

import (
	"gopkg.in/yaml.v3"
)

var pointerKeys = []string{"registry", "model", "version"}

// Pointer is a model pointer file: which registered model version a model
// artifact ships.
type Pointer struct {
	Registry string // a registry named in the server config
	Model    string // registered model name
	Version  string // candidate version, written as a number or a string
	Line     int    // line of the version value, for annotations
}

// ParsePointer reads a model pointer file such as models/fraud.yaml.
// Problems leave File empty: the caller knows the path and fills it in.
func ParsePointer(data []byte) (*Pointer, []Problem) {
	r := &reader{}
	root, syn := parseDocument("", data)
	if syn != nil {
		return nil, []Problem{*syn}
	}
	example := "registry: main\nmodel: fraud-detector\nversion: \"14\""
	if root == nil || isNull(root) {
		return nil, []Problem{{Line: 1, Message: "the pointer file is empty; write registry, model and version, for example " + example}}
	}
	p := &Pointer{}
	seen := map[string]bool{}
	ok := r.fields(root, "the pointer file", example, pointerKeys, func(k, v *yaml.Node) {
		seen[k.Value] = true
		switch k.Value {
		case "registry":
			p.Registry, _ = r.str(v, "registry", "registry: main")
		case "model":
			p.Model, _ = r.str(v, "model", "model: fraud-detector")
		case "version":
			v = resolve(v)
			if v == nil || v.Kind != yaml.ScalarNode || (v.Tag != "!!str" && v.Tag != "!!int") || v.Value == "" {
				r.add(v, "version must be a registry version number, not %s; write for example version: \"14\"", describe(v))
				return
			}
			p.Version, p.Line = v.Value, v.Line
		}
	})
	if ok {
		for _, key := range pointerKeys {
			if !seen[key] {
				r.add(root, "the pointer file has no %s; write for example %s", key, example)
			}
		}
	}
	sortProblems(r.probs)
	return p, r.probs
}
