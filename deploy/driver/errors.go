package driver

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/conveyor-dev/conveyor/internal/secretmask"
)

// Error is a failed deploy or rollback. Its message names the driver, the
// artifact and the environment, says what went wrong and what to do.
type Error struct {
	Driver      string // configured driver name
	Type        string // driver type
	Action      string // deploy or rollback
	Artifact    string
	Environment string
	Err         error
	Hint        string // what to do about it
}

// Error formats the failure as one sentence for users.
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "driver %q (%s): %s of %s to %s failed: %v", e.Driver, e.Type, e.Action, e.Artifact, e.Environment, e.Err)
	if e.Hint != "" {
		b.WriteString("; ")
		b.WriteString(e.Hint)
	}
	return b.String()
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// base holds what every driver shares: its name, type and time budget.
type base struct {
	name    string
	typ     string
	timeout time.Duration
	mask    *secretmask.Masker
}

// start bounds ctx by the driver's timeout and wraps log with an output tail.
func (b base) start(ctx context.Context, log Logger) (context.Context, context.CancelFunc, *progress) {
	ctx, cancel := context.WithTimeout(ctx, b.timeout)
	return ctx, cancel, newProgress(log, b.mask)
}

// run carries out one deploy or rollback: fn runs within the driver's time
// limit with masked progress, its output is kept in the result, and a
// failure becomes the user's error with hint.
func (b base) run(ctx context.Context, t Target, log Logger, deploy bool, hint string, fn func(context.Context, *progress) (Result, error)) (Result, error) {
	ctx, cancel, p := b.start(ctx, log)
	defer cancel()
	res, err := fn(ctx, p)
	res.Output = p.Output()
	if err != nil {
		return res, b.fail(ctx, t, deploy, err, hint)
	}
	return res, nil
}

// requireModel is the model drivers' precondition: the target names a
// registered model (and, when needVersion, its version).
func (b base) requireModel(ctx context.Context, t Target, deploy, needVersion bool, hint string) error {
	if m := t.ModelRef(); m == nil || m.Name == "" || (needVersion && m.Version == "") {
		return b.fail(ctx, t, deploy, errors.New("the target names no model (registered model name and version)"), hint)
	}
	return nil
}

// fail builds the error for a failed action. A context timeout or
// cancellation gets its own hint, since it is the same for every driver.
func (b base) fail(ctx context.Context, t Target, deploy bool, err error, hint string) error {
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded):
		err = fmt.Errorf("stopped after the time limit (%s or the caller's deadline): %w", b.timeout, err)
		hint = fmt.Sprintf("raise drivers.%s.timeout in the server config if it needs longer, or find out why it hangs", b.name)
	case errors.Is(ctx.Err(), context.Canceled):
		err = fmt.Errorf("cancelled: %w", err)
		hint = "it was cancelled before it finished; deploy again to retry"
	}
	// The cause may quote a program's output, an HTTP answer or a URL:
	// masked here, once, for every driver.
	return &Error{Driver: b.name, Type: b.typ, Action: action(deploy), Artifact: t.Artifact, Environment: t.Environment, Err: b.mask.Error(err), Hint: hint}
}
