package bot

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/conveyor-dev/conveyor/internal/store"
	"github.com/conveyor-dev/conveyor/internal/store/storetest"
	"github.com/conveyor-dev/conveyor/internal/testwait"
)

func getStatus(t *testing.T, url, token string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// With METRICS_TOKEN set, /metrics answers only a request bearing it.
func TestMetricsNeedTheToken(t *testing.T) {
	t.Parallel()
	st := storetest.Open(t, store.SQLite)
	ts := newTestServer(t, st, 0, func(c *Config) { c.MetricsToken = "scrape-me" })
	for _, c := range []struct {
		token string
		want  int
	}{{"", 401}, {"wrong", 401}, {"scrape-me", 200}} {
		if got := getStatus(t, ts.http.URL+"/metrics", c.token); got != c.want {
			t.Errorf("token %q: %d, want %d", c.token, got, c.want)
		}
	}
	if got := getStatus(t, ts.http.URL+"/healthz", ""); got != 200 {
		t.Errorf("/healthz: %d; only /metrics needs the token", got)
	}
}

// With METRICS_ADDR set, /metrics is served there (with the token, if any)
// and no longer on the main listener.
func TestMetricsOnTheirOwnAddress(t *testing.T) {
	t.Parallel()
	st := storetest.Open(t, store.SQLite)
	cfg := &Config{AppID: 1, PrivateKey: testKeyPEM(t), WebhookSecret: testSecret, GitHubAPIURL: "http://127.0.0.1:1/", AppSlug: "conveyor",
		MetricsAddr: "127.0.0.1:0", MetricsToken: "scrape-me"}
	q := store.NewQueue(st, store.QueueConfig{Workers: 1, PollInterval: 20 * time.Millisecond})
	srv, err := NewServer(ServerOptions{Config: cfg, Store: st, Queue: q, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx, ln, RunOptions{MetricsListener: mln, ShutdownTimeout: 5 * time.Second}) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("Run: %v", err)
		}
	})
	main, metrics := "http://"+ln.Addr().String(), "http://"+mln.Addr().String()
	testwait.For(t, "the main listener", func() bool {
		resp, err := http.Get(main + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == 200
	})
	if got := getStatus(t, metrics+"/metrics", "scrape-me"); got != 200 {
		t.Fatalf("metrics address: %d, want 200", got)
	}
	if got := getStatus(t, metrics+"/metrics", ""); got != 401 {
		t.Errorf("metrics address without the token: %d, want 401", got)
	}
	if got := getStatus(t, main+"/metrics", "scrape-me"); got != 404 {
		t.Errorf("main listener /metrics: %d, want 404 when METRICS_ADDR is set", got)
	}
	if got := getStatus(t, metrics+"/webhooks/github", ""); got != 404 && got != 405 {
		t.Errorf("metrics address serves the webhook route: %d", got)
	}
}

func TestMetricsConfigFromEnv(t *testing.T) {
	t.Parallel()
	env := map[string]string{"APP_ID": "1", "PRIVATE_KEY": string(testKeyPEM(t)), "WEBHOOK_SECRET": "s",
		"METRICS_ADDR": "127.0.0.1:9090", "METRICS_TOKEN": "tok"}
	c, err := ConfigFromEnv(func(k string) string { return env[k] })
	if err != nil || c.MetricsAddr != "127.0.0.1:9090" || c.MetricsToken != "tok" {
		t.Fatalf("%+v %v", c, err)
	}
	env["METRICS_ADDR"] = "9090"
	if _, err := ConfigFromEnv(func(k string) string { return env[k] }); err == nil {
		t.Fatal("METRICS_ADDR without a port accepted")
	}
}
