package dbt

import (
	"path"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// projectFile is what dbt_project.yml says that the analyzer needs.
type projectFile struct {
	Name       string
	ModelPaths []string
	TestPaths  []string
	// models is the `models:` config tree for this project.
	models *yaml.Node
}

// parseProjectFile reads dbt_project.yml.
func parseProjectFile(data []byte) (projectFile, []lineError) {
	pf := projectFile{ModelPaths: []string{"models"}, TestPaths: []string{"tests"}}
	root, perr := parseYAMLDoc(data)
	if perr != nil {
		return pf, []lineError{*perr}
	}
	var errs []lineError
	pf.Name = scalar(mapGet(root, "name"))
	if pf.Name == "" {
		line := 1
		if root != nil {
			line = root.Line
		}
		errs = append(errs, lineError{line, "dbt_project.yml has no name: add `name: my_project` (letters, digits and underscores)"})
	}
	for _, key := range []string{"model-paths", "test-paths"} {
		n := mapGet(root, key)
		if n == nil {
			continue
		}
		if n.Kind != yaml.SequenceNode {
			errs = append(errs, lineError{n.Line, key + ": must be a list of folders like `" + key + `: ["models"]` + "`, not a " + kindName(n)})
			continue
		}
		var paths []string
		for _, p := range items(n) {
			if s := strings.Trim(scalar(p), "/"); s != "" {
				paths = append(paths, path.Clean(s))
			}
		}
		if key == "model-paths" {
			pf.ModelPaths = paths
		} else {
			pf.TestPaths = paths
		}
	}
	pf.models = mapGet(mapGet(root, "models"), pf.Name)
	return pf, errs
}

// dictConfigs are configs whose value is a mapping, so that a key without
// "+" holding a mapping is a config rather than a subfolder.
var dictConfigs = map[string]bool{"contract": true, "meta": true, "docs": true, "persist_docs": true, "grants": true, "labels": true, "access": true}

// projectConfig returns the configs dbt_project.yml applies to a model at
// rel (path under its model-path, with extension): every level of the
// folder tree it sits in, and finally its own name.
func (pf projectFile) projectConfig(rel string) map[string]string {
	cfg := map[string]string{}
	if pf.models == nil {
		return cfg
	}
	parts := strings.Split(strings.TrimSuffix(rel, path.Ext(rel)), "/")
	node := pf.models
	for level := 0; node != nil; level++ {
		var next *yaml.Node
		mapPairs(node, func(k, v *yaml.Node) {
			key := k.Value
			switch {
			case strings.HasPrefix(key, "+"):
				cfg[key[1:]] = configText(v)
			case v.Kind == yaml.MappingNode && !dictConfigs[key]:
				if level < len(parts) && key == parts[level] {
					next = v
				}
			default:
				cfg[key] = configText(v)
			}
		})
		node = next
	}
	return cfg
}

// parsePackages reads packages.yml or dependencies.yml and returns the
// names refs may use: a hub package's name without its org, a git or local
// package's folder name, or a project of dependencies.yml.
func parsePackages(data []byte) ([]string, []lineError) {
	root, perr := parseYAMLDoc(data)
	if perr != nil {
		return nil, []lineError{*perr}
	}
	var errs []lineError
	var names []string
	for _, key := range []string{"packages", "projects"} {
		list := mapGet(root, key)
		if list != nil && !isListOrNull(list) {
			errs = append(errs, lineError{list.Line, key + ": must be a list like `- package: dbt-labs/dbt_utils`, not a " + kindName(list)})
			continue
		}
		for _, e := range items(list) {
			name := packageName(e)
			if name == "" {
				errs = append(errs, lineError{e.Line, "package entry names no package: write `- package: org/name`, `- git: <url>`, `- local: <folder>` or `- name: <project>`"})
				continue
			}
			names = append(names, name)
		}
	}
	return names, errs
}

func packageName(e *yaml.Node) string {
	if n := scalar(mapGet(e, "name")); n != "" {
		return n
	}
	for _, key := range []string{"package", "git", "local", "tarball"} {
		v := strings.TrimRight(scalar(mapGet(e, key)), "/")
		if v == "" {
			continue
		}
		v = strings.TrimSuffix(v, ".git")
		if i := strings.LastIndexAny(v, "/:"); i >= 0 {
			v = v[i+1:]
		}
		if sub := scalar(mapGet(e, "subdirectory")); sub != "" && key == "git" {
			v = path.Base(sub)
		}
		return strings.ReplaceAll(v, "-", "_")
	}
	return ""
}

func sortedUnique(s []string) []string {
	sort.Strings(s)
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}
