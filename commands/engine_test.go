package commands

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-github/v66/github"

	"github.com/conveyor-dev/conveyor/deploy"
	"github.com/conveyor-dev/conveyor/deploy/driver"
	"github.com/conveyor-dev/conveyor/internal/store"
)

// withRealEngine swaps the fake for the real promotion engine on the test's
// store, with an intake-only queue: deployments are created, locked and
// commented on, but no job runs, so states stay where the commands left them.
func withRealEngine(t *testing.T, e *env) *deploy.Engine {
	t.Helper()
	q := store.NewQueue(e.store, store.QueueConfig{Workers: 0})
	eng := deploy.NewEngine(deploy.Options{
		Store: e.store, Queue: q,
		GitHub:  func(id int64) (*github.Client, error) { return e.gh.InstallationClient(id) },
		Drivers: func(name string) (driver.Driver, error) { return nil, errors.New("no drivers in this test") },
		Now:     e.clock.Now,
	})
	eng.Register(q.Workers())
	if err := q.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Stop(context.Background()) })
	e.h.o.Deployer = eng
	return eng
}

func TestRealEngineDeployRedeliveryAndLock(t *testing.T) {
	e := newEnv(t)
	eng := withRealEngine(t, e)
	ctx := context.Background()
	e.gh.SetPermission(testRepo, "dev", "write")
	pr := e.openPR("feature", "dev", webChange())

	_, payload := e.gh.CommentOnPR(testRepo, pr.Number, "dev", "/deploy staging")
	e.send("issue_comment.created", payload)
	e.send("issue_comment.created", payload) // redelivered

	rep, err := eng.Status(ctx, testRepo)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Running) != 1 || rep.Running[0].SHA != pr.HeadSHA || rep.Running[0].Environment != "staging" {
		t.Fatalf("running = %+v, want one staging deployment of %s", rep.Running, pr.HeadSHA)
	}
	if n := len(e.replies(pr)); n != 1 {
		t.Fatalf("%d bot comments, want only the engine's status comment: %q", n, e.replies(pr))
	}

	// Another PR cannot deploy to staging while the first one has not finished.
	e.gh.Branch(testRepo, "other", "main")
	other := e.openPR("other", "dev", map[string]*string{"services/web/other.go": strp("package main\n")})
	id := e.comment(other, "dev", "/deploy staging")
	mustContain(t, e.oneReply(other), "staging is busy: deployment", "of PR #1", "`/cancel` it from PR #1")
	if e.reactions(id) != "eyes,confused" {
		t.Fatalf("reactions = %q", e.reactions(id))
	}

	e.comment(other, "dev", "/status")
	status := e.replies(other)[1]
	mustContain(t, status, "### Conveyor status for acme/shop", "**Running**")
	if !strings.Contains(status, "staging") {
		t.Fatalf("status does not mention staging:\n%s", status)
	}
}
