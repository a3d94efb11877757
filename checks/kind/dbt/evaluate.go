package dbt

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	dbtengine "github.com/conveyor-dev/conveyor/checks/dbt"
	"github.com/conveyor-dev/conveyor/checks/kind"
	"github.com/conveyor-dev/conveyor/policies"
)

// Evaluate implements kind.Kind: the project it must build, and the change's modified
// models must be tested and keep their enforced contracts.
func (Kind) Evaluate(ctx context.Context, env kind.Env, art kind.Artifact) kind.Outcome {
	var k kind.Outcome
	a := specOf(art.Spec)
	opts := dbtengine.LoadOptions{Adapter: a.Adapter}
	if a.Manifest != "" {
		opts.ManifestPath = strings.TrimPrefix(a.Manifest, strings.TrimSuffix(a.Project, "/")+"/")
	}
	var ci ciManifests
	if a.CIManifest != nil {
		ci = readCIManifests(ctx, env, a.CIManifest, art.Name)
		if ci.wait != "" {
			k.Validate = kind.Stage{Result: kind.Wait, Summary: ci.wait}
			k.Quality = kind.Stage{Result: kind.Wait, Summary: "waits for dbt's manifest from CI"}
			k.Retry = true
			return k
		}
	}
	headFS, err := projectTree(ctx, env, kind.Head, a)
	if err != nil {
		k.Validate = kind.Stage{Result: kind.Error, Summary: "the PR head could not be read; retry with Re-run", Details: []string{err.Error()}}
		k.Quality = kind.Stage{Result: kind.Info, Summary: "not evaluated until Validate passes"}
		return k
	}
	var head *dbtengine.Project
	if ci.head != nil {
		head = ci.load(headFS, a.Project, opts, ci.head, ci.headRun)
	}
	if head == nil {
		head, _ = dbtengine.Load(headFS, a.Project, opts)
	}
	if probs := head.Validate(); len(probs) > 0 {
		k.Validate = kind.Stage{Result: kind.Fail, Summary: fmt.Sprintf("%s in the dbt project %s", kind.Plural(len(probs), "problem"), a.Project)}
		for _, p := range probs {
			k.Validate.Details = append(k.Validate.Details, p.String())
			k.Annotations = append(k.Annotations, kind.Annotation{Path: p.File, Line: max(p.Line, 1), Level: "failure", Title: "dbt project does not build", Message: p.Message})
		}
		k.Quality = kind.Stage{Result: kind.Info, Summary: "not evaluated until Validate passes"}
		return k
	}
	warns := head.Warnings()
	k.Validate = kind.Stage{Result: kind.Pass, Summary: fmt.Sprintf("%s parse; every ref() and source() resolves; no cycles", nodeCounts(head))}
	if head.FromManifest && ci.headRun != "" {
		k.Validate.Summary = fmt.Sprintf("%s in dbt's manifest from %s; every ref() and source() resolves; no cycles", nodeCounts(head), ci.headRun)
	}
	if ci.fallback != "" {
		k.Validate.Details = append(k.Validate.Details, "warning: "+ci.fallback)
		k.Annotations = append(k.Annotations, kind.Annotation{Path: ".github/conveyor.yml", Line: max(art.Line, 1), Level: "warning",
			Title: "dbt manifest from CI not used", Message: ci.fallback})
	}
	if len(warns) > 0 {
		k.Validate.Summary += fmt.Sprintf("; %s (lineage may be incomplete)", kind.Plural(len(warns), "warning"))
	}
	for _, w := range warns {
		k.Validate.Details = append(k.Validate.Details, "warning: "+w.String())
		k.Annotations = append(k.Annotations, kind.Annotation{Path: w.File, Line: max(w.Line, 1), Level: "warning", Title: "dbt lineage incomplete", Message: w.Message})
	}
	baseFS, err := projectTree(ctx, env, kind.Base, a)
	if err != nil {
		k.Quality = kind.Stage{Result: kind.Error, Summary: "the base branch could not be read; retry with Re-run", Details: []string{err.Error()}}
		return k
	}
	var base *dbtengine.Project
	if ci.base != nil && head.FromManifest {
		base = ci.load(baseFS, a.Project, opts, ci.base, ci.against)
	}
	if base == nil {
		base, _ = dbtengine.Load(baseFS, a.Project, opts)
	}
	if base.FromManifest != head.FromManifest {
		// One side's manifest was stale or missing: checksums from a
		// manifest and from parsed files are not comparable, so both
		// sides are parsed.
		noManifest := dbtengine.LoadOptions{IgnoreManifest: true, Adapter: a.Adapter}
		if !base.FromManifest {
			head, _ = dbtengine.Load(headFS, a.Project, noManifest)
		} else {
			base, _ = dbtengine.Load(baseFS, a.Project, noManifest)
		}
	}
	d := dbtengine.Compare(base, head)
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
			k.Annotations = append(k.Annotations, kind.Annotation{Path: file, Line: line, Level: "failure", Title: "Model without tests",
				Message: fmt.Sprintf("model %s is modified but has no tests; add tests to it in a schema .yml (for example unique/not_null on its key)", name)})
		}
	}
	for _, br := range d.ContractBreaks {
		ev.ContractBreaks = append(ev.ContractBreaks, br.Model+": "+br.Message)
		k.Annotations = append(k.Annotations, kind.Annotation{Path: br.File, Line: max(br.Line, 1), Level: "failure", Title: "Contract break (" + br.Kind + ")", Message: br.Message})
	}
	if len(d.ContractBreaks) > 0 {
		fails = append(fails, kind.Plural(len(d.ContractBreaks), "contract break"))
	}
	if len(fails) > 0 {
		k.Quality = kind.Stage{Result: kind.Fail, Summary: strings.Join(fails, "; ")}
		k.Quality.Details = ev.ContractBreaks
	} else {
		k.Quality = kind.Stage{Result: kind.Pass, Summary: fmt.Sprintf("%s modified, %s downstream; all tested; no contract breaks",
			kind.Plural(len(ev.Modified), "node"), kind.Plural(len(d.Downstream), "node"))}
	}
	// Edits dbt does not rebuild for are said as such, not as modified nodes.
	if n := len(d.TestsChanged); n > 0 {
		k.Quality.Summary += fmt.Sprintf("; tests changed: %d; not rebuilt", n)
	}
	if n := len(d.DocsChanged); n > 0 {
		k.Quality.Summary += fmt.Sprintf("; descriptions changed: %d; not rebuilt (persist_docs is off)", n)
	}
	if base.FromManifest && ci.against != "" {
		k.Quality.Summary += "; compared dbt's manifests with " + ci.against
	}
	k.Evidence.DBT = ev
	k.Card = card(ev)
	k.Gated = len(ev.ContractBreaks) > 0 || len(ev.Untested) > 0
	k.Selection = ev.Modified
	k.Persona = lineage(d, head) + builds(d, env.Environments())
	return k
}

// projectTree reads only what dbt reads at side: the project folder, its
// local packages and a packages-install-path outside it (dbtengine.Folders),
// and the folder of a configured manifest.
func projectTree(ctx context.Context, env kind.Env, side kind.Side, a *Spec) (fs.FS, error) {
	var failed error
	dirs := dbtengine.Folders(a.Project, func(name string) ([]byte, error) {
		b, err := env.ReadFile(ctx, side, path.Join(a.Project, name))
		if err != nil && !errors.Is(err, fs.ErrNotExist) && failed == nil {
			failed = err
		}
		return b, err
	})
	if failed != nil {
		return nil, failed
	}
	if a.Manifest != "" {
		dirs = append(dirs, path.Dir(a.Manifest))
	}
	return env.Subtree(ctx, side, dirs)
}

// builds says what a deploy of the change would build, with the --select
// the dbt driver passes (deploy/driver's dbtSelectArg: every selected node
// with its downstream, one word) and the target of each environment (the
// environment's name: Plan sets no other target).
func builds(d dbtengine.Diff, envs []string) string {
	var b strings.Builder
	b.WriteString("\n### What a deploy builds\n\n")
	sel := append(append([]string(nil), d.Modified...), d.Added...)
	sort.Strings(sel)
	if len(sel) == 0 {
		b.WriteString("Nothing: no node is modified or added, so a deploy builds the whole project (no `--select`).\n")
	} else {
		plus := make([]string, len(sel))
		for i, k := range sel {
			plus[i] = k + "+"
		}
		all := append(append([]string(nil), sel...), d.Downstream...)
		sort.Strings(all)
		fmt.Fprintf(&b, "`--select=%s` builds %s: `%s`.\n", strings.Join(plus, " "), kind.Plural(len(all), "node"), strings.Join(all, "`, `"))
	}
	if len(d.Exposures) > 0 {
		fmt.Fprintf(&b, "\nExposures downstream (dashboards, ML consumers): `%s`.\n", strings.Join(d.Exposures, "`, `"))
	}
	if len(envs) > 0 {
		b.WriteString("\n| environment | dbt target |\n|---|---|\n")
		for _, e := range envs {
			fmt.Fprintf(&b, "| %s | `--target=%s` |\n", e, e)
		}
	}
	return b.String()
}

// lineage is the analytics engineer's view: what changed and what it feeds.
func lineage(d dbtengine.Diff, head *dbtengine.Project) string {
	var b strings.Builder
	b.WriteString("### Lineage impact\n\n| models | |\n|---|---|\n")
	row := func(label string, xs []string) {
		if len(xs) > 0 {
			fmt.Fprintf(&b, "| %s | %s |\n", label, "`"+strings.Join(xs, "`, `")+"`")
		}
	}
	var why []string
	for _, key := range d.Modified {
		why = append(why, fmt.Sprintf("`%s` (%s)", key, strings.Join(d.Reasons[key], ", ")))
	}
	if len(why) > 0 {
		fmt.Fprintf(&b, "| modified | %s |\n", strings.Join(why, "; "))
	}
	row("added", d.Added)
	row("deleted", d.Deleted)
	row("downstream", d.Downstream)
	row("exposures downstream", d.Exposures)
	row("untested", d.Untested)
	row("macros changed", d.ModifiedMacros)
	row("tests changed (not rebuilt)", d.TestsChanged)
	row("descriptions changed (not rebuilt)", d.DocsChanged)
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

// nodeCounts says how many models, seeds and snapshots the project has.
func nodeCounts(p *dbtengine.Project) string {
	n := map[string]int{}
	for _, m := range p.Models {
		n[m.Resource]++
	}
	out := kind.Plural(n[dbtengine.ResourceModel], "model")
	if n[dbtengine.ResourceSeed] > 0 {
		out += ", " + kind.Plural(n[dbtengine.ResourceSeed], "seed")
	}
	if n[dbtengine.ResourceSnapshot] > 0 {
		out += ", " + kind.Plural(n[dbtengine.ResourceSnapshot], "snapshot")
	}
	return out
}
