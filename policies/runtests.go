package policies

import (
	"context"
	"fmt"
	"io"
	"sort"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/tester"
)

// RunTests runs the Rego test_ rules of the embedded bundle and of every
// directory in dirs, writing a report like `opa test` (verbose lists every
// test). A parse or compile error is returned as "file:line: message".
func RunTests(ctx context.Context, dirs []string, w io.Writer, verbose bool) (passed, failed int, err error) {
	results, err := runRegoTests(ctx, dirs)
	if err != nil {
		return 0, 0, err
	}
	ch := make(chan *tester.Result, len(results))
	for _, r := range results {
		if r.Pass() {
			passed++
		} else if !r.Skip {
			failed++
		}
		ch <- r
	}
	close(ch)
	if err := (tester.PrettyReporter{Output: w, Verbose: verbose, FailureLine: true}).Report(ch); err != nil {
		return passed, failed, fmt.Errorf("write policy test report: %w", err)
	}
	return passed, failed, nil
}

// runRegoTests collects the results of every Rego test.
func runRegoTests(ctx context.Context, dirs []string) ([]*tester.Result, error) {
	srcs, err := defaultSources(true)
	if err != nil {
		return nil, err
	}
	for _, d := range dirs {
		extra, err := dirSources(d, true)
		if err != nil {
			return nil, err
		}
		srcs = append(srcs, extra...)
	}
	mods, err := parseSources(srcs)
	if err != nil {
		return nil, fmt.Errorf("policy tests: %w", err)
	}
	data, err := configData(nil)
	if err != nil {
		return nil, err
	}
	store := inmem.NewFromObject(map[string]any{"conveyor": map[string]any{"config": data}})
	ch, err := tester.NewRunner().
		SetCompiler(ast.NewCompiler().WithEnablePrintStatements(true)).
		SetStore(store).
		SetDefaultRegoVersion(ast.RegoV1).
		SetModules(mods).
		CapturePrintOutput(true).
		RunTests(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("policy tests: %s", joinRegoError(err))
	}
	var out []*tester.Result
	for r := range ch {
		out = append(out, r)
	}
	// Results arrive in any order; report them by file and line like opa test.
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i].Location, out[j].Location
		if a == nil || b == nil {
			return a != nil
		}
		if a.File != b.File {
			return a.File < b.File
		}
		return a.Row < b.Row
	})
	return out, nil
}

func joinRegoError(err error) string {
	lines := formatRegoError(err, "")
	s := lines[0]
	for _, l := range lines[1:] {
		s += "\n" + l
	}
	return s
}
