package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/conveyor-dev/conveyor/deploy/driver"
	"github.com/conveyor-dev/conveyor/internal/store"
	"github.com/conveyor-dev/conveyor/internal/store/storetest"
	"github.com/conveyor-dev/conveyor/internal/testwait"
)

func TestStartRunsEveryStepAndMirrorsToGitHub(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(string(dialect), func(t *testing.T) {
			e := newEnvOn(t, storetest.Open(t, dialect))
			ctx := context.Background()
			pr := e.openPR("feature")
			d := e.startOK(request(pr, "production", 10, 50, 100))
			if d.State == StateAwaitingApproval || d.Existing {
				t.Fatalf("new deployment is %s (existing %v), want it queued or running", d.State, d.Existing)
			}
			d = e.wait(d.ID, StateSucceeded)
			e.commentOf(d, "✅ Deployed to production.") // written after the commit

			for _, art := range []string{"web", "fraud"} {
				calls := e.drv.Calls("deploy", art)
				var pcts []int
				for _, c := range calls {
					pcts = append(pcts, c.Percent)
				}
				if len(pcts) != 3 || pcts[0] != 10 || pcts[1] != 50 || pcts[2] != 100 {
					t.Errorf("%s deployed at %v, want [10 50 100]", art, pcts)
				}
			}
			if n := len(e.drv.Calls("rollback", "")); n != 0 {
				t.Errorf("%d rollbacks on a healthy rollout", n)
			}
			for _, a := range d.Artifacts {
				if a.State != "succeeded" || a.GitHubDeploymentID == 0 {
					t.Errorf("artifact %s: state %s, github deployment %d", a.Name, a.State, a.GitHubDeploymentID)
				}
			}
			if d.Artifacts[0].Name != "fraud" || d.Artifacts[0].Serving != "11" || d.Artifacts[1].Serving != pr.HeadSHA {
				t.Errorf("serving: %+v", d.Artifacts)
			}

			ghd := e.gh.Deployments(repo)
			if len(ghd) != 2 {
				t.Fatalf("%d GitHub deployments, want one per artifact (2)", len(ghd))
			}
			for _, g := range ghd {
				var payload map[string]any
				json.Unmarshal(g.Payload, &payload)
				if g.Environment != "production" || !g.ProductionEnvironment || g.TransientEnvironment || g.SHA != pr.HeadSHA || g.Task != "deploy" ||
					payload["conveyor_deployment_id"] != float64(d.ID) {
					t.Errorf("GitHub deployment %+v payload %v", g, payload)
				}
				var states []string
				for _, st := range e.gh.DeploymentStatuses(repo, g.ID) {
					states = append(states, st.State)
				}
				if len(states) < 3 || states[0] != "queued" || states[1] != "in_progress" || states[len(states)-1] != "success" {
					t.Errorf("statuses of %s: %v, want queued, in_progress, ..., success", payload["artifact"], states)
				}
			}

			comments := e.botComments(pr.Number)
			if len(comments) != 1 {
				t.Fatalf("%d status comments, want exactly 1 edited in place", len(comments))
			}
			body := comments[0].Body
			for _, want := range []string{"Deploying " + pr.HeadSHA[:7] + " to production", "| web (web @ ", "10% ✓ -> 50% ✓ -> 100% ✓", "✅ Deployed to production."} {
				if !strings.Contains(body, want) {
					t.Errorf("comment lacks %q:\n%s", want, body)
				}
			}
			if n := len(e.gh.CallsMatching("PATCH", "/repos/"+repo+"/issues/comments/")); n < 3 {
				t.Errorf("comment edited %d times, want one edit per change (>= 3)", n)
			}

			evs, _ := e.store.ListAudit(ctx, store.AuditFilter{Kind: "deployment", Repository: repo, Limit: 100})
			var actions []string
			for _, ev := range evs {
				actions = append(actions, ev.Action)
			}
			if !strings.Contains(strings.Join(actions, ","), "succeeded") || actions[len(actions)-1] != "created" {
				t.Errorf("audit actions (newest first): %v", actions)
			}
			st, _ := e.engine.Status(ctx, repo)
			if len(st.Locks) != 0 {
				t.Errorf("locks left after success: %+v", st.Locks)
			}
			last, _ := e.engine.LastSucceeded(ctx, repo, "production")
			if last["web"] != pr.HeadSHA || last["fraud"] != pr.HeadSHA {
				t.Errorf("last succeeded = %v", last)
			}
			e.waitEvent(d.ID, "created", "step", "succeeded")
		})
	}
}

func TestSameSourceKeyStartsOneDeployment(t *testing.T) {
	e := newEnv(t)
	pr := e.openPR("feature")
	r := request(pr, "staging")
	e.drv.block = func(driver.Target) bool { return true }
	first := e.startOK(r)
	second := e.startOK(r)
	if !second.Existing || second.ID != first.ID {
		t.Fatalf("redelivered comment: got deployment %d (existing %v), want %d again", second.ID, second.Existing, first.ID)
	}
	close(e.drv.release)
	e.wait(first.ID, StateSucceeded)
	if n := len(e.gh.Deployments(repo)); n != 2 {
		t.Errorf("%d GitHub deployments, want 2 (one deployment of 2 artifacts)", n)
	}
	if n := len(e.drv.Calls("deploy", "web")); n != 1 {
		t.Errorf("web deployed %d times, want 1", n)
	}
}

func TestFailingStepRollsBackEveryArtifactThatRan(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	good := e.openPR("good")
	first := e.startOK(request(good, "production"))
	e.wait(first.ID, StateSucceeded)

	bad := e.openPR("bad")
	e.drv.fail = func(t driver.Target) error {
		if t.Artifact == "fraud" && t.Percent == 50 {
			return errors.New("model server refused version 12: out of memory")
		}
		return nil
	}
	d := e.startOK(request(bad, "production", 10, 50, 100))
	d = e.wait(d.ID, StateRolledBack)
	if !strings.Contains(d.Error, "out of memory") || !strings.Contains(d.Error, "rolled back fraud, web") {
		t.Errorf("error = %q", d.Error)
	}
	for _, art := range []string{"web", "fraud"} {
		rb := e.drv.Calls("rollback", art)
		if len(rb) != 1 {
			t.Fatalf("%s rolled back %d times, want 1", art, len(rb))
		}
		want := good.HeadSHA
		if art == "fraud" {
			want = "11" // the model version the good PR made serve
		}
		if rb[0].Previous != want {
			t.Errorf("%s rolled back to %q, want %q", art, rb[0].Previous, want)
		}
	}
	for _, c := range e.drv.Calls("deploy", "") {
		if c.SHA == bad.HeadSHA && c.Percent == 100 {
			t.Errorf("deployed to 100%% after a failed step: %+v", c)
		}
	}
	body := e.commentOf(d, "Failed at 50% and rolled back")
	if !strings.Contains(body, "<details><summary>fraud output") || !strings.Contains(body, "ERROR: model server refused") {
		t.Errorf("comment lacks the driver's output:\n%s", body)
	}
	for _, g := range e.gh.Deployments(repo) {
		if g.SHA != bad.HeadSHA {
			continue
		}
		sts := e.gh.DeploymentStatuses(repo, g.ID)
		if last := sts[len(sts)-1]; last.State != "failure" {
			t.Errorf("last status of a rolled back deployment: %s", last.State)
		}
	}
	e.waitEvent(d.ID, "failed", "rolled_back")
	// The environment is free again and what serves is the good PR's.
	last, _ := e.engine.LastSucceeded(ctx, repo, "production")
	if last["web"] != good.HeadSHA {
		t.Errorf("last succeeded web = %s, want the good PR's", last["web"])
	}
	e.startOK(request(e.openPR("fix"), "production"))
}

func TestHealthGateFailureRollsBack(t *testing.T) {
	e := newEnv(t)
	pr := e.openPR("feature")
	e.health = func(t driver.Target) error {
		if t.Percent == 50 && t.Artifact == "web" {
			return errors.New("https://web.production.internal/healthz answered 503, want 200")
		}
		return nil
	}
	d := e.startOK(request(pr, "production", 10, 50, 100))
	d = e.wait(d.ID, StateRolledBack)
	if !strings.Contains(d.Error, "health gate failed at 50%") {
		t.Errorf("error = %q", d.Error)
	}
	if n := len(e.drv.Calls("rollback", "")); n != 2 {
		t.Errorf("%d rollbacks, want both artifacts", n)
	}
	for _, c := range e.drv.Calls("deploy", "") {
		if c.Percent == 100 {
			t.Errorf("the rollout went on past a failed gate: %+v", c)
		}
	}
}

func TestDriverPanicIsAFailureNotACrash(t *testing.T) {
	e := newEnv(t)
	e.drv.panics = true
	d := e.startOK(request(e.openPR("feature"), "staging"))
	d = e.wait(d.ID, StateRolledBack)
	if !strings.Contains(d.Error, "crashed: driver bug") {
		t.Errorf("error = %q", d.Error)
	}
}

func TestUnknownDriverFailsWithItsName(t *testing.T) {
	e := newEnv(t)
	r := request(e.openPR("feature"), "staging")
	r.Artifacts[0].Driver = "missing"
	d := e.startOK(r)
	d = e.wait(d.ID, StateFailed, StateRolledBack)
	if !strings.Contains(d.Error, `no driver "missing"`) {
		t.Errorf("error = %q", d.Error)
	}
}

func TestCancelDuringRolloutRollsBack(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	pr := e.openPR("feature")
	e.drv.block = func(t driver.Target) bool { return t.Artifact == "web" && t.Percent == 50 }
	d := e.startOK(request(pr, "production", 10, 50, 100))
	<-e.drv.started // web is deploying 50%
	cancelled, err := e.engine.Cancel(ctx, repo, pr.Number, "alice")
	if err != nil || len(cancelled) != 1 || cancelled[0].ID != d.ID {
		t.Fatalf("cancel = %v, %v", cancelled, err)
	}
	testwait.For(t, "both artifacts rolled back", func() bool { return len(e.drv.Calls("rollback", "")) == 2 })
	d = e.wait(d.ID, StateCancelled)
	testwait.For(t, "the environment to be released", func() bool {
		st, _ := e.engine.Status(ctx, repo)
		return len(st.Locks) == 0
	})
	d, _ = e.engine.Get(ctx, d.ID)
	if d.State != StateCancelled || !strings.Contains(d.Error, "cancelled by @alice") || !strings.Contains(d.Error, "rolled back fraud, web") {
		t.Errorf("state %s error %q", d.State, d.Error)
	}
	for _, c := range e.drv.Calls("deploy", "") {
		if c.Percent == 100 {
			t.Errorf("deployed 100%% after cancel: %+v", c)
		}
	}
	e.commentOf(d, "Cancelled. Rolled back: fraud, web.")
	if _, err := e.engine.Cancel(ctx, repo, pr.Number, "alice"); err != nil {
		t.Errorf("cancelling again: %v", err)
	}
}

func TestCrashMidRolloutResumesWithoutRepeatingAStep(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	pr := e.openPR("feature")
	e.drv.block = func(t driver.Target) bool { return t.Artifact == "web" && t.Percent == 50 }
	d := e.startOK(request(pr, "production", 10, 50, 100))
	<-e.drv.started
	testwait.For(t, "fraud to finish 50%", func() bool {
		done, _ := store.StepsDone(ctx, e.store.DB, d.ID, 1)
		_, ok := done["fraud"]
		return ok
	})
	// The process stops while web's driver is still running.
	stopCtx, cancel := context.WithTimeout(ctx, 50*e.engine.pollEvery)
	defer cancel()
	e.queue.Stop(stopCtx)
	if got, _ := e.engine.Get(ctx, d.ID); got.State != StateInProgress {
		t.Fatalf("a shutdown changed the deployment to %s", got.State)
	}
	// A new process on the same database picks the step up again.
	e.drv.block = nil
	e.start()
	d = e.wait(d.ID, StateSucceeded)
	for _, art := range []string{"fraud", "web"} {
		counts := map[int]int{}
		for _, c := range e.drv.Calls("deploy", art) {
			counts[c.Percent]++
		}
		wantAt50 := 1
		if art == "web" {
			wantAt50 = 2 // interrupted, then run again
		}
		if counts[10] != 1 || counts[50] != wantAt50 || counts[100] != 1 {
			t.Errorf("%s deploys per percent: %v, want 10:1 50:%d 100:1", art, counts, wantAt50)
		}
	}
	if len(e.drv.Calls("rollback", "")) != 0 {
		t.Errorf("a restart caused a rollback")
	}
}
