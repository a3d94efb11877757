// Package policies owns the Rego policy that decides who may check, deploy,
// approve, roll back and lock, and what a deployment needs (the contract
// in docs/policies.md). It ships the default bundle (bundle/*.rego), compiles it once
// with the server's extra policies, and evaluates data.conveyor.decision over
// an Input on OPA's own evaluator (topdown), the query prepared once with
// rego.PrepareForEval. The bundle uses only OPA's built-in functions, so the
// stock opa command line tests and evaluates it too. The policy decides and
// Go obeys: this package holds no permission or threshold logic of its own,
// and it fails closed — any error, undefined or malformed result is a denial
// that says so.
package policies

import (
	"context"
	"fmt"
	"time"

	// Freeze windows name IANA zones that OPA's time built-ins load; embed
	// the zone database so they work on machines without tzdata.
	_ "time/tzdata"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/metrics"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/topdown"

	"github.com/conveyor-dev/conveyor/internal/serverconfig"
)

// DecisionQuery is the document every evaluation reads.
const DecisionQuery = "data.conveyor.decision"

// Decision is the policy's answer, shown to users verbatim.
type Decision struct {
	Allow             bool              `json:"allow"`
	Deny              []string          `json:"deny"`
	Warn              []string          `json:"warn"`
	ApprovalsRequired ApprovalsRequired `json:"approvals_required"`
}

// ApprovalsRequired says who must approve. Every group must be met on its own
// (for example 2 from acme/sre or acme/ml-leads, and 1 from acme/finance when
// the cost gate trips); Count and From are the sum and the union.
type ApprovalsRequired struct {
	Count  int             `json:"count"`
	From   []string        `json:"from"`
	Groups []ApprovalGroup `json:"groups,omitempty"`
}

// ApprovalGroup is Count approvals from members of any of the From teams;
// an empty From accepts anyone with write permission.
type ApprovalGroup struct {
	Count int      `json:"count"`
	From  []string `json:"from"`
}

// Meta describes one evaluation for the audit log.
type Meta struct {
	InputDigest string        // sha256 hex of the canonical input JSON (see Digest)
	Revision    string        // sha256 hex of all policy module sources
	Duration    time.Duration // time spent evaluating
	RecordErr   error         // the Recorder's error, if recording failed
}

// Record is one decision as written to the audit log.
type Record struct {
	Time        time.Time
	Action      string
	Actor       string
	Repository  string
	PR          int      // the pull request decided on; 0 when none
	Environment string   // the environment decided on
	Artifacts   []string // the artifacts decided on
	InputDigest string
	Revision    string
	Decision    Decision
}

// Recorder stores every decision; the store implements it.
type Recorder interface {
	RecordDecision(ctx context.Context, r Record) error
}

// Options configure New.
type Options struct {
	Dir      string               // extra policies (package conveyor), may be empty
	Config   *serverconfig.Config // exposed as data.conveyor.config; nil means serverconfig.Default()
	Recorder Recorder             // may be nil
}

// Evaluator evaluates the compiled policy. It is safe for concurrent use:
// OPA's prepared query may be shared between goroutines (see New).
type Evaluator struct {
	query    rego.PreparedEvalQuery
	revision string
	recorder Recorder
	now      func() time.Time
}

// New compiles the default bundle plus opts.Dir once and prepares the
// decision query. A parse or compile error is returned as "file:line: message".
func New(ctx context.Context, opts Options) (*Evaluator, error) {
	srcs, err := defaultSources(false)
	if err != nil {
		return nil, err
	}
	extra, err := dirSources(opts.Dir, false)
	if err != nil {
		return nil, err
	}
	return newEvaluator(ctx, append(srcs, extra...), opts)
}

// newEvaluator compiles srcs; New passes the bundle plus the extra directory.
func newEvaluator(ctx context.Context, srcs []source, opts Options) (*Evaluator, error) {
	mods, err := parseSources(srcs)
	if err != nil {
		return nil, fmt.Errorf("policies: %w", err)
	}
	compiler, err := compileModules(mods)
	if err != nil {
		return nil, fmt.Errorf("policies: %w", err)
	}
	data, err := configData(opts.Config)
	if err != nil {
		return nil, fmt.Errorf("policies: server config: %w", err)
	}
	store, err := newStore(data)
	if err != nil {
		return nil, err
	}
	// Compiled once above and prepared once here. OPA's integration guide
	// ("Integrating with the Go API"): "Preparing queries in advance avoids
	// parsing and compiling the policies on each query and improves
	// performance considerably. Prepared queries are safe to share across
	// multiple Go routines."
	pq, err := rego.New(
		rego.ParsedQuery(ast.MustParseBody(DecisionQuery)),
		rego.Compiler(compiler),
		rego.Store(store),
		// Keep the result as AST: decodeDecision reads it without a JSON detour.
		rego.GenerateJSON(func(t *ast.Term, _ *rego.EvalContext) (any, error) { return t, nil }),
	).PrepareForEval(ctx)
	if err != nil {
		return nil, fmt.Errorf("policies: prepare %s: %w", DecisionQuery, err)
	}
	return &Evaluator{query: pq, revision: revision(srcs), recorder: opts.Recorder, now: time.Now}, nil
}

func newStore(data map[string]any) (storage.Store, error) {
	v, err := ast.InterfaceToValue(map[string]any{"conveyor": map[string]any{"config": data}})
	if err != nil {
		return nil, fmt.Errorf("policies: server config as policy data: %w", err)
	}
	obj, ok := v.(ast.Object)
	if !ok {
		return nil, fmt.Errorf("policies: server config as policy data is a %T, not an object", v)
	}
	return inmem.NewFromASTObject(obj), nil
}

// Revision is the hash of the policy sources this evaluator runs.
func (e *Evaluator) Revision() string { return e.revision }

// Eval decides over in. It never fails open: an evaluation error, an undefined
// or malformed result becomes a denial whose reason says so. The decision is
// passed to the Recorder; a recording error is returned in Meta.RecordErr and
// does not change the decision. The returned error is only for a cancelled ctx.
func (e *Evaluator) Eval(ctx context.Context, in Input) (Decision, Meta, error) {
	start := e.now()
	meta := Meta{Revision: e.revision}
	dec, err := e.decide(ctx, in, &meta)
	meta.Duration = time.Since(start)
	if err != nil {
		dec = failClosed(err)
	}
	if e.recorder != nil {
		meta.RecordErr = e.recorder.RecordDecision(ctx, Record{
			Time:        start.UTC(),
			Action:      in.Action,
			Actor:       in.Actor.Login,
			Repository:  in.Repository,
			PR:          in.PullRequest.GetNumber(),
			Environment: in.Environment.Name,
			Artifacts:   artifactNames(in),
			InputDigest: meta.InputDigest,
			Revision:    e.revision,
			Decision:    dec,
		})
	}
	if cerr := ctx.Err(); cerr != nil {
		return dec, meta, cerr
	}
	return dec, meta, nil
}

func (e *Evaluator) decide(ctx context.Context, in Input, meta *Meta) (Decision, error) {
	digest, err := Digest(in)
	if err != nil {
		return Decision{}, err
	}
	meta.InputDigest = digest
	input, err := inputValue(in)
	if err != nil {
		return Decision{}, err
	}
	// Cancellation is wired with context.AfterFunc rather than OPA's default
	// goroutine per query, and metrics are off: nothing reads them.
	cancel := topdown.NewCancel()
	stop := context.AfterFunc(ctx, cancel.Cancel)
	rs, err := e.query.Eval(ctx,
		rego.EvalParsedInput(input),
		rego.EvalExternalCancel(cancel),
		rego.EvalMetrics(noMetrics),
	)
	stop()
	if err == nil {
		// A decision finished after its request was cancelled is not handed
		// out: the request is over.
		err = ctx.Err()
	}
	if err != nil {
		return Decision{}, err
	}
	if len(rs) == 0 || len(rs[0].Expressions) == 0 {
		return Decision{}, fmt.Errorf("%s is undefined", DecisionQuery)
	}
	return decodeDecision(rs[0].Expressions[0].Value)
}

var noMetrics = metrics.NoOp()

// failClosed is the decision when the policy could not decide.
func failClosed(err error) Decision {
	return Decision{
		Allow:             false,
		Deny:              []string{fmt.Sprintf("policy evaluation failed: %v; denying", err)},
		Warn:              []string{},
		ApprovalsRequired: ApprovalsRequired{From: []string{}},
	}
}
