package model

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/sourcegraph/conc/pool"
	"gopkg.in/yaml.v3"

	"github.com/conveyor-dev/conveyor/checks/kind"
	"github.com/conveyor-dev/conveyor/internal/mlflow"
)

// Values of signature.breaking.
const (
	BreakingAllow = "allow"
	BreakingDeny  = "deny"
)

// SignatureRule is an artifact's `signature:` block: whether a breaking
// change of the model signature against the version serving in production
// fails Quality (deny, the default) or is only shown (allow). It governs,
// like evaluation: a pull request cannot allow its own break.
type SignatureRule struct {
	Breaking string
}

// breaking is the rule's value as the governance table shows it ("" when unset).
func (r *SignatureRule) breaking() string {
	if r == nil {
		return ""
	}
	return r.Breaking
}

func signatureRule(r *kind.Doc, v *yaml.Node, what string) *SignatureRule {
	s := &SignatureRule{Breaking: BreakingDeny}
	what += ": signature"
	r.Fields(v, what, "signature: {breaking: allow}", []string{"breaking"}, func(k, v *yaml.Node) {
		if b, ok := r.Str(v, what+".breaking", "breaking: allow"); ok {
			if b != BreakingAllow && b != BreakingDeny {
				r.Add(v, "%s.breaking must be allow or deny, not %q; write for example breaking: allow", what, b)
			} else {
				s.Breaking = b
			}
		}
	})
	return s
}

// signatureReader is implemented by registries that read model signatures
// (*mlflow.Client).
type signatureReader interface {
	Signature(ctx context.Context, mv *mlflow.ModelVersion) (*mlflow.Signature, error)
}

// sigCheck is what the signature comparison adds to the check.
type sigCheck struct {
	text     string // the ML engineer's view (markdown), "" when nothing was read
	breaking string // the breaking changes, as a Quality line; "" when none
	note     string // a Quality line when nothing breaks
	wait     error  // the registry was unavailable
}

// checkSignature reads the candidate's signature and production's and
// compares them the way a data contract is compared (dbt's contract check,
// core/dbt/contracts/graph/nodes.py, same_contract): an input removed or
// retyped breaks callers, a new required input breaks them, a new optional
// one does not; an output removed or retyped breaks consumers, a new output
// does not.
func checkSignature(ctx context.Context, reg kind.Registry, rule *SignatureRule, cand, prod *mlflow.ModelVersion) sigCheck {
	sr, ok := reg.(signatureReader)
	if !ok || cand == nil {
		return sigCheck{}
	}
	if prod != nil && prod.Version == cand.Version {
		prod = nil // already serving: nothing to compare
	}
	var cs, ps *mlflow.Signature
	var cErr, pErr error
	p := pool.New().WithContext(ctx)
	p.Go(func(ctx context.Context) error { cs, cErr = sr.Signature(ctx, cand); return nil })
	if prod != nil {
		p.Go(func(ctx context.Context) error { ps, pErr = sr.Signature(ctx, prod); return nil })
	}
	_ = p.Wait()
	for _, err := range []error{cErr, pErr} {
		if err != nil && mlflow.IsUnavailable(err) {
			return sigCheck{wait: err}
		}
	}
	var b strings.Builder
	b.WriteString("\n#### Signature\n\n")
	if cErr != nil {
		fmt.Fprintf(&b, "Candidate v%s: %s.\n", cand.Version, notRead(cErr))
		if errors.Is(cErr, mlflow.ErrNoSignature) && ps != nil {
			return sigCheck{text: b.String(), note: fmt.Sprintf("candidate v%s logged no signature, so its inputs were not compared with production v%s's", cand.Version, prod.Version)}
		}
		return sigCheck{text: b.String()}
	}
	if prod == nil || ps == nil {
		if prod != nil {
			fmt.Fprintf(&b, "Production v%s: %s; the candidate's is shown alone.\n\n", prod.Version, notRead(pErr))
		}
		b.WriteString("| | name | candidate v" + cand.Version + " |\n|---|---|---|\n")
		for _, row := range []struct {
			side  string
			specs []mlflow.Spec
		}{{"input", cs.Inputs}, {"output", cs.Outputs}} {
			for i, s := range row.specs {
				fmt.Fprintf(&b, "| %s | %s | %s |\n", row.side, specName(s, i), specText(&s))
			}
		}
		return sigCheck{text: b.String()}
	}
	rows, breaks := diffSignature(ps, cs)
	fmt.Fprintf(&b, "| | name | candidate v%s | production v%s | change |\n|---|---|---|---|---|\n", cand.Version, prod.Version)
	b.WriteString(rows)
	out := sigCheck{text: b.String()}
	if len(breaks) == 0 {
		out.note = fmt.Sprintf("signature compatible with production v%s", prod.Version)
		return out
	}
	line := fmt.Sprintf("signature breaks production v%s: %s", prod.Version, strings.Join(breaks, "; "))
	if rule.breaking() == BreakingAllow {
		out.note = line + " (allowed by signature.breaking: allow)"
		return out
	}
	out.breaking = line + "; keep the inputs production takes, or allow it with signature: {breaking: allow}"
	return out
}

// notRead says why a signature was not read.
func notRead(err error) string {
	var ue *mlflow.UnreadableError
	switch {
	case errors.Is(err, mlflow.ErrNoSignature):
		return "no signature logged"
	case errors.As(err, &ue):
		return "signature not read: " + ue.Reason
	}
	return "signature not read: " + strings.TrimPrefix(err.Error(), "MLflow: ")
}

// diffSignature lists production's and the candidate's specs side by side,
// inputs then outputs, and the changes that break production's callers.
func diffSignature(prod, cand *mlflow.Signature) (string, []string) {
	var b strings.Builder
	var breaks []string
	for _, side := range []struct {
		name       string
		prod, cand []mlflow.Spec
	}{{"input", prod.Inputs, cand.Inputs}, {"output", prod.Outputs, cand.Outputs}} {
		pm, order := keyed(side.prod)
		cm, corder := keyed(side.cand)
		for _, k := range corder {
			if _, ok := pm[k]; !ok {
				order = append(order, k)
			}
		}
		for _, k := range order {
			p, c := pm[k], cm[k]
			change, short := "", ""
			switch {
			case c == nil:
				change, short = side.name+" "+k+" removed", "removed"
			case p == nil && side.name == "input" && c.Required:
				change, short = "new required input "+k, "added, required"
			case p == nil:
				fmt.Fprintf(&b, "| %s | %s | %s | – | added |\n", side.name, k, specText(c))
				continue
			case p.Type != c.Type:
				change, short = fmt.Sprintf("%s %s: type %s -> %s", side.name, k, p.Type, c.Type), "type changed"
			case side.name == "input" && c.Required && !p.Required:
				change, short = "input "+k+" is now required", "now required"
			}
			cell := "–"
			if c != nil {
				cell = specText(c)
			}
			pcell := "–"
			if p != nil {
				pcell = specText(p)
			}
			mark := ""
			if change != "" {
				breaks = append(breaks, change)
				mark = "**breaking**: " + short
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", side.name, k, cell, pcell, mark)
		}
	}
	return b.String(), breaks
}

// keyed indexes specs by name, or by position ("#1") when they are unnamed,
// as MLflow matches unnamed columns and tensors by position.
func keyed(specs []mlflow.Spec) (map[string]*mlflow.Spec, []string) {
	m := make(map[string]*mlflow.Spec, len(specs))
	order := make([]string, 0, len(specs))
	for i := range specs {
		k := specName(specs[i], i)
		m[k] = &specs[i]
		order = append(order, k)
	}
	return m, order
}

func specName(s mlflow.Spec, i int) string {
	if s.Name != "" {
		return s.Name
	}
	return fmt.Sprintf("#%d", i+1)
}

func specText(s *mlflow.Spec) string {
	if s.Required {
		return s.Type
	}
	return s.Type + " (optional)"
}
