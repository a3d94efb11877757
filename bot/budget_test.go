package bot

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/conveyor-dev/conveyor/internal/store"
	"github.com/conveyor-dev/conveyor/internal/store/storetest"
	"github.com/conveyor-dev/conveyor/internal/testwait"
)

// rawPost opens a connection and sends a webhook request's head announcing
// length bytes of body (chunked when length < 0), followed by the first
// part of the body. It returns the connection, to send more or read the
// answer.
func rawPost(t *testing.T, addr string, length int, part []byte) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	// A hang guard, not a timing assertion: a server that waits for a body
	// it should not read fails the test instead of hanging it.
	c.SetDeadline(time.Now().Add(testwait.Timeout))
	head := "POST /webhooks/github HTTP/1.1\r\nHost: conveyor\r\nX-GitHub-Event: push\r\nX-GitHub-Delivery: unsigned\r\nX-Hub-Signature-256: sha256=00\r\nContent-Type: application/json\r\n"
	if length >= 0 {
		head += fmt.Sprintf("Content-Length: %d\r\n", length)
	} else {
		head += "Transfer-Encoding: chunked\r\n"
	}
	if _, err := c.Write(append([]byte(head+"\r\n"), part...)); err != nil {
		t.Fatal(err)
	}
	return c
}

func readAnswer(t *testing.T, c net.Conn) *http.Response {
	t.Helper()
	resp, err := answer(c)
	if err != nil {
		t.Fatalf("read answer: %v", err)
	}
	return resp
}

func answer(c net.Conn) (*http.Response, error) {
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	return resp, nil
}

// Unsigned bodies count against one budget across all requests: past it a
// request is answered 503 at once, without its body being read, while a
// signed delivery that fits is still accepted; every byte reserved is given
// back.
func TestUnsignedBodiesUnderGlobalBudget(t *testing.T) {
	t.Parallel()
	st := storetest.Open(t, store.SQLite)
	ts := newTestServer(t, st, 1, func(c *Config) { c.WebhookBodyBudget = 4 << 20 })
	addr := strings.TrimPrefix(ts.http.URL, "http://")

	// A slow sender holds 3 MiB of the 4 MiB budget: announced, barely sent.
	held := rawPost(t, addr, 3<<20, []byte("{"))
	testwait.For(t, "the held body's reservation", func() bool { return ts.Intake.InFlight() == 3<<20 })

	// Concurrent large unsigned posts do not fit: 503 with Retry-After, though
	// none of them sends a byte of its body.
	conns := make([]net.Conn, 4)
	for i := range conns {
		conns[i] = rawPost(t, addr, 2<<20, nil)
	}
	var wg sync.WaitGroup
	codes := make(chan *http.Response, len(conns))
	errs := make(chan error, len(conns))
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := answer(c)
			if err != nil {
				errs <- err
				return
			}
			codes <- resp
		}()
	}
	wg.Wait()
	close(codes)
	close(errs)
	for err := range errs {
		t.Fatalf("over-budget post got no answer: %v", err)
	}
	for resp := range codes {
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("over-budget post: %s, Retry-After %q; want 503 with Retry-After", resp.Status, resp.Header.Get("Retry-After"))
		}
	}
	// A chunked body is counted as it arrives and refused once it passes.
	chunked := rawPost(t, addr, -1, nil)
	go func() {
		piece := strings.Repeat("x", 256<<10)
		for i := 0; i < 8; i++ {
			if _, err := fmt.Fprintf(chunked, "%x\r\n%s\r\n", len(piece), piece); err != nil {
				return // the server answered and closed: expected
			}
		}
		fmt.Fprint(chunked, "0\r\n\r\n")
	}()
	if resp := readAnswer(t, chunked); resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("over-budget chunked post: %s, want 503", resp.Status)
	}

	// A normal signed delivery fits beside the held body.
	body := prBody(7)
	if resp := post(t, ts.http.URL, signed("pull_request", "fits-1", body), body); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("signed delivery under the budget: %d, want 202", resp.StatusCode)
	}
	// The held sender finishes: its (unsigned) body is read whole, refused,
	// and its reservation returns.
	if _, err := held.Write([]byte(strings.Repeat(" ", 3<<20-2) + "}")); err != nil {
		t.Fatal(err)
	}
	if resp := readAnswer(t, held); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("held unsigned post: %s, want 401", resp.Status)
	}
	testwait.For(t, "every reserved byte to be given back", func() bool { return ts.Intake.InFlight() == 0 },
		func() string { return fmt.Sprintf("in flight: %d bytes", ts.Intake.InFlight()) })
	if n := testutil.ToFloat64(ts.Metrics.Rejected.WithLabelValues("busy")); n != 5 {
		t.Errorf("busy rejections = %v, want 5", n)
	}
	// With the budget free again, a large signed delivery is accepted.
	big := []byte(`{"action":"opened","pad":"` + strings.Repeat("p", 3<<20) + `"}`)
	if resp := post(t, ts.http.URL, signed("pull_request", "big-1", big), big); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("large signed delivery after the budget freed: %d, want 202", resp.StatusCode)
	}
	if n := ts.Intake.InFlight(); n != 0 {
		t.Fatalf("in flight after the last answer: %d bytes", n)
	}
}

func TestBodyBudgetConfig(t *testing.T) {
	t.Parallel()
	env := map[string]string{"APP_ID": "1", "PRIVATE_KEY": string(testKeyPEM(t)), "WEBHOOK_SECRET": "s"}
	get := func(k string) string { return env[k] }
	c, err := ConfigFromEnv(get)
	if err != nil || c.WebhookBodyBudget != 0 {
		t.Fatalf("default: %+v %v", c, err)
	}
	env["WEBHOOK_BODY_BUDGET_MIB"] = "128"
	if c, err = ConfigFromEnv(get); err != nil || c.WebhookBodyBudget != 128<<20 {
		t.Fatalf("128 MiB: %d %v", c.WebhookBodyBudget, err)
	}
	for _, bad := range []string{"10", "lots", "-1"} {
		env["WEBHOOK_BODY_BUDGET_MIB"] = bad
		if _, err := ConfigFromEnv(get); err == nil || !strings.Contains(err.Error(), "WEBHOOK_BODY_BUDGET_MIB") {
			t.Errorf("%q: %v, want an error naming WEBHOOK_BODY_BUDGET_MIB", bad, err)
		}
	}
}
