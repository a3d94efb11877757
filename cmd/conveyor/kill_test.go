package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/conveyor-dev/conveyor/bot"
	"github.com/conveyor-dev/conveyor/internal/ghfake"
	"github.com/conveyor-dev/conveyor/internal/store"
	"github.com/conveyor-dev/conveyor/internal/store/storetest"
	"github.com/conveyor-dev/conveyor/internal/testwait"
)

// killConfig is a one-app repository config: enough for the check worker
// to evaluate every PR against the emulator.
const killConfig = `version: 1
artifacts:
  web:
    kind: app
    paths: ["services/web/**"]
    owners: ["@acme/web"]
`

// killLoad is the traffic of the kill -9 test: pull_request.synchronize
// deliveries spread over a few PRs, and /help comments, at a bounded rate.
type killLoad struct {
	gh      *ghfake.Server
	bodies  []killBody
	mu      sync.Mutex
	offered int
	ok      []string // delivery IDs answered 202
}

type killBody struct {
	event string
	body  []byte
}

func newKillLoad(t *testing.T) *killLoad {
	gh := ghfake.NewTest(t, ghfake.WithAppSlug("conveyor"))
	gh.AddRepo("acme/shop", "main", 7)
	cfg := killConfig
	web := "package main\n"
	gh.Commit("acme/shop", "main", map[string]*string{".github/conveyor.yml": &cfg, "services/web/main.go": &web}, "initial import")
	gh.SetPermission("acme/shop", "dev", "write")
	// Every GitHub call takes a while, as on the real API, so that jobs are
	// running when the process is killed.
	gh.SetLatency(50 * time.Millisecond)
	l := &killLoad{gh: gh}
	for i := 0; i < 6; i++ {
		branch := fmt.Sprintf("feature-%d", i)
		gh.Branch("acme/shop", branch, "main")
		change := fmt.Sprintf("package main // change %d\n", i)
		gh.Commit("acme/shop", branch, map[string]*string{"services/web/main.go": &change}, "change web")
		pr := gh.OpenPR("acme/shop", branch, "main", fmt.Sprintf("Change %d", i), "dev")
		b, _ := json.Marshal(gh.PullRequestEvent("synchronize", pr))
		l.bodies = append(l.bodies, killBody{"pull_request", b}, killBody{"pull_request", b})
	}
	// One delivery in twelve is a command: its handler asks GitHub for the
	// commenter's permission and answers, so delivery jobs run for a while
	// too. Few enough that GitHub's pacing of content-creating calls (80 a
	// minute per installation) does not set the test's pace.
	_, c := gh.CommentOnPR("acme/shop", 1, "dev", "/help")
	b, _ := json.Marshal(c)
	l.bodies[len(l.bodies)-1] = killBody{"issue_comment", b}
	return l
}

// send posts n deliveries to url at rate per second (at most 8 in flight)
// and records the IDs answered 202. A refused connection (the process was
// killed) is not an acceptance.
func (l *killLoad) send(url, prefix string, n, rate int) {
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		<-tick.C
		sem <- struct{}{}
		wg.Add(1)
		go func(i int) {
			defer func() { <-sem; wg.Done() }()
			id := fmt.Sprintf("%s-%d", prefix, i)
			b := l.bodies[i%len(l.bodies)]
			req, _ := http.NewRequest("POST", url+"/webhooks/github", bytes.NewReader(b.body))
			req.Header.Set("X-GitHub-Event", b.event)
			req.Header.Set("X-GitHub-Delivery", id)
			req.Header.Set("X-Hub-Signature-256", bot.Sign([]byte(secret), b.body))
			resp, err := http.DefaultClient.Do(req)
			l.mu.Lock()
			defer l.mu.Unlock()
			l.offered++
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusAccepted {
					l.ok = append(l.ok, id)
				}
			}
		}(i)
	}
	wg.Wait()
}

func (l *killLoad) accepted() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.ok...)
}

// A process killed with SIGKILL under load strands the jobs it was running.
// They are run again after the rescue window — on SQLite by the restarted
// process, on PostgreSQL by the surviving replica — and every delivery
// answered 202 is processed exactly once. The test runs with a 5s window
// (--rescue-after) and waits at most two minutes; under river's default
// (an hour past a 30-minute job timeout) it timed out.
func TestKill9UnderLoadRescuesRunningJobs(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			l := newKillLoad(t)
			dbURL := storetest.URL(t, d)
			env := []string{fmt.Sprintf("APP_ID=%d", l.gh.AppID()), "PRIVATE_KEY=" + string(l.gh.PrivateKeyPEM()),
				"DATABASE_URL=" + dbURL, "GITHUB_API_URL=" + l.gh.URL()}
			args := []string{"--workers", "4", "--rescue-after", "5s"}
			victim := startServeEnv(t, env, args...)
			var survivor *proc
			if d == store.Postgres {
				survivor = startServeEnv(t, env, args...)
			}
			st := openStore(t, dbURL)

			// 100 deliveries/s for two seconds; kill -9 once jobs are running.
			sent := make(chan struct{})
			go func() { defer close(sent); l.send(victim.url, "before", 150, 100) }()
			testwait.For(t, "jobs running in the process to be killed", func() bool {
				return runningJobs(t, st, "github_delivery") > 0 && len(l.accepted()) > 30
			})
			victim.cmd.Process.Signal(syscall.SIGKILL)
			<-victim.done
			<-sent
			stranded := runningJobs(t, st, "")
			if d == store.SQLite {
				survivor = startServeEnv(t, env, args...)
			}
			// Load goes on against the process that remains.
			l.send(survivor.url, "after", 50, 100)

			accepted := l.accepted()
			var pending, unfinished int
			testwait.Within(t, 2*time.Minute, "every accepted delivery to be processed", func() bool {
				ds, err := st.PendingDeliveries(context.Background(), accepted)
				if err != nil {
					t.Fatal(err)
				}
				pending, unfinished = len(ds), unfinishedJobs(t, st)
				return pending == 0 && unfinished == 0
			}, func() string {
				return fmt.Sprintf("%d of %d deliveries still pending, %d jobs unfinished", pending, len(accepted), unfinished)
			})
			// Every line either process wrote is read once the survivor exits.
			stop(t, survivor)
			seen := map[string]int{}
			for _, id := range append(processedIDs(victim), processedIDs(survivor)...) {
				seen[id]++
			}
			// The store says each is processed (above); a "delivery done"
			// line follows the commit of its mark, so the killed process
			// may have processed one without logging it, never twice.
			for id, n := range seen {
				if n > 1 {
					t.Errorf("delivery %s processed %d times; want once", id, n)
				}
			}
			// river notes a rescue in the job's errors: the jobs the killed
			// process held were taken over, not merely finished by it.
			if n := rescuedJobs(t, st); n == 0 {
				t.Fatal("no job was rescued; the killed process held none and the test proves nothing")
			}
			t.Logf("%s: %d offered, %d accepted, %d jobs stranded by kill -9", d, l.offered, len(accepted), stranded)
		})
	}
}

// unfinishedJobs counts river jobs not yet completed, discarded or cancelled.
func unfinishedJobs(t *testing.T, st *store.Store) int {
	var n int
	if err := st.DB.QueryRowContext(context.Background(), `SELECT count(*) FROM river_job WHERE state NOT IN ('completed', 'discarded', 'cancelled')`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// runningJobs counts river jobs in state running, of kind if not "".
func runningJobs(t *testing.T, st *store.Store, kind string) int {
	var n int
	if err := st.DB.QueryRowContext(context.Background(), `SELECT count(*) FROM river_job WHERE state = 'running' AND (kind = $1 OR $1 = '')`, kind).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// rescuedJobs counts jobs river's rescuer took over from a dead worker.
func rescuedJobs(t *testing.T, st *store.Store) int {
	var n int
	if err := st.DB.QueryRowContext(context.Background(), `SELECT count(*) FROM river_job WHERE CAST(errors AS TEXT) LIKE '%Stuck job rescued%'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
