// Package app is the app kind: a service built from source paths and shipped
// by SHA. It owns the `paths:` block, how changed files map to an app (its
// globs), its Validate (the config) and Quality (the CI checks it lists)
// and the developer's view of its check (CI results, commits, changed
// files). It has no deploy payload: an app ships the SHA.
package app

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/conveyor-dev/conveyor/checks/kind"
)

// Kind is the app kind; register it with kind.Register(app.Kind{}).
type Kind struct{}

// Spec is an app's config block.
type Spec struct {
	Paths []string // doublestar globs
	pos   []kind.Pos
}

// Name implements kind.Kind.
func (Kind) Name() string { return "app" }

// Persona implements kind.Kind.
func (Kind) Persona() string { return "the developer" }

// Keys implements kind.Kind.
func (Kind) Keys() []string { return []string{"paths"} }

// Schema implements kind.Kind.
func (Kind) Schema() map[string]any {
	return kind.MustSchema(`{"paths": {"description": "app: doublestar globs relative to the repository root.",
		"oneOf": [{"$ref": "#/$defs/relativePath"}, {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/relativePath"}}]}}`)
}

// Parse implements kind.Kind.
func (Kind) Parse(r *kind.Doc, a kind.Ident, fields []kind.Field) kind.Spec {
	s := &Spec{}
	what := "artifact " + strconv.Quote(a.Name)
	seen := false
	for _, f := range fields {
		if f.Key != "paths" {
			continue
		}
		seen = true
		list, pos := r.StrList(f.Value, what+": paths", `paths: ["services/web/**"]`)
		for i, p := range list {
			if msg := kind.CheckGlob(p); msg != "" {
				r.Add(kind.NodeAt(f.Value, i), "%s: paths entry %q %s", what, p, msg)
				continue
			}
			s.Paths = append(s.Paths, p)
			s.pos = append(s.pos, pos[i])
		}
	}
	if !seen {
		r.Add(a.Node, "%s is an app and needs paths; write for example paths: [\"services/%s/**\"]", what, a.Name)
	}
	return s
}

// Claims implements kind.Spec: every glob must match a file.
func (s *Spec) Claims() []kind.Claim {
	out := make([]kind.Claim, 0, len(s.Paths))
	for i, p := range s.Paths {
		c := kind.Claim{Kind: kind.Glob, Path: p, MustMatch: true, Key: "paths"}
		if i < len(s.pos) {
			c.At = s.pos[i]
		}
		out = append(out, c)
	}
	return out
}

// Validate implements kind.Spec; the globs are checked through Claims.
func (s *Spec) Validate(kind.Tree, func(kind.Problem)) {}

// Fields implements kind.Spec: an app's paths say where it lives; they do
// not govern.
func (s *Spec) Fields() []kind.FieldValue {
	return []kind.FieldValue{{Name: "paths", Value: kind.List(s.Paths)}}
}

// Ungoverned implements kind.Spec: nothing of an app's block governs.
func (s *Spec) Ungoverned() kind.Spec { return s }

// Plan implements kind.Kind: an app ships its SHA.
func (Kind) Plan(_ context.Context, env kind.PlanEnv, a kind.Artifact) (kind.Payload, string) {
	return kind.Payload{Summary: fmt.Sprintf("%s at %s", a.Name, kind.Short(env.SHA()))}, ""
}

// misspeltCI says, for each CI name waited for that never reported on the
// commit while a similar name did, which one it probably means: a name
// that never reports keeps the check waiting (nothing times it out: CI is
// event-driven), so a typo in ci: must show where the author looks.
func misspeltCI(listed, waiting []string, ci map[string]kind.CIResult) []string {
	var reported []string
	for name := range ci {
		if !slices.Contains(listed, name) {
			reported = append(reported, name)
		}
	}
	sort.Strings(reported)
	var out []string
	for _, name := range waiting {
		if _, ok := ci[name]; ok {
			continue // it reported; it is running
		}
		if near := kind.Nearest(name, reported); near != "" {
			out = append(out, fmt.Sprintf("no check named %q has reported on this commit, but %q has: is ci: in the base branch's .github/conveyor.yml misspelt?", name, near))
		}
	}
	return out
}

// passingCI are the CI conclusions that let an artifact through.
var passingCI = map[string]bool{"success": true, "neutral": true, "skipped": true}

// Evaluate implements kind.Kind: the config and paths, then the CI checks it lists.
func (Kind) Evaluate(ctx context.Context, env kind.Env, a kind.Artifact) kind.Outcome {
	s, _ := a.Spec.(*Spec)
	if s == nil {
		s = &Spec{}
	}
	k := kind.Outcome{Validate: kind.Stage{Result: kind.Pass,
		Summary: fmt.Sprintf("config valid; %s under %s", kind.Plural(len(a.Files), "changed file"), strings.Join(s.Paths, ", "))}}
	ci, err := env.CI(ctx)
	if err != nil {
		k.Quality = kind.Stage{Result: kind.Error, Summary: "CI results could not be read; retry with Re-run", Details: []string{err.Error()}}
		return k
	}
	k.Evidence.CI = map[string]string{}
	var failed, waiting, passed []string
	var rows []string
	for _, name := range a.CI {
		c, ok := ci[name]
		state := "not reported yet"
		switch {
		case !ok || c.Status != "completed":
			if ok {
				state = strings.ReplaceAll(c.Status, "_", " ")
			}
			waiting = append(waiting, name)
			k.Evidence.CI[name] = "pending"
		case passingCI[c.Conclusion]:
			state = c.Conclusion
			passed = append(passed, name)
			k.Evidence.CI[name] = c.Conclusion
		default:
			state = c.Conclusion
			failed = append(failed, name+" ("+c.Conclusion+")")
			k.Evidence.CI[name] = c.Conclusion
		}
		rows = append(rows, fmt.Sprintf("| `%s` | %s %s |", name, kind.Icon(ciIcon(ok, c)), state))
	}
	switch {
	case len(a.CI) == 0:
		k.Quality = kind.Stage{Result: kind.Pass, Summary: "no CI checks listed (add ci: [\"build\"] to require some)"}
	case len(failed) > 0:
		k.Quality = kind.Stage{Result: kind.Fail, Summary: "CI failed: " + strings.Join(failed, ", ")}
	case len(waiting) > 0:
		k.Quality = kind.Stage{Result: kind.Wait, Summary: "waiting for CI: " + strings.Join(waiting, ", "),
			Details: misspeltCI(a.CI, waiting, ci)}
	default:
		k.Quality = kind.Stage{Result: kind.Pass, Summary: "CI passed: " + strings.Join(passed, ", ")}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "### CI on `%s`\n\n", kind.Short(env.HeadSHA()))
	if len(rows) > 0 {
		b.WriteString("| check | result |\n|---|---|\n")
		b.WriteString(strings.Join(rows, "\n"))
		b.WriteString("\n")
	} else {
		b.WriteString("No CI checks are listed for this app.\n")
	}
	writeCommits(ctx, &b, env)
	b.WriteString("\n### Changed files\n\n")
	kind.WriteList(&b, a.Files, 20)
	k.Persona = b.String()
	k.Card = card(ctx, env, a, s, k.Quality)
	return k
}

// maxListedCommits is how many of the newest commits the app check lists.
const maxListedCommits = 10

// writeCommits lists the change's newest commits. They only inform: a list
// that cannot be read is said so and changes no stage.
func writeCommits(ctx context.Context, b *strings.Builder, env kind.Env) {
	commits, err := env.Commits(ctx)
	switch {
	case err != nil:
		b.WriteString("\n### Commits\n\nThe commits of this change could not be read; they show again on the next evaluation.\n")
		return
	case len(commits) == 0:
		return
	}
	fmt.Fprintf(b, "\n### Commits (%d)\n\n", len(commits))
	if n := len(commits) - maxListedCommits; n > 0 {
		fmt.Fprintf(b, "- … %s before these\n", kind.Plural(n, "older commit"))
		commits = commits[n:]
	}
	for _, c := range commits {
		fmt.Fprintf(b, "- `%s` %s", kind.Short(c.SHA), kind.Cell(c.Message))
		if c.Author != "" {
			fmt.Fprintf(b, " (%s)", kind.Cell(c.Author))
		}
		b.WriteString("\n")
	}
}

func ciIcon(ok bool, c kind.CIResult) string {
	switch {
	case !ok || c.Status != "completed":
		return kind.Wait
	case passingCI[c.Conclusion]:
		return kind.Pass
	}
	return kind.Fail
}
