// Package repoconfig owns the repository configuration (.github/conveyor.yml)
// and model pointer files: it parses them with file, line and column for every
// problem, validates them against the repository tree and the server's
// drivers, and classifies a PR's changed files into the artifacts they touch.
// It only reads bytes handed to it; it never calls GitHub, a model registry or
// the policy engine, and it decides nothing about whether a change may ship.
package repoconfig

import (
	"fmt"
	"time"

	"github.com/conveyor-dev/conveyor/internal/resources"
)

// Path is where the repository configuration lives in a repository.
const Path = ".github/conveyor.yml"

// Artifact kinds.
const (
	KindApp   = "app"
	KindModel = "model"
	KindDBT   = "dbt"
)

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

// Artifact is one deployable thing: an app, a model or a dbt project.
type Artifact struct {
	Name     string
	Kind     string   // app, model or dbt
	Paths    []string // app: doublestar globs
	Pointer  string   // model: path of the registry pointer file
	Project  string   // dbt: folder holding dbt_project.yml, trailing slash trimmed ("." is the root)
	Manifest string   // dbt: optional path of a committed manifest.json
	// Owners are GitHub teams ("acme/web") or users, with any leading "@" removed.
	Owners     []string
	CI         []string // names of CI check runs that must pass on the head SHA
	Resources  resources.Spec
	Evaluation *Evaluation // model only; nil when not configured
	Deploy     Deploy
	Line       int // line of the artifact's name in the file

	pos artifactPos
}

// artifactPos remembers where values were written so Validate can point at them.
type artifactPos struct {
	paths                              []position
	pointer, project, manifest, driver position
}

type position struct{ line, col int }

// Evaluation is the quality gate for a model's candidate version.
type Evaluation struct {
	Metric        string
	Min           *float64 // the candidate's metric must be at least this
	MaxRegression *float64 // and at most this much below the version serving in production
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

// Problem is one thing wrong with a file, with its position. Line and Column
// are 1-based; Column is 0 when unknown. Message says what is wrong and what
// to write instead.
type Problem struct {
	File    string
	Line    int
	Column  int
	Message string
}

// String renders the problem as file:line:column: message.
func (p Problem) String() string {
	switch {
	case p.Line == 0:
		return fmt.Sprintf("%s: %s", p.File, p.Message)
	case p.Column == 0:
		return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Message)
	default:
		return fmt.Sprintf("%s:%d:%d: %s", p.File, p.Line, p.Column, p.Message)
	}
}
