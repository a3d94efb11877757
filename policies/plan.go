package policies

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/ir"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/topdown"
)

// The decision query runs as a plan: OPA's planner turns the compiled
// modules into its intermediate representation (the one its Wasm compiler
// starts from: functions of blocks of simple statements over local
// variables), and program runs that plan over ast values with OPA's own
// built-in functions. The rules, their order and their meaning are OPA's;
// what this file adds is a direct way of running them, without topdown's
// unification and backtracking. A plan that uses anything the interpreter
// does not run (with, dynamic calls, non-deterministic or relational
// built-ins) is refused at start and the evaluator keeps topdown
// (Evaluator.Engine says why); TestPlanMatchesTopdown and FuzzPlanMatchesTopdown
// hold the two engines to the same decisions.

// planTarget is the rego target name under which OPA hands over the plan.
const planTarget = "conveyor-plan"

func init() { rego.RegisterPlugin(planTarget, planPlugin{}) }

// planPlugin receives the plan from rego.PrepareForEval and builds a program
// from it; the program travels back to the caller through the context.
type planPlugin struct{}

type planSlot struct {
	prog *program
	err  error
}

type planSlotKey struct{}

func (planPlugin) IsTarget(t string) bool { return t == planTarget }

func (planPlugin) PrepareForEval(ctx context.Context, p *ir.Policy, _ ...rego.PrepareOption) (rego.TargetPluginEval, error) {
	slot, ok := ctx.Value(planSlotKey{}).(*planSlot)
	if !ok {
		return nil, errors.New("policies: plan prepared outside newProgram")
	}
	slot.prog, slot.err = compileProgram(p)
	return unusedEval{}, nil
}

// unusedEval satisfies rego; programs are run through program.eval.
type unusedEval struct{}

func (unusedEval) Eval(context.Context, *rego.EvalContext, ast.Value) (ast.Value, error) {
	return nil, errors.New("policies: the plan runs through program.eval")
}

// newProgram plans query over the compiled modules and the store's data.
func newProgram(ctx context.Context, query string, compiler *ast.Compiler, store storage.Store) (*program, error) {
	slot := &planSlot{}
	pctx := context.WithValue(ctx, planSlotKey{}, slot)
	if _, err := rego.New(
		rego.ParsedQuery(ast.MustParseBody(query)),
		rego.Compiler(compiler),
		rego.Store(store),
		rego.Target(planTarget),
	).PrepareForEval(pctx); err != nil {
		return nil, fmt.Errorf("plan %s: %w", query, err)
	}
	if slot.err != nil {
		return nil, slot.err
	}
	if slot.prog == nil {
		return nil, errors.New("the planner produced no plan")
	}
	data, err := storage.ReadOne(ctx, store, storage.RootPath)
	if err != nil {
		return nil, fmt.Errorf("read policy data: %w", err)
	}
	v, err := ast.InterfaceToValue(data)
	if err != nil {
		return nil, fmt.Errorf("policy data: %w", err)
	}
	slot.prog.data = ast.NewTerm(v)
	return slot.prog, nil
}

// program is a plan ready to run: statements resolved to ops with their
// constants, functions and built-ins looked up once.
type program struct {
	main       []block // the query's blocks
	mainLocals int
	funcs      []*function
	nmemo      int // functions whose result is kept for the evaluation
	stackSize  int // locals of the deepest chain of calls
	data       *ast.Term
}

type function struct {
	name    string
	params  []int
	ret     int
	nlocals int
	blocks  []block
	memo    int // index into the per-evaluation memo, or -1
}

type block []op

type opKind uint8

const (
	opReturn opKind = iota
	opCallFunc
	opCallBuiltin
	opBlock
	opBreak
	opDot
	opLen
	opScan
	opNot
	opAssignInt
	opAssignVar
	opAssignVarOnce
	opResetLocal
	opMakeNull
	opMakeNumber
	opMakeArray
	opMakeObject
	opMakeSet
	opEqual
	opNotEqual
	opIsArray
	opIsObject
	opIsSet
	opIsDefined
	opIsUndefined
	opArrayAppend
	opObjectInsert
	opObjectInsertOnce
	opSetAdd
	opNop
	opResultSetAdd
)

// operand is a local (term == nil) or a constant.
type operand struct {
	local int
	term  *ast.Term
}

type op struct {
	kind    opKind
	a, b    operand
	target  int // result, target, array, object or set local; scan key
	value   int // scan value local
	n       int64
	term    *ast.Term // constant made by opMakeNumber
	args    []operand
	fn      *function
	bi      topdown.BuiltinFunc
	blocks  []block // opBlock; opScan and opNot use blocks[0]
	where   string  // the conflict error of a once-only op
	capHint int
}

// errConflict is a complete rule or an object with two values for one key;
// its text is topdown's ("file:row: eval_conflict_error: ...").
type errConflict string

func (e errConflict) Error() string { return string(e) }

// compileProgram resolves p, or says which construct the interpreter does
// not run.
func compileProgram(p *ir.Policy) (*program, error) {
	if len(p.UnplannedRules) > 0 {
		return nil, fmt.Errorf("the planner left %s unplanned", p.UnplannedRules[0].Path)
	}
	if p.Plans == nil || len(p.Plans.Plans) != 1 {
		return nil, errors.New("want exactly one plan")
	}
	c := &planCompiler{
		policy:  p,
		funcs:   map[string]*function{},
		strings: make([]*ast.Term, len(p.Static.Strings)),
	}
	for i, s := range p.Static.Strings {
		c.strings[i] = ast.StringTerm(s.Value)
	}
	prog := &program{}
	memo := 0
	if p.Funcs != nil {
		for _, f := range p.Funcs.Funcs {
			fn := &function{name: f.Name, ret: int(f.Return), memo: -1}
			for _, l := range f.Params {
				fn.params = append(fn.params, int(l))
			}
			if len(f.Params) == 2 { // (input, data): a rule, not a function
				fn.memo = memo
				memo++
			}
			c.funcs[f.Name] = fn
			prog.funcs = append(prog.funcs, fn)
		}
		for i, f := range p.Funcs.Funcs {
			fn := prog.funcs[i]
			c.rule = f.Name
			if len(f.Path) > 1 {
				c.rule = "data." + strings.Join(f.Path[1:], ".")
			}
			c.maxLocal = fn.ret
			for _, l := range fn.params {
				c.maxLocal = max(c.maxLocal, l)
			}
			for _, b := range f.Blocks {
				ops, err := c.block(b)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", f.Name, err)
				}
				fn.blocks = append(fn.blocks, ops)
			}
			fn.nlocals = c.maxLocal + 1
		}
	}
	c.maxLocal = int(ir.Data)
	for _, b := range p.Plans.Plans[0].Blocks {
		ops, err := c.block(b)
		if err != nil {
			return nil, fmt.Errorf("query: %w", err)
		}
		prog.main = append(prog.main, ops)
	}
	c.mainLocals = c.maxLocal + 1
	prog.nmemo = memo
	prog.mainLocals = c.mainLocals
	need := map[*function]int{}
	deepest := 0
	for _, b := range prog.main {
		d, err := callDepth(b, need, map[*function]bool{})
		if err != nil {
			return nil, err
		}
		deepest = max(deepest, d)
	}
	prog.stackSize = prog.mainLocals + deepest
	return prog, nil
}

// callDepth is the most locals the calls made from b hold at once. Rego has
// no recursion, so a cycle means a plan this interpreter misreads.
func callDepth(b block, need map[*function]int, active map[*function]bool) (int, error) {
	deepest := 0
	for i := range b {
		o := &b[i]
		if o.kind == opCallFunc {
			fn := o.fn
			n, ok := need[fn]
			if !ok {
				if active[fn] {
					return 0, fmt.Errorf("%s calls itself", fn.name)
				}
				active[fn] = true
				inner := 0
				for _, fb := range fn.blocks {
					d, err := callDepth(fb, need, active)
					if err != nil {
						return 0, err
					}
					inner = max(inner, d)
				}
				delete(active, fn)
				n = fn.nlocals + inner
				need[fn] = n
			}
			deepest = max(deepest, n)
		}
		for _, nb := range o.blocks {
			d, err := callDepth(nb, need, active)
			if err != nil {
				return 0, err
			}
			deepest = max(deepest, d)
		}
	}
	return deepest, nil
}

type planCompiler struct {
	rule       string // the function being compiled, as a rule path
	policy     *ir.Policy
	funcs      map[string]*function
	strings    []*ast.Term
	maxLocal   int
	mainLocals int
}

// where is a statement's place as topdown reports it: "file:row".
func (c *planCompiler) where(loc *ir.Location) string {
	file := ""
	if loc.File >= 0 && loc.File < len(c.policy.Static.Files) {
		file = c.policy.Static.Files[loc.File].Value
	}
	return fmt.Sprintf("%s:%d", file, loc.Row)
}

func (c *planCompiler) local(l ir.Local) int {
	c.maxLocal = max(c.maxLocal, int(l))
	return int(l)
}

func (c *planCompiler) operand(o ir.Operand) (operand, error) {
	switch v := o.Value.(type) {
	case ir.Local:
		return operand{local: c.local(v)}, nil
	case ir.Bool:
		return operand{term: ast.InternedTerm(bool(v))}, nil
	case ir.StringIndex:
		if int(v) < 0 || int(v) >= len(c.strings) {
			return operand{}, fmt.Errorf("string constant %d out of range", v)
		}
		return operand{term: c.strings[v]}, nil
	}
	return operand{}, fmt.Errorf("operand %v not supported", o.Value)
}

func (c *planCompiler) blocks(bs []*ir.Block) ([]block, error) {
	out := make([]block, 0, len(bs))
	for _, b := range bs {
		ops, err := c.block(b)
		if err != nil {
			return nil, err
		}
		out = append(out, ops)
	}
	return out, nil
}

func (c *planCompiler) block(b *ir.Block) (block, error) {
	out := make(block, 0, len(b.Stmts))
	for _, s := range b.Stmts {
		o, err := c.stmt(s)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}

func (c *planCompiler) stmt(s ir.Stmt) (op, error) {
	var err error
	two := func(x, y ir.Operand) (a, b operand) {
		if err == nil {
			a, err = c.operand(x)
		}
		if err == nil {
			b, err = c.operand(y)
		}
		return a, b
	}
	switch s := s.(type) {
	case *ir.ReturnLocalStmt:
		return op{kind: opReturn, target: c.local(s.Source)}, nil
	case *ir.CallStmt:
		args := make([]operand, len(s.Args))
		for i, a := range s.Args {
			if args[i], err = c.operand(a); err != nil {
				return op{}, err
			}
		}
		if fn, ok := c.funcs[s.Func]; ok {
			if len(args) != len(fn.params) {
				return op{}, fmt.Errorf("call of %s with %d arguments, it takes %d", s.Func, len(args), len(fn.params))
			}
			return op{kind: opCallFunc, fn: fn, args: args, target: c.local(s.Result)}, nil
		}
		decl, ok := ast.BuiltinMap[s.Func]
		if !ok {
			return op{}, fmt.Errorf("%s is neither a planned function nor a built-in", s.Func)
		}
		if reason := unplannable(decl); reason != "" {
			return op{}, fmt.Errorf("built-in %s %s", s.Func, reason)
		}
		bi := topdown.GetBuiltin(s.Func)
		if bi == nil {
			return op{}, fmt.Errorf("built-in %s has no implementation", s.Func)
		}
		return op{kind: opCallBuiltin, bi: bi, args: args, target: c.local(s.Result)}, nil
	case *ir.BlockStmt:
		bs, err := c.blocks(s.Blocks)
		return op{kind: opBlock, blocks: bs}, err
	case *ir.BreakStmt:
		return op{kind: opBreak, n: int64(s.Index)}, nil
	case *ir.DotStmt:
		a, b := two(s.Source, s.Key)
		return op{kind: opDot, a: a, b: b, target: c.local(s.Target)}, err
	case *ir.LenStmt:
		a, err := c.operand(s.Source)
		return op{kind: opLen, a: a, target: c.local(s.Target)}, err
	case *ir.ScanStmt:
		body, err := c.block(s.Block)
		return op{kind: opScan, a: operand{local: c.local(s.Source)}, target: c.local(s.Key), value: c.local(s.Value), blocks: []block{body}}, err
	case *ir.NotStmt:
		body, err := c.block(s.Block)
		return op{kind: opNot, blocks: []block{body}}, err
	case *ir.AssignIntStmt:
		return op{kind: opAssignInt, term: ast.InternedTerm(int(s.Value)), target: c.local(s.Target)}, nil
	case *ir.AssignVarStmt:
		a, err := c.operand(s.Source)
		return op{kind: opAssignVar, a: a, target: c.local(s.Target)}, err
	case *ir.AssignVarOnceStmt:
		a, err := c.operand(s.Source)
		return op{kind: opAssignVarOnce, a: a, target: c.local(s.Target), where: c.where(s.GetLocation()) + ": eval_conflict_error: rule " + c.rule + " produced conflicting values"}, err
	case *ir.ResetLocalStmt:
		return op{kind: opResetLocal, target: c.local(s.Target)}, nil
	case *ir.MakeNullStmt:
		return op{kind: opMakeNull, target: c.local(s.Target)}, nil
	case *ir.MakeNumberIntStmt:
		return op{kind: opMakeNumber, term: ast.InternedTerm(int(s.Value)), target: c.local(s.Target)}, nil
	case *ir.MakeNumberRefStmt:
		if s.Index < 0 || s.Index >= len(c.strings) {
			return op{}, fmt.Errorf("number constant %d out of range", s.Index)
		}
		return op{kind: opMakeNumber, term: ast.NewTerm(ast.Number(c.policy.Static.Strings[s.Index].Value)), target: c.local(s.Target)}, nil
	case *ir.MakeArrayStmt:
		return op{kind: opMakeArray, capHint: int(s.Capacity), target: c.local(s.Target)}, nil
	case *ir.MakeObjectStmt:
		return op{kind: opMakeObject, target: c.local(s.Target)}, nil
	case *ir.MakeSetStmt:
		return op{kind: opMakeSet, target: c.local(s.Target)}, nil
	case *ir.EqualStmt:
		a, b := two(s.A, s.B)
		return op{kind: opEqual, a: a, b: b}, err
	case *ir.NotEqualStmt:
		a, b := two(s.A, s.B)
		return op{kind: opNotEqual, a: a, b: b}, err
	case *ir.IsArrayStmt:
		a, err := c.operand(s.Source)
		return op{kind: opIsArray, a: a}, err
	case *ir.IsObjectStmt:
		a, err := c.operand(s.Source)
		return op{kind: opIsObject, a: a}, err
	case *ir.IsSetStmt:
		a, err := c.operand(s.Source)
		return op{kind: opIsSet, a: a}, err
	case *ir.IsDefinedStmt:
		return op{kind: opIsDefined, target: c.local(s.Source)}, nil
	case *ir.IsUndefinedStmt:
		return op{kind: opIsUndefined, target: c.local(s.Source)}, nil
	case *ir.ArrayAppendStmt:
		a, err := c.operand(s.Value)
		return op{kind: opArrayAppend, a: a, target: c.local(s.Array)}, err
	case *ir.ObjectInsertStmt:
		a, b := two(s.Key, s.Value)
		return op{kind: opObjectInsert, a: a, b: b, target: c.local(s.Object)}, err
	case *ir.ObjectInsertOnceStmt:
		a, b := two(s.Key, s.Value)
		return op{kind: opObjectInsertOnce, a: a, b: b, target: c.local(s.Object), where: c.where(s.GetLocation()) + ": eval_conflict_error: object keys must be unique"}, err
	case *ir.SetAddStmt:
		a, err := c.operand(s.Value)
		return op{kind: opSetAdd, a: a, target: c.local(s.Set)}, err
	case *ir.NopStmt:
		return op{kind: opNop}, nil
	case *ir.ResultSetAddStmt:
		return op{kind: opResultSetAdd, target: c.local(s.Value)}, nil
	}
	return op{}, fmt.Errorf("statement %T is not run by the plan interpreter", s)
}

// unplannable says why a built-in is left to topdown, or "".
func unplannable(b *ast.Builtin) string {
	switch {
	case b.Nondeterministic:
		return "is non-deterministic"
	case b.Relation:
		return "is a relation"
	}
	switch b.Name {
	case "print", "internal.print", "trace", "opa.runtime", "internal.test_case":
		return "needs the evaluator's context"
	}
	return ""
}
