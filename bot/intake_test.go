package bot

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/conveyor-dev/conveyor/internal/store"
	"github.com/conveyor-dev/conveyor/internal/store/storetest"
	"github.com/conveyor-dev/conveyor/internal/testwait"
)

const testSecret = "It's a Secret to Everybody"

// recordingHandler remembers every delivery it handled.
type recordingHandler struct {
	mu   sync.Mutex
	seen []string
	keys []string
	fail error
}

func (h *recordingHandler) Handles() []string {
	if len(h.keys) > 0 {
		return h.keys
	}
	return []string{"pull_request", "issue_comment.created"}
}

func (h *recordingHandler) Handle(ctx context.Context, eventType, deliveryID string, payload []byte) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.seen = append(h.seen, deliveryID)
	return h.fail
}

func (h *recordingHandler) count(id string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, s := range h.seen {
		if s == id {
			n++
		}
	}
	return n
}

type testServer struct {
	*Server
	http *httptest.Server
	rec  *recordingHandler
}

func newTestServer(t *testing.T, st *store.Store, workers int, configure ...func(*Config)) *testServer {
	t.Helper()
	key := testKeyPEM(t)
	cfg := &Config{AppID: 1, PrivateKey: key, WebhookSecret: testSecret, GitHubAPIURL: "http://127.0.0.1:1/", AppSlug: "conveyor"}
	for _, c := range configure {
		c(cfg)
	}
	q := store.NewQueue(st, store.QueueConfig{Workers: workers, PollInterval: 20 * time.Millisecond})
	srv, err := NewServer(ServerOptions{Config: cfg, Store: st, Queue: q, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	rec := &recordingHandler{}
	srv.Router.Register(rec)
	if err := q.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Stop(context.Background()) })
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	return &testServer{Server: srv, http: hs, rec: rec}
}

func post(t *testing.T, url string, headers map[string]string, body []byte) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("POST", url+"/webhooks/github", bytes.NewReader(body))
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func signed(event, id string, body []byte) map[string]string {
	return map[string]string{
		"X-GitHub-Event": event, "X-GitHub-Delivery": id,
		"X-Hub-Signature-256": Sign([]byte(testSecret), body), "Content-Type": "application/json",
	}
}

func prBody(n int) []byte {
	return []byte(fmt.Sprintf(`{"action":"opened","number":%d,"installation":{"id":42},"repository":{"full_name":"acme/shop"},"sender":{"login":"dev","type":"User"}}`, n))
}

// jobsSettled reports whether no job is left to run: none available,
// scheduled, retryable, pending or running. Once a delivery is processed and
// its job settled, nothing can handle it again.
func jobsSettled(t *testing.T, q *store.Queue) bool {
	t.Helper()
	res, err := q.Client().JobList(context.Background(), river.NewJobListParams().States(
		rivertype.JobStateAvailable, rivertype.JobStateScheduled, rivertype.JobStateRetryable,
		rivertype.JobStatePending, rivertype.JobStateRunning))
	if err != nil {
		t.Fatalf("list jobs: %v", err)
	}
	return len(res.Jobs) == 0
}

func TestIntake(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ts := newTestServer(t, st, 2)
		ctx := context.Background()
		body := prBody(1)

		cases := []struct {
			name    string
			headers map[string]string
			body    []byte
			status  int
			reason  string
		}{
			{"no signature", map[string]string{"X-GitHub-Event": "pull_request", "X-GitHub-Delivery": "a"}, body, 401, "signature"},
			{"forged signature", map[string]string{"X-GitHub-Event": "pull_request", "X-GitHub-Delivery": "a", "X-Hub-Signature-256": Sign([]byte("wrong"), body)}, body, 401, "signature"},
			{"garbage signature", map[string]string{"X-GitHub-Event": "pull_request", "X-GitHub-Delivery": "a", "X-Hub-Signature-256": "sha256=zz"}, body, 401, "signature"},
			{"missing event", map[string]string{"X-GitHub-Delivery": "a", "X-Hub-Signature-256": Sign([]byte(testSecret), body)}, body, 400, "headers"},
			{"missing delivery", map[string]string{"X-GitHub-Event": "pull_request", "X-Hub-Signature-256": Sign([]byte(testSecret), body)}, body, 400, "headers"},
			{"malformed json", signed("pull_request", "bad-json", []byte(`{"action":`)), []byte(`{"action":`), 400, "json"},
			{"json but not an object", signed("pull_request", "array", []byte(`[{"action":"opened"}]`)), []byte(`[{"action":"opened"}]`), 400, "json"},
			{"trailing garbage", signed("pull_request", "trailing", []byte(`{"action":"opened"} x`)), []byte(`{"action":"opened"} x`), 400, "json"},
		}
		for _, c := range cases {
			resp := post(t, ts.http.URL, c.headers, c.body)
			if resp.StatusCode != c.status {
				t.Errorf("%s: status %d, want %d", c.name, resp.StatusCode, c.status)
			}
		}
		if got := testutil.ToFloat64(ts.Metrics.Rejected.WithLabelValues("signature")); got != 3 {
			t.Errorf("signature rejections = %v, want 3", got)
		}
		// Oversized body: 413 before anything is stored.
		big := bytes.Repeat([]byte("x"), MaxWebhookBody+10)
		if resp := post(t, ts.http.URL, signed("push", "big", big), big); resp.StatusCode != 413 {
			t.Errorf("oversized: %d", resp.StatusCode)
		}
		if stored, _, _ := st.DeliveryCounts(ctx); stored != 0 {
			t.Fatalf("rejected requests stored %d deliveries", stored)
		}

		// A real delivery: 202, stored, processed once; the redelivery gets 200.
		if resp := post(t, ts.http.URL, signed("pull_request", "real-1", body), body); resp.StatusCode != 202 {
			t.Fatalf("real delivery: %d", resp.StatusCode)
		}
		if resp := post(t, ts.http.URL, signed("pull_request", "real-1", body), body); resp.StatusCode != 200 {
			t.Fatalf("duplicate delivery: %d", resp.StatusCode)
		}
		testwait.For(t, "processing", func() bool {
			d, err := st.Delivery(ctx, "real-1")
			return err == nil && d.ProcessedAt != 0
		})
		d, _ := st.Delivery(ctx, "real-1")
		if d.Outcome != "processed" || d.Repository != "acme/shop" || d.InstallationID != 42 || d.Action != "opened" {
			t.Fatalf("stored delivery = %+v", d)
		}
		testwait.For(t, "the delivery's job to settle", func() bool { return jobsSettled(t, ts.Queue) })
		if n := ts.rec.count("real-1"); n != 1 {
			t.Fatalf("handled %d times, want 1", n)
		}
		// An event nobody handles is stored and marked ignored.
		other := []byte(`{"action":"created","installation":{"id":42}}`)
		post(t, ts.http.URL, signed("star", "star-1", other), other)
		testwait.For(t, "ignored", func() bool { d, err := st.Delivery(ctx, "star-1"); return err == nil && d.Outcome == "ignored" })
		// The app's own events are ignored.
		own := []byte(`{"action":"opened","installation":{"id":42},"sender":{"login":"conveyor[bot]","type":"Bot"}}`)
		post(t, ts.http.URL, signed("pull_request", "own-1", own), own)
		testwait.For(t, "own ignored", func() bool { d, err := st.Delivery(ctx, "own-1"); return err == nil && d.Outcome == "ignored" })
		if ts.rec.count("own-1") != 0 {
			t.Fatal("handled the app's own event")
		}
	})
}

// An event no handler acts on is settled by the intake itself, in the same
// transaction that stores it: marked ignored, no job queued. A handled event
// next to it gets its job as usual. No worker runs here, so whatever is
// processed was processed by the intake.
func TestIntakeSettlesUnhandledEvents(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ts := newTestServer(t, st, 0)
		ctx := context.Background()
		star := []byte(`{"action":"created","installation":{"id":42},"repository":{"full_name":"acme/shop"}}`)
		if resp := post(t, ts.http.URL, signed("star", "star-1", star), star); resp.StatusCode != 202 {
			t.Fatalf("unhandled event: %d", resp.StatusCode)
		}
		// The action matters: issue_comment.created is handled, .deleted is not.
		del := []byte(`{"action":"deleted","installation":{"id":42}}`)
		post(t, ts.http.URL, signed("issue_comment", "del-1", del), del)
		body := prBody(3)
		post(t, ts.http.URL, signed("pull_request", "pr-3", body), body)

		for _, id := range []string{"star-1", "del-1"} {
			d, err := st.Delivery(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if d.Outcome != "ignored" || d.ProcessedAt == 0 || d.ProcessedAt != d.ReceivedAt || len(d.Payload) == 0 {
				t.Fatalf("%s stored as %+v, want settled as ignored with its payload", id, d)
			}
		}
		if d, _ := st.Delivery(ctx, "pr-3"); d.ProcessedAt != 0 || d.Outcome != "" {
			t.Fatalf("handled delivery settled by the intake: %+v", d)
		}
		if n, err := ts.Queue.Depth(ctx); err != nil || n != 1 {
			t.Fatalf("queue depth = %d (%v), want 1: only the handled delivery gets a job", n, err)
		}
		if got := testutil.ToFloat64(ts.Metrics.Deliveries.WithLabelValues("star", "ignored")); got != 1 {
			t.Errorf("ignored star deliveries metric = %v, want 1", got)
		}
		// A redelivery of a settled delivery is still a duplicate.
		if resp := post(t, ts.http.URL, signed("star", "star-1", star), star); resp.StatusCode != 200 {
			t.Fatalf("redelivery of a settled delivery: %d", resp.StatusCode)
		}
		if n, _ := ts.Queue.Depth(ctx); n != 1 {
			t.Fatalf("queue depth after redelivery = %d, want 1", n)
		}
	})
}

func TestHandlerFailureIsRetried(t *testing.T) {
	t.Parallel()
	st := storetest.Open(t, store.SQLite)
	ts := newTestServer(t, st, 1)
	ts.rec.fail = fmt.Errorf("GitHub said no")
	body := prBody(2)
	post(t, ts.http.URL, signed("pull_request", "retry-1", body), body)
	testwait.For(t, "first failure recorded", func() bool {
		d, err := st.Delivery(context.Background(), "retry-1")
		return err == nil && strings.Contains(d.Error, "GitHub said no")
	})
	ts.rec.mu.Lock()
	ts.rec.fail = nil
	ts.rec.mu.Unlock()
	// river retries after its backoff (about a second for the first retry).
	testwait.For(t, "retried to success", func() bool {
		d, _ := st.Delivery(context.Background(), "retry-1")
		return d.Outcome == "processed"
	})
}

func TestVerifySignature(t *testing.T) {
	t.Parallel()
	body := []byte(`{"zen":"Keep it logically awesome."}`)
	if !VerifySignature([]byte("s"), body, Sign([]byte("s"), body)) {
		t.Fatal("own signature rejected")
	}
	for _, h := range []string{"", "sha1=abc", Sign([]byte("t"), body), "sha256="} {
		if VerifySignature([]byte("s"), body, h) {
			t.Fatalf("accepted %q", h)
		}
	}
}

// Concurrent copies of one delivery share a batch: exactly one is accepted.
func TestConcurrentDuplicatesAcceptedOnce(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ts := newTestServer(t, st, 2)
		body := prBody(9)
		var wg sync.WaitGroup
		codes := make(chan int, 20)
		for i := 0; i < 20; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				codes <- post(t, ts.http.URL, signed("pull_request", "same-1", body), body).StatusCode
			}()
		}
		wg.Wait()
		close(codes)
		got := map[int]int{}
		for c := range codes {
			got[c]++
		}
		if got[202] != 1 || got[200] != 19 {
			t.Fatalf("status counts = %v; want one 202 and nineteen 200", got)
		}
		testwait.For(t, "processed", func() bool { return ts.rec.count("same-1") == 1 })
		testwait.For(t, "jobs to settle", func() bool { return jobsSettled(t, ts.Queue) })
		if n := ts.rec.count("same-1"); n != 1 {
			t.Fatalf("handled %d times", n)
		}
	})
}

type permanentErr struct{}

func (permanentErr) Error() string   { return "payload has no pull request" }
func (permanentErr) Permanent() bool { return true }

// A handler error that says retrying cannot help ends the delivery at once.
func TestPermanentErrorsAreNotRetried(t *testing.T) {
	t.Parallel()
	st := storetest.Open(t, store.SQLite)
	ts := newTestServer(t, st, 1)
	ts.rec.fail = fmt.Errorf("handle: %w", permanentErr{})
	body := prBody(3)
	post(t, ts.http.URL, signed("pull_request", "perm-1", body), body)
	testwait.For(t, "marked failed", func() bool {
		d, err := st.Delivery(context.Background(), "perm-1")
		return err == nil && d.Outcome == "failed" && d.ProcessedAt != 0
	})
	if n := ts.rec.count("perm-1"); n != 1 {
		t.Fatalf("handled %d times, want 1", n)
	}
	if !isPermanent(errors.Join(permanentErr{}, fmt.Errorf("x: %w", permanentErr{}))) || isPermanent(errors.Join(permanentErr{}, errors.New("network"))) {
		t.Fatal("isPermanent on joined errors")
	}
}

// A stored payload that is not JSON (written before the intake checked, or
// by hand) fails at once instead of being retried for hours.
func TestUnreadableStoredPayloadIsNotRetried(t *testing.T) {
	t.Parallel()
	st := storetest.Open(t, store.SQLite)
	ts := newTestServer(t, st, 1)
	ctx := context.Background()
	err := st.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := st.InsertDelivery(ctx, tx, &store.Delivery{ID: "garbled", Event: "pull_request", Action: "opened", Payload: []byte(`{"action":`), ReceivedAt: 1}); err != nil {
			return err
		}
		_, err := ts.Queue.InsertTx(ctx, tx, DeliveryArgs{DeliveryIDs: []string{"garbled"}}, nil)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	testwait.For(t, "marked failed", func() bool {
		d, err := st.Delivery(ctx, "garbled")
		return err == nil && d.Outcome == "failed" && d.ProcessedAt != 0 && strings.Contains(d.Error, "payload")
	})
	if n := ts.rec.count("garbled"); n != 0 {
		t.Fatalf("a handler saw an unreadable payload %d times", n)
	}
}

func TestMetricsEndpoint(t *testing.T) {
	t.Parallel()
	st := storetest.Open(t, store.SQLite)
	ts := newTestServer(t, st, 1)
	body := prBody(4)
	post(t, ts.http.URL, signed("pull_request", "m-1", body), body)
	post(t, ts.http.URL, map[string]string{"X-GitHub-Event": "pull_request", "X-GitHub-Delivery": "m-2"}, body)
	testwait.For(t, "processed", func() bool { return ts.rec.count("m-1") == 1 })
	resp, err := http.Get(ts.http.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, want := range []string{
		`conveyor_deliveries_total{event="pull_request",outcome="accepted"} 1`,
		`conveyor_webhook_rejected_total{reason="signature"} 1`,
		"conveyor_queue_depth ",
		"conveyor_webhook_intake_seconds_bucket",
		`conveyor_job_seconds_count{kind="github_delivery",outcome="processed"}`,
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		r, err := http.Get(ts.http.URL + path)
		if err != nil || r.StatusCode != 200 {
			t.Errorf("%s: %v %v", path, r.StatusCode, err)
		}
		r.Body.Close()
	}
}
