package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/go-github/v66/github"
	"github.com/riverqueue/river"

	"github.com/conveyor-dev/conveyor/internal/retry"
	"github.com/conveyor-dev/conveyor/internal/store"
)

// Handler handles the webhook events it names. Handles returns event names
// ("pull_request") or event.action pairs ("pull_request.opened"). Handle gets
// the raw payload; it parses what it needs with go-github's event types.
// Handlers must be idempotent: a failed delivery is retried. An error that
// can never succeed on retry (a malformed payload) should implement
// Permanent() bool returning true: the delivery is then marked failed at once
// instead of being retried for hours.
type Handler interface {
	Handles() []string
	Handle(ctx context.Context, eventType, deliveryID string, payload []byte) error
}

// DecodedHandler is a Handler that can take the event the router already
// decoded with github.ParseWebHook (a pointer to go-github's type for the
// event), so a payload of tens of kilobytes is decoded once per delivery
// rather than once per handler. The event is shared by every handler of the
// delivery: read it, never modify it.
type DecodedHandler interface {
	Handler
	HandleDecoded(ctx context.Context, eventType, deliveryID string, event any, payload []byte) error
}

// Router dispatches deliveries to the handlers registered for them.
type Router struct {
	mu       sync.RWMutex
	handlers map[string][]Handler
	// Self reports whether a sender login is this app's own bot account.
	Self func(ctx context.Context, login string) bool
}

// NewRouter returns an empty router.
func NewRouter() *Router { return &Router{handlers: map[string][]Handler{}} }

// Register adds handlers. Adding an event means adding a handler, not
// editing a switch.
func (r *Router) Register(hs ...Handler) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, h := range hs {
		for _, key := range h.Handles() {
			r.handlers[key] = append(r.handlers[key], h)
		}
	}
}

// Lookup returns the handlers for an event and action.
func (r *Router) Lookup(event, action string) []Handler {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := append([]Handler(nil), r.handlers[event]...)
	if action != "" {
		out = append(out, r.handlers[event+"."+action]...)
	}
	return out
}

// ErrIgnored marks a delivery that no handler wanted or that the app caused.
var ErrIgnored = errors.New("ignored")

// Dispatch runs every handler for the delivery and joins their errors.
func (r *Router) Dispatch(ctx context.Context, d *store.Delivery) error {
	env, err := parseEnvelope(d.Payload)
	if err != nil {
		return retry.Permanent(fmt.Errorf("payload: %w", err))
	}
	if env.SenderLogin != "" && r.Self != nil && r.Self(ctx, env.SenderLogin) {
		return ErrIgnored
	}
	hs := r.Lookup(d.Event, env.Action)
	if len(hs) == 0 {
		return ErrIgnored
	}
	// A payload whose fields do not have the types GitHub's event has can
	// never be handled: fail it now instead of retrying it for hours.
	event, err := decodeEvent(d.Event, d.Payload)
	if err != nil {
		return retry.Permanent(err)
	}
	var errs []error
	for _, h := range hs {
		var err error
		if dh, ok := h.(DecodedHandler); ok && event != nil {
			err = dh.HandleDecoded(ctx, d.Event, d.ID, event, d.Payload)
		} else {
			err = h.Handle(ctx, d.Event, d.ID, d.Payload)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%T: %w", h, err))
		}
	}
	return errors.Join(errs...)
}

// DeliveryWorker works DeliveryArgs jobs through a Router.
type DeliveryWorker struct {
	river.WorkerDefaults[DeliveryArgs]
	Store   *store.Store
	Router  *Router
	Metrics *Metrics
	Log     *slog.Logger
}

// Work processes each delivery of the job once; a delivery already marked
// processed (by an earlier attempt of this job, or a rescued duplicate) is
// skipped, so a retry re-runs only the deliveries that failed.
func (w *DeliveryWorker) Work(ctx context.Context, job *river.Job[DeliveryArgs]) error {
	// One read for the job's deliveries and one transaction for their
	// outcomes: on SQLite every statement shares the single connection with
	// the intake, so fewer statements is shorter webhook latency.
	ds, err := w.Store.PendingDeliveries(ctx, job.Args.DeliveryIDs)
	if err != nil {
		return err
	}
	var errs []error
	marks := make([]store.Mark, 0, len(ds))
	logs := make([][]any, 0, len(ds)) // "delivery done" lines, written once the marks are committed
	for _, d := range ds {
		start := time.Now()
		m, err := w.process(ctx, job, d)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		marks = append(marks, m)
		logs = append(logs, []any{"delivery", d.ID, "event", d.Event, "action", d.Action, "outcome", m.Outcome, "ms", time.Since(start).Milliseconds()})
	}
	if err := w.Store.MarkProcessedMany(ctx, marks); err != nil {
		return errors.Join(append(errs, err)...)
	}
	for _, l := range logs {
		w.Log.Info("delivery done", l...)
	}
	return errors.Join(errs...)
}

// process dispatches one delivery and returns its outcome, or an error when
// it should be retried.
func (w *DeliveryWorker) process(ctx context.Context, job *river.Job[DeliveryArgs], d *store.Delivery) (store.Mark, error) {
	start := time.Now()
	err := ErrIgnored
	if len(w.Router.Lookup(d.Event, d.Action)) > 0 {
		err = w.Router.Dispatch(ctx, d)
	}
	outcome := "processed"
	switch {
	case errors.Is(err, ErrIgnored):
		outcome, err = "ignored", nil
	case err != nil:
		outcome = "failed"
		w.Store.RecordFailure(ctx, d.ID, storable(err.Error(), maxErrorLen))
		w.Log.Warn("delivery failed", "delivery", d.ID, "event", d.Event, "action", d.Action, "attempt", job.Attempt, "err", err)
		if job.Attempt < job.MaxAttempts && !isPermanent(err) {
			w.Metrics.JobSeconds.WithLabelValues(job.Kind, "retry").Observe(time.Since(start).Seconds())
			return store.Mark{}, err
		}
	}
	w.Metrics.JobSeconds.WithLabelValues(job.Kind, outcome).Observe(time.Since(start).Seconds())
	w.Metrics.Deliveries.WithLabelValues(eventLabel(d.Event), outcome).Inc()
	m := store.Mark{ID: d.ID, Outcome: outcome}
	if err != nil {
		m.Error = storable(err.Error(), maxErrorLen)
	}
	return m, nil
}

// isPermanent reports whether err (or every error joined in it) says a retry
// cannot help.
func isPermanent(err error) bool {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			if !isPermanent(e) {
				return false
			}
		}
		return true
	}
	var p interface{ Permanent() bool }
	return errors.As(err, &p) && p.Permanent()
}

// maxErrorLen bounds the error text stored with a failed delivery.
const maxErrorLen = 16 << 10

// decodeEvent decodes payload as go-github's type for event, for the
// handlers to share, and reports a decode error: JSON that parsed as an
// object but whose fields have the wrong types ("pull_request": "x"). Events
// go-github does not know decode to nil and are left to their handlers.
func decodeEvent(event string, payload []byte) (any, error) {
	ev, err := github.ParseWebHook(event, payload)
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	if errors.As(err, &typeErr) || errors.As(err, &syntaxErr) {
		return nil, fmt.Errorf("payload is not a %s event: %w", eventLabel(event), err)
	}
	if err != nil {
		return nil, nil // an event go-github does not know: each handler reads it
	}
	return ev, nil
}
