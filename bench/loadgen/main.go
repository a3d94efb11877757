// Command loadgen measures webhook intake: it starts `conveyor serve` on
// loopback (SQLite file or a fresh PostgreSQL schema), sends signed
// deliveries at a fixed rate for a fixed time, and reports throughput,
// p50/p99 latency and the server's peak RSS. It stops by itself.
//
// Two mixes: synthetic (large workflow_job events nobody handles and
// comments without commands; no GitHub calls) and sync: real-shaped
// pull_request.synchronize deliveries spread over -prs pull requests (or
// all for one, -storm), handled, with the check worker evaluating them
// against the GitHub emulator running in this process.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"database/sql"
	"encoding/hex"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/conveyor-dev/conveyor/bot"
	"github.com/conveyor-dev/conveyor/internal/ghfake"
)

// cpuProfile is where the server writes its CPU profile, if anywhere.
var cpuProfile string

// serveLog is where the server's info-level log is kept, if anywhere.
var serveLog string

func main() {
	binary := flag.String("binary", "bin/conveyor", "conveyor binary to run")
	db := flag.String("db", "sqlite", "sqlite or postgres")
	pgURL := flag.String("postgres", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable", "PostgreSQL server for -db postgres")
	rate := flag.Int("rate", 1000, "deliveries per second")
	dur := flag.Duration("duration", 10*time.Second, "how long to send")
	conc := flag.Int("concurrency", 64, "most requests in flight")
	size := flag.Int("size", 12000, "payload bytes (a pull_request event is 10-30 KB)")
	workers := flag.Int("workers", 4, "serve --workers")
	handled := flag.Float64("handled", 0.2, "-mix synthetic: share of deliveries a handler acts on (issue_comment on a pull request); the rest are workflow_job, which no handler wants")
	mix := flag.String("mix", "synthetic", "synthetic (workflow_job and comments, no GitHub) or sync (real-shaped pull_request.synchronize over -prs pull requests, the check worker running against the GitHub emulator)")
	prs := flag.Int("prs", 300, "-mix sync: how many pull requests the deliveries are spread over")
	storm := flag.Bool("storm", false, "every delivery is for the same pull request (-mix sync -prs 1)")
	flag.StringVar(&cpuProfile, "cpuprofile", "", "write the server's CPU profile over the run to this file (go tool pprof)")
	flag.StringVar(&serveLog, "serve-log", "", "keep the server's log, at info level, in this file (default: warnings only, discarded)")
	flag.Parse()
	if *storm {
		*mix, *prs = "sync", 1
	}
	if *handled < 0 || *handled > 1 {
		fmt.Fprintln(os.Stderr, "loadgen: -handled is a share between 0 and 1")
		os.Exit(2)
	}
	if *mix != "synthetic" && *mix != "sync" {
		fmt.Fprintln(os.Stderr, "loadgen: -mix is synthetic or sync")
		os.Exit(2)
	}
	if *prs < 1 {
		fmt.Fprintln(os.Stderr, "loadgen: -prs is at least 1")
		os.Exit(2)
	}
	if *mix == "synthetic" {
		*prs = 0
	}
	if err := run(*binary, *db, *pgURL, *rate, *dur, *conc, *size, *workers, *handled, *prs); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

// run sends the load. prs > 0 selects the pull_request.synchronize mix over
// that many pull requests, served by the GitHub emulator.
func run(binary, db, pgURL string, rate int, dur time.Duration, conc, size, workers int, handled float64, prs int) error {
	tmp, err := os.MkdirTemp("", "loadgen")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	dbURL := "sqlite:" + filepath.Join(tmp, "conveyor.db")
	if db == "postgres" {
		b := make([]byte, 6)
		rand.Read(b)
		schema := "bench_" + hex.EncodeToString(b)
		admin, err := sql.Open("pgx", pgURL)
		if err != nil {
			return err
		}
		defer admin.Close()
		if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
			return fmt.Errorf("postgres: %w", err)
		}
		defer admin.Exec("DROP SCHEMA " + schema + " CASCADE")
		dbURL = pgURL + "&search_path=" + schema
	}
	k, _ := rsa.GenerateKey(rand.Reader, 2048)
	key := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
	appID, apiURL := "1", "http://127.0.0.1:9/"
	var gh *ghfake.Server
	var syncBodies [][]byte
	if prs > 0 {
		gh, syncBodies = seedPRs(prs)
		defer gh.Close()
		appID, apiURL, key = strconv.FormatInt(gh.AppID(), 10), gh.URL(), gh.PrivateKeyPEM()
	}
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	const secret = "loadgen-secret"
	cmd := exec.Command(binary, "serve", "--catch-up", "0", "--log-level", "warn", "--workers", strconv.Itoa(workers))
	cmd.Env = append(os.Environ(), "APP_ID="+appID, "PRIVATE_KEY="+string(key), "WEBHOOK_SECRET="+secret,
		"DATABASE_URL="+dbURL, "PORT="+strconv.Itoa(port), "GITHUB_API_URL="+apiURL, "APP_SLUG=conveyor")
	if cpuProfile != "" {
		abs, err := filepath.Abs(cpuProfile)
		if err != nil {
			return err
		}
		cmd.Env = append(cmd.Env, "CONVEYOR_CPU_PROFILE="+abs)
	}
	// The server's warnings (jobs waiting on GitHub's pacing, retries) go to
	// a file, not into the figures.
	logPath := filepath.Join(tmp, "serve.log")
	if serveLog != "" {
		logPath = serveLog
		cmd.Args = append(cmd.Args, "--log-level", "info")
	}
	logf, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd.Stderr = logf
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() {
		// SIGTERM lets the server write its profile; Kill if it lingers.
		cmd.Process.Signal(syscall.SIGTERM)
		t := time.AfterFunc(40*time.Second, func() { cmd.Process.Kill() })
		cmd.Wait()
		t.Stop()
	}()
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	for i := 0; ; i++ {
		if resp, err := http.Get(base + "/readyz"); err == nil && resp.StatusCode == 200 {
			resp.Body.Close()
			break
		}
		if i > 200 {
			return fmt.Errorf("serve did not become ready")
		}
		time.Sleep(50 * time.Millisecond)
	}

	// Bodies are built and signed before the clock starts, so the generator
	// sharing the two cores costs as little as it can while measuring: a ring
	// of distinct bodies, each sent under new delivery IDs.
	pad := strings.Repeat("x", max(size-300, 0))
	quoted := fmt.Sprintf("%q", pad)
	const ring = 1000
	type delivery struct {
		event, sig string
		body       []byte
	}
	bodies := make([]delivery, ring)
	for i := range bodies {
		// workflow_job: a large, frequent event no handler acts on (the
		// intake settles it). issue_comment on a pull request: the command
		// handler loads, parses and drops a review comment that holds no
		// command, so the worker path runs end to end without GitHub calls.
		d := delivery{event: "workflow_job", body: []byte(fmt.Sprintf(`{"action":"completed","workflow_job":{"id":%d,"run_id":%d,"name":"build","status":"completed","conclusion":"success","steps":%s},"installation":{"id":7},"repository":{"full_name":"acme/shop"},"sender":{"login":"dev","type":"User"}}`, i, i, quoted))}
		if int(float64(i+1)*handled) > int(float64(i)*handled) {
			d = delivery{event: "issue_comment", body: []byte(fmt.Sprintf(`{"action":"created","issue":{"number":%d,"pull_request":{"url":"https://api.github.com/repos/acme/shop/pulls/%d"}},"comment":{"id":%d,"body":"Looks good to me, one nit: %s","user":{"login":"dev","type":"User"}},"installation":{"id":7},"repository":{"full_name":"acme/shop"},"sender":{"login":"dev","type":"User"}}`, i%500+1, i%500+1, i, pad))}
		}
		if prs > 0 {
			d = delivery{event: "pull_request", body: syncBodies[i%len(syncBodies)]}
		}
		d.sig = bot.Sign([]byte(secret), d.body)
		bodies[i] = d
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conc, MaxConnsPerHost: conc}}
	total := int(float64(rate) * dur.Seconds())
	lat := make([]time.Duration, total)
	var failed atomic.Int64
	sem := make(chan struct{}, conc)
	var wg sync.WaitGroup
	var peak atomic.Int64
	ctx, stopRSS := context.WithCancel(context.Background())
	go sampleRSS(ctx, cmd.Process.Pid, &peak)
	interval := time.Second / time.Duration(rate)
	cpu0, gen0 := cpuTime(cmd.Process.Pid), cpuTime(os.Getpid())
	start := time.Now()
	late := 0
	for i := 0; i < total; i++ {
		due := start.Add(time.Duration(i) * interval)
		if d := time.Until(due); d > 0 {
			time.Sleep(d)
		}
		select {
		case sem <- struct{}{}:
		default:
			late++ // every slot busy: the server is not keeping up
			sem <- struct{}{}
		}
		wg.Add(1)
		go func(i int) {
			defer func() { <-sem; wg.Done() }()
			d := bodies[i%ring]
			req, _ := http.NewRequest("POST", base+"/webhooks/github", bytes.NewReader(d.body))
			req.Header.Set("X-GitHub-Event", d.event)
			req.Header.Set("X-GitHub-Delivery", fmt.Sprintf("load-%d-%d", start.UnixNano(), i))
			req.Header.Set("X-Hub-Signature-256", d.sig)
			t0 := time.Now()
			resp, err := client.Do(req)
			lat[i] = time.Since(t0)
			if err != nil {
				failed.Add(1)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 202 {
				failed.Add(1)
			}
		}(i)
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu := cpuTime(cmd.Process.Pid) - cpu0
	genCPU := cpuTime(os.Getpid()) - gen0
	stopRSS()
	sampleOnce(cmd.Process.Pid, &peak)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) time.Duration { return lat[int(p*float64(len(lat)-1))] }
	if prs > 0 {
		fmt.Printf("db=%s rate=%d/s duration=%s mix=pull_request.synchronize prs=%d payload=%dB concurrency=%d workers=%d\n", db, rate, dur, prs, len(bodies[0].body), conc, workers)
	} else {
		fmt.Printf("db=%s rate=%d/s duration=%s payload=%dB concurrency=%d workers=%d handled=%.2f\n", db, rate, dur, size, conc, workers, handled)
	}
	accepted := int64(total) - failed.Load()
	fmt.Printf("sent=%d failed=%d throughput=%.0f/s accepted=%.0f/s p50=%s p99=%s max=%s saturated_sends=%d peak_rss=%.1fMB\n",
		total, failed.Load(), float64(total)/elapsed.Seconds(), float64(accepted)/elapsed.Seconds(), pct(0.50).Round(10*time.Microsecond), pct(0.99).Round(10*time.Microsecond),
		lat[len(lat)-1].Round(10*time.Microsecond), late, float64(peak.Load())/1e6)
	if prs > 0 {
		fmt.Printf("when sending stopped: %s; GitHub calls by the check worker: %d\n", backlog(dbURL), len(gh.Calls()))
	}
	if n, first := warnings(logf.Name()); n > 0 {
		fmt.Printf("server warnings: %d, the first: %.300s\n", n, first)
	}
	fmt.Printf("server_cpu=%.2fs (%.0f%% of one core, %.0fµs per delivery) generator_cpu=%.2fs\n", cpu.Seconds(), 100*cpu.Seconds()/elapsed.Seconds(), float64(cpu.Microseconds())/float64(total), genCPU.Seconds())
	if failed.Load() > 0 {
		return fmt.Errorf("%d deliveries were not accepted", failed.Load())
	}
	return nil
}

func sampleRSS(ctx context.Context, pid int, peak *atomic.Int64) {
	for {
		sampleOnce(pid, peak)
		select {
		case <-ctx.Done():
			return
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// cpuTime is the user plus system CPU time the process has used so far.
func cpuTime(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name (which may hold spaces) start after ')'.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / 100 // USER_HZ is 100 on Linux
}

// sampleOnce reads the kernel's high-water mark of resident memory (VmHWM).
func sampleOnce(pid int, peak *atomic.Int64) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			if kb*1024 > peak.Load() {
				peak.Store(kb * 1024)
			}
		}
	}
}

// warnings counts the server's log lines at warn level and above, and
// returns the first.
func warnings(path string) (n int, first string) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, ""
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, `"level":"WARN"`) || strings.Contains(l, `"level":"ERROR"`) {
			if n == 0 {
				first = l
			}
			n++
		}
	}
	return n, first
}
