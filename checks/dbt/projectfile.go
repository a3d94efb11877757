package dbt

import (
	"path"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// projectFile is what dbt_project.yml says that the analyzer needs.
type projectFile struct {
	Name string
	// Profile is the `profile:` dbt connects with.
	Profile       string
	ModelPaths    []string
	TestPaths     []string
	SeedPaths     []string
	SnapshotPaths []string
	MacroPaths    []string
	// InstallPath is packages-install-path: where `dbt deps` puts packages.
	InstallPath string
	// Vars are the project's vars: (scalars only, as text).
	Vars map[string]string
	// Dispatch maps a macro_namespace to its search_order (dispatch: config).
	Dispatch map[string][]string
	// trees are the `models:`, `seeds:` and `snapshots:` config trees for
	// this project, by resource type.
	trees map[string]*yaml.Node
	// vars is the raw `vars:` block, for the vars it sets for packages.
	vars *yaml.Node
	// blocks are the whole `models:`, `seeds:` and `snapshots:` blocks, for
	// the configs a root project sets for its packages' nodes.
	blocks map[string]*yaml.Node
}

// packageConfig is what the package's own dbt_project.yml sets for a node
// of tree at rel, then what the root project sets for it under the
// package's name (models: {hubspot: {marketing: {+enabled: false}}}),
// which wins, as dbt applies project configs (root over package).
func (l *loader) packageConfig(tree, rel string) map[string]string {
	cfg := l.pf.projectConfig(tree, rel)
	if l.root != nil {
		configAt(mapGet(l.root.blocks[tree], l.pf.Name), rel, cfg)
	}
	return cfg
}

// varText is a var's value as the Jinja evaluator reads it: a scalar's
// text, or a list of scalars in its canonical form (listText); false for
// anything else (a mapping, a list of mappings).
func varText(v *yaml.Node) (string, bool) {
	switch v.Kind {
	case yaml.ScalarNode:
		return v.Value, true
	case yaml.SequenceNode:
		var out []string
		for _, it := range v.Content {
			if it.Kind != yaml.ScalarNode {
				return "", false
			}
			out = append(out, it.Value)
		}
		return listText(out), true
	}
	return "", false
}

// varsFor returns the vars this (root) project sets for package pkg: its
// global vars and those scoped to pkg (vars: {pkg: {x: 1}}), which win
// over the package's own (dbt's VarProvider precedence).
func (pf projectFile) varsFor(pkg string) map[string]string {
	out := map[string]string{}
	for _, n := range []*yaml.Node{pf.vars, mapGet(pf.vars, pkg)} {
		mapPairs(n, func(k, v *yaml.Node) {
			if t, ok := varText(v); ok {
				out[k.Value] = t
			}
		})
	}
	return out
}

// parseProjectFile reads dbt_project.yml.
func parseProjectFile(data []byte) (projectFile, []lineError) {
	// Defaults as dbt's project config sets them (core/dbt/config/project.py).
	pf := projectFile{ModelPaths: []string{"models"}, TestPaths: []string{"tests"}, SeedPaths: []string{"seeds"},
		SnapshotPaths: []string{"snapshots"}, MacroPaths: []string{"macros"}, InstallPath: "dbt_packages",
		Vars: map[string]string{}, Dispatch: map[string][]string{}, trees: map[string]*yaml.Node{}}
	root, perr := parseYAMLDoc(data)
	if perr != nil {
		return pf, []lineError{*perr}
	}
	var errs []lineError
	pf.Name = scalar(mapGet(root, "name"))
	pf.Profile = scalar(mapGet(root, "profile"))
	if pf.Name == "" {
		line := 1
		if root != nil {
			line = root.Line
		}
		errs = append(errs, lineError{Line: line, Message: "dbt_project.yml has no name: add `name: my_project` (letters, digits and underscores)"})
	}
	for _, key := range []string{"model-paths", "test-paths", "seed-paths", "snapshot-paths", "macro-paths", "source-paths", "data-paths"} {
		n := mapGet(root, key)
		if n == nil {
			continue
		}
		if n.Kind != yaml.SequenceNode {
			errs = append(errs, lineError{Line: n.Line, Message: key + ": must be a list of folders like `" + key + `: ["models"]` + "`, not a " + kindName(n)})
			continue
		}
		var paths []string
		for _, p := range items(n) {
			if s := strings.Trim(scalar(p), "/"); s != "" {
				paths = append(paths, path.Clean(s))
			}
		}
		switch key {
		case "model-paths", "source-paths": // source-paths is the pre-1.0 spelling
			pf.ModelPaths = paths
		case "test-paths":
			pf.TestPaths = paths
		case "seed-paths", "data-paths": // data-paths is the pre-1.0 spelling
			pf.SeedPaths = paths
		case "snapshot-paths":
			pf.SnapshotPaths = paths
		case "macro-paths":
			pf.MacroPaths = paths
		}
	}
	if ip := strings.Trim(scalar(mapGet(root, "packages-install-path")), "/"); ip != "" {
		pf.InstallPath = path.Clean(ip)
	}
	// Project vars: top-level scalars, and the ones scoped to this project
	// (vars: {my_project: {x: 1}}), which win (dbt's VarProvider).
	vars := mapGet(root, "vars")
	pf.vars = vars
	mapPairs(vars, func(k, v *yaml.Node) {
		if t, ok := varText(v); ok {
			pf.Vars[k.Value] = t
		}
	})
	mapPairs(mapGet(vars, pf.Name), func(k, v *yaml.Node) {
		if t, ok := varText(v); ok {
			pf.Vars[k.Value] = t
		}
	})
	for _, d := range items(mapGet(root, "dispatch")) {
		ns := scalar(mapGet(d, "macro_namespace"))
		for _, p := range items(mapGet(d, "search_order")) {
			pf.Dispatch[ns] = append(pf.Dispatch[ns], scalar(p))
		}
	}
	pf.blocks = map[string]*yaml.Node{}
	for _, rt := range []string{"models", "seeds", "snapshots"} {
		pf.blocks[rt] = mapGet(root, rt)
		pf.trees[rt] = mapGet(pf.blocks[rt], pf.Name)
	}
	return pf, errs
}

// dictConfigs are configs whose value is a mapping, so that a key without
// "+" holding a mapping is a config rather than a subfolder.
var dictConfigs = map[string]bool{"contract": true, "meta": true, "docs": true, "persist_docs": true, "grants": true, "labels": true, "access": true}

// projectConfig returns the configs dbt_project.yml applies to a node of
// resource tree ("models", "seeds", "snapshots") at rel (path under its
// resource path, with extension): every level of the folder tree it sits
// in, and finally its own name (dbt's fqn-based config resolution).
func (pf projectFile) projectConfig(tree, rel string) map[string]string {
	return configAt(pf.trees[tree], rel, map[string]string{})
}

// configAt adds to cfg what one config tree sets for the node at rel.
func configAt(node *yaml.Node, rel string, cfg map[string]string) map[string]string {
	if node == nil {
		return cfg
	}
	parts := strings.Split(strings.TrimSuffix(rel, path.Ext(rel)), "/")
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

// declaredPackage is one entry of packages.yml or dependencies.yml.
type declaredPackage struct {
	// name is the name refs may use: a hub package's name without its org,
	// a git or local package's folder name (its dbt_project.yml name, read
	// when it is installed, wins), or a dependencies.yml project.
	name    string
	local   string // the local: folder, relative to the project
	project bool   // a dependencies.yml project (dbt Mesh), never vendored
	file    string
	line    int
}

// parsePackages reads packages.yml or dependencies.yml.
func parsePackages(data []byte) ([]declaredPackage, []lineError) {
	root, perr := parseYAMLDoc(data)
	if perr != nil {
		return nil, []lineError{*perr}
	}
	var errs []lineError
	var out []declaredPackage
	for _, key := range []string{"packages", "projects"} {
		list := mapGet(root, key)
		if list != nil && !isListOrNull(list) {
			errs = append(errs, lineError{Line: list.Line, Message: key + ": must be a list like `- package: dbt-labs/dbt_utils`, not a " + kindName(list)})
			continue
		}
		for _, e := range items(list) {
			name := packageName(e)
			if name == "" {
				errs = append(errs, lineError{Line: e.Line, Message: "package entry names no package: write `- package: org/name`, `- git: <url>`, `- local: <folder>` or `- name: <project>`"})
				continue
			}
			out = append(out, declaredPackage{name: name, local: strings.Trim(scalar(mapGet(e, "local")), "/"),
				project: key == "projects" || (scalar(mapGet(e, "name")) != "" && mapGet(e, "package") == nil && mapGet(e, "git") == nil), line: e.Line})
		}
	}
	return out, errs
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
