package bot

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/riverqueue/river"

	"github.com/conveyor-dev/conveyor/internal/store"
)

// MaxWebhookBody is GitHub's cap on webhook payloads (25 MB).
const MaxWebhookBody = 25 << 20

// DeliveryArgs is the durable job that processes stored deliveries. Under
// load the intake writes several deliveries in one transaction with one job
// naming them all; each delivery is still processed once (see DeliveryWorker).
type DeliveryArgs struct {
	DeliveryIDs []string `json:"delivery_ids"`
}

// Kind names the job for river.
func (DeliveryArgs) Kind() string { return "github_delivery" }

// Intake is the /webhooks/github handler: verify, store with its job in one
// transaction, answer. It never calls GitHub.
type Intake struct {
	Secret  []byte
	Store   *store.Store
	Queue   *store.Queue
	Metrics *Metrics
	Log     *slog.Logger
	// Router, when set, lets the intake settle deliveries no handler acts on
	// (most of what GitHub sends: workflow_job, check runs of other apps...)
	// in the same transaction: they are stored as processed with outcome
	// "ignored" and get no job. Handlers are registered before serve listens.
	Router *Router
	// Writers is how many goroutines commit deliveries (default 1 for
	// SQLite, 4 for PostgreSQL). Concurrent requests are grouped into one
	// transaction per writer turn, so commits and queue inserts are shared.
	Writers int
	// BodyBudget bounds the bytes of bodies held, across all requests, before
	// their signature is checked (default DefaultBodyBudget). Past it a
	// request is answered 503 with Retry-After without reading its body.
	BodyBudget int64

	once   sync.Once
	reqs   chan *intakeReq
	budget bodyBudget
}

type intakeReq struct {
	d        *store.Delivery
	inserted bool
	err      error
	done     chan struct{}
}

// maxBatch bounds how many deliveries share one transaction.
const maxBatch = 64

func (in *Intake) start() {
	in.budget.max = in.BodyBudget
	if in.budget.max <= 0 {
		in.budget.max = DefaultBodyBudget
	}
	n := in.Writers
	if n <= 0 {
		n = 1
		if in.Store.Dialect == store.Postgres {
			n = 4
		}
	}
	in.reqs = make(chan *intakeReq, maxBatch*n)
	for i := 0; i < n; i++ {
		go in.writer()
	}
}

// writer commits whatever requests are waiting, in one transaction.
func (in *Intake) writer() {
	batch := make([]*intakeReq, 0, maxBatch)
	for first := range in.reqs {
		batch = append(batch[:0], first)
	drain:
		for len(batch) < maxBatch {
			select {
			case r := <-in.reqs:
				batch = append(batch, r)
			default:
				break drain
			}
		}
		if err := in.commit(batch); err != nil && len(batch) > 1 {
			// Do not let one bad row fail its neighbours: one by one.
			for _, r := range batch {
				r.err = in.commit([]*intakeReq{r})
			}
		} else {
			for _, r := range batch {
				r.err = err
			}
		}
		for _, r := range batch {
			close(r.done)
		}
	}
}

func (in *Intake) commit(batch []*intakeReq) error {
	ds := make([]*store.Delivery, len(batch))
	for i, r := range batch {
		ds[i] = r.d
	}
	ins, err := in.Queue.StoreDeliveries(context.Background(), ds, func(ids []string) (river.JobArgs, *river.InsertOpts) {
		return DeliveryArgs{DeliveryIDs: ids}, &river.InsertOpts{MaxAttempts: 8}
	})
	if err != nil {
		return err
	}
	for i, r := range batch {
		r.inserted = ins[i]
	}
	return nil
}

// store writes d with its job and reports whether it was new.
func (in *Intake) store(ctx context.Context, d *store.Delivery) (bool, error) {
	in.once.Do(in.start)
	r := &intakeReq{d: d, done: make(chan struct{})}
	select {
	case in.reqs <- r:
	case <-ctx.Done():
		return false, ctx.Err()
	}
	// Once handed over, the write completes even if the client goes away.
	<-r.done
	return r.inserted, r.err
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

// InFlight is how many bytes of unsigned webhook bodies are held now.
func (in *Intake) InFlight() int64 {
	in.once.Do(in.start)
	return in.budget.used.Load()
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
	in.once.Do(in.start)
	body, reserved, err := in.budget.readBody(w, r)
	// The reservation ends with the signature check: from then on the body is
	// GitHub's (or refused).
	release := func() { in.budget.give(reserved); reserved = 0 }
	defer release()
	if err != nil {
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			in.reject(w, http.StatusRequestEntityTooLarge, "too_large", "payload over 25 MB")
		case errors.Is(err, errBudget):
			// Answer at once; the connection is closed rather than drained.
			w.Header().Set("Retry-After", "5")
			w.Header().Set("Connection", "close")
			in.reject(w, http.StatusServiceUnavailable, "busy", "too many webhook bytes in flight; try again shortly")
		default:
			in.reject(w, http.StatusBadRequest, "read", "cannot read body")
		}
		return
	}
	// Verify before anything else: a forged request leaves no trace but a metric.
	if !VerifySignature(in.Secret, body, r.Header.Get("X-Hub-Signature-256")) {
		in.reject(w, http.StatusUnauthorized, "signature", "signature missing or invalid")
		return
	}
	release()
	rawEvent := r.Header.Get("X-GitHub-Event")
	id := r.Header.Get("X-GitHub-Delivery")
	if rawEvent == "" || !validHeaderToken(id, maxDeliveryIDLen) {
		in.reject(w, http.StatusBadRequest, "headers", "X-GitHub-Event and X-GitHub-Delivery are required (the delivery ID: printable UTF-8, at most 200 bytes)")
		return
	}
	if len(rawEvent) > maxEventLen {
		in.reject(w, http.StatusBadRequest, "headers", "X-GitHub-Event is longer than 100 bytes")
		return
	}
	// An event name with odd bytes is still GitHub's word (it is signed):
	// it is stored, made storable, and no handler will want it.
	event := storable(rawEvent, maxEventLen)
	label := eventLabel(event)
	env, err := parseEnvelope(body)
	if err != nil {
		in.reject(w, http.StatusBadRequest, "json", "body is "+err.Error())
		return
	}
	d := &store.Delivery{ID: id, Event: event, Action: storable(env.Action, maxActionLen), InstallationID: max(env.InstallationID, 0),
		Repository: storable(env.Repository, maxRepositoryLen), Payload: body, ReceivedAt: time.Now().UnixMilli()}
	if in.Router != nil && (event != rawEvent || len(in.Router.Lookup(event, d.Action)) == 0) {
		d.ProcessedAt, d.Outcome = d.ReceivedAt, "ignored"
	}
	inserted, err := in.store(r.Context(), d)
	if err != nil {
		in.Log.Error("webhook not stored", "delivery", id, "event", event, "err", err)
		in.Metrics.Deliveries.WithLabelValues(label, "store_failed").Inc()
		http.Error(w, "could not store the delivery; GitHub will show it as failed and Conveyor's catch-up will ask for it again", http.StatusServiceUnavailable)
		return
	}
	if !inserted {
		in.Metrics.Deliveries.WithLabelValues(label, "duplicate").Inc()
		in.Log.Info("webhook duplicate", "delivery", id, "event", event)
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, "already received\n")
		return
	}
	in.Metrics.Deliveries.WithLabelValues(label, "accepted").Inc()
	if d.Outcome == "ignored" {
		// Settled here: nobody handles it, so no job was queued.
		in.Metrics.Deliveries.WithLabelValues(label, "ignored").Inc()
		in.Log.Info("webhook accepted", "delivery", id, "event", event, "action", d.Action, "repository", d.Repository, "outcome", "ignored")
	} else {
		in.Log.Info("webhook accepted", "delivery", id, "event", event, "action", d.Action, "repository", d.Repository)
	}
	w.WriteHeader(http.StatusAccepted)
	io.WriteString(w, "accepted\n")
}
