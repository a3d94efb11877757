package bot

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/google/go-github/v66/github"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/conveyor-dev/conveyor/internal/store"
	"github.com/conveyor-dev/conveyor/internal/store/storetest"
	"github.com/conveyor-dev/conveyor/internal/testwait"
)

func scrape(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("/metrics: %s: %s", resp.Status, b)
	}
	return string(b)
}

// A signed delivery with bytes that are not UTF-8 in its event name or its
// envelope is stored (ignored, or with the bad bytes replaced), answered
// 202, and counted without a new metrics series; PostgreSQL accepts it.
func TestOddBytesAreStoredNotCrashes(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		t.Parallel()
		ts := newTestServer(t, st, 1)
		ctx := context.Background()

		body := prBody(11)
		if resp := post(t, ts.http.URL, signed("bad\x84ev", "odd-event", body), body); resp.StatusCode != http.StatusAccepted {
			t.Fatalf("event bad\\x84ev: %d, want 202", resp.StatusCode)
		}
		d, err := st.Delivery(ctx, "odd-event")
		if err != nil {
			t.Fatal(err)
		}
		if d.Event != "bad\uFFFDev" || d.Outcome != "ignored" || d.ProcessedAt == 0 {
			t.Fatalf("stored %q outcome %q processed %d; want bad\\uFFFDev, ignored", d.Event, d.Outcome, d.ProcessedAt)
		}

		odd := []byte("{\"action\":\"\x84\",\"installation\":{\"id\":42},\"repository\":{\"full_name\":\"acme/\xff\\u0000shop\"},\"sender\":{\"login\":\"dev\"}}")
		if resp := post(t, ts.http.URL, signed("pull_request", "odd-envelope", odd), odd); resp.StatusCode != http.StatusAccepted {
			t.Fatalf("invalid UTF-8 in action and repository: %d, want 202", resp.StatusCode)
		}
		testwait.For(t, "the odd envelope processed", func() bool {
			d, err := st.Delivery(ctx, "odd-envelope")
			return err == nil && d.ProcessedAt != 0
		})
		d, _ = st.Delivery(ctx, "odd-envelope")
		if d.Action != "\uFFFD" || d.Repository != "acme/\uFFFD\uFFFDshop" || string(d.Payload) != string(odd) {
			t.Fatalf("stored action %q repository %q; want the bad bytes replaced and the payload kept", d.Action, d.Repository)
		}

		// A made-up event name is stored as ignored under one label.
		if resp := post(t, ts.http.URL, signed("made_up_event", "made-up", body), body); resp.StatusCode != http.StatusAccepted {
			t.Fatalf("made-up event: %d", resp.StatusCode)
		}
		// A delivery ID that is not printable UTF-8 cannot be a key: refused.
		if resp := post(t, ts.http.URL, signed("pull_request", "id-\x84", body), body); resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("delivery ID with invalid UTF-8: %d, want 400", resp.StatusCode)
		}

		m := scrape(t, ts.http.URL)
		if want := `conveyor_deliveries_total{event="other",outcome="ignored"} 2`; !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %s", want)
		}
		if strings.Contains(m, "made_up_event") || !utf8.ValidString(m) {
			t.Error("/metrics has a series for a made-up event name")
		}
	})
}

// Envelope strings read as encoding/json reads them, and what is stored is
// bounded and free of NUL.
func TestStorableEnvelope(t *testing.T) {
	t.Parallel()
	if got := validUTF8("a\x84\x85b"); got != "a\uFFFD\uFFFDb" {
		t.Errorf("validUTF8 = %q", got)
	}
	if got := storable("x\x00y", 10); got != "x\uFFFDy" {
		t.Errorf("storable NUL = %q", got)
	}
	long := strings.Repeat("é", 100) // 200 bytes
	if got := storable(long, 101); len(got) != 100 || !utf8.ValidString(got) {
		t.Errorf("storable cut = %d bytes, valid %v", len(got), utf8.ValidString(got))
	}
	for _, ok := range []string{"pull_request", "72d3162e-cc78-11e3-81ab-4c9367dc0958"} {
		if !validHeaderToken(ok, 200) {
			t.Errorf("%q refused", ok)
		}
	}
	for _, bad := range []string{"", "a\x84", "a\nb", strings.Repeat("x", 201)} {
		if validHeaderToken(bad, 200) {
			t.Errorf("%q accepted", bad)
		}
	}
}

// parsingHandler parses the payload as the real handlers do and fails the
// way they do when it cannot.
type parsingHandler struct {
	mu    sync.Mutex
	calls int
}

func (h *parsingHandler) Handles() []string { return []string{"check_suite"} }

func (h *parsingHandler) Handle(ctx context.Context, event, id string, payload []byte) error {
	h.mu.Lock()
	h.calls++
	h.mu.Unlock()
	if _, err := github.ParseWebHook(event, payload); err != nil {
		return fmt.Errorf("parse %s: %w", event, err)
	}
	return nil
}

// A signed payload for a handled event whose fields have the wrong types
// can never be handled: it fails at once, without reaching a handler and
// without retries.
func TestMalformedHandledPayloadFailsAtOnce(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		t.Parallel()
		ts := newTestServer(t, st, 1)
		h := &parsingHandler{}
		ts.Router.Register(h)
		ctx := context.Background()
		bad := []byte(`{"action":"requested","installation":{"id":42},"check_suite":"not an object"}`)
		if resp := post(t, ts.http.URL, signed("check_suite", "malformed-1", bad), bad); resp.StatusCode != http.StatusAccepted {
			t.Fatalf("malformed payload: %d, want 202 (it is signed JSON)", resp.StatusCode)
		}
		testwait.For(t, "the malformed delivery marked failed", func() bool {
			d, err := st.Delivery(ctx, "malformed-1")
			return err == nil && d.Outcome == "failed" && d.ProcessedAt != 0
		})
		d, _ := st.Delivery(ctx, "malformed-1")
		if !strings.Contains(d.Error, "payload is not a check_suite event") {
			t.Errorf("error %q does not say the payload is malformed", d.Error)
		}
		testwait.For(t, "the job to settle", func() bool { return jobsSettled(t, ts.Queue) })
		h.mu.Lock()
		calls := h.calls
		h.mu.Unlock()
		if calls != 0 {
			t.Errorf("a handler saw the malformed payload %d times", calls)
		}
		if n := testutil.CollectAndCount(ts.Metrics.JobSeconds, "conveyor_job_seconds"); n != 1 {
			t.Errorf("job outcomes observed: %d series, want only failed (no retry)", n)
		}
		// A well-formed one still reaches the handler.
		good := []byte(`{"action":"requested","installation":{"id":42},"check_suite":{"id":1,"head_sha":"abc"}}`)
		post(t, ts.http.URL, signed("check_suite", "good-1", good), good)
		testwait.For(t, "the good delivery processed", func() bool {
			d, err := st.Delivery(ctx, "good-1")
			return err == nil && d.Outcome == "processed"
		})
	})
}
