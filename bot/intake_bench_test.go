package bot

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/conveyor-dev/conveyor/internal/store"
	"github.com/conveyor-dev/conveyor/internal/store/storetest"
)

// BenchmarkIntake measures the webhook request path (verify, store, enqueue,
// answer) in process, on each store: for an event a handler acts on (stored
// with its job) and for one nobody handles (settled at intake, no job).
func BenchmarkIntake(b *testing.B) {
	for _, d := range storetest.Dialects {
		for _, event := range []string{"pull_request", "workflow_job"} {
			b.Run(string(d)+"/"+event, func(b *testing.B) { benchIntake(b, d, event) })
		}
	}
}

func benchIntake(b *testing.B, d store.Dialect, event string) {
	st := storetest.Open(b, d)
	ts := newBenchServer(b, st)
	ts.Router.Register(&recordingHandler{keys: []string{"pull_request"}})
	body := bytes.Repeat([]byte("x"), 12000)
	payload := []byte(fmt.Sprintf(`{"action":"synchronize","installation":{"id":7},"pad":%q}`, body))
	sig := Sign([]byte(testSecret), payload)
	var n atomic.Int64
	h := ts.Handler()
	b.SetParallelism(16) // GitHub delivers concurrently
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest("POST", "/webhooks/github", bytes.NewReader(payload))
			req.Header.Set("X-GitHub-Event", event)
			req.Header.Set("X-GitHub-Delivery", fmt.Sprintf("bench-%d", n.Add(1)))
			req.Header.Set("X-Hub-Signature-256", sig)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != http.StatusAccepted {
				b.Errorf("status %d: %s", w.Code, w.Body)
				return
			}
		}
	})
}

func newBenchServer(b *testing.B, st *store.Store) *Server {
	key := testKeyPEM(b)
	cfg := &Config{AppID: 1, PrivateKey: key, WebhookSecret: testSecret, AppSlug: "conveyor"}
	q := store.NewQueue(st, store.QueueConfig{Workers: 0})
	srv, err := NewServer(ServerOptions{Config: cfg, Store: st, Queue: q, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	if err := q.Start(b.Context()); err != nil {
		b.Fatal(err)
	}
	return srv
}
