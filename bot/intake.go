package bot

import (
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/conveyor-dev/conveyor/internal/store"
)

// MaxWebhookBody is GitHub's cap on webhook payloads (25 MB).
const MaxWebhookBody = 25 << 20

// DeliveryArgs is the durable job that processes one stored delivery.
type DeliveryArgs struct {
	DeliveryID string `json:"delivery_id"`
	Event      string `json:"event"`
}

// Kind names the job for river.
func (DeliveryArgs) Kind() string { return "github_delivery" }

// envelope is the part of every payload the intake and router need.
type envelope struct {
	Action       string `json:"action"`
	Installation *struct {
		ID int64 `json:"id"`
	} `json:"installation"`
	Repository *struct {
		FullName string `json:"full_name"`
	} `json:"repository"`
	Sender *struct {
		Login string `json:"login"`
		Type  string `json:"type"`
	} `json:"sender"`
}

// Intake is the /webhooks/github handler: verify, store with its job in one
// transaction, answer. It never calls GitHub.
type Intake struct {
	Secret  []byte
	Store   *store.Store
	Queue   *store.Queue
	Metrics *Metrics
	Log     *slog.Logger
}

// VerifySignature checks an X-Hub-Signature-256 header against body in
// constant time.
func VerifySignature(secret, body []byte, header string) bool {
	hexSig, ok := strings.CutPrefix(header, "sha256=")
	if !ok {
		return false
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return hmac.Equal(got, mac.Sum(nil))
}

// Sign returns the X-Hub-Signature-256 value GitHub would send for body.
func Sign(secret, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

func (in *Intake) reject(w http.ResponseWriter, status int, reason, msg string) {
	in.Metrics.Rejected.WithLabelValues(reason).Inc()
	http.Error(w, msg, status)
}

// ServeHTTP handles one webhook request.
func (in *Intake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	defer func() { in.Metrics.IntakeSeconds.Observe(time.Since(start).Seconds()) }()
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		in.reject(w, http.StatusMethodNotAllowed, "method", "POST only")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxWebhookBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			in.reject(w, http.StatusRequestEntityTooLarge, "too_large", "payload over 25 MB")
			return
		}
		in.reject(w, http.StatusBadRequest, "read", "cannot read body")
		return
	}
	// Verify before anything else: a forged request leaves no trace but a metric.
	if !VerifySignature(in.Secret, body, r.Header.Get("X-Hub-Signature-256")) {
		in.reject(w, http.StatusUnauthorized, "signature", "signature missing or invalid")
		return
	}
	event := r.Header.Get("X-GitHub-Event")
	id := r.Header.Get("X-GitHub-Delivery")
	if event == "" || id == "" || len(id) > 200 || len(event) > 100 {
		in.reject(w, http.StatusBadRequest, "headers", "X-GitHub-Event and X-GitHub-Delivery are required")
		return
	}
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		in.reject(w, http.StatusBadRequest, "json", "body is not JSON")
		return
	}
	d := &store.Delivery{ID: id, Event: event, Action: env.Action, Payload: body, ReceivedAt: time.Now().UnixMilli()}
	if env.Installation != nil {
		d.InstallationID = env.Installation.ID
	}
	if env.Repository != nil {
		d.Repository = env.Repository.FullName
	}
	var inserted bool
	err = in.Store.Tx(r.Context(), func(tx *sql.Tx) error {
		var err error
		if inserted, err = store.InsertDelivery(r.Context(), tx, d); err != nil || !inserted {
			return err
		}
		_, err = in.Queue.InsertTx(r.Context(), tx, DeliveryArgs{DeliveryID: id, Event: event}, &river.InsertOpts{MaxAttempts: 8})
		return err
	})
	if err != nil {
		in.Log.Error("webhook not stored", "delivery", id, "event", event, "err", err)
		in.Metrics.Deliveries.WithLabelValues(event, "store_failed").Inc()
		http.Error(w, "could not store the delivery; GitHub will show it as failed and Conveyor's catch-up will ask for it again", http.StatusServiceUnavailable)
		return
	}
	if !inserted {
		in.Metrics.Deliveries.WithLabelValues(event, "duplicate").Inc()
		in.Log.Info("webhook duplicate", "delivery", id, "event", event)
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, "already received\n")
		return
	}
	in.Metrics.Deliveries.WithLabelValues(event, "accepted").Inc()
	in.Log.Info("webhook accepted", "delivery", id, "event", event, "action", env.Action, "repository", d.Repository)
	w.WriteHeader(http.StatusAccepted)
	io.WriteString(w, "accepted\n")
}
