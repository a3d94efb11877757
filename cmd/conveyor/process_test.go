package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/conveyor-dev/conveyor/bot"
	"github.com/conveyor-dev/conveyor/internal/store"
	"github.com/conveyor-dev/conveyor/internal/store/storetest"
	"github.com/conveyor-dev/conveyor/internal/testwait"
)

var binPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "conveyor-bin")
	if err != nil {
		panic(err)
	}
	binPath = filepath.Join(dir, "conveyor")
	out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

const secret = "process-test-secret"

func keyPEM(t *testing.T) string {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}))
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

type proc struct {
	cmd  *exec.Cmd
	url  string
	mu   sync.Mutex
	logs []string
	done chan struct{}
}

func (p *proc) lines() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.logs...)
}

// startServe runs the real binary and waits for /healthz.
func startServe(t *testing.T, dbURL, key string, args ...string) *proc {
	t.Helper()
	return startServeEnv(t, []string{"APP_ID=1", "PRIVATE_KEY=" + key, "DATABASE_URL=" + dbURL, "GITHUB_API_URL=http://127.0.0.1:9/"}, args...)
}

// startServeEnv is startServe with the environment's app settings in env
// (APP_ID, PRIVATE_KEY, DATABASE_URL, GITHUB_API_URL; PORT when the test
// must know it beforehand).
func startServeEnv(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	port := freePort(t)
	for _, kv := range env {
		if p, ok := strings.CutPrefix(kv, "PORT="); ok {
			port, _ = strconv.Atoi(p)
		}
	}
	cmd := exec.Command(binPath, append([]string{"serve", "--catch-up", "0"}, args...)...)
	cmd.Env = append(os.Environ(), "WEBHOOK_SECRET="+secret, fmt.Sprintf("PORT=%d", port), "APP_SLUG=conveyor")
	cmd.Env = append(cmd.Env, env...)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, url: fmt.Sprintf("http://127.0.0.1:%d", port), done: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			p.mu.Lock()
			p.logs = append(p.logs, sc.Text())
			p.mu.Unlock()
		}
		cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-p.done
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(p.url + "/healthz")
		if err == nil {
			resp.Body.Close()
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not come up: %v\n%s", err, strings.Join(p.lines(), "\n"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func send(t *testing.T, url, id string) int {
	body := []byte(fmt.Sprintf(`{"action":"opened","number":1,"installation":{"id":7},
		"repository":{"id":1,"name":"shop","full_name":"acme/shop","owner":{"login":"acme"},"default_branch":"main"},
		"pull_request":{"number":1,"title":"t","user":{"login":"dev","type":"User"},"updated_at":"2026-11-27T00:00:00Z",
		  "head":{"ref":"feature","sha":"0123456789abcdef0123456789abcdef01234567"},"base":{"ref":"main","sha":"89abcdef0123456789abcdef0123456789abcdef"}},
		"sender":{"login":"dev","type":"User"},"n":%q}`, id))
	req, _ := http.NewRequest("POST", url+"/webhooks/github", bytes.NewReader(body))
	req.Header.Set("X-GitHub-Event", "pull_request")
	req.Header.Set("X-GitHub-Delivery", id)
	req.Header.Set("X-Hub-Signature-256", bot.Sign([]byte(secret), body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("send %s: %v", id, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func processedIDs(p *proc) []string {
	var ids []string
	for _, l := range p.lines() {
		var rec struct {
			Msg      string `json:"msg"`
			Delivery string `json:"delivery"`
		}
		if json.Unmarshal([]byte(l), &rec) == nil && rec.Msg == "delivery done" {
			ids = append(ids, rec.Delivery)
		}
	}
	return ids
}

func TestServeConfigErrorsExit2(t *testing.T) {
	t.Parallel()
	key := keyPEM(t)
	cases := []struct {
		env     []string
		args    []string
		setting string
	}{
		{[]string{}, nil, "APP_ID"},
		{[]string{"APP_ID=1"}, nil, "PRIVATE_KEY"},
		{[]string{"APP_ID=1", "PRIVATE_KEY=" + key}, nil, "WEBHOOK_SECRET"},
		{[]string{"APP_ID=1", "PRIVATE_KEY=" + key, "WEBHOOK_SECRET=s", "DATABASE_URL=mysql://x"}, nil, "DATABASE_URL"},
		{[]string{"APP_ID=1", "PRIVATE_KEY=" + key, "WEBHOOK_SECRET=s", "PORT=x"}, nil, "PORT"},
		{[]string{"APP_ID=1", "PRIVATE_KEY=" + key, "WEBHOOK_SECRET=s"}, []string{"--config", "/nonexistent.yml"}, "server config"},
		{[]string{"APP_ID=1", "PRIVATE_KEY=" + key, "WEBHOOK_SECRET=s"}, []string{"--keep-deliveries", "72h"}, "--keep-deliveries"},
		{[]string{"APP_ID=1", "PRIVATE_KEY=" + key, "WEBHOOK_SECRET=s", "GITHUB_CLIENT_ID=Iv1.x"}, nil, "GITHUB_CLIENT_SECRET"},
		{[]string{"APP_ID=1", "PRIVATE_KEY=" + key, "WEBHOOK_SECRET=s", "GITHUB_CLIENT_ID=Iv1.x", "GITHUB_CLIENT_SECRET=y"}, nil, "CONVEYOR_PUBLIC_URL"},
		{[]string{"APP_ID=1", "PRIVATE_KEY=" + key, "WEBHOOK_SECRET=s", "GITHUB_CLIENT_ID=Iv1.x", "GITHUB_CLIENT_SECRET=y",
			"CONVEYOR_PUBLIC_URL=http://conveyor.example.com"}, nil, "CONVEYOR_PUBLIC_URL"},
	}
	for _, c := range cases {
		cmd := exec.Command(binPath, append([]string{"serve"}, c.args...)...)
		cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, c.env...)
		cmd.Dir = t.TempDir()
		out, err := cmd.CombinedOutput()
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() != 2 {
			t.Errorf("%v: err = %v, want exit status 2; output %s", c.env, err, out)
			continue
		}
		if lines := strings.Split(strings.TrimSpace(string(out)), "\n"); len(lines) != 1 || !strings.Contains(lines[0], c.setting) {
			t.Errorf("%v: output %q; want one line naming %s", c.env, out, c.setting)
		}
		if strings.Contains(string(out), "BEGIN RSA") {
			t.Errorf("output leaks the private key")
		}
	}
	bad := filepath.Join(t.TempDir(), "bad.yml")
	os.WriteFile(bad, []byte("drivers: {web: {type: teleport}}\n"), 0o644)
	cmd := exec.Command(binPath, "serve", "--config", bad)
	cmd.Env = []string{"APP_ID=1", "PRIVATE_KEY=" + key, "WEBHOOK_SECRET=s", "PATH=" + os.Getenv("PATH")}
	cmd.Dir = t.TempDir()
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 || !strings.Contains(string(out), "drivers.web.type") {
		t.Errorf("bad server config: %v %s", err, out)
	}
}

// A process killed with SIGKILL right after answering 202 loses nothing: the
// next process works the stored deliveries.
func TestKill9AfterAcceptIsProcessedAfterRestart(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			dbURL := storetest.URL(t, d)
			key := keyPEM(t)
			intake := startServe(t, dbURL, key, "--workers", "0")
			const n = 20
			for i := 0; i < n; i++ {
				if code := send(t, intake.url, fmt.Sprintf("k9-%d", i)); code != 202 {
					t.Fatalf("delivery %d: %d", i, code)
				}
			}
			intake.cmd.Process.Signal(syscall.SIGKILL)
			<-intake.done
			worker := startServe(t, dbURL, key, "--workers", "4")
			st := openStore(t, dbURL)
			// The "delivery done" lines follow the commit that marks them.
			testwait.Within(t, 60*time.Second, "all processed", func() bool {
				_, processed, _ := st.DeliveryCounts(context.Background())
				return processed == n && len(processedIDs(worker)) >= n
			})
			stop(t, worker) // every line it wrote is read once it has exited
			if got := len(processedIDs(worker)); got != n {
				t.Fatalf("restarted process worked %d deliveries, want %d", got, n)
			}
		})
	}
}

// Two serve processes on one PostgreSQL database share 500 deliveries and
// process each exactly once.
func TestTwoProcessesShareWorkExactlyOnce(t *testing.T) {
	t.Parallel()
	dbURL := storetest.URL(t, store.Postgres)
	key := keyPEM(t)
	a := startServe(t, dbURL, key, "--workers", "4")
	b := startServe(t, dbURL, key, "--workers", "4")
	const n = 500
	var wg sync.WaitGroup
	errs := make(chan string, n)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < n; i += 8 {
				target := a.url
				if i%2 == 1 {
					target = b.url
				}
				if code := send(t, target, fmt.Sprintf("two-%d", i)); code != 202 {
					errs <- fmt.Sprintf("delivery %d: %d", i, code)
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
	st := openStore(t, dbURL)
	testwait.Within(t, 60*time.Second, "500 processed", func() bool {
		_, processed, _ := st.DeliveryCounts(context.Background())
		return processed == n && len(processedIDs(a))+len(processedIDs(b)) >= n
	})
	// A redelivery to either process is acknowledged and not processed again.
	if code := send(t, b.url, "two-0"); code != 200 {
		t.Fatalf("redelivery: %d", code)
	}
	// The sync point: both processes drain and exit, so every line either
	// wrote is read; a delivery worked twice would show here.
	stop(t, a)
	stop(t, b)
	seen := map[string]int{}
	idsA, idsB := processedIDs(a), processedIDs(b)
	for _, id := range append(idsA, idsB...) {
		seen[id]++
	}
	if len(seen) != n {
		t.Fatalf("%d distinct deliveries processed, want %d", len(seen), n)
	}
	for id, c := range seen {
		if c != 1 {
			t.Fatalf("delivery %s processed %d times", id, c)
		}
	}
	if len(idsA) == 0 || len(idsB) == 0 {
		t.Fatalf("work not shared: a=%d b=%d", len(idsA), len(idsB))
	}
}

// stop sends SIGTERM and waits for the process to exit and for its log to
// be read to the end.
func stop(t *testing.T, p *proc) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(60 * time.Second):
		t.Fatal("serve did not stop after SIGTERM")
	}
}

func openStore(t *testing.T, url string) *store.Store {
	st, err := store.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// SIGTERM stops accepting, lets running jobs finish and exits 0.
func TestServeShutsDownGracefullyOnSIGTERM(t *testing.T) {
	t.Parallel()
	p := startServe(t, storetest.URL(t, store.SQLite), keyPEM(t), "--workers", "2")
	if code := send(t, p.url, "term-1"); code != 202 {
		t.Fatalf("delivery: %d", code)
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop after SIGTERM")
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("exit status %d after SIGTERM", code)
	}
	logs := strings.Join(p.lines(), "\n")
	if !strings.Contains(logs, "shutting down") {
		t.Fatalf("no shutdown line in the log:\n%s", logs)
	}
	// The start says which policy revision decides.
	if !strings.Contains(logs, `"msg":"policy loaded"`) {
		t.Fatalf("no policy line in the log:\n%s", logs)
	}
	if _, err := http.Get(p.url + "/healthz"); err == nil {
		t.Fatal("still accepting connections after shutdown")
	}
}
