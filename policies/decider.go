package policies

import "context"

// Decider decides an action over its input. It is the one policy interface
// the check suite, the slash commands and Slack approvals consume;
// *Evaluator implements it, and tests substitute their own.
type Decider interface {
	Eval(ctx context.Context, in Input) (Decision, Meta, error)
}

var _ Decider = (*Evaluator)(nil)
