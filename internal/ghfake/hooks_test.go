package ghfake

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/google/go-github/v66/github"
)

// receiver is a webhook endpoint that verifies signatures with go-github's own validator.
type receiver struct {
	mu     sync.Mutex
	events []received
	status int
}

type received struct {
	event, guid string
	payload     any
}

func newReceiver(t *testing.T, s *Server) (*receiver, *httptest.Server) {
	rc := &receiver{status: http.StatusAccepted}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := github.ValidatePayload(r, []byte(s.WebhookSecret()))
		if err != nil {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		ev, err := github.ParseWebHook(github.WebHookType(r), body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		rc.mu.Lock()
		defer rc.mu.Unlock()
		rc.events = append(rc.events, received{github.WebHookType(r), github.DeliveryID(r), ev})
		w.WriteHeader(rc.status)
	}))
	t.Cleanup(srv.Close)
	s.SetHookURL(srv.URL)
	return rc, srv
}

func (rc *receiver) all() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.events...)
}

func TestSendSignsAndRecords(t *testing.T) {
	s, _ := fixture(t)
	rc, _ := newReceiver(t, s)
	s.Commit("acme/web", "feature", map[string]*string{"a": str("1")}, "c")
	pr := s.OpenPR("acme/web", "feature", "main", "t", "alice")
	guid, status, err := s.Send("pull_request", s.PullRequestEvent("opened", pr))
	if err != nil || status != http.StatusAccepted {
		t.Fatalf("send = %d, %v", status, err)
	}
	got := rc.all()
	ev, ok := got[0].payload.(*github.PullRequestEvent)
	if len(got) != 1 || !ok || got[0].guid != guid || ev.GetInstallation().GetID() != testInstallation ||
		ev.GetPullRequest().GetHead().GetSHA() != pr.HeadSHA || ev.GetRepo().GetFullName() != "acme/web" {
		t.Fatalf("received %+v", got)
	}
	d := s.Deliveries()[0]
	mac := hmac.New(sha256.New, []byte("ghfake-webhook-secret"))
	mac.Write(d.Payload)
	if d.RequestHeaders["X-Hub-Signature-256"] != "sha256="+hex.EncodeToString(mac.Sum(nil)) {
		t.Fatalf("signature header = %q", d.RequestHeaders["X-Hub-Signature-256"])
	}
	if d.Status != "OK" || d.Action != "opened" || d.RepositoryID == 0 {
		t.Fatalf("delivery = %+v", d)
	}
	// After the secret rotates, a receiver still holding the old one rejects the delivery,
	// and the failure is recorded like GitHub's "Invalid HTTP Response".
	old := s.WebhookSecret()
	strict := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := github.ValidatePayload(r, []byte(old)); err != nil {
			http.Error(w, "bad signature", http.StatusUnauthorized)
		}
	}))
	defer strict.Close()
	s.SetHookURL(strict.URL)
	s.SetWebhookSecret("rotated")
	if _, status, err := s.Send("pull_request", s.PullRequestEvent("synchronize", pr)); err == nil || status != 401 {
		t.Fatalf("rotated secret: status %d, err %v", status, err)
	}
	if last := s.Deliveries()[1]; last.Status != "Invalid HTTP Response: 401" {
		t.Fatalf("failed delivery status = %q", last.Status)
	}
}

func TestFailedDeliveryAndRedelivery(t *testing.T) {
	s, _ := fixture(t)
	app := appClient(t, s)
	rc, _ := newReceiver(t, s)
	rc.status = http.StatusInternalServerError
	pr := s.OpenPR("acme/web", "main", "main", "t", "alice")
	guid, status, err := s.Send("pull_request", s.PullRequestEvent("opened", pr))
	if err == nil || status != 500 {
		t.Fatalf("500 receiver: status %d err %v", status, err)
	}
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	s.SetHookURL(dead.URL)
	if _, status, err := s.Send("ping", map[string]any{"zen": "Keep it logically awesome."}); err == nil || status != 0 {
		t.Fatalf("refused connection: status %d err %v", status, err)
	}

	list, _, err := app.Apps.ListHookDeliveries(ctx, &github.ListCursorOptions{PerPage: 1})
	if err != nil || len(list) != 1 || list[0].GetEvent() != "ping" || list[0].GetStatus() != "failed to connect to host" {
		t.Fatalf("newest delivery = %v, %v", list, err)
	}
	_, resp, _ := app.Apps.ListHookDeliveries(ctx, &github.ListCursorOptions{PerPage: 1})
	list, _, err = app.Apps.ListHookDeliveries(ctx, &github.ListCursorOptions{PerPage: 1, Cursor: resp.Cursor})
	if err != nil || len(list) != 1 || list[0].GetGUID() != guid || list[0].GetStatusCode() != 500 {
		t.Fatalf("second page = %v, %v (cursor %q)", list, err, resp.Cursor)
	}
	full, _, err := app.Apps.GetHookDelivery(ctx, list[0].GetID())
	if err != nil || full.GetRequest().Headers["X-GitHub-Event"] != "pull_request" || full.Request.RawPayload == nil {
		t.Fatalf("full delivery = %+v, %v", full, err)
	}

	// Fix the receiver and redeliver through the API: same GUID, redelivery=true.
	rc.mu.Lock()
	rc.status = http.StatusOK
	rc.mu.Unlock()
	recv, _ := newReceiver(t, s)
	if _, _, err := app.Apps.RedeliverHookDelivery(ctx, list[0].GetID()); err != nil {
		if _, ok := err.(*github.AcceptedError); !ok {
			t.Fatalf("redeliver: %v", err)
		}
	}
	got := recv.all()
	if len(got) != 1 || got[0].guid != guid {
		t.Fatalf("redelivered = %+v", got)
	}
	latest, _, err := app.Apps.ListHookDeliveries(ctx, &github.ListCursorOptions{PerPage: 1})
	if err != nil || !latest[0].GetRedelivery() || latest[0].GetGUID() != guid || latest[0].GetStatus() != "OK" {
		t.Fatalf("redelivery listing = %+v, %v", latest, err)
	}
}
