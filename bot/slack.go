package bot

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"
)

// MaxSlackBody caps an interaction request; Slack's payloads are far smaller.
const MaxSlackBody = 1 << 20

// SlackMaxSkew is how far X-Slack-Request-Timestamp may be from now.
const SlackMaxSkew = 5 * time.Minute

// SlackHandler decides what a verified Slack interaction means; the package
// that owns the buttons (deploy/slackapproval) implements it and
// cmd/conveyor registers it with Server.HandleSlack, as GitHub handlers are
// registered on the Router. HandleInteraction must return within Slack's
// three seconds: open a modal at once (a trigger_id lives three seconds) or
// store the interaction as a durable job.
//
// On success outcome says what happened: "enqueued", "modal" or "ignored"
// (not one of ours; acknowledged). On error it says how the request failed:
// "malformed" (answered 400 with the error's text), "modal" (the dialog could
// not be opened: 502, so Slack shows the click failed) or anything else
// (storing failed: 503).
type SlackHandler interface {
	HandleInteraction(ctx context.Context, cb *slack.InteractionCallback) (outcome string, err error)
}

// SlackInteractions is the POST /slack/interactions handler: verify the
// signature, parse the interaction and hand it to Handler, and answer within
// Slack's three-second limit. Forged or stale requests get 401 and change
// nothing but a metric.
type SlackInteractions struct {
	SigningSecret []byte
	Handler       SlackHandler
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
	outcome, err := h.Handler.HandleInteraction(r.Context(), &cb)
	switch {
	case err == nil:
		switch outcome {
		case "enqueued", "modal", "ignored":
		default:
			outcome = "other" // a label from a fixed set, whatever the handler says
		}
		h.count(outcome)
		w.WriteHeader(http.StatusOK)
	case outcome == "malformed":
		h.count("malformed")
		http.Error(w, err.Error(), http.StatusBadRequest)
	case outcome == "modal":
		h.count("failed")
		h.log().Warn("open slack modal", "user", cb.User.ID, "err", err)
		http.Error(w, "could not open the dialog; try again", http.StatusBadGateway)
	default:
		h.count("failed")
		h.log().Error("store slack interaction", "user", cb.User.ID, "err", err)
		http.Error(w, "could not store the interaction; try again", http.StatusServiceUnavailable)
	}
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
