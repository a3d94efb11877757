// Package promtest runs a real Prometheus server for tests, scraping an
// exporter the test controls, so metric health gates are tested against
// Prometheus itself rather than an imitation of its query API.
//
// The server is Debian's prometheus binary on PATH. Without it a test is
// skipped with a message saying how to install it, except in CI (CI=true),
// where the test fails: CI installs the package (.ci/run). The package must
// not be imported by production code.
package promtest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/conveyor-dev/conveyor/internal/testwait"
)

// Server is a running Prometheus scraping one Exporter every second.
type Server struct {
	// URL is Prometheus's base URL, for a gate's prometheus.url.
	URL string
}

// Start starts an exporter and a Prometheus scraping it; both stop when t
// ends. It skips t (or fails it in CI) when prometheus is not installed.
func Start(t testing.TB) (*Server, *Exporter) {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		msg := "the prometheus binary is not on PATH; install Debian's prometheus package (apt-get install -y prometheus) to run this test against a real Prometheus"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg + " (CI must run it: .ci/run installs the package)")
		}
		t.Skip(msg)
	}
	exp := startExporter(t)
	dir := t.TempDir()
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: conveyor-test
    static_configs:
      - targets: [%q]
`, exp.addr)
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	var out strings.Builder
	cmd := exec.Command(bin,
		"--config.file="+cfgPath,
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
		"--log.level=warn",
	)
	logw := &syncWriter{w: &out}
	cmd.Stdout, cmd.Stderr = logw, logw
	if err := cmd.Start(); err != nil {
		t.Fatalf("start prometheus: %v", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	s := &Server{URL: "http://" + addr}
	testwait.Within(t, 60*time.Second, "prometheus to be ready", func() bool {
		select {
		case <-done:
			return true // exited: reported below
		default:
		}
		resp, err := http.Get(s.URL + "/-/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	select {
	case <-done:
		logw.mu.Lock()
		defer logw.mu.Unlock()
		t.Fatalf("prometheus exited at start: %s", out.String())
	default:
	}
	return s, exp
}

// Exporter serves http_requests_total{app, env, code} counters that grow
// by 100 requests per scrape, with the error ratio set per app and
// environment, so rate() of its errors over its total is that ratio.
type Exporter struct {
	addr  string
	mu    sync.Mutex
	ratio map[[2]string]float64
	total map[[2]string]float64
	errs  map[[2]string]float64
}

// SetErrorRatio makes app in env answer ratio of its requests with 500
// from the next scrape on.
func (e *Exporter) SetErrorRatio(app, env string, ratio float64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.ratio[[2]string{app, env}] = ratio
}

var requestsDesc = prometheus.NewDesc("http_requests_total", "Requests served, by status code.", []string{"app", "env", "code"}, nil)

// Describe implements prometheus.Collector.
func (e *Exporter) Describe(ch chan<- *prometheus.Desc) { ch <- requestsDesc }

// Collect implements prometheus.Collector: every scrape is 100 more
// requests for each app.
func (e *Exporter) Collect(ch chan<- prometheus.Metric) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for k, r := range e.ratio {
		e.errs[k] += 100 * r
		e.total[k] += 100
		ch <- prometheus.MustNewConstMetric(requestsDesc, prometheus.CounterValue, e.total[k]-e.errs[k], k[0], k[1], "200")
		ch <- prometheus.MustNewConstMetric(requestsDesc, prometheus.CounterValue, e.errs[k], k[0], k[1], "500")
	}
}

func startExporter(t testing.TB) *Exporter {
	e := &Exporter{ratio: map[[2]string]float64{}, total: map[[2]string]float64{}, errs: map[[2]string]float64{}}
	reg := prometheus.NewRegistry()
	reg.MustRegister(e)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.addr = l.Addr().String()
	srv := &http.Server{Handler: promhttp.HandlerFor(reg, promhttp.HandlerOpts{})}
	go srv.Serve(l)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return e
}

// freeAddr returns a loopback address no one listens on right now.
func freeAddr(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// ErrorRatioQuery is the PromQL a gate uses on the exporter's counters:
// the share of 5xx answers over the last 5 seconds for one app and
// environment.
const ErrorRatioQuery = `sum(rate(http_requests_total{app="{artifact}",env="{environment}",code=~"5.."}[5s])) / sum(rate(http_requests_total{app="{artifact}",env="{environment}"}[5s]))`

type syncWriter struct {
	mu sync.Mutex
	w  *strings.Builder
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
