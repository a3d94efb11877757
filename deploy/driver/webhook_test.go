package driver

import (
	"context"
	"crypto/hmac"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/conveyor-dev/conveyor/internal/serverconfig"
)

const webhookSecret = "s3cret-shared"

// fakeDeployer is an internal deployer: it verifies signatures, accepts a
// deploy with 202 and a status URL, and reports in_progress then the result.
type fakeDeployer struct {
	srv        *httptest.Server
	mu         sync.Mutex
	mode       string
	sync       bool // answer 200 with the final state at once
	report     bool // the answer says what served before ("serving")
	serving    string
	last       WebhookRequest
	polls      int
	deliveries map[string]bool
	rejected   int
}

func newFakeDeployer(t *testing.T) *fakeDeployer {
	f := &fakeDeployer{mode: "ok", serving: shaOld, deliveries: map[string]bool{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeDeployer) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	defer f.mu.Unlock()
	id := r.Header.Get(DeliveryHeader)
	if !hmac.Equal([]byte(r.Header.Get(SignatureHeader)), []byte(Sign([]byte(webhookSecret), body))) || id == "" || f.deliveries[id] {
		f.rejected++
		writeJSON(w, 401, map[string]any{"message": "bad signature"})
		return
	}
	f.deliveries[id] = true
	switch {
	case r.Method == "POST" && r.URL.Path == "/hooks":
		if err := json.Unmarshal(body, &f.last); err != nil {
			writeJSON(w, 400, map[string]any{"message": err.Error()})
			return
		}
		f.polls = 0
		if f.sync {
			answer := map[string]any{"state": "success"}
			if f.report {
				answer["serving"] = f.serving
			}
			f.finish()
			writeJSON(w, 200, answer)
			return
		}
		writeJSON(w, 202, map[string]any{"status_url": fmt.Sprintf("/status/%d", f.last.DeploymentID)})
	case r.Method == "GET" && strings.HasPrefix(r.URL.Path, "/status/"):
		f.polls++
		switch {
		case f.mode == "hang" || f.polls == 1:
			writeJSON(w, 200, map[string]any{"state": "in_progress", "message": "rolling pods"})
		case f.mode == "fail":
			writeJSON(w, 200, map[string]any{"state": "failure", "message": "boom: image pull backoff"})
		default:
			f.finish()
			writeJSON(w, 200, map[string]any{"state": "success", "message": "3/3 ready", "url": "https://web.example"})
		}
	default:
		writeJSON(w, 404, map[string]any{"message": "no route"})
	}
}

func (f *fakeDeployer) finish() {
	if f.last.Action == "deploy" {
		f.serving = f.last.SHA
	} else {
		f.serving = f.last.Previous
	}
}

func newWebhookWorld(t *testing.T, timeout time.Duration) (contractWorld, *fakeDeployer) {
	f := newFakeDeployer(t)
	cfg := serverconfig.Driver{Type: "webhook", URL: f.srv.URL + "/hooks", SecretEnv: "DEPLOYER_SECRET"}
	cfg.Timeout.Duration = timeout
	cfg.PollInterval.Duration = 10 * time.Millisecond
	env := func(k string) string {
		if k == "DEPLOYER_SECRET" {
			return webhookSecret
		}
		return ""
	}
	d, err := New("internal", cfg, Deps{Env: env, HTTP: f.srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	return contractWorld{
		driver:  d,
		target:  appTarget(),
		setMode: func(m string) { f.mu.Lock(); f.mode = m; f.mu.Unlock() },
		serving: func() string { f.mu.Lock(); defer f.mu.Unlock(); return f.serving },
		observed: func() observation {
			f.mu.Lock()
			defer f.mu.Unlock()
			return observation{Env: f.last.Environment, Subject: f.last.SHA, Partial: f.last.Percent != 100}
		},
	}, f
}

var webhookHarness = contractHarness{
	name:     "webhook",
	failText: "boom: image pull backoff",
	setup: func(t *testing.T, timeout time.Duration) contractWorld {
		w, _ := newWebhookWorld(t, timeout)
		return w
	},
}

func TestWebhookBodyAndSynchronousAnswer(t *testing.T) {
	w, f := newWebhookWorld(t, time.Minute)
	f.sync = true
	tg := w.target
	tg.Kind, tg.Percent = "model", 50
	ref := &ModelRef{Registry: "main", Name: "fraud", Version: "14"}
	tg.Spec = EncodeSpec(ref)
	res, err := w.driver.Deploy(context.Background(), tg, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := WebhookRequest{Action: "deploy", DeploymentID: 42, Repository: "acme/shop", SHA: shaNew, Environment: "production",
		Artifact: "web", Kind: "model", Percent: 50, Model: ref, Previous: shaOld}
	got := f.last
	if got.Model == nil || *got.Model != *want.Model {
		t.Errorf("model = %+v, want %+v", got.Model, want.Model)
	}
	got.Model, want.Model = nil, nil
	if got != want {
		t.Errorf("body = %+v\nwant %+v", got, want)
	}
	if res.Serving != "14" || f.polls != 0 {
		t.Errorf("Serving = %q after %d polls; want 14 with no polling", res.Serving, f.polls)
	}
}

func TestWebhookURLFromStatus(t *testing.T) {
	w, f := newWebhookWorld(t, time.Minute)
	res, err := w.driver.Deploy(context.Background(), w.target, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.URL != "https://web.example" || f.rejected != 0 {
		t.Errorf("URL = %q, %d requests rejected; want the status URL field and every request signed", res.URL, f.rejected)
	}
	if !strings.Contains(res.Output, "in_progress: rolling pods") {
		t.Errorf("Output %q lacks the deployer's progress message", res.Output)
	}
}

func TestWebhookSecretProblems(t *testing.T) {
	if _, err := New("internal", serverconfig.Driver{Type: "webhook", URL: "http://x"}, Deps{}); err == nil || !strings.Contains(err.Error(), "drivers.internal.secret_env") {
		t.Errorf("New without secret_env = %v", err)
	}
	w, f := newWebhookWorld(t, time.Minute)
	d := w.driver.(*webhookDriver)
	d.deps.Env = func(string) string { return "" }
	_, err := d.Deploy(context.Background(), w.target, nil)
	if err == nil || !strings.Contains(err.Error(), "DEPLOYER_SECRET is empty") {
		t.Errorf("empty secret: err = %v", err)
	}
	d.deps.Env = func(string) string { return "wrong-secret" }
	_, err = d.Deploy(context.Background(), w.target, nil)
	if err == nil || !strings.Contains(err.Error(), "HTTP 401") || !strings.Contains(err.Error(), "bad signature") || strings.Contains(err.Error(), "wrong-secret") {
		t.Errorf("wrong secret: err = %v", err)
	}
	if f.rejected != 1 {
		t.Errorf("deployer rejected %d requests, want 1", f.rejected)
	}
}

func TestSignIsHMACSHA256(t *testing.T) {
	// RFC 4231 test case 2.
	got := Sign([]byte("Jefe"), []byte("what do ya want for nothing?"))
	if got != "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843" {
		t.Errorf("Sign = %s", got)
	}
}

// TestWebhookReportsWhatServedBefore: on a first deployment (previous "")
// the deployer's "serving" is the baseline /rollback returns to; later it is
// not needed and ignored.
func TestWebhookReportsWhatServedBefore(t *testing.T) {
	w, f := newWebhookWorld(t, time.Minute)
	f.sync, f.report = true, true
	tg := w.target
	tg.Previous = ""
	res, err := w.driver.Deploy(context.Background(), tg, nil)
	if err != nil || res.Previous != shaOld {
		t.Fatalf("first deploy: Previous = %q, %v; want %s", res.Previous, err, shaOld)
	}
	tg.Previous = "known"
	if res, err = w.driver.Deploy(context.Background(), tg, nil); err != nil || res.Previous != "known" {
		t.Fatalf("later deploy: Previous = %q, %v", res.Previous, err)
	}
}
