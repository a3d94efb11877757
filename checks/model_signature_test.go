package checks

import (
	"strings"
	"testing"

	"github.com/conveyor-dev/conveyor/internal/mlflowfake"
)

// allowBreaking adds `signature: {breaking: allow}` to the fraud model on
// the given sides of the change.
func allowBreaking(t *testing.T, sides ...map[string]string) {
	t.Helper()
	const at = "    evaluation: {metric: auc, min: 0.90, max_regression: 0.005}\n"
	for _, files := range sides {
		cfg := files[configPath]
		if !strings.Contains(cfg, at) {
			t.Fatalf("the example config no longer has %q", at)
		}
		files[configPath] = strings.Replace(cfg, at, at+"    signature: {breaking: allow}\n", 1)
	}
}

// signatures logs production v13's signature and the candidate v14's.
func signatures(ml *mlflowfake.Server, candInputs string) {
	ml.SetSignature("fraud-detector", "13", mlflowfake.Signature{
		Inputs:  `[{"type": "double", "name": "amount", "required": true}, {"type": "string", "name": "country", "required": true}]`,
		Outputs: `[{"type": "long", "required": true}]`,
	})
	ml.SetSignature("fraud-detector", "14", mlflowfake.Signature{Inputs: candInputs, Outputs: `[{"type": "long", "required": true}]`})
}

// A candidate whose signature drops an input production takes fails
// Quality, end to end through the MLflow emulator: the MLmodel files are
// read through the registry's download URI and artifact proxy.
func TestSignatureBreakFailsQuality(t *testing.T) {
	ml := newMLflow(t)
	signatures(ml, `[{"type": "double", "name": "amount", "required": true}]`)
	f := exampleFacts(t, "good", ml)
	pointTo(f, "14")
	q, m := quality(t, f)
	want := "signature breaks production v13: input country removed; keep the inputs production takes, or allow it with signature: {breaking: allow}"
	if q.Result != Fail || !strings.Contains(q.Summary, want) || !strings.Contains(q.Summary, "auc 0.935") {
		t.Fatalf("quality = %+v", q)
	}
	if !strings.Contains(m.Persona, "| input | country | – | string | **breaking**: removed |") || !strings.Contains(m.Persona, "| input | amount | double | double |  |") {
		t.Errorf("the signature table does not show the break:\n%s", m.Persona)
	}
	found := false
	for _, a := range m.Annotations {
		found = found || a.Title == "Model signature breaks production"
	}
	if !found {
		t.Errorf("annotations = %+v", m.Annotations)
	}
	var read []string
	for _, c := range ml.Calls() {
		if strings.HasPrefix(c.Path, mlflowfake.PathArtifacts) {
			read = append(read, c.Path)
		}
	}
	if len(read) != 2 {
		t.Errorf("MLmodel files read: %v, want the candidate's and production's", read)
	}

	// A retyped input breaks too.
	signatures(ml, `[{"type": "double", "name": "amount", "required": true}, {"type": "long", "name": "country", "required": true}]`)
	if q, _ = quality(t, f); q.Result != Fail || !strings.Contains(q.Summary, "input country: type string -> long") {
		t.Fatalf("retyped input: quality = %+v", q)
	}
}

// signature.breaking governs: the base branch's allow lets a break pass
// (and says so); a PR that allows its own break still fails.
func TestSignatureBreakAllowedOnlyByTheBase(t *testing.T) {
	ml := newMLflow(t)
	signatures(ml, `[{"type": "double", "name": "amount", "required": true}]`)
	f := exampleFacts(t, "good", ml)
	pointTo(f, "14")
	allowBreaking(t, f.HeadFiles)
	if q, _ := quality(t, f); q.Result != Fail || !strings.Contains(q.Summary, "input country removed") {
		t.Fatalf("allowed only by the PR: quality = %+v", q)
	}
	allowBreaking(t, f.BaseFiles)
	q, _ := quality(t, f)
	if q.Result != Pass || !strings.Contains(q.Summary, "signature breaks production v13: input country removed (allowed by signature.breaking: allow)") {
		t.Fatalf("allowed by the base: quality = %+v", q)
	}
}

// An added optional input is not a break; an added required one is.
func TestSignatureAddedInputs(t *testing.T) {
	ml := newMLflow(t)
	base := `{"type": "double", "name": "amount", "required": true}, {"type": "string", "name": "country", "required": true}`
	signatures(ml, `[`+base+`, {"type": "string", "name": "channel", "required": false}]`)
	f := exampleFacts(t, "good", ml)
	pointTo(f, "14")
	q, m := quality(t, f)
	if q.Result != Pass || !strings.Contains(q.Summary, "signature compatible with production v13") {
		t.Fatalf("added optional input: quality = %+v", q)
	}
	if !strings.Contains(m.Persona, "| input | channel | string (optional) | – | added |") {
		t.Errorf("table:\n%s", m.Persona)
	}
	signatures(ml, `[`+base+`, {"type": "string", "name": "channel", "required": true}]`)
	if q, _ = quality(t, f); q.Result != Fail || !strings.Contains(q.Summary, "new required input channel") {
		t.Fatalf("added required input: quality = %+v", q)
	}
}

// Without signatures, or with files the registry does not serve, the check
// says what it could not read and does not fail on it.
func TestSignatureNotReadIsSaid(t *testing.T) {
	ml := newMLflow(t)
	ml.SetArtifactURI("fraud-detector", "14", "s3://models/fraud/14")
	f := exampleFacts(t, "good", ml)
	pointTo(f, "14")
	q, m := quality(t, f)
	if q.Result != Pass || !strings.Contains(m.Persona, "Candidate v14: signature not read: its files are at s3://models/fraud/14, which the registry does not serve") {
		t.Fatalf("quality = %+v\n%s", q, m.Persona)
	}
}
