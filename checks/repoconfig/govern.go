package repoconfig

import (
	"slices"
	"strconv"
	"strings"
)

// GovernanceChange is one field a pull request changes in .github/conveyor.yml
// that does not apply to the pull request itself: what governs is read from
// the base branch and takes effect only after the change is merged.
type GovernanceChange struct {
	Field string `json:"field"` // for example "artifacts.web.deploy.driver" or "environments.production.approvals.count"
	Base  string `json:"base"`  // the value that applies, "(none)" when unset
	Head  string `json:"head"`  // the value the pull request writes, "(none)" when unset
}

// String renders the change as "field: base -> head".
func (c GovernanceChange) String() string { return c.Field + ": " + c.Base + " -> " + c.Head }

// none is how an unset value is shown in a governance diff.
const none = "(none)"

// artifactField is one field of an artifact block, as the governance diff
// shows it. A field that governs (decides whether or how a change may ship,
// or who pays for it) is never taken from a pull request's head; a new
// artifact gets its zero value until the config that adds it is merged.
// Kind-specific fields come from the kind (kind.Spec.Fields), which says
// which of them govern: a field a gate, a policy or a driver reads must be
// listed there as governing, or a pull request could set it for itself.
type artifactField struct {
	name    string
	governs bool
	value   func(*Artifact) string
	clear   func(*Artifact) // governing fields only: the safe default
}

var artifactFields = []artifactField{
	{name: "kind", value: func(a *Artifact) string { return a.Kind }},
	{name: "owners", governs: true, value: func(a *Artifact) string { return list(a.Owners) },
		clear: func(a *Artifact) { a.Owners = nil }},
	{name: "ci", governs: true, value: func(a *Artifact) string { return list(a.CI) },
		clear: func(a *Artifact) { a.CI = nil }},
	{name: "resources.cpu", governs: true, value: func(a *Artifact) string { return num(a.Resources.CPU) },
		clear: func(a *Artifact) { a.Resources.CPU = 0 }},
	{name: "resources.memory", governs: true, value: func(a *Artifact) string {
		if a.Resources.MemoryBytes == 0 {
			return ""
		}
		return strconv.FormatInt(a.Resources.MemoryBytes, 10) + " bytes"
	}, clear: func(a *Artifact) { a.Resources.MemoryBytes = 0 }},
	{name: "resources.gpu", governs: true, value: func(a *Artifact) string { return num(a.Resources.GPU) },
		clear: func(a *Artifact) { a.Resources.GPU = 0 }},
	{name: "resources.replicas", governs: true, value: func(a *Artifact) string {
		if a.Resources.Replicas == 0 {
			return ""
		}
		return strconv.Itoa(a.Resources.Replicas)
	}, clear: func(a *Artifact) { a.Resources.Replicas = 0 }},
	{name: "deploy.driver", governs: true, value: func(a *Artifact) string { return a.Deploy.Driver },
		clear: func(a *Artifact) { a.Deploy = Deploy{} }},
}

// fieldsOf lists the fields of b's and h's artifact blocks in the diff's
// order: kind, the kinds' fields that do not govern, the shared governing
// fields, the kinds' governing fields, then deploy.driver. When the kinds
// differ, a field only one of them has is unset in the other.
func fieldsOf(b, h *Artifact) []artifactField {
	var where, gov []artifactField
	seen := map[string]bool{}
	for _, a := range []*Artifact{b, h} {
		if a == nil || a.Spec == nil {
			continue
		}
		for _, f := range a.Spec.Fields() {
			if seen[f.Name] {
				continue
			}
			seen[f.Name] = true
			name := f.Name
			af := artifactField{name: name, governs: f.Governs, value: func(a *Artifact) string { return specField(a, name) }}
			if f.Governs {
				af.clear = func(a *Artifact) { a.Spec = a.Spec.Ungoverned() }
				gov = append(gov, af)
			} else {
				where = append(where, af)
			}
		}
	}
	last := len(artifactFields) - 1 // deploy.driver
	out := append([]artifactField{artifactFields[0]}, where...)
	out = append(out, artifactFields[1:last]...)
	out = append(out, gov...)
	return append(out, artifactFields[last])
}

// specField is the value of a kind field of a, "" when its kind has none.
func specField(a *Artifact, name string) string {
	if a == nil || a.Spec == nil {
		return ""
	}
	for _, f := range a.Spec.Fields() {
		if f.Name == name {
			return f.Value
		}
	}
	return ""
}

// environmentFields are the fields of an environment block; all of them
// govern.
var environmentFields = []struct {
	name  string
	value func(*Environment) string
}{
	{"requires", func(e *Environment) string { return list(e.Requires) }},
	{"approvals.count", func(e *Environment) string {
		if e.Approvals.Count == 0 {
			return ""
		}
		return strconv.Itoa(e.Approvals.Count)
	}},
	{"approvals.from", func(e *Environment) string { return list(e.Approvals.From) }},
	{"rollout.steps", func(e *Environment) string {
		var s []string
		for _, n := range e.Rollout.Steps {
			s = append(s, strconv.Itoa(n))
		}
		return list(s)
	}},
	{"rollout.pause", func(e *Environment) string {
		if e.Rollout.Pause == 0 {
			return ""
		}
		return e.Rollout.Pause.String()
	}},
	{"freeze", func(e *Environment) string { return list(e.Freeze) }},
}

// Govern is the configuration a pull request is judged and deployed under,
// given the base branch's config and the PR head's (either may be nil), and
// the governance changes the head makes, which take effect after merge.
//
// The rule: environments (requires, approvals, rollout, freeze) are the
// base's; an artifact the base defines is the base's, every field (a head
// that narrowed an artifact's paths could otherwise steer its own files out
// of the artifact's check); an artifact the base removes stays defined until
// merge. The head may only add artifacts. A new artifact's name, kind and
// location (paths, pointer, project, manifest) are the head's, so its
// files are classified and checked; what governs it (owners, ci, resources,
// evaluation, deploy) is empty until merge: it has no driver, so nothing can
// deploy it before the config that defines it is reviewed and merged.
//
// The returned config shares artifacts and environments with base and head;
// callers must not modify it.
func Govern(base, head *Config) (*Config, []GovernanceChange) {
	eff := &Config{}
	if base != nil {
		eff.Version = base.Version
		eff.Environments = base.Environments
		eff.Artifacts = slices.Clone(base.Artifacts)
	}
	if head == nil {
		return eff, nil
	}
	var changes []GovernanceChange
	add := func(field, b, h string) {
		if b != h {
			changes = append(changes, GovernanceChange{Field: field, Base: orNone(b), Head: orNone(h)})
		}
	}
	for _, b := range eff.Artifacts {
		h := head.Artifact(b.Name)
		if h == nil {
			add("artifacts."+b.Name, "defined", "removed")
			continue
		}
		for _, f := range fieldsOf(b, h) {
			add("artifacts."+b.Name+"."+f.name, f.value(b), f.value(h))
		}
	}
	for _, h := range head.Artifacts {
		if base != nil && base.Artifact(h.Name) != nil {
			continue
		}
		n := *h
		fields := fieldsOf(nil, h)
		for _, f := range fields {
			if f.governs {
				add("artifacts."+h.Name+"."+f.name, "", f.value(h))
			}
		}
		for _, f := range fields {
			if f.governs {
				f.clear(&n)
			}
		}
		eff.Artifacts = append(eff.Artifacts, &n)
	}
	var baseEnvs []*Environment
	if base != nil {
		baseEnvs = base.Environments
	}
	for _, b := range baseEnvs {
		h := head.Environment(b.Name)
		if h == nil {
			add("environments."+b.Name, "defined", "removed")
			continue
		}
		for _, f := range environmentFields {
			add("environments."+b.Name+"."+f.name, f.value(b), f.value(h))
		}
	}
	for _, h := range head.Environments {
		if base == nil || base.Environment(h.Name) == nil {
			add("environments."+h.Name, "", "added")
		}
	}
	return eff, changes
}

// IsNew reports whether the artifact is defined by the head only (see
// Govern): it is checked, but nothing governs it before merge.
func IsNew(base *Config, name string) bool { return base == nil || base.Artifact(name) == nil }

func list(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return "[" + strings.Join(s, ", ") + "]"
}

func num(f float64) string {
	if f == 0 {
		return ""
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

func orNone(s string) string {
	if s == "" {
		return none
	}
	return s
}
