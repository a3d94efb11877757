package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/conveyor-dev/conveyor/internal/store"
	"github.com/conveyor-dev/conveyor/internal/store/storetest"
	"github.com/conveyor-dev/conveyor/internal/testwait"
)

var finishedStates = []string{"succeeded", "rolled_back", "cancelled", "rejected", "expired"}

// retentionFixture stores, as of now, deliveries, replies and Slack
// outboxes on either side of every retention rule.
func retentionFixture(t *testing.T, s *store.Store, now time.Time) (outboxes map[string]int64) {
	t.Helper()
	ctx := context.Background()
	day := 24 * time.Hour
	ms := func(ago time.Duration) int64 { return now.Add(-ago).UnixMilli() }
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		for _, d := range []*store.Delivery{
			{ID: "old-done", ReceivedAt: ms(40 * day), ProcessedAt: ms(40 * day)},
			{ID: "old-ignored", ReceivedAt: ms(31 * day), ProcessedAt: ms(31 * day), Outcome: "ignored"},
			{ID: "old-waiting", ReceivedAt: ms(40 * day)}, // never processed: never pruned
			{ID: "week-done", ReceivedAt: ms(6 * day), ProcessedAt: ms(6 * day)},
			{ID: "new-done", ReceivedAt: ms(time.Hour), ProcessedAt: ms(time.Hour)},
		} {
			d.Event, d.Payload = "issue_comment", []byte(`{}`)
			if _, err := s.InsertDelivery(ctx, tx, d); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []store.Reply{
		{DeliveryID: "old-done", N: 0, State: store.ReplyDone, CreatedAt: now.Add(-40 * day)},
		{DeliveryID: "old-done", N: 1, State: store.ReplyFailed, CreatedAt: now.Add(-40 * day)},
		{DeliveryID: "old-waiting", N: 0, State: store.ReplyPending, CreatedAt: now.Add(-40 * day)},
		{DeliveryID: "new-done", N: 0, State: store.ReplyDone, CreatedAt: now.Add(-time.Hour)},
	} {
		r.Kind, r.Repository, r.Content = "reaction", "acme/shop", "+1"
		if err := s.SaveReplies(ctx, []store.Reply{r}); err != nil {
			t.Fatal(err)
		}
	}
	outboxes = map[string]int64{}
	for i, c := range []struct {
		name, state string
		ago         time.Duration
		pending     bool
	}{
		{"succeeded-old", "succeeded", 8 * day, false},
		{"rolled-back-old", "rolled_back", 9 * day, false},
		{"succeeded-recent", "succeeded", 2 * day, false},
		{"in-progress-old", "in_progress", 8 * day, false},
		{"failed-old", "failed", 8 * day, false}, // may still be rolled back
		{"succeeded-old-unshown", "succeeded", 8 * day, true},
	} {
		d := newDeployment("acme/shop", "env"+fmt.Sprint(i), c.name, 7)
		d.State = c.state
		if err := store.InsertDeployment(ctx, s.DB, d); err != nil {
			t.Fatal(err)
		}
		outboxes[c.name] = d.ID
		if _, _, err := store.RecordSlackChange(ctx, s.DB, store.SlackChange{DeploymentID: d.ID, Event: "created"}, time.Hour); err != nil {
			t.Fatal(err)
		}
		if !c.pending {
			if err := store.MarkSlackChangeDone(ctx, s.DB, d.ID, 1); err != nil {
				t.Fatal(err)
			}
			if _, err := store.SettleSlackFlush(ctx, s.DB, d.ID, 1); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.DB.ExecContext(ctx, `UPDATE slack_flush SET updated_at = $1 WHERE deployment_id = $2`, ms(c.ago), d.ID); err != nil {
			t.Fatal(err)
		}
	}
	return outboxes
}

func deliveryIDs(t *testing.T, s *store.Store) []string {
	t.Helper()
	var ids []string
	for _, id := range []string{"old-done", "old-ignored", "old-waiting", "week-done", "new-done"} {
		_, err := s.Delivery(context.Background(), id)
		if err == nil {
			ids = append(ids, id)
		} else if !errors.Is(err, store.ErrNotFound) {
			t.Fatal(err)
		}
	}
	return ids
}

func outboxesLeft(t *testing.T, s *store.Store, outboxes map[string]int64) []string {
	t.Helper()
	var left []string
	for name, id := range outboxes {
		var n int
		if err := s.DB.QueryRowContext(context.Background(),
			`SELECT (SELECT count(*) FROM slack_outbox WHERE deployment_id = $1) + (SELECT count(*) FROM slack_flush WHERE deployment_id = $1)`, id).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			left = append(left, name)
		}
	}
	slices.Sort(left)
	return left
}

// Prune removes processed deliveries and settled replies past the
// retention, and the Slack outboxes of finished deployments a week after
// their last change; it keeps everything still owed work.
func TestPruneKeepsWhatIsStillNeeded(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		now := time.Now()
		outboxes := retentionFixture(t, s, now)
		p, err := s.Prune(ctx, store.Retention{Deliveries: 30 * 24 * time.Hour, FinishedStates: finishedStates}, now)
		if err != nil {
			t.Fatal(err)
		}
		if want := (store.Pruned{Deliveries: 2, Replies: 2, SlackOutboxes: 2}); p != want {
			t.Fatalf("pruned %+v, want %+v", p, want)
		}
		if got, want := deliveryIDs(t, s), []string{"old-waiting", "week-done", "new-done"}; !slices.Equal(got, want) {
			t.Fatalf("deliveries left %v, want %v", got, want)
		}
		for id, want := range map[string]int{"old-done": 0, "old-waiting": 1, "new-done": 1} {
			if rs, err := s.Replies(ctx, id); err != nil || len(rs) != want {
				t.Fatalf("replies of %s: %d (%v), want %d", id, len(rs), err, want)
			}
		}
		if got, want := outboxesLeft(t, s, outboxes), []string{"failed-old", "in-progress-old", "succeeded-old-unshown", "succeeded-recent"}; !slices.Equal(got, want) {
			t.Fatalf("outboxes left %v, want %v", got, want)
		}
		// Idempotent; and a retention under the floor is raised to it, so
		// the 6-day-old delivery survives a 1-day setting.
		p, err = s.Prune(ctx, store.Retention{Deliveries: 24 * time.Hour, FinishedStates: finishedStates}, now)
		if err != nil || p != (store.Pruned{}) {
			t.Fatalf("second prune: %+v, %v", p, err)
		}
		// 0 keeps deliveries forever.
		p, err = s.Prune(ctx, store.Retention{}, now.Add(365*24*time.Hour))
		if err != nil || p != (store.Pruned{}) || len(deliveryIDs(t, s)) != 3 {
			t.Fatalf("prune with no retention: %+v, %v", p, err)
		}
	})
}

// A process that works jobs prunes at start (river's periodic job, run by
// the elected leader), with the retention the queue was given.
func TestQueuePrunesAtStart(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		retentionFixture(t, s, time.Now())
		q := store.NewQueue(s, store.QueueConfig{Workers: 1, Retention: &store.Retention{Deliveries: store.DefaultDeliveryRetention, FinishedStates: finishedStates}})
		if err := q.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { q.Stop(context.Background()) })
		testwait.For(t, "the periodic prune to remove the old processed deliveries", func() bool {
			return slices.Equal(deliveryIDs(t, s), []string{"old-waiting", "week-done", "new-done"})
		}, func() string { return fmt.Sprint("deliveries left: ", deliveryIDs(t, s)) })
	})
}
