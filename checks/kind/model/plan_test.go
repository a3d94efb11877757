package model

import (
	"context"
	"io/fs"
	"strings"
	"testing"

	"github.com/conveyor-dev/conveyor/checks/kind"
)

type planEnv struct {
	files map[string]string
	sel   []string
}

func (e planEnv) SHA() string { return strings.Repeat("a", 40) }
func (e planEnv) ReadFile(_ context.Context, p string) ([]byte, error) {
	if c, ok := e.files[p]; ok {
		return []byte(c), nil
	}
	return nil, fs.ErrNotExist
}
func (e planEnv) Selection() []string { return e.sel }

// TestPlanShipsTheVersionTheCheckResolved: an alias pointer deploys the
// version the check evaluated, never what the alias points at later.
func TestPlanShipsTheVersionTheCheckResolved(t *testing.T) {
	a := kind.Artifact{Name: "fraud-model", Spec: &Spec{Pointer: "models/fraud.yaml"}}
	files := map[string]string{"models/fraud.yaml": "registry: main\nmodel: fraud-detector\nalias: champion\n"}
	p, msg := Kind{}.Plan(context.Background(), planEnv{files: files, sel: []string{"14"}}, a)
	ref, _ := p.Spec.(*Ref)
	if msg != "" || ref == nil || ref.Version != "14" || ref.Name != "fraud-detector" || p.Summary != "fraud-detector v14" {
		t.Fatalf("plan = %+v %q", p, msg)
	}
	_, msg = Kind{}.Plan(context.Background(), planEnv{files: files}, a)
	if !strings.Contains(msg, `names alias "champion", and no check at aaaaaaa has resolved it`) {
		t.Fatalf("without a resolved version: %q", msg)
	}
}
