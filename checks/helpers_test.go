package checks

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/conveyor-dev/conveyor/examples"
	"github.com/conveyor-dev/conveyor/internal/mlflow"
	"github.com/conveyor-dev/conveyor/internal/mlflowfake"
	"github.com/conveyor-dev/conveyor/internal/serverconfig"
	"github.com/conveyor-dev/conveyor/policies"
)

const exampleDir = "../examples"

var (
	policyOnce sync.Once
	policyEval *policies.Evaluator
	policyErr  error
)

// serverConfig is the example server config.
func serverConfig(t testing.TB) *serverconfig.Config {
	t.Helper()
	cfg, err := serverconfig.Load(filepath.Join(exampleDir, "monorepo", "conveyor.server.yml"))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// examplePolicy compiles the default bundle once for the package's tests.
func examplePolicy(t testing.TB) *policies.Evaluator {
	t.Helper()
	policyOnce.Do(func() {
		policyEval, policyErr = policies.New(context.Background(), policies.Options{Config: serverConfig(t)})
	})
	if policyErr != nil {
		t.Fatal(policyErr)
	}
	return policyEval
}

// newMLflow starts an MLflow emulator seeded like the examples.
func newMLflow(t testing.TB) *mlflowfake.Server {
	t.Helper()
	m := mlflowfake.NewTest(t)
	f, err := os.Open(filepath.Join(exampleDir, "monorepo", "mlflow.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := m.LoadSeed(f); err != nil {
		t.Fatal(err)
	}
	return m
}

func registriesAt(url string) func(string) (Registry, error) {
	// Retries back off in milliseconds here: tests fail the registry on
	// purpose and wait on what the check then says, not on the clock.
	c := mlflow.New(url, mlflow.WithRetry(mlflow.DefaultAttempts, time.Millisecond, 10*time.Millisecond))
	return func(name string) (Registry, error) {
		if name != "main" {
			return nil, ErrUnknownRegistry
		}
		return c, nil
	}
}

// exampleFacts is MemFacts for a scripted change over the example monorepo.
func exampleFacts(t testing.TB, change string, ml *mlflowfake.Server) *MemFacts {
	t.Helper()
	base, err := examples.LoadRepo(filepath.Join(exampleDir, "monorepo"))
	if err != nil {
		t.Fatal(err)
	}
	ch, err := examples.LoadChange(filepath.Join(exampleDir, "changes", change))
	if err != nil {
		t.Fatal(err)
	}
	return &MemFacts{
		C:         Change{Repository: "acme/shop", Number: 7, Author: "octocat", HeadSHA: strings.Repeat("a", 40), BaseRef: "main", BaseSHA: strings.Repeat("b", 40)},
		BaseFiles: base, HeadFiles: ch.Apply(base),
		CIResults:  map[string]CIResult{"build": {Status: "completed", Conclusion: "success"}, "test": {Status: "completed", Conclusion: "success"}},
		Registries: registriesAt(ml.URL()),
	}
}

func artifactByName(r *Result, name string) *ArtifactResult {
	for _, a := range r.Artifacts {
		if a.Name == name {
			return a
		}
	}
	return nil
}

func stage(a *ArtifactResult, name string) Stage {
	for _, s := range a.Stages {
		if s.Name == name {
			return s
		}
	}
	return Stage{}
}

// examplePolicyWith compiles the default bundle over a changed server config.
func examplePolicyWith(t testing.TB, cfg *serverconfig.Config) *policies.Evaluator {
	t.Helper()
	ev, err := policies.New(context.Background(), policies.Options{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	return ev
}
