package mlflow_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/conveyor-dev/conveyor/internal/mlflow"
	"github.com/conveyor-dev/conveyor/internal/mlflowfake"
)

// fastRetry keeps backoffs in milliseconds so tests stay quick; the
// behaviour under test is which answers are retried, not how long waits are.
func fastRetry(attempts int) mlflow.Option {
	return mlflow.WithRetry(attempts, time.Millisecond, 5*time.Millisecond)
}

func statuses(f *mlflowfake.Server) []int {
	var out []int
	for _, c := range f.Calls() {
		out = append(out, c.Status)
	}
	return out
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestRetry503ThenSuccess(t *testing.T) {
	f := newFake(t)
	f.FailNext(mlflowfake.PathModelVersion, 2, http.StatusServiceUnavailable)
	mv, err := mlflow.New(f.URL(), fastRetry(4)).GetModelVersion(context.Background(), "fraud", "13")
	if err != nil || mv.Version != "13" {
		t.Fatalf("got %+v, %v", mv, err)
	}
	if got := statuses(f); !equalInts(got, []int{503, 503, 200}) {
		t.Fatalf("statuses = %v", got)
	}
}

func TestRetry429AndConnectionErrors(t *testing.T) {
	f := newFake(t)
	f.FailNext(mlflowfake.PathRun, 1, http.StatusTooManyRequests)
	if _, err := mlflow.New(f.URL(), fastRetry(3)).GetRun(context.Background(), "run-fraud-13"); err != nil {
		t.Fatal(err)
	}
	if got := statuses(f); !equalInts(got, []int{429, 200}) {
		t.Fatalf("statuses = %v", got)
	}
	dead := mlflowfake.New()
	url := dead.URL()
	dead.Close()
	_, err := mlflow.New(url, fastRetry(3)).GetRun(context.Background(), "r")
	var u *mlflow.UnavailableError
	if !errors.As(err, &u) || u.Tries != 3 || !mlflow.IsUnavailable(err) {
		t.Fatalf("refused connection: %v (want unavailable after 3 tries)", err)
	}
}

func TestNoRetryOnRefusals(t *testing.T) {
	f := newFake(t)
	_, err := mlflow.New(f.URL(), fastRetry(4)).GetModelVersion(context.Background(), "fraud", "99")
	if !mlflow.IsNotFound(err) || mlflow.IsUnavailable(err) {
		t.Fatalf("err = %v", err)
	}
	f.ResetCalls()
	f.Deny("fraud")
	_, err = mlflow.New(f.URL(), fastRetry(4)).GetModelVersion(context.Background(), "fraud", "13")
	if err == nil || mlflow.IsUnavailable(err) || len(f.Calls()) != 1 {
		t.Fatalf("403: %v after %d calls; want one call, not unavailable", err, len(f.Calls()))
	}
}

func TestRetryGivesUpAsUnavailable(t *testing.T) {
	f := newFake(t)
	f.FailNext(mlflowfake.PathAlias, 10, http.StatusBadGateway)
	_, err := mlflow.New(f.URL(), fastRetry(3)).GetModelVersionByAlias(context.Background(), "fraud", "production")
	if !mlflow.IsUnavailable(err) || len(f.Calls()) != 3 {
		t.Fatalf("err = %v after %d calls; want unavailable after 3", err, len(f.Calls()))
	}
}

func TestSlowAnswerBeyondCallTimeoutIsRetriedWithinBudget(t *testing.T) {
	f := newFake(t)
	// The first answer would come after 2 s; each try may take 100 ms and
	// the whole call 10 s: the second try answers.
	f.SlowNext(mlflowfake.PathModelVersion, 1, 2*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := mlflow.New(f.URL(), fastRetry(4), mlflow.WithCallTimeout(100*time.Millisecond))
	mv, err := c.GetModelVersion(ctx, "fraud", "13")
	if err != nil || mv.Version != "13" {
		t.Fatalf("got %+v, %v", mv, err)
	}
	// The abandoned try is logged when the emulator notices the client left.
	both := func() bool {
		got := statuses(f)
		return equalInts(got, []int{200, 499}) || equalInts(got, []int{499, 200})
	}
	deadline := time.Now().Add(5 * time.Second)
	for !both() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := statuses(f); !both() {
		t.Fatalf("statuses = %v, want the retried call answered and the slow one abandoned", got)
	}
}

func TestBudgetEndsRetries(t *testing.T) {
	f := newFake(t)
	f.SetLatency(time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := mlflow.New(f.URL(), fastRetry(100), mlflow.WithCallTimeout(10*time.Millisecond)).GetModelVersion(ctx, "fraud", "13")
	if !mlflow.IsUnavailable(err) {
		t.Fatalf("err = %v; want unavailable once the budget is spent", err)
	}
}
