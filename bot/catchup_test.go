package bot

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/conveyor-dev/conveyor/internal/ghclient"
	"github.com/conveyor-dev/conveyor/internal/ghfake"
	"github.com/conveyor-dev/conveyor/internal/store"
	"github.com/conveyor-dev/conveyor/internal/store/storetest"
	"github.com/conveyor-dev/conveyor/internal/testwait"
)

func newFakeApp(t *testing.T) (*ghfake.Server, *ghclient.App) {
	t.Helper()
	fake := ghfake.NewTest(t)
	fake.AddRepo("acme/shop", "main", 42)
	fake.Commit("acme/shop", "main", map[string]*string{"README.md": str("hello\n")}, "first")
	app, err := ghclient.New(ghclient.Options{AppID: fake.AppID(), PrivateKey: fake.PrivateKeyPEM(), APIURL: fake.URL(),
		Retry: ghclient.RetryPolicy{BaseDelay: time.Millisecond, MaxDelay: 2 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	return fake, app
}

func str(s string) *string { return &s }

// Deliveries that failed while Conveyor was down are redelivered by the
// catch-up and processed; ones Conveyor stored are not asked for again.
func TestCatchUpRedeliversMissedDeliveries(t *testing.T) {
	t.Parallel()
	st := storetest.Open(t, store.SQLite)
	fake, app := newFakeApp(t)
	fake.SetWebhookSecret(testSecret)
	pr := fake.OpenPR("acme/shop", "main", "main", "Change", "dev")
	// Conveyor is down: GitHub's attempts fail.
	fake.SetHookURL("http://127.0.0.1:1/webhooks/github")
	var missed []string
	for i := 0; i < 3; i++ {
		id, _, _ := fake.Send("pull_request", fake.PullRequestEvent("synchronize", pr))
		missed = append(missed, id)
	}
	cfg := &Config{AppID: fake.AppID(), PrivateKey: fake.PrivateKeyPEM(), WebhookSecret: testSecret, GitHubAPIURL: fake.URL()}
	q := store.NewQueue(st, store.QueueConfig{Workers: 2, PollInterval: 20 * time.Millisecond})
	srv, err := NewServer(ServerOptions{Config: cfg, Store: st, Queue: q, GitHub: app, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	rec := &recordingHandler{}
	srv.Router.Register(rec)
	q.Start(context.Background())
	defer q.Stop(context.Background())
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	fake.SetHookURL(hs.URL + "/webhooks/github")
	// One delivery arrives normally once Conveyor is back.
	okID, status, _ := fake.Send("pull_request", fake.PullRequestEvent("edited", pr))
	if status != 202 {
		t.Fatalf("live delivery: %d", status)
	}
	srv.CatchUp.Settle = time.Nanosecond
	n, err := srv.CatchUp.Run(context.Background())
	if err != nil || n != 3 {
		t.Fatalf("catch-up = %d, %v; want 3 redeliveries", n, err)
	}
	for _, id := range missed {
		testwait.For(t, "redelivered "+id, func() bool {
			d, err := st.Delivery(context.Background(), id)
			return err == nil && d.ProcessedAt != 0
		})
		if rec.count(id) != 1 {
			t.Fatalf("%s handled %d times", id, rec.count(id))
		}
	}
	if rec.count(okID) != 1 {
		t.Fatalf("live delivery handled %d times", rec.count(okID))
	}
	// A second pass finds nothing missing.
	if n, err := srv.CatchUp.Run(context.Background()); err != nil || n != 0 {
		t.Fatalf("second pass = %d, %v", n, err)
	}
}
