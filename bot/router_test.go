package bot

import (
	"context"
	"testing"

	"github.com/google/go-github/v66/github"

	"github.com/conveyor-dev/conveyor/internal/store"
)

// shapeRecorder records how each delivery reached it.
type shapeRecorder struct {
	handles []string
	raw     []string // event types given as raw payloads
	decoded []any    // events given decoded
}

func (h *shapeRecorder) Handles() []string { return h.handles }

func (h *shapeRecorder) Handle(_ context.Context, eventType, _ string, _ []byte) error {
	h.raw = append(h.raw, eventType)
	return nil
}

type decodingRecorder struct{ shapeRecorder }

func (h *decodingRecorder) HandleDecoded(_ context.Context, _, _ string, event any, _ []byte) error {
	h.decoded = append(h.decoded, event)
	return nil
}

// The router decodes a payload once and hands the decoded event to every
// handler that takes it; the others, and events go-github does not know, get
// the raw payload.
func TestDispatchDecodesOnce(t *testing.T) {
	ctx := context.Background()
	plain := &shapeRecorder{handles: []string{"pull_request", "custom_event"}}
	dec := &decodingRecorder{shapeRecorder{handles: []string{"pull_request", "custom_event"}}}
	dec2 := &decodingRecorder{shapeRecorder{handles: []string{"pull_request.synchronize"}}}
	r := NewRouter()
	r.Register(plain, dec, dec2)

	pr := &store.Delivery{ID: "d1", Event: "pull_request", Action: "synchronize",
		Payload: []byte(`{"action":"synchronize","number":7,"pull_request":{"number":7,"head":{"sha":"abc"}},"repository":{"full_name":"acme/shop"}}`)}
	if err := r.Dispatch(ctx, pr); err != nil {
		t.Fatal(err)
	}
	if len(plain.raw) != 1 || len(plain.decoded) != 0 {
		t.Fatalf("plain handler: raw %v decoded %v, want the raw payload once", plain.raw, plain.decoded)
	}
	for _, h := range []*decodingRecorder{dec, dec2} {
		if len(h.decoded) != 1 || len(h.raw) != 0 {
			t.Fatalf("decoding handler: raw %v decoded %v, want the decoded event once", h.raw, h.decoded)
		}
	}
	ev, ok := dec.decoded[0].(*github.PullRequestEvent)
	if !ok || ev.GetPullRequest().GetHead().GetSHA() != "abc" || ev.GetRepo().GetFullName() != "acme/shop" {
		t.Fatalf("decoded event = %#v", dec.decoded[0])
	}
	if dec.decoded[0] != dec2.decoded[0] {
		t.Fatal("the two handlers got different decodes of one payload")
	}

	custom := &store.Delivery{ID: "d2", Event: "custom_event", Payload: []byte(`{"x":1}`)}
	if err := r.Dispatch(ctx, custom); err != nil {
		t.Fatal(err)
	}
	if len(dec.raw) != 1 || dec.raw[0] != "custom_event" {
		t.Fatalf("an event go-github does not know: decoding handler got raw %v, want it raw", dec.raw)
	}

	bad := &store.Delivery{ID: "d3", Event: "pull_request", Action: "synchronize", Payload: []byte(`{"action":"synchronize","pull_request":"x"}`)}
	if err := r.Dispatch(ctx, bad); err == nil || !isPermanent(err) {
		t.Fatalf("wrong field types: err = %v, want a permanent error", err)
	}
}
