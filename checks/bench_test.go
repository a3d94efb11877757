package checks

import (
	"context"
	"testing"
	"time"

	"github.com/conveyor-dev/conveyor/internal/store"
)

// BenchmarkEvaluatePR measures a full evaluation of a PR touching an app, a
// model and a dbt project (change "good") against the GitHub and MLflow
// emulators: facts fetched, four stages per artifact, check runs written.
// "cold" starts from empty caches and writes all four check runs; "warm"
// re-evaluates with SHA-addressed facts cached and output unchanged.
func BenchmarkEvaluatePR(b *testing.B) {
	e := newGHEnv(b, 0, time.Hour)
	ctx := context.Background()
	pr := e.openChange("bench", "good")
	for _, n := range []string{"build", "test"} {
		if err := store.RecordCI(ctx, e.st.DB, testRepo, pr.HeadSHA, store.CIResult{Name: n, Status: "completed", Conclusion: "success"}); err != nil {
			b.Fatal(err)
		}
	}
	e.send("pull_request", e.gh.PullRequestEvent("opened", pr))
	args := EvaluateArgs{Installation: testInst, Repo: testRepo, PR: pr.Number, SHA: pr.HeadSHA}
	run := func(b *testing.B, s *Suite) {
		if _, _, err := store.RequestCheck(ctx, e.st.DB, testRepo, pr.HeadSHA, true, nil, staleJob); err != nil {
			b.Fatal(err)
		}
		settled, err := s.work(ctx, args)
		if err != nil || !settled {
			b.Fatalf("work: settled %v, %v", settled, err)
		}
	}
	b.Run("cold", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			s := New(e.suite.o)
			if _, err := e.st.DB.ExecContext(ctx, `DELETE FROM check_results`); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			run(b, s)
		}
		if g, _ := e.suite.GateConclusion(ctx, testRepo, pr.HeadSHA); g != Success {
			b.Fatalf("gate = %q, want success", g)
		}
	})
	b.Run("warm", func(b *testing.B) {
		for b.Loop() {
			run(b, e.suite)
		}
	})
}
