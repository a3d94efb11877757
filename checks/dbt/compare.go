package dbt

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// Diff is what changed between a base and a head state of a project.
type Diff struct {
	// Modified are nodes (models, seeds, snapshots) in both states that
	// dbt's state:modified selects, sorted.
	Modified []string
	// Reasons says why each modified node is modified: "body", "config",
	// "relation", "path", "contract", "persisted descriptions", "version
	// or access", or "macro <package.name>".
	Reasons map[string][]string
	// Added and Deleted are nodes only in head or only in base, sorted.
	Added, Deleted []string
	// Downstream are the nodes that depend on a modified or added node,
	// transitively, excluding those, sorted: with them, what
	// state:modified+ selects.
	Downstream []string
	// Exposures are the exposures that depend on a modified, added or
	// downstream node, sorted.
	Exposures []string
	// TestsChanged and DocsChanged are nodes, not modified, whose tests or
	// descriptions changed: dbt does not rebuild them for that.
	TestsChanged, DocsChanged []string
	// ModifiedMacros are macros added, edited or removed, sorted.
	ModifiedMacros []string
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
	BreakModelDisabled       = "model_disabled"
	// BreakMaterializationChanged is a change from table or incremental to
	// a materialization that does not enforce constraints.
	BreakMaterializationChanged = "materialization_changed"
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
	d := Diff{Reasons: map[string][]string{}}
	d.ModifiedMacros = modifiedMacros(base, head)
	changedMacro := map[string]bool{}
	for _, u := range d.ModifiedMacros {
		changedMacro[u] = true
	}
	for _, key := range head.ModelKeys() {
		h := head.Models[key]
		b, ok := base.Models[key]
		if !ok {
			d.Added = append(d.Added, key)
			continue
		}
		if why := modifiedBecause(b, h, changedMacro); len(why) > 0 {
			d.Modified = append(d.Modified, key)
			d.Reasons[key] = why
			continue
		}
		if h.TestsSum != b.TestsSum {
			d.TestsChanged = append(d.TestsChanged, key)
		}
		if h.DocsSum != b.DocsSum {
			d.DocsChanged = append(d.DocsChanged, key)
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
		if m := head.Models[key]; m.Resource == ResourceModel && m.Tests == 0 {
			d.Untested = append(d.Untested, key)
		}
	}
	d.Exposures = exposuresOf(head, append(changed, d.Downstream...))
	d.ContractBreaks = contractBreaks(base, head, d.Added)
	return d
}

// modifiedBecause applies dbt's same_contents (core/dbt/contracts/graph/
// nodes.py) and the state selector's macro check (core/dbt/graph/
// selector_methods.py, StateSelectorMethod.check_modified_content): the
// reasons a node is modified, none when it is not.
func modifiedBecause(b, h *Model, changedMacro map[string]bool) []string {
	var why []string
	if h.Checksums.Body != b.Checksums.Body {
		why = append(why, "body")
	}
	if h.Checksums.Config != b.Checksums.Config {
		// same_database_representation compares database, schema and
		// alias; any other config difference is same_config.
		rel := false
		for _, k := range []string{"database", "schema", "alias"} {
			if h.Config[k] != b.Config[k] {
				rel = true
			}
		}
		if rel {
			why = append(why, "relation")
		}
		if !rel || !sameExcept(b.Config, h.Config, "database", "schema", "alias") {
			why = append(why, "config")
		}
	}
	if h.Checksums.FQN != b.Checksums.FQN {
		why = append(why, "path")
	}
	if h.Checksums.Contract != b.Checksums.Contract || h.ContractEnforced != b.ContractEnforced {
		why = append(why, "contract")
	}
	if h.Checksums.PersistedDocs != b.Checksums.PersistedDocs {
		why = append(why, "persisted descriptions")
	}
	if h.Checksums.RefRepr != b.Checksums.RefRepr {
		why = append(why, "version or access")
	}
	for _, u := range h.Macros {
		if changedMacro[u] {
			why = append(why, "macro "+u)
			break
		}
	}
	return why
}

func sameExcept(a, b map[string]string, skip ...string) bool {
	for k, v := range a {
		if !slices.Contains(skip, k) && b[k] != v {
			return false
		}
	}
	for k, v := range b {
		if !slices.Contains(skip, k) && a[k] != v {
			return false
		}
	}
	return true
}

// modifiedMacros is StateSelectorMethod._macros_modified: macros whose
// text changed, added ones and removed ones.
func modifiedMacros(base, head *Project) []string {
	var out []string
	for uid, m := range head.Macros {
		if old, ok := base.Macros[uid]; !ok || old.Sum != m.Sum {
			out = append(out, uid)
		}
	}
	for uid := range base.Macros {
		if _, ok := head.Macros[uid]; !ok {
			out = append(out, uid)
		}
	}
	sort.Strings(out)
	return out
}

// exposuresOf returns the exposures depending on any of keys.
func exposuresOf(p *Project, keys []string) []string {
	if len(p.Exposures) == 0 {
		return nil
	}
	in := make(map[string]bool, len(keys))
	for _, k := range keys {
		in[k] = true
	}
	res := newResolver(p)
	var out []string
	for _, x := range p.Exposures {
		for _, r := range x.DependsOn {
			if key, st := res.resolve(r); st == refRoot && in[key] {
				out = append(out, x.Name)
				break
			}
		}
	}
	sort.Strings(out)
	return out
}

// contractBreaks applies dbt 1.11's rules to every model enforced in base:
// ModelNode.same_contract for models still there, same_contract_removed
// for models deleted, renamed or disabled. The adapter is the head's, as
// dbt's state selector reads the current manifest's metadata.adapter_type.
func contractBreaks(base, head *Project, added []string) []Break {
	adapter := head.Adapter
	if adapter == "" {
		adapter = base.Adapter
	}
	renamedTo := map[string]string{} // body checksum -> added model key
	for _, key := range added {
		if sum := head.Models[key].Checksums.Body; sum != "" {
			if _, taken := renamedTo[sum]; !taken {
				renamedTo[sum] = key
			}
		}
	}
	versioned := map[string]bool{}
	for _, m := range head.Models {
		if m.Version != "" {
			versioned[m.Name] = true
		}
	}
	disabled := map[string]bool{}
	for _, m := range head.Disabled {
		disabled[modelKey(m.Name, m.Version)] = true
	}
	var out []Break
	for _, key := range base.ModelKeys() {
		b := base.Models[key]
		if !b.ContractEnforced || b.Resource != ResourceModel {
			continue
		}
		h, ok := head.Models[key]
		if !ok {
			// same_contract_removed: no break past the deprecation_date;
			// an unversioned model that became versioned still exists.
			if pastDeprecation(b.DeprecationDate, time.Now()) || (b.Version == "" && versioned[b.Name]) {
				continue
			}
			out = append(out, deletedBreak(key, b, renamedTo, disabled[key]))
			continue
		}
		out = append(out, modelBreaks(key, b, h, adapter)...)
	}
	return out
}

// pastDeprecation reports a deprecation_date before now (dbt's
// is_past_deprecation_date); dates are YYYY-MM-DD or RFC 3339.
func pastDeprecation(date string, now time.Time) bool {
	if date == "" {
		return false
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, date); err == nil {
			return t.Before(now)
		}
	}
	return false
}

func deletedBreak(key string, b *Model, renamedTo map[string]string, disabled bool) Break {
	file, line := b.Path, 0
	if b.YAMLFile != "" {
		file, line = b.YAMLFile, b.YAMLLine
	}
	if disabled {
		return Break{Model: key, Kind: BreakModelDisabled, File: file, Line: line, Message: fmt.Sprintf(
			"model %s has an enforced contract and was disabled: consumers still query it; keep it enabled until past a deprecation_date", key)}
	}
	if to, ok := renamedTo[b.Checksums.Body]; ok && b.Checksums.Body != "" {
		return Break{Model: key, Kind: BreakModelRenamed, File: file, Line: line, Message: fmt.Sprintf(
			"model %s has an enforced contract and was renamed to %s: consumers still query %s; keep the old name (add a new model version instead) or tell consumers first",
			key, to, key)}
	}
	return Break{Model: key, Kind: BreakModelDeleted, File: file, Line: line, Message: fmt.Sprintf(
		"model %s has an enforced contract and was deleted: consumers still query it; keep it with a deprecation_date until they have moved",
		key)}
}

// modelBreaks is ModelNode.same_contract for one model enforced in base.
// A removed constraint counts only where the base materialization enforces
// constraints (table, incremental) and the adapter enforces its type
// (constraint_support[type] == ENFORCED); an unknown adapter enforces
// every type (ConstraintSupport).
func modelBreaks(key string, b, h *Model, adapter string) []Break {
	at := func(col *Column) (string, int) {
		if col != nil && col.Line > 0 && h.YAMLFile != "" {
			return h.YAMLFile, col.Line
		}
		if h.YAMLFile != "" {
			return h.YAMLFile, h.YAMLLine
		}
		return h.Path, 0
	}
	var out []Break
	if !h.ContractEnforced {
		file, line := at(nil)
		out = append(out, Break{Model: key, Kind: BreakEnforcementDisabled, File: file, Line: line, Message: fmt.Sprintf(
			"model %s no longer enforces its contract (it had contract: {enforced: true}): keep enforced: true, or add a new model version without it", key)})
	}
	headCols := make(map[string]*Column, len(h.Columns))
	for i := range h.Columns {
		headCols[strings.ToLower(h.Columns[i].Name)] = &h.Columns[i]
	}
	enforced := enforcesConstraints(b)
	columnConstraints := false
	for _, bc := range b.Columns {
		if len(bc.Constraints) > 0 {
			columnConstraints = true
		}
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
		if !enforced {
			continue
		}
		for _, c := range missing(bc.Constraints, hc.Constraints) {
			if ConstraintSupport(adapter, c) != ConstraintEnforced {
				continue
			}
			file, line := at(hc)
			out = append(out, Break{Model: key, Kind: BreakConstraintRemoved, Column: bc.Name, File: file, Line: line, Message: fmt.Sprintf(
				"constraint %s was removed from column %s of model %s under an enforced contract: keep `- type: %s`, or add a new model version",
				c, bc.Name, key, c)})
		}
	}
	if enforced {
		for _, bk := range b.Constraints {
			if !hasConstraint(h.Constraints, bk) && ConstraintSupport(adapter, bk.Type) == ConstraintEnforced {
				file, line := at(nil)
				cols := strings.Join(bk.Columns, ", ")
				out = append(out, Break{Model: key, Kind: BreakConstraintRemoved, Column: cols, File: file, Line: line, Message: fmt.Sprintf(
					"model-level constraint %s (%s) was removed from model %s under an enforced contract: keep it, or add a new model version",
					bk.Type, cols, key)})
			}
		}
	}
	if enforced && !enforcesConstraints(h) && (len(b.Constraints) > 0 || columnConstraints) {
		file, line := at(nil)
		out = append(out, Break{Model: key, Kind: BreakMaterializationChanged, File: file, Line: line, Message: fmt.Sprintf(
			"model %s changed materialization %s -> %s, which does not enforce its constraints: keep %s, or add a new model version",
			key, b.Config["materialized"], orNone(h.Config["materialized"]), b.Config["materialized"])})
	}
	return out
}

// baseType is dbt 1.11's _normalize_data_type_for_comparison: the type
// before its first "(", trimmed and lower-case, so that varchar(3) ->
// varchar(10) or numeric(10,2) -> numeric(12,2) is no change.
func baseType(t string) string {
	t, _, _ = strings.Cut(t, "(")
	return strings.Join(strings.Fields(strings.ToLower(t)), " ")
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
