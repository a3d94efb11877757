package mlflow_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/conveyor-dev/conveyor/internal/mlflow"
	"github.com/conveyor-dev/conveyor/internal/mlflowfake"
)

func TestSignatureReadThroughTheArtifactProxy(t *testing.T) {
	f := newFake(t)
	f.SetSignature("fraud", "14", mlflowfake.Signature{
		Inputs:  `[{"type": "double", "name": "amount", "required": true}, {"type": "string", "name": "country", "required": false}]`,
		Outputs: `[{"type": "long", "required": true}]`,
	})
	c := mlflow.New(f.URL())
	mv, err := c.GetModelVersion(context.Background(), "fraud", "14")
	if err != nil {
		t.Fatal(err)
	}
	f.ResetCalls()
	sig, err := c.Signature(context.Background(), mv)
	if err != nil {
		t.Fatal(err)
	}
	want := &mlflow.Signature{
		Inputs:  []mlflow.Spec{{Name: "amount", Type: "double", Required: true}, {Name: "country", Type: "string"}},
		Outputs: []mlflow.Spec{{Type: "long", Required: true}},
	}
	if !reflect.DeepEqual(sig, want) {
		t.Fatalf("signature = %+v, want %+v", sig, want)
	}
	calls := f.Calls()
	if len(calls) != 2 || calls[0].Path != mlflowfake.PathDownloadURI || calls[1].Path != mlflowfake.PathArtifacts+"0/run-fraud-14/artifacts/model/MLmodel" {
		t.Fatalf("calls = %+v", calls)
	}
}

func TestSignatureOfAnMLflow3LoggedModel(t *testing.T) {
	f := newFake(t)
	id := f.LinkLoggedModel("fraud", "14", map[string]float64{"auc": 0.95})
	f.SetSignature("fraud", "14", mlflowfake.Signature{Inputs: `[{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 4]}}]`})
	c := mlflow.New(f.URL())
	mv, _ := c.GetModelVersion(context.Background(), "fraud", "14")
	sig, err := c.Signature(context.Background(), mv)
	if err != nil || len(sig.Inputs) != 1 || sig.Inputs[0].Type != "tensor float32 (-1, 4)" || sig.Outputs != nil {
		t.Fatalf("signature = %+v, %v", sig, err)
	}
	if last := f.Calls()[len(f.Calls())-1]; !strings.Contains(last.Path, "/models/"+id+"/artifacts/MLmodel") {
		t.Fatalf("read %s, want the logged model's artifacts", last.Path)
	}
}

func TestSignatureNotThere(t *testing.T) {
	f := newFake(t)
	c := mlflow.New(f.URL())
	ctx := context.Background()
	mv13, _ := c.GetModelVersion(ctx, "fraud", "13")
	var ue *mlflow.UnreadableError
	if _, err := c.Signature(ctx, mv13); !errors.As(err, &ue) || !strings.Contains(err.Error(), "no MLmodel file at mlflow-artifacts:/0/run-fraud-13/artifacts/model") {
		t.Fatalf("no MLmodel: %v", err)
	}
	f.SetSignature("fraud", "13", mlflowfake.Signature{})
	if _, err := c.Signature(ctx, mv13); !errors.Is(err, mlflow.ErrNoSignature) {
		t.Fatalf("MLmodel without signature: %v", err)
	}
	f.SetArtifactURI("fraud", "13", "s3://models/fraud/13")
	if _, err := c.Signature(ctx, mv13); !errors.As(err, &ue) || !strings.Contains(err.Error(), "s3://models/fraud/13, which the registry does not serve") {
		t.Fatalf("s3: %v", err)
	}
	uc := mlflow.New(f.URL(), mlflow.WithUnityCatalog())
	if _, err := uc.Signature(ctx, &mlflow.ModelVersion{Name: "main.ml.fraud", Version: "1"}); !errors.As(err, &ue) {
		t.Fatalf("UC: %v", err)
	}
}

func TestParseMLmodel(t *testing.T) {
	mlmodel := `artifact_path: model
flavors:
  python_function: {loader_module: mlflow.sklearn}
signature:
  inputs: '[{"type": "array", "items": {"type": "string"}, "name": "tags", "required": true},
    {"type": "object", "properties": {"b": {"type": "long", "required": false}, "a": {"type": "double", "required": true}}, "name": "meta"},
    {"type": "map", "values": {"type": "double"}, "name": "scores", "required": false}]'
  outputs: null
  params: null
`
	sig, err := mlflow.ParseMLmodel([]byte(mlmodel))
	if err != nil {
		t.Fatal(err)
	}
	want := []mlflow.Spec{
		{Name: "tags", Type: "array<string>", Required: true},
		{Name: "meta", Type: "object{a: double, b: long?}", Required: true},
		{Name: "scores", Type: "map<string, double>"},
	}
	if !reflect.DeepEqual(sig.Inputs, want) || sig.Outputs != nil {
		t.Fatalf("inputs = %+v outputs = %+v", sig.Inputs, sig.Outputs)
	}
	for _, bad := range []string{
		"signature:\n  inputs: 'not json'\n",
		"signature:\n  inputs: '[{\"name\": \"x\"}]'\n",
		"signature: [\n",
	} {
		if _, err := mlflow.ParseMLmodel([]byte(bad)); err == nil || errors.Is(err, mlflow.ErrNoSignature) {
			t.Errorf("%q: %v, want a parse error", bad, err)
		}
	}
	if _, err := mlflow.ParseMLmodel([]byte("flavors: {}\n")); !errors.Is(err, mlflow.ErrNoSignature) {
		t.Errorf("no signature key: %v", err)
	}
}
