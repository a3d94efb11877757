package driver

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/conveyor-dev/conveyor/internal/serverconfig"
)

func TestHealthGate(t *testing.T) {
	var mu sync.Mutex
	var paths []string
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		paths = append(paths, r.URL.Path)
		w.WriteHeader(status)
		w.Write([]byte("db: down"))
	}))
	defer srv.Close()
	g := NewHealthGate(serverconfig.Health{HTTP: srv.URL + "/{environment}/{artifact}/healthz"}, srv.Client())
	tg := appTarget()
	if err := g.Healthy(context.Background(), tg); err != nil {
		t.Fatalf("healthy service: %v", err)
	}
	if paths[0] != "/production/web/healthz" {
		t.Errorf("probed %q, want the placeholders substituted", paths[0])
	}
	mu.Lock()
	status = http.StatusServiceUnavailable
	mu.Unlock()
	err := g.Healthy(context.Background(), tg)
	for _, part := range []string{"web", "production", "answered 503, want 200", "db: down", "rolls back"} {
		if err == nil || !strings.Contains(err.Error(), part) {
			t.Errorf("err = %v; want it to mention %q", err, part)
		}
	}
}

func TestHealthGateExpectAndTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	defer close(release)
	g := NewHealthGate(serverconfig.Health{HTTP: srv.URL + "/ok", Expect: 204}, srv.Client())
	if err := g.Healthy(context.Background(), appTarget()); err != nil {
		t.Errorf("expect 204: %v", err)
	}
	cfg := serverconfig.Health{HTTP: srv.URL + "/slow", Expect: 204}
	cfg.Timeout.Duration = 100 * time.Millisecond
	err := NewHealthGate(cfg, srv.Client()).Healthy(context.Background(), appTarget())
	if err == nil || !strings.Contains(err.Error(), "did not answer within 100ms") {
		t.Errorf("slow service: err = %v", err)
	}
}

func TestHealthGateBadURLAndRedaction(t *testing.T) {
	err := NewHealthGate(serverconfig.Health{HTTP: "web.{environment}.internal/healthz"}, nil).Healthy(context.Background(), appTarget())
	if err == nil || !strings.Contains(err.Error(), "not an http(s) URL") {
		t.Errorf("bad URL: err = %v", err)
	}
	err = NewHealthGate(serverconfig.Health{HTTP: "http://user:hunter2@127.0.0.1:1/healthz"}, nil).Healthy(context.Background(), appTarget())
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("unreachable URL with credentials: err = %v; want an error without the password", err)
	}
}
