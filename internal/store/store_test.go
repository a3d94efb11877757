package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/riverqueue/river"

	"github.com/conveyor-dev/conveyor/internal/store"
	"github.com/conveyor-dev/conveyor/internal/store/storetest"
	"github.com/conveyor-dev/conveyor/internal/testwait"
)

func TestOpenRejectsUnknownURL(t *testing.T) {
	t.Parallel()
	_, err := store.Open(context.Background(), "mysql://root:hunter2@db/x")
	if err == nil || !strings.Contains(err.Error(), "DATABASE_URL") || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("err = %v; want a DATABASE_URL error without the password", err)
	}
}

func TestRedact(t *testing.T) {
	t.Parallel()
	got := store.Redact("postgres://app:s3cret@db:5432/conveyor")
	if strings.Contains(got, "s3cret") || !strings.Contains(got, "app:xxxxx@db") {
		t.Fatalf("Redact = %q", got)
	}
}

func TestMigrateIsIdempotentAndReady(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		if err := s.Migrate(ctx); err != nil {
			t.Fatalf("second migrate: %v", err)
		}
		if err := s.Ready(ctx); err != nil {
			t.Fatalf("ready: %v", err)
		}
		if n, _ := s.Pending(ctx); n != 0 {
			t.Fatalf("pending = %d", n)
		}
	})
}

func TestDeliveriesStoredOnce(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		d := &store.Delivery{ID: "d-1", Event: "pull_request", Action: "opened", InstallationID: 7, Repository: "acme/shop", Payload: []byte(`{"a":1}`), ReceivedAt: 1}
		for i, want := range []bool{true, false} {
			var inserted bool
			err := s.Tx(ctx, func(tx *sql.Tx) error {
				var err error
				inserted, err = s.InsertDelivery(ctx, tx, d)
				return err
			})
			if err != nil || inserted != want {
				t.Fatalf("insert %d = %v, %v; want %v", i, inserted, err, want)
			}
		}
		got, err := s.Delivery(ctx, "d-1")
		if err != nil || string(got.Payload) != `{"a":1}` || got.InstallationID != 7 || got.ProcessedAt != 0 {
			t.Fatalf("Delivery = %+v, %v", got, err)
		}
		if _, err := s.Delivery(ctx, "nope"); err == nil {
			t.Fatal("missing delivery found")
		}
		ok, err := s.MarkProcessed(ctx, "d-1", "ok", "")
		if !ok || err != nil {
			t.Fatalf("MarkProcessed = %v %v", ok, err)
		}
		if ok, _ := s.MarkProcessed(ctx, "d-1", "ok", ""); ok {
			t.Fatal("marked processed twice")
		}
		known, err := s.KnownDeliveries(ctx, []string{"d-1", "d-2"})
		if err != nil || !known["d-1"] || known["d-2"] {
			t.Fatalf("KnownDeliveries = %v %v", known, err)
		}
		stored, processed, _ := s.DeliveryCounts(ctx)
		if stored != 1 || processed != 1 {
			t.Fatalf("counts = %d %d", stored, processed)
		}
	})
}

func TestInstallations(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		if err := s.UpsertInstallation(ctx, 9, "acme", false, []string{"acme/a", "acme/b"}); err != nil {
			t.Fatal(err)
		}
		if err := s.ChangeInstallationRepositories(ctx, 9, []string{"acme/c"}, []string{"acme/a"}); err != nil {
			t.Fatal(err)
		}
		in, err := s.Installation(ctx, 9)
		if err != nil || strings.Join(in.Repositories, ",") != "acme/b,acme/c" || in.Account != "acme" {
			t.Fatalf("Installation = %+v %v", in, err)
		}
		if err := s.UpsertInstallation(ctx, 9, "acme", true, nil); err != nil {
			t.Fatal(err)
		}
		in, _ = s.Installation(ctx, 9)
		if !in.Suspended || len(in.Repositories) != 2 {
			t.Fatalf("after suspend: %+v", in)
		}
		if err := s.DeleteInstallation(ctx, 9); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Installation(ctx, 9); err == nil {
			t.Fatal("deleted installation still there")
		}
	})
}

func TestAudit(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		for i := 0; i < 3; i++ {
			if err := store.AppendAudit(ctx, s.DB, store.AuditEvent{Kind: "decision", Repository: "acme/shop", Actor: "dev", Action: "deploy", Outcome: fmt.Sprint(i)}); err != nil {
				t.Fatal(err)
			}
		}
		store.AppendAudit(ctx, s.DB, store.AuditEvent{Kind: "lock", Repository: "acme/other"})
		evs, err := s.ListAudit(ctx, store.AuditFilter{Kind: "decision", Limit: 2})
		if err != nil || len(evs) != 2 || evs[0].Outcome != "2" || string(evs[0].Detail) != "{}" {
			t.Fatalf("ListAudit = %+v %v", evs, err)
		}
	})
}

type pingArgs struct{ N int }

func (pingArgs) Kind() string { return "test_ping" }

type pingWorker struct {
	river.WorkerDefaults[pingArgs]
	seen *atomic.Int64
}

func (w *pingWorker) Work(ctx context.Context, j *river.Job[pingArgs]) error {
	w.seen.Add(int64(j.Args.N))
	return nil
}

func TestQueueInsertTxCommitsWithTheRow(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		var seen atomic.Int64
		q := store.NewQueue(s, store.QueueConfig{Workers: 2})
		river.AddWorker(q.Workers(), &pingWorker{seen: &seen})
		if _, err := q.Insert(ctx, pingArgs{N: 1}, nil); err != store.ErrQueueNotStarted {
			t.Fatalf("insert before start: %v", err)
		}
		if err := q.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer q.Stop(ctx)
		// A rolled-back transaction leaves no job.
		tx, _ := s.DB.BeginTx(ctx, nil)
		if _, err := q.InsertTx(ctx, tx, pingArgs{N: 100}, nil); err != nil {
			t.Fatal(err)
		}
		tx.Rollback()
		err := s.Tx(ctx, func(tx *sql.Tx) error {
			_, err := q.InsertTx(ctx, tx, pingArgs{N: 1}, nil)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		// The sync point is the job table itself: once the committed job is
		// completed and it holds no other job, nothing more can ever run.
		var states []string
		testwait.For(t, "the committed job to complete", func() bool {
			states = jobStates(t, s)
			return len(states) == 1 && states[0] == "completed"
		}, func() string { return fmt.Sprintf("jobs %v", states) })
		if seen.Load() != 1 {
			t.Fatalf("worked sum = %d; want 1 (the rolled-back job must not run)", seen.Load())
		}
		if n, err := q.Depth(ctx); err != nil || n != 0 {
			t.Fatalf("Depth = %d %v", n, err)
		}
	})
}

func TestPendingDeliveriesAndMarks(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		ds := []*store.Delivery{
			{ID: "p-1", Event: "pull_request", Action: "opened", InstallationID: 3, Repository: "acme/shop", Payload: []byte(`{"n":1}`), ReceivedAt: 5},
			{ID: "p-2", Event: "issue_comment", Action: "created", Payload: []byte(`{"n":2}`), ReceivedAt: 6},
			{ID: "p-3", Event: "workflow_job", Payload: []byte(`{"n":3}`), ReceivedAt: 7, ProcessedAt: 7, Outcome: "ignored"},
		}
		if err := s.Tx(ctx, func(tx *sql.Tx) error { _, err := s.InsertDeliveries(ctx, tx, ds); return err }); err != nil {
			t.Fatal(err)
		}
		// A batch holding a stored ID and an ID twice: only the first new one counts.
		var ins []bool
		again := []*store.Delivery{
			{ID: "p-4", Event: "push", Payload: []byte(`{"n":4}`), ReceivedAt: 8},
			{ID: "p-1", Event: "pull_request", Payload: []byte(`{"other":1}`), ReceivedAt: 9},
			{ID: "p-4", Event: "push", Payload: []byte(`{"n":"4 again"}`), ReceivedAt: 10},
		}
		if err := s.Tx(ctx, func(tx *sql.Tx) (err error) { ins, err = s.InsertDeliveries(ctx, tx, again); return err }); err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(ins) != "[true false false]" {
			t.Fatalf("inserted = %v, want [true false false]", ins)
		}
		if d, _ := s.Delivery(ctx, "p-1"); string(d.Payload) != `{"n":1}` {
			t.Fatalf("a redelivery overwrote the stored payload: %s", d.Payload)
		}
		if d, _ := s.Delivery(ctx, "p-4"); string(d.Payload) != `{"n":4}` || d.ReceivedAt != 8 {
			t.Fatalf("p-4 = %+v, want the first of the repeated rows", d)
		}
		// Settled at insert: processed with its outcome.
		if d, err := s.Delivery(ctx, "p-3"); err != nil || d.ProcessedAt != 7 || d.Outcome != "ignored" {
			t.Fatalf("settled delivery = %+v, %v", d, err)
		}
		got, err := s.PendingDeliveries(ctx, []string{"p-2", "missing", "p-3", "p-1", "p-2"})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].ID != "p-2" || got[1].ID != "p-1" {
			t.Fatalf("pending = %+v, want p-2 then p-1 (p-3 is processed, missing is absent)", got)
		}
		if p := got[1]; p.Event != "pull_request" || p.Action != "opened" || p.InstallationID != 3 || p.Repository != "acme/shop" || string(p.Payload) != `{"n":1}` || p.ReceivedAt != 5 {
			t.Fatalf("loaded %+v", p)
		}
		if err := s.MarkProcessedMany(ctx, []store.Mark{{ID: "p-1", Outcome: "processed"}, {ID: "p-2", Outcome: "failed", Error: "boom"}, {ID: "p-3", Outcome: "processed"}}); err != nil {
			t.Fatal(err)
		}
		if d, _ := s.Delivery(ctx, "p-2"); d.Outcome != "failed" || d.Error != "boom" || d.ProcessedAt == 0 {
			t.Fatalf("p-2 = %+v", d)
		}
		if d, _ := s.Delivery(ctx, "p-3"); d.Outcome != "ignored" || d.ProcessedAt != 7 {
			t.Fatalf("an already processed delivery was re-marked: %+v", d)
		}
		if got, err := s.PendingDeliveries(ctx, []string{"p-1", "p-2", "p-3"}); err != nil || len(got) != 0 {
			t.Fatalf("pending after marking = %+v, %v", got, err)
		}
	})
}

// jobStates lists the state of every job in river's table, oldest first.
func jobStates(t *testing.T, s *store.Store) []string {
	t.Helper()
	rows, err := s.DB.QueryContext(context.Background(), `SELECT state FROM river_job ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var st string
		if err := rows.Scan(&st); err != nil {
			t.Fatal(err)
		}
		out = append(out, st)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// PostgreSQL compresses stored webhook payloads with lz4, not pglz: about
// three times less database CPU per 25 KB delivery (docs/performance.md).
func TestPostgresPayloadsCompressWithLZ4(t *testing.T) {
	t.Parallel()
	s := storetest.Open(t, store.Postgres)
	var method string
	if err := s.DB.QueryRowContext(context.Background(), `SELECT attcompression::text FROM pg_attribute WHERE attrelid = 'deliveries'::regclass AND attname = 'payload'`).Scan(&method); err != nil {
		t.Fatal(err)
	}
	if method != "l" {
		t.Fatalf("deliveries.payload compression %q; want lz4 (l)", method)
	}
	// A second migration (another replica starting) leaves it so.
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
}
