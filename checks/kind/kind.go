// Package kind owns what an artifact kind is: the Kind interface every kind
// implements (app, model, dbt, and any added later), the types a kind speaks
// in (its config block, the files it claims, its Validate and Quality
// outcome, what a deploy driver receives for it) and the registry the shared
// packages look kinds up in. It holds no kind's knowledge itself, and it
// imports no shared package: checks, repoconfig, commands and deploy handle
// kinds only through this package. See README.md, "Adding an artifact kind".
package kind

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"
)

// Kind is one artifact kind. An implementation is stateless and safe for
// concurrent use; everything per artifact lives in its Spec.
type Kind interface {
	// Name is what `kind:` says in .github/conveyor.yml ("app").
	Name() string
	// Persona names who reads this kind's check ("the ML engineer"), for
	// docs and the README.
	Persona() string
	// Keys are the artifact keys only this kind reads, in the order its
	// docs list them. The common keys (kind, owners, ci, resources,
	// deploy) are read by repoconfig for every kind.
	Keys() []string
	// Parse reads the kind's keys of one artifact block. fields holds the
	// keys of Keys that the block has, in file order; it reports problems
	// through r and returns the spec (never nil, even with problems).
	Parse(r *Doc, a Ident, fields []Field) Spec
	// Schema is the JSON Schema of the kind's keys (property name ->
	// schema) as docs/conveyor.schema.json lists them under
	// $defs.artifact.properties; it may refer to that document's $defs
	// (relativePath, stringList).
	Schema() map[string]any
	// Evaluate runs Validate and Quality for one touched artifact.
	Evaluate(ctx context.Context, env Env, a Artifact) Outcome
	// Plan is what a deploy driver receives for the artifact at a SHA: the
	// kind's payload (nil when the kind has none) and the one line users
	// see for it. unmet says what the user must fix first ("" when
	// nothing); it is only asked for deploys.
	Plan(ctx context.Context, env PlanEnv, a Artifact) (p Payload, unmet string)
}

// Spec is a kind's parsed config block for one artifact.
type Spec interface {
	// Claims says which files belong to the artifact.
	Claims() []Claim
	// Validate checks the block against the repository tree at one ref
	// (files that must exist, files that must parse); it does not repeat
	// what Claims' MustMatch already checks. A problem with an empty File
	// is in .github/conveyor.yml (Line 0: the artifact's line), and its
	// message is prefixed with the artifact's name.
	Validate(t Tree, report func(Problem))
	// Fields lists the block's fields as the governance diff shows them
	// (name under the artifact, value rendered, "" when unset), saying
	// which govern: a field a gate, the policy or a driver reads to decide
	// whether or how a change ships (a model's evaluation) governs, so it
	// is read from the base branch and a pull request cannot set it for
	// itself (repoconfig.Govern).
	Fields() []FieldValue
	// Ungoverned is a copy with its governing fields at their safe
	// defaults: what a new artifact gets until the config adding it is
	// merged.
	Ungoverned() Spec
}

// FieldValue is one field of a kind's block in the governance diff.
type FieldValue struct {
	Name    string // for example "evaluation.min"
	Value   string
	Governs bool
}

// ClaimKind is how a claim matches changed files.
type ClaimKind int

// The ways a kind can claim files.
const (
	Glob   ClaimKind = iota // a doublestar glob ("services/web/**")
	File                    // exactly one path
	Folder                  // every file under a folder ("." is the root)
)

// Claim is one way files map to an artifact.
type Claim struct {
	Kind ClaimKind
	Path string
	// MustMatch makes Validate report a claim that matches no file of the
	// tree, under Key (the config key it was written under) at At.
	MustMatch bool
	Key       string
	At        Pos
}

// Pos is a place in .github/conveyor.yml; the zero Pos means the
// artifact's own line.
type Pos struct{ Line, Col int }

// Ident names the artifact block a kind parses.
type Ident struct {
	Name string
	Node *yaml.Node // the artifact's name key, where "needs key" problems point
}

// Field is one key of an artifact block and its value.
type Field struct {
	Key   string
	Node  *yaml.Node // the key
	Value *yaml.Node
}

// Artifact is a touched artifact as a kind evaluates or plans it.
type Artifact struct {
	Name  string
	Line  int      // line of the artifact's name in the config
	Files []string // its changed files, in PR order
	CI    []string // CI check runs it lists
	Spec  Spec
}

// Payload is what a kind gives a deploy driver. Spec is the kind's own
// JSON-serialisable value (drivers for the kind decode it through
// deploy/driver's Target accessors); when it is a JSON object with a string
// "version" member, that version is what serves after the deploy and what
// a rollback restores, instead of the SHA. Version is what /plan shows in
// its version column ("" shows the SHA); Summary is one line for users.
type Payload struct {
	Spec    any
	Version string
	Summary string
}

// Encode renders p's spec as JSON (nil when there is none).
func (p Payload) Encode() (json.RawMessage, error) {
	if p.Spec == nil {
		return nil, nil
	}
	return json.Marshal(p.Spec)
}

// PlanEnv is what a kind may read while planning a deploy.
type PlanEnv interface {
	// SHA is the commit being deployed.
	SHA() string
	// ReadFile reads one file at SHA.
	ReadFile(ctx context.Context, path string) ([]byte, error)
	// Selection is what the check suite recorded for the artifact on SHA
	// (Outcome.Selection); nil when it recorded nothing.
	Selection() []string
}

var (
	mu       sync.RWMutex
	registry = map[string]Kind{}
	order    []string
)

// Register adds k. It panics on a second kind with the same name or an
// invalid name: both are programming errors found at start-up.
func Register(k Kind) {
	mu.Lock()
	defer mu.Unlock()
	n := k.Name()
	if n == "" || strings.ToLower(n) != n || strings.ContainsAny(n, " \t/") {
		panic(fmt.Sprintf("kind: invalid kind name %q", n))
	}
	if _, dup := registry[n]; dup {
		panic(fmt.Sprintf("kind: %q registered twice", n))
	}
	registry[n] = k
	order = append(order, n)
}

// Ensure registers k unless a kind of that name is registered already, so
// tests and tools can ask for the kinds they need without caring who
// registered them first.
func Ensure(ks ...Kind) {
	for _, k := range ks {
		mu.Lock()
		_, have := registry[k.Name()]
		mu.Unlock()
		if !have {
			func() {
				defer func() {
					// Another caller registered it between the two locks.
					if r := recover(); r != nil && Lookup(k.Name()) == nil {
						panic(r)
					}
				}()
				Register(k)
			}()
		}
	}
}

// Lookup returns the kind called name, or nil.
func Lookup(name string) Kind {
	mu.RLock()
	defer mu.RUnlock()
	return registry[name]
}

// Names lists the registered kinds in registration order.
func Names() []string {
	mu.RLock()
	defer mu.RUnlock()
	return append([]string(nil), order...)
}

// All returns the registered kinds in registration order.
func All() []Kind {
	mu.RLock()
	defer mu.RUnlock()
	out := make([]Kind, 0, len(order))
	for _, n := range order {
		out = append(out, registry[n])
	}
	return out
}

// Or joins names for messages: "app, model or dbt".
func Or(names []string) string {
	switch len(names) {
	case 0:
		return "(no kinds are registered)"
	case 1:
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// MustSchema decodes a kind's JSON Schema fragment written as a JSON object
// literal; it panics on a malformed literal, a programming error.
func MustSchema(src string) map[string]any {
	var m map[string]any
	if err := json.Unmarshal([]byte(src), &m); err != nil {
		panic(fmt.Sprintf("kind: schema fragment: %v", err))
	}
	return m
}
