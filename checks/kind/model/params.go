package model

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/sourcegraph/conc/pool"

	"github.com/conveyor-dev/conveyor/checks/kind"
	"github.com/conveyor-dev/conveyor/internal/mlflow"
)

// runReader is implemented by registries that read runs (*mlflow.Client).
type runReader interface {
	GetRun(ctx context.Context, runID string) (*mlflow.Run, error)
}

// maxParamLines bounds the params section; the rest is counted.
const maxParamLines = 20

// paramsChanged lists the run parameters in which the candidate differs
// from the version serving in production, for the ML engineer. It is best
// effort: a registry that cannot say leaves the section out rather than
// failing the check.
func paramsChanged(ctx context.Context, reg kind.Registry, cand, prod *mlflow.ModelVersion) string {
	rr, ok := reg.(runReader)
	if !ok || cand == nil || prod == nil || cand.RunID == "" || prod.RunID == "" || cand.Version == prod.Version {
		return ""
	}
	var c, p *mlflow.Run
	g := pool.New().WithErrors().WithContext(ctx)
	g.Go(func(ctx context.Context) (err error) { c, err = rr.GetRun(ctx, cand.RunID); return err })
	g.Go(func(ctx context.Context) (err error) { p, err = rr.GetRun(ctx, prod.RunID); return err })
	if g.Wait() != nil {
		return ""
	}
	keys := map[string]bool{}
	for k := range c.Params {
		keys[k] = true
	}
	for k := range p.Params {
		keys[k] = true
	}
	var lines []string
	for k := range keys {
		cv, cok := c.Params[k]
		pv, pok := p.Params[k]
		if cok && pok && cv == pv {
			continue
		}
		lines = append(lines, fmt.Sprintf("- `%s`: %s -> %s", k, paramValue(pv, pok), paramValue(cv, cok)))
	}
	if len(lines) == 0 {
		return fmt.Sprintf("\nRun parameters: the same as production v%s.\n", prod.Version)
	}
	sort.Strings(lines)
	more := ""
	if len(lines) > maxParamLines {
		more = fmt.Sprintf("\n- ... and %d more", len(lines)-maxParamLines)
		lines = lines[:maxParamLines]
	}
	return fmt.Sprintf("\nRun parameters changed vs production v%s:\n%s%s\n", prod.Version, strings.Join(lines, "\n"), more)
}

func paramValue(v string, ok bool) string {
	if !ok {
		return "(not set)"
	}
	if len(v) > 60 {
		v = v[:57] + "..."
	}
	return "`" + strings.ReplaceAll(v, "`", "'") + "`"
}
