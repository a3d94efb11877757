// Package repoconfig owns the repository configuration (.github/conveyor.yml):
// it parses it with file, line and column for every problem (an artifact's
// kind-specific keys through its registered kind, package checks/kind),
// validates it against the repository tree and the server's drivers,
// classifies a PR's changed files into the artifacts they touch (by the
// kinds' file claims) and merges base and head configs (Govern).
// It only reads bytes handed to it; it never calls GitHub, a model registry or
// the policy engine, and it decides nothing about whether a change may ship.
package repoconfig

import (
	"time"

	"github.com/conveyor-dev/conveyor/checks/kind"

	"github.com/conveyor-dev/conveyor/internal/resources"
)

// Path is where the repository configuration lives in a repository.
const Path = ".github/conveyor.yml"

// Config is a parsed .github/conveyor.yml.
type Config struct {
	Version      int
	Artifacts    []*Artifact    // in file order
	Environments []*Environment // in file order
}

// Artifact returns the artifact with the given name, or nil.
func (c *Config) Artifact(name string) *Artifact {
	for _, a := range c.Artifacts {
		if a.Name == name {
			return a
		}
	}
	return nil
}

// Environment returns the environment with the given name, or nil.
func (c *Config) Environment(name string) *Environment {
	for _, e := range c.Environments {
		if e.Name == name {
			return e
		}
	}
	return nil
}

// Artifact is one deployable thing of a registered kind (package kind).
// repoconfig reads the keys every kind shares; the kind's own keys are its
// Spec.
type Artifact struct {
	Name string
	Kind string // a registered kind: app, model, dbt, ...
	// Owners are GitHub teams ("acme/web") or users, with any leading "@" removed.
	Owners    []string
	CI        []string // names of CI check runs that must pass on the head SHA
	Resources resources.Spec
	Deploy    Deploy
	// Spec is the kind's own block (paths, pointer, project, ...); nil only
	// when the kind is missing or not registered.
	Spec kind.Spec
	Line int // line of the artifact's name in the file

	driverAt position
}

// KindOf returns the registered kind of a, or nil.
func (a *Artifact) KindOf() kind.Kind { return kind.Lookup(a.Kind) }

// View is a as its kind evaluates and plans it.
func (a *Artifact) View(files []string) kind.Artifact {
	return kind.Artifact{Name: a.Name, Line: a.Line, Files: files, CI: a.CI, Spec: a.Spec}
}

// Deploy names the server-side driver that ships the artifact. An empty
// Driver means the artifact is checked but cannot be deployed.
type Deploy struct {
	Driver string
}

// Environment is a deployment target and what it demands.
type Environment struct {
	Name      string
	Requires  []string // environments the same SHA must have succeeded in first
	Approvals Approvals
	Rollout   Rollout
	Freeze    []string // freeze windows, for example "Fri 15:00-Mon 08:00 Europe/Berlin" or "Dec 24-Dec 26 UTC"; checked with freezewindow.Parse
	Line      int
}

// Approvals is how many approvals an environment needs and from whom.
type Approvals struct {
	Count int
	From  []string // teams or users, leading "@" removed
}

// Rollout is the staged rollout of an environment. Steps is nil when the
// environment deploys in one step.
type Rollout struct {
	Steps []int // ascending percentages ending at 100
	Pause time.Duration
}

// Problem is one thing wrong with a file, with its position.
type Problem = kind.Problem
