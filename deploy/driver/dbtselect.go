package driver

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// dbtIdent is the shape of a dbt resource name Conveyor passes to dbt: a
// letter or underscore, then letters, digits and underscores. Names come
// from PR file names (models/<name>.sql), so anything else — a leading "-",
// a space, a glob, a selector method such as "path:" — is refused rather
// than handed to dbt's option parser or selector language.
var dbtIdent = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// dbtVersion is the shape of a model version suffix ("v2", "v1_5").
var dbtVersion = regexp.MustCompile(`^v[A-Za-z0-9_]+$`)

// SelectionError says which selected dbt node was refused and why.
type SelectionError struct {
	Node   string // the name as it was selected
	Reason string
}

// Error names the node, why it was refused and what to do.
func (e *SelectionError) Error() string {
	return fmt.Sprintf("dbt node %q cannot be selected: %s", e.Node, e.Reason)
}

// CheckDBTSelection validates the dbt nodes a deploy selects and returns
// them as node keys dbt's selector accepts: "name" or, for a versioned
// model, "name.v2". A trailing "+" (downstream) is ignored, since the
// driver adds it itself.
//
// Forms accepted, following dbt's node selection syntax (the fqn method:
// a bare name matches the node's last fqn part; a versioned model matches
// "name.v2" on its last two parts — core/dbt/graph/selector_methods.py,
// is_selected_node):
//
//	orders              a model
//	dim_customers.v2    one version of a versioned model
//	analytics.orders    package-qualified with this project's name (sent as "orders")
//
// Each part must match ^[A-Za-z_][A-Za-z0-9_]*$ (versions: v plus letters,
// digits, _), and the node must exist in the parsed project: has reports
// whether a node key ("name" or "name.v2") is a model of it. project is the
// project's name (dbt_project.yml name:), used to accept and strip the
// package-qualified form. Paths, globs and selector methods are refused.
func CheckDBTSelection(names []string, project string, has func(key string) bool) ([]string, error) {
	out := make([]string, 0, len(names))
	seen := map[string]bool{}
	for _, raw := range names {
		key, err := dbtNodeKey(strings.TrimSuffix(raw, "+"), project)
		if err != nil {
			return nil, &SelectionError{Node: raw, Reason: err.Error()}
		}
		if !has(key) {
			return nil, &SelectionError{Node: raw, Reason: fmt.Sprintf("the dbt project %s has no model %s at this commit", orUnnamed(project), key)}
		}
		if !seen[key] {
			seen[key] = true
			out = append(out, key)
		}
	}
	return out, nil
}

// dbtNodeKey turns one selected name into a node key or says why it is not
// one.
func dbtNodeKey(name, project string) (string, error) {
	parts := strings.Split(name, ".")
	version := ""
	if n := len(parts); n > 1 && dbtVersion.MatchString(parts[n-1]) {
		version, parts = parts[n-1], parts[:n-1]
	}
	switch len(parts) {
	case 1:
	case 2:
		if project == "" || parts[0] != project {
			return "", fmt.Errorf("only models of this project (%s) can be selected; %q is not its name", orUnnamed(project), parts[0])
		}
		parts = parts[1:]
	default:
		return "", errors.New("a node name is a model name, optionally with its version (name.v2) or this project's name in front (project.name); rename the model's file")
	}
	if !dbtIdent.MatchString(parts[0]) {
		return "", fmt.Errorf("a dbt model name starts with a letter or _ and holds only letters, digits and _ (it comes from the model's file name); rename the file, for example to %s.sql", suggestIdent(parts[0]))
	}
	if version != "" {
		return parts[0] + "." + version, nil
	}
	return parts[0], nil
}

// suggestIdent turns a refused name into one that would be accepted, for
// the error message.
func suggestIdent(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_':
			b.WriteRune(r)
		default:
			if b.Len() > 0 && !strings.HasSuffix(b.String(), "_") {
				b.WriteByte('_')
			}
		}
	}
	out := strings.Trim(b.String(), "_")
	if out == "" || (out[0] >= '0' && out[0] <= '9') {
		out = "model_" + out
	}
	return out
}

func orUnnamed(project string) string {
	if project == "" {
		return "(unnamed)"
	}
	return project
}

// dbtSelectArg is the one argv word selecting keys and their downstream:
// "--select=a+ b+". The "=" form and a single word keep any selected text
// from being read as an option; dbt reads space-separated selectors in one
// argument as a union (docs.getdbt.com, node selection, set operators).
func dbtSelectArg(keys []string) string {
	sel := make([]string, len(keys))
	for i, k := range keys {
		sel[i] = k + "+"
	}
	return "--select=" + strings.Join(sel, " ")
}
