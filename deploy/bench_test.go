package deploy

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/conveyor-dev/conveyor/internal/ghfake"
	"github.com/conveyor-dev/conveyor/internal/store/storetest"
)

// BenchmarkInFlight starts 100 deployments at once across 20 repositories
// (5 environments each, so none waits on another's lock), each a 3-step
// rollout of 2 artifacts mirrored to the GitHub emulator, and waits until
// all succeeded. Any lock error fails the benchmark.
func BenchmarkInFlight(b *testing.B) {
	for _, dialect := range storetest.Dialects {
		b.Run(string(dialect), func(b *testing.B) {
			e := newEnvOn(b, storetest.Open(b, dialect))
			const repos, envs = 20, 5
			prs := make([]*ghfake.PR, repos)
			for i := range prs {
				name := fmt.Sprintf("acme/svc%02d", i)
				e.gh.AddRepo(name, "main", installation)
				content := "x"
				e.gh.Commit(name, "feature", map[string]*string{"a.txt": &content}, "change")
				prs[i] = e.gh.OpenPR(name, "feature", "main", "Change", "octocat")
			}
			ctx := context.Background()
			var lockErrors, total atomic.Int64
			b.ResetTimer()
			start := time.Now()
			for n := 0; n < b.N; n++ {
				var wg sync.WaitGroup
				ids := make(chan int64, repos*envs)
				for i, pr := range prs {
					for k := range envs {
						wg.Add(1)
						go func() {
							defer wg.Done()
							r := request(pr, fmt.Sprintf("env%d", k), 10, 50, 100)
							r.Repository, r.SourceKey = pr.Repo, fmt.Sprintf("bench:%d:%d:%d", n, i, k)
							d, err := e.engine.Start(ctx, r)
							var le *LockedError
							switch {
							case errors.As(err, &le):
								lockErrors.Add(1)
							case err != nil:
								b.Error(err)
							default:
								ids <- d.ID
							}
						}()
					}
				}
				wg.Wait()
				close(ids)
				for id := range ids {
					e.wait(id, StateSucceeded)
					total.Add(1)
				}
			}
			elapsed := time.Since(start)
			b.StopTimer()
			if lockErrors.Load() != 0 {
				b.Fatalf("%d lock contention errors among deployments to distinct environments", lockErrors.Load())
			}
			b.ReportMetric(float64(total.Load())/elapsed.Seconds(), "deployments/s")
			b.ReportMetric(0, "lock_errors")
			depth, _ := e.queue.Depth(ctx)
			if depth != 0 {
				b.Errorf("%d jobs left in the queue", depth)
			}
		})
	}
}
