// Package dbt is the dbt kind: a dbt project folder, shipped by building the
// models a change modified and everything downstream of them. It owns the
// `project:` and `manifest:` blocks, how changed files map to a project (its
// folder), Validate (the project builds: every ref and source resolves) and
// Quality (modified models are tested and keep their enforced contracts),
// the dbt evidence the policy reads, the analytics engineer's lineage view,
// and Ref, what the dbt driver receives. The dbt engine itself is
// checks/dbt.
package dbt

import (
	"context"
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	dbtengine "github.com/conveyor-dev/conveyor/checks/dbt"
	"github.com/conveyor-dev/conveyor/checks/kind"
)

// Kind is the dbt kind; register it with kind.Register(dbt.Kind{}).
type Kind struct{}

// Spec is a dbt artifact's config block.
type Spec struct {
	Project  string // folder holding dbt_project.yml, trailing slash trimmed ("." is the root)
	Manifest string // optional path of a committed manifest.json
	// Adapter is the dbt adapter type the project runs on ("snowflake"):
	// which removed constraints break a contract depends on it. It
	// governs.
	Adapter string
	// CIManifest names the GitHub Actions artifact holding the manifest
	// the project's own CI writes for each commit; nil: none. It governs.
	CIManifest *CIManifest

	projectAt, manifestAt kind.Pos
}

// CIManifest is the `ci_manifest:` block: the workflow whose run on a
// commit uploads an artifact holding dbt's manifest.json.
type CIManifest struct {
	Workflow string // workflow file name under .github/workflows ("dbt.yml")
	Artifact string // the artifact's name ("dbt-manifest")
	Path     string // manifest.json's path inside the artifact
	// Compare is what the head's manifest is compared with: "base" (the
	// same workflow's run on the base SHA) or an environment name (the
	// run on the SHA that environment last deployed).
	Compare string
	// StartWait is how long after Conveyor first saw the head SHA the
	// check waits for the workflow's run on it to appear (GitHub creates
	// it seconds after the push) before parsing the project instead.
	StartWait time.Duration
}

// DefaultStartWait is ci_manifest's wait_for_start when the block does not
// set it.
const DefaultStartWait = 10 * time.Minute

// maxStartWait bounds wait_for_start: a run that has not started within a
// day will not.
const maxStartWait = 24 * time.Hour

var ciManifestKeys = []string{"workflow", "artifact", "path", "compare", "wait_for_start"}

// Ref says which dbt project and models a dbt artifact deploys: the payload
// the dbt kind gives deploy drivers (the dbt driver reads it).
type Ref struct {
	Project string   // folder holding dbt_project.yml, relative to the repository root
	Select  []string // modified models; each is built with its downstream (model+)
	Target  string   // dbt target; defaults to the environment name
}

// Name implements kind.Kind.
func (Kind) Name() string { return "dbt" }

// Persona implements kind.Kind.
func (Kind) Persona() string { return "the analytics engineer" }

// Keys implements kind.Kind.
func (Kind) Keys() []string { return []string{"project", "manifest", "adapter", "ci_manifest"} }

// Schema implements kind.Kind.
func (Kind) Schema() map[string]any {
	return kind.MustSchema(`{
		"project": {"type": "string", "minLength": 1, "not": {"pattern": "^(/|\\.\\./)|/\\.\\.(/|$)"},
			"description": "dbt: folder holding dbt_project.yml, for example analytics/."},
		"manifest": {"$ref": "#/$defs/relativePath", "description": "dbt: optional committed manifest.json."},
		"adapter": {"type": "string", "pattern": "^[a-z][a-z0-9_]*$",
			"description": "dbt: the adapter type the project runs on (snowflake, bigquery, postgres...); decides which removed constraints break a contract. Governs."},
		"ci_manifest": {"type": "object", "additionalProperties": false, "required": ["workflow", "artifact"],
			"description": "dbt: the GitHub Actions artifact holding the manifest.json the project's CI writes for each commit. Governs.",
			"properties": {
				"workflow": {"type": "string", "minLength": 1, "description": "workflow file name under .github/workflows, for example dbt.yml"},
				"artifact": {"type": "string", "minLength": 1, "description": "the uploaded artifact's name"},
				"path": {"type": "string", "minLength": 1, "description": "manifest.json's path inside the artifact (default manifest.json)"},
				"compare": {"type": "string", "minLength": 1, "description": "base (default), or an environment: compare with the manifest of what it last deployed"},
				"wait_for_start": {"type": "string", "pattern": "^(0|([0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+)$", "description": "how long the check waits for the workflow's run on the head to appear before parsing the project (a Go duration, default 10m, at most 24h)"}}}}`)
}

// Parse implements kind.Kind.
func (Kind) Parse(r *kind.Doc, a kind.Ident, fields []kind.Field) kind.Spec {
	s := &Spec{}
	what := "artifact " + strconv.Quote(a.Name)
	seen := false
	for _, f := range fields {
		v := f.Value
		switch f.Key {
		case "project":
			seen = true
			if p, ok := r.Str(v, what+": project", "project: analytics/"); ok {
				dir := strings.TrimRight(p, "/")
				if p == "." || p == "./" {
					dir = "."
				} else if msg := kind.CheckFilePath(dir, "analytics/"); msg != "" || dir == "" {
					r.Add(v, "%s: project %q %s", what, p, msg)
					break
				}
				s.Project, s.projectAt = dir, kind.Pos{Line: v.Line, Col: v.Column}
			}
		case "adapter":
			if ad, ok := r.Str(v, what+": adapter", "adapter: snowflake"); ok {
				if !adapterName.MatchString(ad) {
					r.Add(v, "%s: adapter %q is not an adapter type; write the dbt adapter's type in lower case, one of %s or another", what, ad, strings.Join(dbtengine.KnownAdapters(), ", "))
				} else {
					s.Adapter = ad
				}
			}
		case "ci_manifest":
			s.CIManifest = ciManifest(r, v, what)
		case "manifest":
			if p, ok := r.Str(v, what+": manifest", "manifest: analytics/target/manifest.json"); ok {
				if msg := kind.CheckFilePath(p, "analytics/target/manifest.json"); msg != "" {
					r.Add(v, "%s: manifest %q %s", what, p, msg)
				} else {
					s.Manifest, s.manifestAt = p, kind.Pos{Line: v.Line, Col: v.Column}
				}
			}
		}
	}
	if !seen {
		r.Add(a.Node, "%s is a dbt project and needs project; write for example project: analytics/", what)
	}
	return s
}

var adapterName = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

func ciManifest(r *kind.Doc, v *yaml.Node, what string) *CIManifest {
	c := &CIManifest{Path: "manifest.json", Compare: "base", StartWait: DefaultStartWait}
	what += ": ci_manifest"
	example := "ci_manifest: {workflow: dbt.yml, artifact: dbt-manifest}"
	ok := r.Fields(v, what, example, ciManifestKeys, func(k, v *yaml.Node) {
		switch k.Value {
		case "workflow":
			if w, ok := r.Str(v, what+".workflow", "workflow: dbt.yml"); ok {
				if strings.Contains(w, "/") && !strings.HasPrefix(w, ".github/workflows/") {
					r.Add(v, "%s.workflow %q is not a workflow file: write its file name under .github/workflows, for example workflow: dbt.yml", what, w)
				} else {
					c.Workflow = path.Base(w)
				}
			}
		case "artifact":
			c.Artifact, _ = r.Str(v, what+".artifact", "artifact: dbt-manifest")
		case "path":
			if p, ok := r.Str(v, what+".path", "path: target/manifest.json"); ok {
				if msg := kind.CheckFilePath(p, "target/manifest.json"); msg != "" {
					r.Add(v, "%s.path %q %s", what, p, msg)
				} else {
					c.Path = p
				}
			}
		case "compare":
			c.Compare, _ = r.Str(v, what+".compare", "compare: production")
		case "wait_for_start":
			if w, ok := r.Str(v, what+".wait_for_start", "wait_for_start: 10m"); ok {
				d, err := time.ParseDuration(w)
				if err != nil || d < 0 || d > maxStartWait {
					r.Add(v, "%s.wait_for_start %q is not a duration from 0s to 24h; write for example wait_for_start: 10m", what, w)
				} else {
					c.StartWait = d
				}
			}
		}
	})
	if !ok {
		return nil
	}
	if c.Workflow == "" || c.Artifact == "" {
		r.Add(v, "%s needs workflow and artifact; write for example %s", what, example)
		return nil
	}
	return c
}

// Claims implements kind.Spec: every file under the project folder.
func (s *Spec) Claims() []kind.Claim {
	return []kind.Claim{{Kind: kind.Folder, Path: s.Project}}
}

// Validate implements kind.Spec: the folder holds dbt_project.yml, and a
// configured manifest exists.
func (s *Spec) Validate(t kind.Tree, report func(kind.Problem)) {
	if s.Project == "" {
		return
	}
	if f := path.Join(s.Project, "dbt_project.yml"); !t.Has(f) {
		report(kind.Problem{Line: s.projectAt.Line, Column: s.projectAt.Col,
			Message: fmt.Sprintf("project %q has no dbt_project.yml (looked for %s); write the folder that holds dbt_project.yml", s.Project+"/", f)})
	}
	if s.Manifest != "" && !t.Has(s.Manifest) {
		report(kind.Problem{Line: s.manifestAt.Line, Column: s.manifestAt.Col,
			Message: fmt.Sprintf("manifest %s does not exist at this commit; commit it or remove the manifest key so the project is parsed from source", s.Manifest)})
	}
}

// Fields implements kind.Spec: a project's folder and manifest say where it
// lives and do not govern; the adapter (which constraint removals break a
// contract) and the CI manifest (what the comparison trusts) govern.
func (s *Spec) Fields() []kind.FieldValue {
	var ci [5]string
	if c := s.CIManifest; c != nil {
		ci = [5]string{c.Workflow, c.Artifact, c.Path, c.Compare, shortDuration(c.StartWait)}
	}
	return []kind.FieldValue{{Name: "project", Value: s.Project}, {Name: "manifest", Value: s.Manifest},
		{Name: "adapter", Value: s.Adapter, Governs: true},
		{Name: "ci_manifest.workflow", Value: ci[0], Governs: true}, {Name: "ci_manifest.artifact", Value: ci[1], Governs: true},
		{Name: "ci_manifest.path", Value: ci[2], Governs: true}, {Name: "ci_manifest.compare", Value: ci[3], Governs: true},
		{Name: "ci_manifest.wait_for_start", Value: ci[4], Governs: true}}
}

// Ungoverned implements kind.Spec: a new dbt artifact has no adapter (every
// constraint type counts as enforced) and no CI manifest (the project is
// parsed) until the config adding it is merged.
func (s *Spec) Ungoverned() kind.Spec {
	out := *s
	out.Adapter, out.CIManifest = "", nil
	return &out
}

// Plan implements kind.Kind: the project, and the models the check suite
// found modified or added (nil: build everything).
func (Kind) Plan(_ context.Context, env kind.PlanEnv, a kind.Artifact) (kind.Payload, string) {
	s := specOf(a.Spec)
	return kind.Payload{Spec: &Ref{Project: s.Project, Select: env.Selection()},
		Summary: fmt.Sprintf("dbt project %s/ at %s", s.Project, kind.Short(env.SHA()))}, ""
}

func specOf(s kind.Spec) *Spec {
	if d, ok := s.(*Spec); ok && d != nil {
		return d
	}
	return &Spec{}
}
