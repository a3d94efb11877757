package slackapproval_test

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

	"github.com/conveyor-dev/conveyor/bot"
	"github.com/conveyor-dev/conveyor/deploy/slackapproval"
	"github.com/conveyor-dev/conveyor/internal/slackfake"
)

const testSlackSecret = "test-signing-secret"

// slackRecorder records what the endpoint enqueued and which modals it opened.
type slackRecorder struct {
	mu       sync.Mutex
	enqueued []slackapproval.InteractionArgs
	modals   []string // trigger ids
	failOpen error
}

// newSlackHandler is bot's Slack endpoint with the approvals' Endpoint
// behind it, as cmd/conveyor registers it.
func newSlackHandler(now time.Time) (*bot.SlackInteractions, *slackRecorder) {
	rec := &slackRecorder{}
	return &bot.SlackInteractions{
		SigningSecret: []byte(testSlackSecret),
		Handler: slackapproval.Endpoint{
			Enqueue: func(ctx context.Context, a slackapproval.InteractionArgs) error {
				rec.mu.Lock()
				defer rec.mu.Unlock()
				rec.enqueued = append(rec.enqueued, a)
				return nil
			},
			OpenModal: func(ctx context.Context, trigger string, a slackapproval.InteractionArgs) error {
				rec.mu.Lock()
				defer rec.mu.Unlock()
				if rec.failOpen != nil {
					return rec.failOpen
				}
				rec.modals = append(rec.modals, trigger)
				return nil
			},
		},
		Metrics: bot.NewMetrics(),
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

func TestEndpointApproveClickIsEnqueued(t *testing.T) {
	t.Parallel()
	now := time.Now()
	h, rec := newSlackHandler(now)
	if code := send(t, h, encode(t, click(slackapproval.ActionApprove, "42")), testSlackSecret, now); code != http.StatusOK {
		t.Fatalf("status %d, want 200", code)
	}
	if len(rec.enqueued) != 1 {
		t.Fatalf("enqueued %d jobs, want 1", len(rec.enqueued))
	}
	a := rec.enqueued[0]
	if a.ActionID != slackapproval.ActionApprove || a.Value != "42" || a.UserID != "U1" || a.Channel != "C1" || a.TS != "1700000000.000001" {
		t.Errorf("enqueued %+v", a)
	}
	if n := testutil.ToFloat64(h.Metrics.SlackRequests.WithLabelValues("enqueued")); n != 1 {
		t.Errorf("enqueued metric %v, want 1", n)
	}
}

func TestEndpointRejectClickOpensModalAtOnce(t *testing.T) {
	t.Parallel()
	now := time.Now()
	h, rec := newSlackHandler(now)
	if code := send(t, h, encode(t, click(slackapproval.ActionReject, "42")), testSlackSecret, now); code != http.StatusOK {
		t.Fatalf("status %d, want 200", code)
	}
	if len(rec.modals) != 1 || rec.modals[0] != "trig-1" || len(rec.enqueued) != 0 {
		t.Fatalf("modals %v enqueued %d; want the modal opened with trig-1 and nothing enqueued", rec.modals, len(rec.enqueued))
	}
	rec.failOpen = errors.New("expired_trigger_id")
	if code := send(t, h, encode(t, click(slackapproval.ActionReject, "42")), testSlackSecret, now); code != http.StatusBadGateway {
		t.Errorf("a failed views.open answered %d, want 502 so Slack shows the click failed", code)
	}
}

func TestEndpointMalformedAndForeignPayloads(t *testing.T) {
	t.Parallel()
	now := time.Now()
	h, rec := newSlackHandler(now)
	if code := send(t, h, "", testSlackSecret, now); code != http.StatusBadRequest {
		t.Errorf("empty payload: %d, want 400", code)
	}
	if code := send(t, h, "{not json", testSlackSecret, now); code != http.StatusBadRequest {
		t.Errorf("broken JSON: %d, want 400", code)
	}
	if code := send(t, h, encode(t, click(slackapproval.ActionApprove, "not-a-number")), testSlackSecret, now); code != http.StatusBadRequest {
		t.Errorf("bad deployment id: %d, want 400", code)
	}
	if code := send(t, h, encode(t, click("someone_elses_button", "1")), testSlackSecret, now); code != http.StatusOK {
		t.Errorf("another app's button: %d, want 200 (acknowledged, ignored)", code)
	}
	if len(rec.enqueued) != 0 {
		t.Fatalf("enqueued %d jobs from malformed or foreign payloads", len(rec.enqueued))
	}
	if n := testutil.ToFloat64(h.Metrics.SlackRequests.WithLabelValues("malformed")); n != 3 {
		t.Errorf("malformed metric %v, want 3", n)
	}
}

func TestEndpointModalSubmissionIsEnqueuedWithReason(t *testing.T) {
	t.Parallel()
	now := time.Now()
	h, rec := newSlackHandler(now)
	cb := slack.InteractionCallback{Type: slack.InteractionTypeViewSubmission, User: slack.User{ID: "U1"}}
	cb.View = slack.View{CallbackID: slackapproval.CallbackReject, PrivateMetadata: "42", State: &slack.ViewState{Values: map[string]map[string]slack.BlockAction{
		slackapproval.ReasonBlock: {slackapproval.ReasonAction: {Value: "  too risky  "}},
	}}}
	if code := send(t, h, encode(t, cb), testSlackSecret, now); code != http.StatusOK {
		t.Fatalf("status %d, want 200", code)
	}
	if len(rec.enqueued) != 1 || rec.enqueued[0].Reason != "too risky" || rec.enqueued[0].ViewPrivateMetadata != "42" {
		t.Fatalf("enqueued %+v, want the reason and deployment 42", rec.enqueued)
	}
}
