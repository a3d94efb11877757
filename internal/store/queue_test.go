package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/conveyor-dev/conveyor/internal/store"
	"github.com/conveyor-dev/conveyor/internal/store/storetest"
	"github.com/conveyor-dev/conveyor/internal/testwait"
)

// longArgs is a kind that, like a rollout step, legitimately runs long and
// says so with its worker's Timeout.
type longArgs struct{}

func (longArgs) Kind() string { return "test_long" }

type longWorker struct {
	river.WorkerDefaults[longArgs]
	ran *atomic.Bool
}

func (w *longWorker) Timeout(*river.Job[longArgs]) time.Duration { return 30 * time.Minute }

func (w *longWorker) Work(ctx context.Context, j *river.Job[longArgs]) error {
	w.ran.Store(true)
	return nil
}

// strand makes job id look taken by a worker that died `ago` ago: running,
// first attempt, by a client that no longer exists.
func strand(t *testing.T, s *store.Store, id int64, ago time.Duration) {
	t.Helper()
	at := time.Now().Add(-ago).UTC()
	q := `UPDATE river_job SET state = 'running', attempt = 1, attempted_at = $1, attempted_by = '["killed-process"]' WHERE id = $2`
	var arg any = at
	if s.Dialect == store.SQLite {
		// river's SQLite driver compares times as text in exactly this form.
		q = strings.ReplaceAll(strings.ReplaceAll(q, "$1", "?"), "$2", "?")
		arg = at.Round(time.Millisecond).Format("2006-01-02 15:04:05.000")
	} else {
		q = strings.Replace(q, `'["killed-process"]'`, `ARRAY['killed-process']`, 1)
	}
	if _, err := s.DB.ExecContext(context.Background(), q, arg, id); err != nil {
		t.Fatalf("strand job %d: %v", id, err)
	}
}

// A job whose worker died is run again by the default queue settings once
// it has been running for 90 seconds (so, with river's rescuer looking
// every 30 seconds, within two minutes), while a kind whose worker declares
// a long Timeout stays with its (possibly live) worker. river's own default
// would have waited an hour and a half.
func TestDeadWorkersJobIsRescuedWithinTheDefaultWindow(t *testing.T) {
	t.Parallel()
	if limit := store.DefaultRescueAfter + 30*time.Second; limit > 2*time.Minute {
		t.Fatalf("default rescue window %s plus the rescuer's 30s interval exceeds two minutes", store.DefaultRescueAfter)
	}
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		t.Parallel()
		ctx := context.Background()
		// An intake-only queue stores the jobs without working them.
		in := store.NewQueue(s, store.QueueConfig{})
		river.AddWorker(in.Workers(), &pingWorker{seen: new(atomic.Int64)})
		river.AddWorker(in.Workers(), &longWorker{ran: new(atomic.Bool)})
		if err := in.Start(ctx); err != nil {
			t.Fatal(err)
		}
		short, err := in.Insert(ctx, pingArgs{N: 1}, nil)
		if err != nil {
			t.Fatal(err)
		}
		long, err := in.Insert(ctx, longArgs{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		strand(t, s, short.Job.ID, 90*time.Second)
		strand(t, s, long.Job.ID, 90*time.Second)

		var seen atomic.Int64
		var longRan atomic.Bool
		q := store.NewQueue(s, store.QueueConfig{Workers: 2})
		river.AddWorker(q.Workers(), &pingWorker{seen: &seen})
		river.AddWorker(q.Workers(), &longWorker{ran: &longRan})
		if err := q.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer q.Stop(ctx)
		var states []string
		testwait.Within(t, time.Minute, "the stranded short job to be rescued and worked", func() bool {
			states = jobStates(t, s)
			return seen.Load() == 1 && len(states) == 2 && states[0] == "completed"
		}, func() string { return fmt.Sprintf("jobs %v, worked %d", states, seen.Load()) })
		// The rescuer considered both jobs in the pass that rescued the
		// short one; the long one, inside its kind's Timeout, was left running.
		if states[1] != "running" || longRan.Load() {
			t.Fatalf("long job: state %s, ran again %v; want it left running with its worker", states[1], longRan.Load())
		}
	})
}

// A rescue window that does not outlast the job timeout would run live
// jobs twice: the queue refuses to start with it.
func TestQueueRefusesRescueWindowWithinJobTimeout(t *testing.T) {
	t.Parallel()
	s := storetest.Open(t, store.SQLite)
	q := store.NewQueue(s, store.QueueConfig{Workers: 1, JobTimeout: time.Minute, RescueAfter: time.Minute})
	err := q.Start(context.Background())
	if err == nil || !strings.Contains(err.Error(), "rescue window") {
		t.Fatalf("Start = %v; want an error naming the rescue window", err)
	}
	// Only the window given: the job timeout follows it.
	q = store.NewQueue(s, store.QueueConfig{Workers: 1, RescueAfter: 5 * time.Second})
	river.AddWorker(q.Workers(), &pingWorker{seen: new(atomic.Int64)})
	if err := q.Start(context.Background()); err != nil {
		t.Fatalf("Start with only a rescue window: %v", err)
	}
	q.Stop(context.Background())
}

// rolloutArgs is a job of QueueRollouts that blocks until released, like a
// rollout step whose driver is still running.
type rolloutArgs struct{}

func (rolloutArgs) Kind() string { return "test_rollout" }

func (rolloutArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: store.QueueRollouts} }

type rolloutWorker struct {
	river.WorkerDefaults[rolloutArgs]
	started chan struct{}
	release chan struct{}
}

func (w *rolloutWorker) Work(ctx context.Context, _ *river.Job[rolloutArgs]) error {
	w.started <- struct{}{}
	select {
	case <-w.release:
	case <-ctx.Done():
	}
	return nil
}

type quickArgs struct{}

func (quickArgs) Kind() string { return "test_quick" }

type quickWorker struct {
	river.WorkerDefaults[quickArgs]
	done chan struct{}
}

func (w *quickWorker) Work(context.Context, *river.Job[quickArgs]) error {
	w.done <- struct{}{}
	return nil
}

// TestRolloutsDoNotTakeDeliverySlots: with one worker for each queue, two
// rollouts that hold their worker leave the default queue's slot free, so a
// short job (a delivery, a check) still runs; the second rollout waits for
// the first.
func TestRolloutsDoNotTakeDeliverySlots(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		q := store.NewQueue(s, store.QueueConfig{Workers: 1, RolloutWorkers: 1, PollInterval: 10 * time.Millisecond})
		rw := &rolloutWorker{started: make(chan struct{}, 2), release: make(chan struct{})}
		qw := &quickWorker{done: make(chan struct{}, 1)}
		river.AddWorker(q.Workers(), rw)
		river.AddWorker(q.Workers(), qw)
		ctx := context.Background()
		if err := q.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			stop, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			q.Stop(stop)
		})
		for range 2 {
			if _, err := q.Insert(ctx, rolloutArgs{}, nil); err != nil {
				t.Fatal(err)
			}
		}
		<-rw.started // the one rollout slot is busy
		if _, err := q.Insert(ctx, quickArgs{}, nil); err != nil {
			t.Fatal(err)
		}
		select {
		case <-qw.done:
		case <-time.After(20 * time.Second):
			t.Fatal("a short job did not run while a rollout held its worker")
		}
		select {
		case <-rw.started:
			t.Fatal("a second rollout started beside the first with one rollout worker")
		default:
		}
		close(rw.release)
		select {
		case <-rw.started: // the second rollout runs once the first is done
		case <-time.After(20 * time.Second):
			t.Fatal("the second rollout never ran")
		}
	})
}

type deliveryBatchArgs struct {
	IDs []string `json:"ids"`
}

func (deliveryBatchArgs) Kind() string { return "test_delivery_batch" }

type deliveryBatchWorker struct {
	river.WorkerDefaults[deliveryBatchArgs]
}

func (deliveryBatchWorker) Work(context.Context, *river.Job[deliveryBatchArgs]) error { return nil }

// The intake's write, on both stores (PostgreSQL takes its own pgx path):
// new deliveries are stored, a redelivery and the second of a repeated ID
// are not, and one job names exactly the new ones still to process.
func TestStoreDeliveriesWritesRowsAndOneJob(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		q := store.NewQueue(s, store.QueueConfig{})
		river.AddWorker(q.Workers(), deliveryBatchWorker{})
		if err := q.Start(ctx); err != nil {
			t.Fatal(err)
		}
		// A kind nobody works is refused on both paths, and nothing of its
		// transaction stays.
		_, err := q.StoreDeliveries(ctx, []*store.Delivery{{ID: "orphan", Event: "ping", Payload: []byte("{}")}}, func([]string) (river.JobArgs, *river.InsertOpts) {
			return longArgs{}, nil
		})
		if err == nil || !strings.Contains(err.Error(), "not registered") {
			t.Fatalf("unregistered kind: err = %v", err)
		}
		if _, err := s.Delivery(ctx, "orphan"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("delivery of a refused job was kept: %v", err)
		}
		job := func(ids []string) (river.JobArgs, *river.InsertOpts) {
			return deliveryBatchArgs{IDs: ids}, &river.InsertOpts{MaxAttempts: 3}
		}
		d := func(id string, processed int64) *store.Delivery {
			return &store.Delivery{ID: id, Event: "pull_request", Action: "synchronize", Repository: "acme/web",
				Payload: []byte(`{"n":"` + id + `"}`), ReceivedAt: 1, ProcessedAt: processed, Outcome: map[bool]string{true: "ignored"}[processed != 0]}
		}
		if _, err = q.StoreDeliveries(ctx, []*store.Delivery{d("old", 0)}, job); err != nil {
			t.Fatal(err)
		}
		var ins []bool
		ins, err = q.StoreDeliveries(ctx, []*store.Delivery{d("a", 0), d("old", 0), d("a", 0), d("b", 0), d("ign", 5)}, job)
		if err != nil {
			t.Fatal(err)
		}
		if want := []bool{true, false, false, true, true}; fmt.Sprint(ins) != fmt.Sprint(want) {
			t.Fatalf("inserted = %v, want %v", ins, want)
		}
		got, err := s.Delivery(ctx, "ign")
		if err != nil || got.ProcessedAt != 5 || got.Outcome != "ignored" {
			t.Fatalf("settled delivery = %+v, %v", got, err)
		}
		if got, err := s.Delivery(ctx, "a"); err != nil || string(got.Payload) != `{"n":"a"}` || got.ProcessedAt != 0 {
			t.Fatalf("delivery a = %+v, %v", got, err)
		}
		var args []string
		sel := `SELECT args::text, max_attempts FROM river_job WHERE kind = 'test_delivery_batch' ORDER BY id`
		if s.Dialect == store.SQLite {
			sel = `SELECT json(args), max_attempts FROM river_job WHERE kind = 'test_delivery_batch' ORDER BY id` // river keeps JSONB
		}
		rows, err := s.DB.QueryContext(ctx, sel)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var a string
			var max int
			if err := rows.Scan(&a, &max); err != nil {
				t.Fatal(err)
			}
			var ja deliveryBatchArgs
			if err := json.Unmarshal([]byte(a), &ja); err != nil {
				t.Fatalf("job args %q: %v", a, err)
			}
			args = append(args, fmt.Sprintf("%v/%d", ja.IDs, max))
		}
		if want := []string{"[old]/3", "[a b]/3"}; fmt.Sprint(args) != fmt.Sprint(want) {
			t.Fatalf("jobs = %v, want %v", args, want)
		}
		// A batch of nothing new makes no job.
		if _, err := q.StoreDeliveries(ctx, []*store.Delivery{d("a", 0)}, job); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := s.DB.QueryRowContext(ctx, `SELECT count(*) FROM river_job WHERE kind = 'test_delivery_batch'`).Scan(&n); err != nil || n != 2 {
			t.Fatalf("jobs after a redelivery = %d, %v; want 2", n, err)
		}
	})
}
