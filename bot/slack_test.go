package bot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/slack-go/slack"

	"github.com/conveyor-dev/conveyor/internal/slackfake"
)

const testSlackSecret = "test-signing-secret"

// slackRecorder is a SlackHandler that records the interactions it got and
// answers with outcome and err.
type slackRecorder struct {
	mu      sync.Mutex
	got     []string // action IDs of the first block action, or the type
	outcome string
	err     error
}

func (r *slackRecorder) HandleInteraction(ctx context.Context, cb *slack.InteractionCallback) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	what := string(cb.Type)
	if len(cb.ActionCallback.BlockActions) > 0 {
		what = cb.ActionCallback.BlockActions[0].ActionID
	}
	r.got = append(r.got, what)
	return r.outcome, r.err
}

func (r *slackRecorder) calls() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.got)
}

func newSlackHandler(now time.Time) (*SlackInteractions, *slackRecorder) {
	rec := &slackRecorder{outcome: "enqueued"}
	return &SlackInteractions{
		SigningSecret: []byte(testSlackSecret), Handler: rec,
		Metrics: NewMetrics(),
		Now:     func() time.Time { return now },
	}, rec
}

func click(action, value string) slack.InteractionCallback {
	cb := slack.InteractionCallback{Type: slack.InteractionTypeBlockActions, TriggerID: "trig-1", User: slack.User{ID: "U1", Name: "sam"}}
	cb.Container = slack.Container{Type: "message", ChannelID: "C1", MessageTs: "1700000000.000001"}
	cb.ActionCallback.BlockActions = []*slack.BlockAction{{ActionID: action, Value: value}}
	return cb
}

// send posts payload signed at signedAt with secret and returns the status.
func send(t *testing.T, h http.Handler, payload string, secret string, signedAt time.Time) int {
	t.Helper()
	body := []byte(url.Values{"payload": {payload}}.Encode())
	req := httptest.NewRequest(http.MethodPost, "/slack/interactions", bytes.NewReader(body))
	req.Header = slackfake.SignInteraction(secret, body, signedAt)
	rr := httptest.NewRecorder()
	h.ServeHTTP(rr, req)
	return rr.Code
}

func encode(t *testing.T, cb slack.InteractionCallback) string {
	t.Helper()
	b, err := json.Marshal(&cb)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// A verified interaction reaches the handler; its outcome decides the
// answer and the metric, and the metric's labels stay a fixed set.
func TestSlackVerifiedInteractionReachesHandler(t *testing.T) {
	t.Parallel()
	now := time.Now()
	cases := []struct {
		outcome string
		err     error
		status  int
		label   string
	}{
		{"enqueued", nil, http.StatusOK, "enqueued"},
		{"modal", nil, http.StatusOK, "modal"},
		{"ignored", nil, http.StatusOK, "ignored"},
		{"whatever\x84", nil, http.StatusOK, "other"},
		{"malformed", errors.New("interaction names deployment \"x\""), http.StatusBadRequest, "malformed"},
		{"modal", errors.New("expired_trigger_id"), http.StatusBadGateway, "failed"},
		{"failed", errors.New("database is locked"), http.StatusServiceUnavailable, "failed"},
	}
	for _, c := range cases {
		h, rec := newSlackHandler(now)
		rec.outcome, rec.err = c.outcome, c.err
		if code := send(t, h, encode(t, click("approve_deployment", "42")), testSlackSecret, now); code != c.status {
			t.Errorf("outcome %q err %v: status %d, want %d", c.outcome, c.err, code, c.status)
		}
		if rec.calls() != 1 || rec.got[0] != "approve_deployment" {
			t.Errorf("outcome %q: handler got %v", c.outcome, rec.got)
		}
		if n := testutil.ToFloat64(h.Metrics.SlackRequests.WithLabelValues(c.label)); n != 1 {
			t.Errorf("outcome %q: metric %q = %v, want 1", c.outcome, c.label, n)
		}
	}
}

func TestSlackForgedOrStaleRequestsAreRefused(t *testing.T) {
	t.Parallel()
	now := time.Now()
	payload := ""
	cases := []struct {
		name     string
		secret   string
		signedAt time.Time
		outcome  string
	}{
		{"wrong secret", "not-the-secret", now, "forged"},
		{"stale timestamp", testSlackSecret, now.Add(-6 * time.Minute), "stale"},
		{"future timestamp", testSlackSecret, now.Add(6 * time.Minute), "stale"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h, rec := newSlackHandler(now)
			payload = encode(t, click("approve_deployment", "42"))
			if code := send(t, h, payload, c.secret, c.signedAt); code != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401", code)
			}
			if rec.calls() != 0 {
				t.Fatalf("a refused request reached the handler %d times", rec.calls())
			}
			if n := testutil.ToFloat64(h.Metrics.SlackRequests.WithLabelValues(c.outcome)); n != 1 {
				t.Errorf("%s metric %v, want 1", c.outcome, n)
			}
		})
	}
	t.Run("tampered body", func(t *testing.T) {
		h, rec := newSlackHandler(now)
		body := []byte(url.Values{"payload": {payload}}.Encode())
		req := httptest.NewRequest(http.MethodPost, "/slack/interactions", bytes.NewReader(append(body, 'x')))
		req.Header = slackfake.SignInteraction(testSlackSecret, body, now)
		rr := httptest.NewRecorder()
		h.ServeHTTP(rr, req)
		if rr.Code != http.StatusUnauthorized || rec.calls() != 0 {
			t.Fatalf("tampered body: status %d, %d enqueued; want 401 and nothing", rr.Code, rec.calls())
		}
	})
	t.Run("no signing secret configured", func(t *testing.T) {
		h, rec := newSlackHandler(now)
		h.SigningSecret = nil
		if code := send(t, h, payload, "", now); code != http.StatusUnauthorized || rec.calls() != 0 {
			t.Fatalf("status %d with no secret, want 401 and nothing enqueued", code)
		}
	})
}

// A body that is not an interaction form never reaches the handler.
func TestSlackMalformedRequestsAreRefused(t *testing.T) {
	t.Parallel()
	now := time.Now()
	h, rec := newSlackHandler(now)
	if code := send(t, h, "", testSlackSecret, now); code != http.StatusBadRequest {
		t.Errorf("empty payload: %d, want 400", code)
	}
	if code := send(t, h, "{not json", testSlackSecret, now); code != http.StatusBadRequest {
		t.Errorf("broken JSON: %d, want 400", code)
	}
	if rec.calls() != 0 {
		t.Fatalf("handler called %d times for malformed requests", rec.calls())
	}
	if n := testutil.ToFloat64(h.Metrics.SlackRequests.WithLabelValues("malformed")); n != 2 {
		t.Errorf("malformed metric %v, want 2", n)
	}
}
