package store_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/conveyor-dev/conveyor/internal/store"
	"github.com/conveyor-dev/conveyor/internal/store/storetest"
)

func TestSlackOutboxNumbersCoalescesAndResumes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		record := func(id int64, event string, step int) (int64, bool) {
			t.Helper()
			seq, enqueue, err := store.RecordSlackChange(ctx, s.DB, store.SlackChange{DeploymentID: id, Event: event, Detail: "d-" + event, Step: step, Percent: 10 * step}, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			return seq, enqueue
		}
		if pending, last, err := store.PendingSlackChanges(ctx, s.DB, 7); err != nil || len(pending) != 0 || last != 0 {
			t.Fatalf("empty outbox: %v %d %v", pending, last, err)
		}
		if seq, enqueue := record(7, "created", 0); seq != 1 || !enqueue {
			t.Fatalf("first change: seq %d enqueue %v, want 1 true", seq, enqueue)
		}
		if seq, enqueue := record(7, "approved", 0); seq != 2 || enqueue {
			t.Fatalf("second change while a flush is pending: seq %d enqueue %v, want 2 false", seq, enqueue)
		}
		if seq, enqueue := record(8, "created", 0); seq != 1 || !enqueue {
			t.Fatalf("another deployment numbers its own changes: seq %d enqueue %v", seq, enqueue)
		}
		record(7, "step", 1)
		pending, last, err := store.PendingSlackChanges(ctx, s.DB, 7)
		if err != nil {
			t.Fatal(err)
		}
		if last != 3 || len(pending) != 3 || pending[0].Event != "created" || pending[1].Event != "approved" || pending[2].Event != "step" {
			t.Fatalf("pending = %+v (last %d), want created, approved, step", pending, last)
		}
		if p := pending[2]; p.Seq != 3 || p.Detail != "d-step" || p.Step != 1 || p.Percent != 10 || p.DeploymentID != 7 {
			t.Fatalf("stored change = %+v", p)
		}
		// Two shown: a flush resumes with the third; marking again is harmless.
		for _, seq := range []int64{1, 2, 2} {
			if err := store.MarkSlackChangeDone(ctx, s.DB, 7, seq); err != nil {
				t.Fatal(err)
			}
		}
		if done, err := store.SlackEventDone(ctx, s.DB, 7, "created"); err != nil || !done {
			t.Fatalf("created shown: %v %v", done, err)
		}
		if done, err := store.SlackEventDone(ctx, s.DB, 7, "step"); err != nil || done {
			t.Fatalf("step not shown yet: %v %v", done, err)
		}
		pending, last, _ = store.PendingSlackChanges(ctx, s.DB, 7)
		if len(pending) != 1 || pending[0].Seq != 3 || last != 3 {
			t.Fatalf("after two shown: %+v (last %d)", pending, last)
		}
		// A change recorded after the flush read the outbox keeps it from settling.
		record(7, "succeeded", 0)
		if ok, err := store.SettleSlackFlush(ctx, s.DB, 7, last); err != nil || ok {
			t.Fatalf("settle with a newer change waiting: %v %v, want false", ok, err)
		}
		if _, enqueue := record(7, "noise", 0); enqueue {
			t.Fatal("a change while the flush runs must not enqueue another")
		}
		_, last, _ = store.PendingSlackChanges(ctx, s.DB, 7)
		if ok, err := store.SettleSlackFlush(ctx, s.DB, 7, last); err != nil || !ok {
			t.Fatalf("settle with everything read: %v %v, want true", ok, err)
		}
		if _, enqueue := record(7, "after", 0); !enqueue {
			t.Fatal("the first change after a settled flush must enqueue one")
		}
		if err := store.DeleteSlackOutbox(ctx, s.DB, 7); err != nil {
			t.Fatal(err)
		}
		if pending, last, err := store.PendingSlackChanges(ctx, s.DB, 7); err != nil || len(pending) != 0 || last != 0 {
			t.Fatalf("deleted outbox: %v %d %v", pending, last, err)
		}
		if pending, _, _ := store.PendingSlackChanges(ctx, s.DB, 8); len(pending) != 1 {
			t.Fatalf("deleting one deployment's outbox touched another's: %+v", pending)
		}
	})
}

// A flush presumed lost (older than staleAfter) lets the next change enqueue another.
func TestSlackOutboxStaleFlushIsReplaced(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		c := store.SlackChange{DeploymentID: 3, Event: "step"}
		if _, enqueue, err := store.RecordSlackChange(ctx, s.DB, c, time.Hour); err != nil || !enqueue {
			t.Fatalf("first: %v %v", enqueue, err)
		}
		time.Sleep(5 * time.Millisecond) // let the millisecond clock move past the stale bound
		if _, enqueue, err := store.RecordSlackChange(ctx, s.DB, c, time.Millisecond); err != nil || !enqueue {
			t.Fatalf("after the pending flush went stale: enqueue %v %v, want true", enqueue, err)
		}
	})
}

// Changes recorded from many goroutines get distinct, gapless numbers.
func TestSlackOutboxConcurrentRecordsAreGapless(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		const n = 20
		errs := make(chan error, n)
		for range n {
			go func() {
				errs <- s.Tx(ctx, func(tx *sql.Tx) error {
					_, _, err := store.RecordSlackChange(ctx, tx, store.SlackChange{DeploymentID: 5, Event: "step"}, time.Hour)
					return err
				})
			}()
		}
		for range n {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		pending, last, err := store.PendingSlackChanges(ctx, s.DB, 5)
		if err != nil || last != n || len(pending) != n {
			t.Fatalf("%d changes, last %d, err %v; want %d", len(pending), last, err, n)
		}
		for i, p := range pending {
			if p.Seq != int64(i+1) {
				t.Fatalf("change %d has seq %d", i, p.Seq)
			}
		}
	})
}
