package bot

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/conveyor-dev/conveyor/deploy/slackapproval"
)

// MaxSlackBody caps an interaction request; Slack's payloads are far smaller.
const MaxSlackBody = 1 << 20

// SlackMaxSkew is how far X-Slack-Request-Timestamp may be from now.
const SlackMaxSkew = 5 * time.Minute

// SlackInteractions is the POST /slack/interactions handler: verify the
// signature, then either open the reject modal at once (a trigger_id lives
// three seconds) or store the interaction as a durable job, and answer 200
// within Slack's three-second limit. Forged or stale requests get 401 and
// change nothing but a metric.
type SlackInteractions struct {
	SigningSecret []byte
	Enqueue       func(ctx context.Context, args slackapproval.InteractionArgs) error
	OpenModal     func(ctx context.Context, triggerID string, args slackapproval.InteractionArgs) error
	Metrics       *Metrics
	Log           *slog.Logger
	Now           func() time.Time
}

// ServeHTTP handles one interaction request.
func (h *SlackInteractions) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxSlackBody))
	if err != nil {
		h.count("too_large")
		http.Error(w, "request body too large or unreadable", http.StatusRequestEntityTooLarge)
		return
	}
	if reason := h.verify(r.Header, body); reason != "" {
		h.count(reason)
		http.Error(w, "invalid Slack signature or timestamp", http.StatusUnauthorized)
		return
	}
	form, err := url.ParseQuery(string(body))
	payload := form.Get("payload")
	if err != nil || payload == "" {
		h.count("malformed")
		http.Error(w, "expected a form with a payload field holding the interaction JSON", http.StatusBadRequest)
		return
	}
	var cb slack.InteractionCallback
	if err := json.Unmarshal([]byte(payload), &cb); err != nil {
		h.count("malformed")
		http.Error(w, "payload is not an interaction JSON object", http.StatusBadRequest)
		return
	}
	args, err := slackapproval.FromCallback(&cb)
	switch {
	case errors.Is(err, slackapproval.ErrNotOurs):
		h.count("ignored")
		w.WriteHeader(http.StatusOK)
		return
	case err != nil:
		h.count("malformed")
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if args.IsRejectClick() {
		if err := h.OpenModal(r.Context(), cb.TriggerID, args); err != nil {
			h.count("failed")
			h.log().Warn("open reject modal", "user", args.UserID, "err", err)
			http.Error(w, "could not open the reject dialog; try again", http.StatusBadGateway)
			return
		}
		h.count("modal")
		w.WriteHeader(http.StatusOK)
		return
	}
	if err := h.Enqueue(r.Context(), args); err != nil {
		h.count("failed")
		h.log().Error("store slack interaction", "user", args.UserID, "err", err)
		http.Error(w, "could not store the interaction; try again", http.StatusServiceUnavailable)
		return
	}
	h.count("enqueued")
	w.WriteHeader(http.StatusOK)
}

// verify checks Slack's v0 signature and the timestamp's freshness; it
// returns the rejection reason, or "".
func (h *SlackInteractions) verify(hdr http.Header, body []byte) string {
	if len(h.SigningSecret) == 0 {
		return "no_secret"
	}
	stamp := hdr.Get("X-Slack-Request-Timestamp")
	sec, err := strconv.ParseInt(stamp, 10, 64)
	if err != nil {
		return "stale"
	}
	now := time.Now
	if h.Now != nil {
		now = h.Now
	}
	if skew := now().Sub(time.Unix(sec, 0)); skew > SlackMaxSkew || skew < -SlackMaxSkew {
		return "stale"
	}
	got, ok := strings.CutPrefix(hdr.Get("X-Slack-Signature"), "v0=")
	sig, err := hex.DecodeString(got)
	if !ok || err != nil {
		return "forged"
	}
	mac := hmac.New(sha256.New, h.SigningSecret)
	mac.Write([]byte("v0:" + stamp + ":"))
	mac.Write(body)
	if !hmac.Equal(sig, mac.Sum(nil)) {
		return "forged"
	}
	return ""
}

func (h *SlackInteractions) count(outcome string) {
	if h.Metrics != nil {
		h.Metrics.SlackRequests.WithLabelValues(outcome).Inc()
	}
}

func (h *SlackInteractions) log() *slog.Logger {
	if h.Log == nil {
		return slog.Default()
	}
	return h.Log
}
