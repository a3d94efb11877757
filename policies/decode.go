package policies

import (
	"fmt"

	"github.com/open-policy-agent/opa/v1/ast"
)

// decodeDecision reads the decision document strictly: every field must be
// present with its type, so a policy that returns something else is caught
// and denied rather than half-read.
func decodeDecision(v any) (Decision, error) {
	t, ok := v.(*ast.Term)
	if !ok {
		return Decision{}, fmt.Errorf("%s is a %T, not a policy value", DecisionQuery, v)
	}
	obj, ok := t.Value.(ast.Object)
	if !ok {
		return Decision{}, fmt.Errorf("%s is %s, not an object with allow, deny, warn and approvals_required", DecisionQuery, ast.ValueName(t.Value))
	}
	var d Decision
	var err error
	allow, ok := field(obj, "allow").(ast.Boolean)
	if !ok {
		return Decision{}, malformed("allow", "a boolean")
	}
	if d.Deny, err = stringList(obj, "deny"); err != nil {
		return Decision{}, err
	}
	if d.Warn, err = stringList(obj, "warn"); err != nil {
		return Decision{}, err
	}
	ar, ok := field(obj, "approvals_required").(ast.Object)
	if !ok {
		return Decision{}, malformed("approvals_required", "an object with count and from")
	}
	if d.ApprovalsRequired.Count, err = count(ar, "approvals_required.count"); err != nil {
		return Decision{}, err
	}
	if d.ApprovalsRequired.From, err = stringList(ar, "from"); err != nil {
		return Decision{}, err
	}
	if g := field(ar, "groups"); g != nil {
		if d.ApprovalsRequired.Groups, err = groups(g); err != nil {
			return Decision{}, err
		}
	}
	// A policy that allows while giving reasons to deny contradicts itself;
	// the denial wins.
	d.Allow = bool(allow) && len(d.Deny) == 0
	return d, nil
}

func field(obj ast.Object, key string) ast.Value {
	t := obj.Get(ast.InternedTerm(key))
	if t == nil {
		return nil
	}
	return t.Value
}

func malformed(name, want string) error {
	return fmt.Errorf("the decision's %s is missing or not %s", name, want)
}

// stringList reads an array (or set) of strings; missing means empty.
func stringList(obj ast.Object, key string) ([]string, error) {
	out := []string{}
	v := field(obj, key)
	if v == nil {
		return out, nil
	}
	var bad bool
	each := func(t *ast.Term) {
		s, ok := t.Value.(ast.String)
		if !ok {
			bad = true
			return
		}
		out = append(out, string(s))
	}
	switch c := v.(type) {
	case *ast.Array:
		c.Foreach(each)
	case ast.Set:
		c.Foreach(each)
	default:
		return nil, malformed(key, "a list of strings")
	}
	if bad {
		return nil, malformed(key, "a list of strings")
	}
	return out, nil
}

func count(obj ast.Object, name string) (int, error) {
	n, ok := field(obj, "count").(ast.Number)
	if !ok {
		return 0, malformed(name, "a whole number")
	}
	i, ok := n.Int()
	if !ok || i < 0 {
		return 0, malformed(name, "a whole number")
	}
	return i, nil
}

func groups(v ast.Value) ([]ApprovalGroup, error) {
	var out []ApprovalGroup
	var err error
	each := func(t *ast.Term) {
		if err != nil {
			return
		}
		obj, ok := t.Value.(ast.Object)
		if !ok {
			err = malformed("approvals_required.groups", "a list of {count, from} objects")
			return
		}
		var g ApprovalGroup
		if g.Count, err = count(obj, "approvals_required.groups[].count"); err != nil {
			return
		}
		g.From, err = stringList(obj, "from")
		out = append(out, g)
	}
	switch c := v.(type) {
	case *ast.Array:
		c.Foreach(each)
	case ast.Set:
		c.Foreach(each)
	default:
		return nil, malformed("approvals_required.groups", "a list of {count, from} objects")
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}
