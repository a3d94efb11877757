package checks

import (
	"context"
	"fmt"
	"path"
	"strings"

	"github.com/conveyor-dev/conveyor/checks/dbt"
	"github.com/conveyor-dev/conveyor/checks/repoconfig"
	"github.com/conveyor-dev/conveyor/policies"
)

// dbt evaluates a dbt project: it must build, and the change's modified
// models must be tested and keep their enforced contracts.
func (r *run) dbt(ctx context.Context, a *repoconfig.Artifact) kindResult {
	var k kindResult
	opts := dbt.LoadOptions{}
	if a.Manifest != "" {
		opts.ManifestPath = strings.TrimPrefix(a.Manifest, strings.TrimSuffix(a.Project, "/")+"/")
	}
	headFS, err := r.f.Tree(ctx, Head)
	if err != nil {
		k.validate = Stage{Result: Error, Summary: "the PR head could not be read; retry with Re-run", Details: []string{err.Error()}}
		k.quality = Stage{Result: Info, Summary: "not evaluated until Validate passes"}
		return k
	}
	head, _ := dbt.Load(headFS, a.Project, opts)
	if probs := head.Validate(); len(probs) > 0 {
		k.validate = Stage{Result: Fail, Summary: fmt.Sprintf("%s in the dbt project %s", plural(len(probs), "problem"), a.Project)}
		for _, p := range probs {
			k.validate.Details = append(k.validate.Details, p.String())
			k.annotations = append(k.annotations, Annotation{Path: p.File, Line: max(p.Line, 1), Level: "failure", Title: "dbt project does not build", Message: p.Message})
		}
		k.quality = Stage{Result: Info, Summary: "not evaluated until Validate passes"}
		return k
	}
	k.validate = Stage{Result: Pass, Summary: fmt.Sprintf("%s parse; every ref() and source() resolves; no cycles", plural(len(head.Models), "model"))}
	baseFS, err := r.f.Tree(ctx, Base)
	if err != nil {
		k.quality = Stage{Result: Error, Summary: "the base branch could not be read; retry with Re-run", Details: []string{err.Error()}}
		return k
	}
	base, _ := dbt.Load(baseFS, a.Project, opts)
	d := dbt.Compare(base, head)
	ev := &policies.DBTEvidence{Modified: append(append([]string{}, d.Modified...), d.Added...), Downstream: d.Downstream,
		Untested: d.Untested, ContractBreaks: []string{}}
	var fails []string
	if len(d.Untested) > 0 {
		fails = append(fails, "untested: "+strings.Join(d.Untested, ", "))
		for _, name := range d.Untested {
			m := head.Models[name]
			if m == nil {
				continue
			}
			file, line := m.Path, 1
			if m.YAMLFile != "" {
				file, line = m.YAMLFile, max(m.YAMLLine, 1)
			}
			k.annotations = append(k.annotations, Annotation{Path: file, Line: line, Level: "failure", Title: "Model without tests",
				Message: fmt.Sprintf("model %s is modified but has no tests; add tests to it in a schema .yml (for example unique/not_null on its key)", name)})
		}
	}
	for _, br := range d.ContractBreaks {
		ev.ContractBreaks = append(ev.ContractBreaks, br.Model+": "+br.Message)
		k.annotations = append(k.annotations, Annotation{Path: br.File, Line: max(br.Line, 1), Level: "failure", Title: "Contract break (" + br.Kind + ")", Message: br.Message})
	}
	if len(d.ContractBreaks) > 0 {
		fails = append(fails, plural(len(d.ContractBreaks), "contract break"))
	}
	if len(fails) > 0 {
		k.quality = Stage{Result: Fail, Summary: strings.Join(fails, "; ")}
		k.quality.Details = ev.ContractBreaks
	} else {
		k.quality = Stage{Result: Pass, Summary: fmt.Sprintf("%s modified, %s downstream; all tested; no contract breaks",
			plural(len(ev.Modified), "model"), plural(len(d.Downstream), "model"))}
	}
	k.evidence.dbt = ev
	k.persona = lineage(d, head)
	return k
}

// lineage is the analytics engineer's view: what changed and what it feeds.
func lineage(d dbt.Diff, head *dbt.Project) string {
	var b strings.Builder
	b.WriteString("### Lineage impact\n\n| models | |\n|---|---|\n")
	row := func(label string, xs []string) {
		if len(xs) > 0 {
			fmt.Fprintf(&b, "| %s | %s |\n", label, "`"+strings.Join(xs, "`, `")+"`")
		}
	}
	row("modified", d.Modified)
	row("added", d.Added)
	row("deleted", d.Deleted)
	row("downstream", d.Downstream)
	row("untested", d.Untested)
	if len(d.Modified)+len(d.Added)+len(d.Deleted) == 0 {
		b.WriteString("| modified | none |\n")
	}
	b.WriteString("\n### Contract changes\n\n")
	if len(d.ContractBreaks) == 0 {
		b.WriteString("No enforced contract changes.\n")
		return b.String()
	}
	b.WriteString("| model | change | where |\n|---|---|---|\n")
	for _, br := range d.ContractBreaks {
		fmt.Fprintf(&b, "| %s | %s | `%s:%d` |\n", br.Model, br.Message, path.Clean(br.File), br.Line)
	}
	return b.String()
}
