package commands

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/conveyor-dev/conveyor/bot"
	"github.com/conveyor-dev/conveyor/internal/store"
	"github.com/conveyor-dev/conveyor/internal/store/storetest"
	"github.com/conveyor-dev/conveyor/internal/testwait"
)

// Through the real delivery queue: GitHub answers the reply with 502 once.
// The delivery job fails, so the delivery is not marked processed; river
// retries it, the retry posts the reply without running /lock again, and
// only then is the delivery processed (issue #12 item 7: before, it was
// marked processed and the reply was never posted).
func TestDeliveryIsProcessedOnlyOnceItsReplyIsPosted(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		e, number, _, payload := lockWorld(t, st)
		e.gh.FailNext("POST", commentsPath, 1, http.StatusBadGateway)

		router := bot.NewRouter()
		router.Register(e.h)
		q := store.NewQueue(st, store.QueueConfig{Workers: 2, PollInterval: 20 * time.Millisecond})
		river.AddWorker(q.Workers(), &bot.DeliveryWorker{Store: st, Router: router, Metrics: bot.NewMetrics(), Log: slog.New(slog.DiscardHandler)})
		if err := q.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			q.Stop(sctx)
		})

		b, err := json.Marshal(payload)
		if err != nil {
			t.Fatal(err)
		}
		err = st.Tx(ctx, func(tx *sql.Tx) error {
			if _, err := st.InsertDelivery(ctx, tx, &store.Delivery{ID: "d-1", Event: "issue_comment", Action: "created",
				InstallationID: testInst, Repository: testRepo, Payload: b, ReceivedAt: time.Now().UnixMilli()}); err != nil {
				return err
			}
			_, err := q.InsertTx(ctx, tx, bot.DeliveryArgs{DeliveryIDs: []string{"d-1"}}, &river.InsertOpts{MaxAttempts: 8})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}

		var d *store.Delivery
		testwait.For(t, "the delivery to be processed", func() bool {
			d, err = st.Delivery(ctx, "d-1")
			return err == nil && d.ProcessedAt != 0
		}, func() string { return fmt.Sprintf("%+v %v", d, err) })
		if d.Outcome != "processed" {
			t.Fatalf("outcome = %q (%s), want processed", d.Outcome, d.Error)
		}
		// Processed only after the reply was posted, and the reply once.
		mustContain(t, e.oneReply(e.gh.PR(testRepo, number)), "staging is locked by @dev")
		if len(e.dep.locks) != 1 {
			t.Fatalf("locks = %q, want /lock run once", e.dep.locks)
		}
		var attempt int
		var errs string
		if err := st.DB.QueryRowContext(ctx, `SELECT attempt, CAST(errors AS TEXT) FROM river_job WHERE kind = $1`, bot.DeliveryArgs{}.Kind()).Scan(&attempt, &errs); err != nil {
			t.Fatal(err)
		}
		if attempt != 2 || !strings.Contains(errs, "not accepted by GitHub yet") {
			t.Fatalf("delivery job attempt %d, errors %s; want a failed first attempt for the pending reply", attempt, errs)
		}
	})
}
