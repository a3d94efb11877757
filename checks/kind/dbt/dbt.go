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
	"strconv"
	"strings"

	"github.com/conveyor-dev/conveyor/checks/kind"
)

// Kind is the dbt kind; register it with kind.Register(dbt.Kind{}).
type Kind struct{}

// Spec is a dbt artifact's config block.
type Spec struct {
	Project  string // folder holding dbt_project.yml, trailing slash trimmed ("." is the root)
	Manifest string // optional path of a committed manifest.json

	projectAt, manifestAt kind.Pos
}

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
func (Kind) Keys() []string { return []string{"project", "manifest"} }

// Schema implements kind.Kind.
func (Kind) Schema() map[string]any {
	return kind.MustSchema(`{
		"project": {"type": "string", "minLength": 1, "not": {"pattern": "^(/|\\.\\./)|/\\.\\.(/|$)"},
			"description": "dbt: folder holding dbt_project.yml, for example analytics/."},
		"manifest": {"$ref": "#/$defs/relativePath", "description": "dbt: optional committed manifest.json."}}`)
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
// lives; they do not govern.
func (s *Spec) Fields() []kind.FieldValue {
	return []kind.FieldValue{{Name: "project", Value: s.Project}, {Name: "manifest", Value: s.Manifest}}
}

// Ungoverned implements kind.Spec: nothing of a dbt block governs.
func (s *Spec) Ungoverned() kind.Spec { return s }

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
