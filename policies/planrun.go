package policies

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"unicode/utf8"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/topdown"
)

// Branch signals of run. A block that runs to its end returns fellThrough;
// n >= 0 leaves n+1 enclosing blocks, as the plan's BreakStmt and every
// failing statement (n = 0) do; unwinding signals pass every block on the way
// to the function boundary. Loops and negations count as blocks the way the
// plan counts them: a scan is two (its loop and the block around it, so 0
// continues with the next element and 1 ends the scan), a negation one.
const (
	fellThrough = -1
	unwindRet   = -2
	unwindAbort = -3
)

var nullTerm = ast.NullTerm()

// planRun is the state of one evaluation; runs are pooled.
type planRun struct {
	prog    *program
	bctx    topdown.BuiltinContext
	cancel  topdown.Cancel
	stack   []*ast.Term // locals of the active frames
	top     int
	memo    []*ast.Term
	done    []bool
	args    []*ast.Term // operands of the built-in being called
	out     *ast.Term   // its output
	iter    func(*ast.Term) error
	ret     *ast.Term
	err     error
	results []*ast.Term
}

var planRuns sync.Pool

func (p *program) getRun() *planRun {
	r, _ := planRuns.Get().(*planRun)
	if r == nil || r.prog != p {
		r = &planRun{prog: p}
		r.iter = func(t *ast.Term) error { r.out = t; return nil }
	}
	if len(r.stack) < p.stackSize {
		r.stack = make([]*ast.Term, p.stackSize)
	}
	if len(r.memo) < p.nmemo {
		r.memo = make([]*ast.Term, p.nmemo)
		r.done = make([]bool, p.nmemo)
	}
	return r
}

func (r *planRun) release() {
	clear(r.stack[:r.prog.stackSize])
	clear(r.memo)
	clear(r.done)
	clear(r.args[:cap(r.args)])
	r.top, r.out, r.ret, r.err = 0, nil, nil, nil
	r.results = r.results[:0]
	r.bctx = topdown.BuiltinContext{}
	r.cancel = nil
	planRuns.Put(r)
}

// eval runs the plan over input and returns the query's value (nil when it
// is undefined). Errors are conflicts, cancellation, a built-in that halts,
// or a plan the interpreter cannot follow (reported, never a panic).
func (p *program) eval(ctx context.Context, input ast.Value, cancel topdown.Cancel) (v *ast.Term, err error) {
	r := p.getRun()
	defer func() {
		if x := recover(); x != nil {
			v, err = nil, fmt.Errorf("policy plan failed: %v", x)
			// A run that panicked may hold a half-built state: let it go.
			return
		}
		r.release()
	}()
	r.cancel = cancel
	// No Cache, Seed or Time: only the non-deterministic built-ins, which a
	// plan never calls (see unplannable), use them.
	r.bctx = topdown.BuiltinContext{Context: ctx, Metrics: noMetrics, Cancel: cancel}
	locals := r.frame(p.mainLocals)
	locals[0] = ast.NewTerm(input)
	locals[1] = p.data
	for _, b := range p.main {
		x := r.run(b, locals)
		if x == unwindAbort {
			return nil, r.err
		}
		if x < fellThrough || x > 0 {
			return nil, fmt.Errorf("policy plan: query block ended with signal %d", x)
		}
	}
	switch len(r.results) {
	case 0:
		return nil, nil
	case 1:
		obj, ok := r.results[0].Value.(ast.Object)
		if !ok || obj.Len() != 1 {
			return nil, fmt.Errorf("policy plan: query result is %v", r.results[0])
		}
		var out *ast.Term
		obj.Foreach(func(_, v *ast.Term) { out = v })
		return out, nil
	}
	return nil, fmt.Errorf("policy plan: query has %d results, want one", len(r.results))
}

// frame takes n zeroed locals off the stack.
func (r *planRun) frame(n int) []*ast.Term {
	f := r.stack[r.top : r.top+n : r.top+n]
	clear(f)
	r.top += n
	return f
}

func (r *planRun) get(o operand, l []*ast.Term) *ast.Term {
	if o.term != nil {
		return o.term
	}
	return l[o.local]
}

func (r *planRun) abort(err error) int {
	r.err = err
	return unwindAbort
}

// call runs fn with args read from the caller's locals; nil is undefined.
func (r *planRun) call(fn *function, args []operand, caller []*ast.Term) (*ast.Term, int) {
	if fn.memo >= 0 && r.done[fn.memo] {
		return r.memo[fn.memo], fellThrough
	}
	saved := r.top
	l := r.frame(fn.nlocals)
	for i, p := range fn.params {
		l[p] = r.get(args[i], caller)
	}
	var result *ast.Term
	for _, b := range fn.blocks {
		x := r.run(b, l)
		if x == unwindRet {
			result = r.ret
			break
		}
		if x == unwindAbort {
			r.top = saved
			return nil, x
		}
		if x > 0 {
			r.top = saved
			return nil, r.abort(fmt.Errorf("policy plan: %s breaks out of the function", fn.name))
		}
	}
	r.top = saved
	if fn.memo >= 0 {
		r.memo[fn.memo], r.done[fn.memo] = result, true
	}
	return result, fellThrough
}

// run executes one block and returns its branch signal.
func (r *planRun) run(b block, l []*ast.Term) int {
	for i := range b {
		o := &b[i]
		switch o.kind {
		case opReturn:
			r.ret = l[o.target]
			return unwindRet
		case opCallFunc:
			v, x := r.call(o.fn, o.args, l)
			if x != fellThrough {
				return x
			}
			if v == nil {
				return 0
			}
			l[o.target] = v
		case opCallBuiltin:
			if x := r.callBuiltin(o, l); x != fellThrough {
				return x
			}
		case opBlock:
			for _, nb := range o.blocks {
				x := r.run(nb, l)
				if x < fellThrough {
					return x
				}
				if x > 0 {
					return x - 1
				}
			}
		case opBreak:
			return int(o.n)
		case opDot:
			src, key := r.get(o.a, l), r.get(o.b, l)
			if src == nil || key == nil {
				return 0
			}
			v := dot(src.Value, key)
			if v == nil {
				return 0
			}
			l[o.target] = v
		case opLen:
			src := r.get(o.a, l)
			if src == nil {
				return 0
			}
			n, ok := length(src.Value)
			if !ok {
				return 0
			}
			l[o.target] = ast.InternedTerm(n)
		case opScan:
			if x := r.scan(o, l); x != fellThrough {
				return x
			}
		case opNot:
			x := r.run(o.blocks[0], l)
			switch {
			case x == fellThrough:
				return 0
			case x == 0:
			case x < fellThrough:
				return x
			default:
				return x - 1
			}
		case opAssignInt, opMakeNumber:
			l[o.target] = o.term
		case opAssignVar:
			l[o.target] = r.get(o.a, l)
		case opAssignVarOnce:
			v := r.get(o.a, l)
			if cur := l[o.target]; cur != nil && v != nil && cur.Value.Compare(v.Value) != 0 {
				return r.abort(errConflict(o.where))
			}
			l[o.target] = v
		case opResetLocal:
			l[o.target] = nil
		case opMakeNull:
			l[o.target] = nullTerm
		case opMakeArray:
			l[o.target] = ast.NewTerm(ast.NewArrayWithCapacity(o.capHint))
		case opMakeObject:
			l[o.target] = ast.NewTerm(ast.NewObject())
		case opMakeSet:
			l[o.target] = ast.NewTerm(ast.NewSet())
		case opEqual, opNotEqual:
			a, c := r.get(o.a, l), r.get(o.b, l)
			if a == nil || c == nil {
				return 0
			}
			if (a.Value.Compare(c.Value) == 0) != (o.kind == opEqual) {
				return 0
			}
		case opIsArray:
			if v := r.get(o.a, l); v == nil || !isArray(v.Value) {
				return 0
			}
		case opIsObject:
			if v := r.get(o.a, l); v == nil || !isObject(v.Value) {
				return 0
			}
		case opIsSet:
			if v := r.get(o.a, l); v == nil || !isSet(v.Value) {
				return 0
			}
		case opIsDefined:
			if l[o.target] == nil {
				return 0
			}
		case opIsUndefined:
			if l[o.target] != nil {
				return 0
			}
		case opArrayAppend:
			t, v := l[o.target], r.get(o.a, l)
			arr, ok := t.Value.(*ast.Array)
			if !ok || v == nil {
				return r.abort(fmt.Errorf("policy plan: append to %v", t))
			}
			t.Value = arr.Append(v)
		case opObjectInsert, opObjectInsertOnce:
			t, k, v := l[o.target], r.get(o.a, l), r.get(o.b, l)
			obj, ok := t.Value.(ast.Object)
			if !ok || k == nil || v == nil {
				return r.abort(fmt.Errorf("policy plan: insert into %v", t))
			}
			if o.kind == opObjectInsertOnce {
				if cur := obj.Get(k); cur != nil && cur.Value.Compare(v.Value) != 0 {
					return r.abort(errConflict(o.where))
				}
			}
			obj.Insert(k, v)
		case opSetAdd:
			t, v := l[o.target], r.get(o.a, l)
			set, ok := t.Value.(ast.Set)
			if !ok || v == nil {
				return r.abort(fmt.Errorf("policy plan: add to %v", t))
			}
			set.Add(v)
		case opNop:
		case opResultSetAdd:
			r.results = append(r.results, l[o.target])
		default:
			return r.abort(fmt.Errorf("policy plan: op %d", o.kind))
		}
	}
	return fellThrough
}

// callBuiltin calls one of OPA's built-ins as topdown does outside strict
// mode: an error makes the call undefined, a Halt stops the evaluation.
func (r *planRun) callBuiltin(o *op, l []*ast.Term) int {
	args := r.args[:0]
	for _, a := range o.args {
		t := r.get(a, l)
		if t == nil {
			return 0
		}
		args = append(args, t)
	}
	r.args = args
	r.out = nil
	if err := o.bi(r.bctx, args, r.iter); err != nil {
		var halt topdown.Halt
		if errors.As(err, &halt) {
			return r.abort(halt.Err)
		}
		return 0
	}
	if r.out == nil {
		return 0
	}
	l[o.target] = r.out
	return fellThrough
}

// scan runs the body once per element of the source, in topdown's order.
func (r *planRun) scan(o *op, l []*ast.Term) int {
	src := l[o.a.local]
	if src == nil {
		return fellThrough
	}
	out := fellThrough
	switch v := src.Value.(type) {
	case *ast.Array:
		for i := 0; i < v.Len(); i++ {
			if stop, x := r.scanStep(o, l, ast.InternedTerm(i), v.Elem(i)); stop {
				return x
			}
		}
	case ast.Object:
		v.Until(func(k, e *ast.Term) bool {
			stop, x := r.scanStep(o, l, k, e)
			out = x
			return stop
		})
	case ast.Set:
		v.Until(func(e *ast.Term) bool {
			stop, x := r.scanStep(o, l, e, e)
			out = x
			return stop
		})
	}
	return out
}

// scanStep runs the scan's body for one element: stop ends the scan, with x
// the signal the scan passes on.
func (r *planRun) scanStep(o *op, l []*ast.Term, k, v *ast.Term) (stop bool, x int) {
	if r.cancel != nil && r.cancel.Cancelled() {
		return true, r.abort(errors.New("policy evaluation cancelled"))
	}
	l[o.target], l[o.value] = k, v
	switch x := r.run(o.blocks[0], l); {
	case x == fellThrough || x == 0:
		return false, fellThrough
	case x == 1:
		return true, fellThrough
	case x < fellThrough:
		return true, x
	default:
		return true, x - 2
	}
}

// dot is src[key] for objects, arrays and sets; nil is undefined.
func dot(src ast.Value, key *ast.Term) *ast.Term {
	switch v := src.(type) {
	case ast.Object:
		return v.Get(key)
	case *ast.Array:
		n, ok := key.Value.(ast.Number)
		if !ok {
			return nil
		}
		i, ok := n.Int()
		if !ok || i < 0 || i >= v.Len() {
			return nil
		}
		return v.Elem(i)
	case ast.Set:
		if v.Contains(key) {
			return key
		}
	}
	return nil
}

func length(v ast.Value) (int, bool) {
	switch v := v.(type) {
	case *ast.Array:
		return v.Len(), true
	case ast.Object:
		return v.Len(), true
	case ast.Set:
		return v.Len(), true
	case ast.String:
		return utf8.RuneCountInString(string(v)), true
	}
	return 0, false
}

func isArray(v ast.Value) bool  { _, ok := v.(*ast.Array); return ok }
func isObject(v ast.Value) bool { _, ok := v.(ast.Object); return ok }
func isSet(v ast.Value) bool    { _, ok := v.(ast.Set); return ok }
