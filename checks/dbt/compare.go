package dbt

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// Diff is what changed between a base and a head state of a project.
type Diff struct {
	// Modified are models in both states whose SQL file, config or schema
	// entry changed (dbt's state:modified), sorted.
	Modified []string
	// Added and Deleted are models only in head or only in base, sorted.
	Added, Deleted []string
	// Downstream are the models that depend on a modified or added model,
	// transitively, excluding those, sorted.
	Downstream []string
	// Untested are modified or added models with no test at all, sorted.
	Untested []string
	// ContractBreaks are breaking changes to models whose contract was
	// enforced in base.
	ContractBreaks []Break
}

// Break kinds, as dbt's contract checks name them.
const (
	BreakEnforcementDisabled = "enforcement_disabled"
	BreakColumnRemoved       = "column_removed"
	BreakTypeChanged         = "type_changed"
	BreakConstraintRemoved   = "constraint_removed"
	BreakModelDeleted        = "model_deleted"
	BreakModelRenamed        = "model_renamed"
)

// Break is one breaking change to an enforced contract, located where the
// user should look (the head schema entry or column, else the base file).
type Break struct {
	Model, Kind, Column, Message string
	File                         string
	Line                         int
}

// Compare diffs two states of a project. Either may be nil (a project added
// or removed by the change). Load both the same way (both from sources or
// both from manifests) so that checksums are comparable.
func Compare(base, head *Project) Diff {
	if base == nil {
		base = &Project{}
	}
	if head == nil {
		head = &Project{}
	}
	var d Diff
	for _, key := range head.ModelKeys() {
		h := head.Models[key]
		b, ok := base.Models[key]
		switch {
		case !ok:
			d.Added = append(d.Added, key)
		case h.Checksums != b.Checksums:
			d.Modified = append(d.Modified, key)
		}
	}
	for _, key := range base.ModelKeys() {
		if _, ok := head.Models[key]; !ok {
			d.Deleted = append(d.Deleted, key)
		}
	}
	changed := append(append([]string(nil), d.Modified...), d.Added...)
	d.Downstream = head.Graph().Downstream(changed...)
	sort.Strings(changed)
	for _, key := range changed {
		if head.Models[key].Tests == 0 {
			d.Untested = append(d.Untested, key)
		}
	}
	d.ContractBreaks = contractBreaks(base, head, d.Added)
	return d
}

// contractBreaks applies dbt's rules to every model enforced in base.
func contractBreaks(base, head *Project, added []string) []Break {
	renamedTo := map[string]string{} // body checksum -> added model key
	for _, key := range added {
		if sum := head.Models[key].Checksums.Body; sum != "" {
			if _, taken := renamedTo[sum]; !taken {
				renamedTo[sum] = key
			}
		}
	}
	var out []Break
	for _, key := range base.ModelKeys() {
		b := base.Models[key]
		if !b.ContractEnforced {
			continue
		}
		h, ok := head.Models[key]
		if !ok {
			out = append(out, deletedBreak(key, b, renamedTo))
			continue
		}
		out = append(out, modelBreaks(key, b, h)...)
	}
	return out
}

func deletedBreak(key string, b *Model, renamedTo map[string]string) Break {
	file, line := b.Path, 0
	if b.YAMLFile != "" {
		file, line = b.YAMLFile, b.YAMLLine
	}
	if to, ok := renamedTo[b.Checksums.Body]; ok && b.Checksums.Body != "" {
		return Break{Model: key, Kind: BreakModelRenamed, File: file, Line: line, Message: fmt.Sprintf(
			"model %s has an enforced contract and was renamed to %s: consumers still query %s; keep the old name (add a new model version instead) or tell consumers first",
			key, to, key)}
	}
	return Break{Model: key, Kind: BreakModelDeleted, File: file, Line: line, Message: fmt.Sprintf(
		"model %s has an enforced contract and was deleted: consumers still query it; keep it (mark a deprecation_date) until they have moved",
		key)}
}

// modelBreaks compares one model enforced in base with its head state.
func modelBreaks(key string, b, h *Model) []Break {
	at := func(col *Column) (string, int) {
		if col != nil && col.Line > 0 && h.YAMLFile != "" {
			return h.YAMLFile, col.Line
		}
		if h.YAMLFile != "" {
			return h.YAMLFile, h.YAMLLine
		}
		return h.Path, 0
	}
	if !h.ContractEnforced {
		file, line := at(nil)
		return []Break{{Model: key, Kind: BreakEnforcementDisabled, File: file, Line: line, Message: fmt.Sprintf(
			"model %s no longer enforces its contract (it had contract: {enforced: true}): keep enforced: true, or add a new model version without it", key)}}
	}
	var out []Break
	headCols := make(map[string]*Column, len(h.Columns))
	for i := range h.Columns {
		headCols[strings.ToLower(h.Columns[i].Name)] = &h.Columns[i]
	}
	for _, bc := range b.Columns {
		hc, ok := headCols[strings.ToLower(bc.Name)]
		if !ok {
			file, line := at(nil)
			out = append(out, Break{Model: key, Kind: BreakColumnRemoved, Column: bc.Name, File: file, Line: line, Message: fmt.Sprintf(
				"column %s was removed from model %s, whose contract is enforced: keep the column, or add a new model version without it", bc.Name, key)})
			continue
		}
		if baseType(bc.DataType) != baseType(hc.DataType) {
			file, line := at(hc)
			out = append(out, Break{Model: key, Kind: BreakTypeChanged, Column: bc.Name, File: file, Line: line, Message: fmt.Sprintf(
				"column %s of model %s changed type %s -> %s under an enforced contract: keep data_type: %s, or add a new model version",
				bc.Name, key, orNone(bc.DataType), orNone(hc.DataType), bc.DataType)})
		}
		for _, c := range missing(bc.Constraints, hc.Constraints) {
			file, line := at(hc)
			out = append(out, Break{Model: key, Kind: BreakConstraintRemoved, Column: bc.Name, File: file, Line: line, Message: fmt.Sprintf(
				"constraint %s was removed from column %s of model %s under an enforced contract: keep `- type: %s`, or add a new model version",
				c, bc.Name, key, c)})
		}
	}
	for _, bk := range b.Constraints {
		if !hasConstraint(h.Constraints, bk) {
			file, line := at(nil)
			cols := strings.Join(bk.Columns, ", ")
			out = append(out, Break{Model: key, Kind: BreakConstraintRemoved, Column: cols, File: file, Line: line, Message: fmt.Sprintf(
				"model-level constraint %s (%s) was removed from model %s under an enforced contract: keep it, or add a new model version",
				bk.Type, cols, key)})
		}
	}
	return out
}

var reTypeParams = regexp.MustCompile(`\s*\([^)]*\)`)

// baseType is a data type without size or precision, lower-case, so that
// varchar(3) -> varchar(10) or numeric(10,2) -> numeric(12,2) is no change.
func baseType(t string) string {
	t = reTypeParams.ReplaceAllString(strings.ToLower(t), "")
	return strings.Join(strings.Fields(t), " ")
}

func orNone(t string) string {
	if t == "" {
		return "(none)"
	}
	return t
}

// missing returns the entries of base that head lacks (counting repeats).
func missing(base, head []string) []string {
	left := map[string]int{}
	for _, c := range head {
		left[c]++
	}
	var out []string
	for _, c := range base {
		if left[c] > 0 {
			left[c]--
			continue
		}
		out = append(out, c)
	}
	return out
}

func hasConstraint(list []Constraint, c Constraint) bool {
	for _, k := range list {
		if k.Type == c.Type && strings.Join(k.Columns, ",") == strings.Join(c.Columns, ",") {
			return true
		}
	}
	return false
}
