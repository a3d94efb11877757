package slackapproval_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-github/v66/github"
	"github.com/slack-go/slack"

	"github.com/conveyor-dev/conveyor/bot"
	"github.com/conveyor-dev/conveyor/deploy"
	"github.com/conveyor-dev/conveyor/deploy/driver"
	"github.com/conveyor-dev/conveyor/deploy/slackapproval"
	"github.com/conveyor-dev/conveyor/internal/ghfake"
	"github.com/conveyor-dev/conveyor/internal/serverconfig"
	"github.com/conveyor-dev/conveyor/internal/slackfake"
	"github.com/conveyor-dev/conveyor/internal/store"
	"github.com/conveyor-dev/conveyor/internal/store/storetest"
	"github.com/conveyor-dev/conveyor/internal/testwait"
	"github.com/conveyor-dev/conveyor/policies"
)

const (
	repo         = "acme/shop"
	installation = 21
	prodChannel  = "C0PRODDEPLOY"
	secret       = "slack-signing-secret-for-tests"
)

// Slack users of the tests and the GitHub logins they map to.
const (
	uSam      = "U0SAM" // acme/sre
	uBob      = "U0BOB" // acme/sre
	uOutsider = "U0OUT" // acme/web only
	uOcto     = "U0OCTO"
	uStranger = "U0WHO" // in no map
	uEve      = "U0EVE" // mapped by e-mail
)

// okDriver deploys everything successfully and counts deploys.
type okDriver struct {
	mu      sync.Mutex
	deploys int
}

func (d *okDriver) Deploy(ctx context.Context, t driver.Target, log driver.Logger) (driver.Result, error) {
	d.mu.Lock()
	d.deploys++
	d.mu.Unlock()
	return driver.Result{Serving: t.SHA, Output: fmt.Sprintf("deployed %s at %d%%\n", t.Artifact, t.Percent)}, nil
}

func (d *okDriver) Rollback(ctx context.Context, t driver.Target, log driver.Logger) (driver.Result, error) {
	return driver.Result{Serving: t.Previous}, nil
}

func (d *okDriver) count() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.deploys
}

// actors is a map-backed Actors.
type actors map[string]policies.Actor

func (a actors) ActorFacts(ctx context.Context, installationID int64, repo, login string, teams []string) (policies.Actor, error) {
	if act, ok := a[login]; ok {
		return act, nil
	}
	return policies.Actor{Login: login, Permission: "read", Teams: []string{}}, nil
}

// world is the engine, the Slack service and both emulators.
type world struct {
	t      *testing.T
	gh     *ghfake.Server
	slack  *slackfake.Server
	engine *deploy.Engine
	svc    *slackapproval.Service
	drv    *okDriver
	app    *httptest.Server // serves /slack/interactions
	pr     *ghfake.PR
	st     *store.Store
}

// newWorld builds the world on SQLite; engine options, if given, adjust the
// engine's Options (its drivers, its masker) before it is built.
func newWorld(t *testing.T, ttl time.Duration, engine ...func(*deploy.Options)) *world {
	t.Helper()
	return newWorldOn(t, store.SQLite, ttl, engine...)
}

// newWorldOn is newWorld on a store of dialect d.
func newWorldOn(t *testing.T, d store.Dialect, ttl time.Duration, engine ...func(*deploy.Options)) *world {
	t.Helper()
	w := &world{t: t, gh: ghfake.NewTest(t), slack: slackfake.NewTest(t), drv: &okDriver{}}
	w.slack.AddChannel(prodChannel, true)
	w.gh.AddRepo(repo, "main", installation)
	content := "v2"
	w.gh.Commit(repo, "feature", map[string]*string{"app/web.txt": &content}, "change web")
	w.pr = w.gh.OpenPR(repo, "feature", "main", "Faster checkout", "octocat")
	w.slack.AddUser(uEve, "eve", "Eve@Acme.example")

	cfg := serverconfig.Default()
	cfg.Slack = serverconfig.Slack{
		Channels: map[string]string{"production": prodChannel},
		Users:    map[string]string{uSam: "sam", uBob: "bob", uOutsider: "olga", uOcto: "octocat"},
		Emails:   map[string]string{"eve@acme.example": "eve"},
	}
	eval, err := policies.New(context.Background(), policies.Options{Config: cfg})
	if err != nil {
		t.Fatalf("policy evaluator: %v", err)
	}
	st := storetest.Open(t, d)
	w.st = st
	q := store.NewQueue(st, store.QueueConfig{Workers: 8, PollInterval: 20 * time.Millisecond})
	api := slack.New(w.slack.Token(), slack.OptionAPIURL(w.slack.URL()+"/api/"))
	w.svc = slackapproval.New(slackapproval.Options{
		Slack:  api,
		Config: cfg,
		Policy: eval,
		Actors: actors{
			"sam":     {Login: "sam", Permission: "write", Teams: []string{"acme/sre"}},
			"bob":     {Login: "bob", Permission: "write", Teams: []string{"acme/sre"}},
			"eve":     {Login: "eve", Permission: "write", Teams: []string{"acme/sre"}},
			"olga":    {Login: "olga", Permission: "write", Teams: []string{"acme/web"}},
			"octocat": {Login: "octocat", Permission: "admin", Teams: []string{"acme/sre"}},
		},
		Author: func(ctx context.Context, id int64, repo string, pr int) (string, error) {
			c, err := w.gh.InstallationClient(id)
			if err != nil {
				return "", err
			}
			owner, name, _ := strings.Cut(repo, "/")
			p, _, err := c.PullRequests.Get(ctx, owner, name, pr)
			if err != nil {
				return "", err
			}
			return p.GetUser().GetLogin(), nil
		},
		Comment: func(ctx context.Context, id int64, repo string, pr int, body string) error {
			c, err := w.gh.InstallationClient(id)
			if err != nil {
				return err
			}
			owner, name, _ := strings.Cut(repo, "/")
			_, _, err = c.Issues.CreateComment(ctx, owner, name, pr, &github.IssueComment{Body: &body})
			return err
		},
		Evidence: func(ctx context.Context, id int64, repo, sha string) (*slackapproval.Evidence, error) {
			return &slackapproval.Evidence{Gate: "success", Artifacts: map[string]slackapproval.ArtifactEvidence{
				"web": {Conclusion: "success", Title: "Ready: all four stages passed",
					Lines:      []string{"CI passed: build, test", "1 commit, newest " + w.pr.HeadSHA[:7] + " change web (@octocat)"},
					MonthlyUSD: 480, DeltaUSD: 120},
			}}, nil
		},
		Pages:   "https://conveyor.example.com",
		Queue:   q,
		Backoff: func(n int) time.Duration { return time.Duration(n) * 20 * time.Millisecond },
	})
	eo := deploy.Options{
		Store: st, Queue: q,
		GitHub:      func(id int64) (*github.Client, error) { return w.gh.InstallationClient(id) },
		Drivers:     func(string) (driver.Driver, error) { return w.drv, nil },
		Notifier:    w.svc.Notifier(),
		ApprovalTTL: ttl,
	}
	for _, o := range engine {
		o(&eo)
	}
	w.engine = deploy.NewEngine(eo)
	w.svc.SetApprovals(w.engine)
	w.engine.Register(q.Workers())
	w.svc.Register(q.Workers())
	if err := q.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		q.Stop(ctx)
	})
	mux := http.NewServeMux()
	mux.Handle("POST /slack/interactions", &bot.SlackInteractions{
		SigningSecret: []byte(secret), Handler: w.svc.Endpoint(), Metrics: bot.NewMetrics(),
	})
	w.app = httptest.NewServer(mux)
	t.Cleanup(w.app.Close)
	return w
}

// start asks for a production deployment needing two approvals from acme/sre,
// requested by ana; the PR is octocat's.
func (w *world) start(env string) *deploy.Deployment {
	w.t.Helper()
	d, err := w.engine.Start(context.Background(), deploy.Request{
		Repository: repo, InstallationID: installation, PR: w.pr.Number, PRTitle: w.pr.Title,
		PRURL:   fmt.Sprintf("https://github.com/%s/pull/%d", repo, w.pr.Number),
		HeadSHA: w.pr.HeadSHA, HeadRef: w.pr.Head, BaseRef: "main", Environment: env, Production: env == "production",
		Requester: "ana", SourceKey: "comment:" + env, Steps: []int{50, 100},
		Artifacts: []deploy.ArtifactPlan{{Name: "web", Kind: "app", Driver: "web-exec", Summary: "web at " + w.pr.HeadSHA[:7]}},
		Quorum:    deploy.Quorum{Groups: []deploy.Group{{Count: 2, From: []string{"acme/sre"}}}},
		Decision:  "allow; warn: monthly cost rises by $120",
	})
	if err != nil {
		w.t.Fatalf("start deployment: %v", err)
	}
	return d
}

// message waits for the approval message of d and returns it.
func (w *world) message(d *deploy.Deployment) *slackfake.Message {
	w.t.Helper()
	var ts string
	testwait.For(w.t, "the approval message to be posted", func() bool {
		got, err := w.engine.Get(context.Background(), d.ID)
		if err == nil && got.SlackTS != "" {
			ts = got.SlackTS
		}
		return ts != ""
	})
	return w.slack.Message(prodChannel, ts)
}

// messageSays waits until the approval message's blocks contain every want.
func (w *world) messageSays(ts string, want ...string) string {
	w.t.Helper()
	var text string
	testwait.For(w.t, fmt.Sprintf("the approval message to say %q", want), func() bool {
		m := w.slack.Message(prodChannel, ts)
		if m == nil {
			return false
		}
		text = readable(m.BlocksJSON)
		for _, s := range want {
			if !strings.Contains(text, s) {
				return false
			}
		}
		return true
	}, func() string { return text })
	return text
}

// click presses a button of the message as user and expects a 200.
func (w *world) click(ts, action, user string) {
	w.t.Helper()
	resp, err := w.slack.ClickButton(w.app.URL+"/slack/interactions", secret, prodChannel, ts, action, user)
	if err != nil {
		w.t.Fatalf("click %s as %s: %v", action, user, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		w.t.Fatalf("click %s as %s: HTTP %d", action, user, resp.StatusCode)
	}
}

// ephemeral waits for an ephemeral message to user containing want.
func (w *world) ephemeral(user, want string) {
	w.t.Helper()
	var seen []string
	testwait.For(w.t, fmt.Sprintf("an ephemeral to %s saying %q", user, want), func() bool {
		seen = seen[:0]
		for _, m := range w.slack.Ephemerals(user) {
			seen = append(seen, m.Text)
			if strings.Contains(m.Text, want) {
				return true
			}
		}
		return false
	}, func() string { return strings.Join(seen, " | ") })
}

// botComments returns the bodies of comments on the PR containing want.
func (w *world) commentsWith(want string) []string {
	var out []string
	for _, c := range w.gh.Comments(repo, w.pr.Number) {
		if strings.Contains(c.Body, want) {
			out = append(out, c.Body)
		}
	}
	return out
}

func (w *world) get(id int64) *deploy.Deployment {
	w.t.Helper()
	d, err := w.engine.Get(context.Background(), id)
	if err != nil {
		w.t.Fatal(err)
	}
	return d
}

// hasButtons reports whether the message's blocks still hold the buttons.
func hasButtons(blocks json.RawMessage) bool {
	return strings.Contains(string(blocks), slackapproval.ActionApprove)
}

// readable is a message's blocks as JSON with Slack's link brackets as
// written (encoding/json escapes < and >).
func readable(blocksJSON []byte) string {
	return strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&").Replace(string(blocksJSON))
}
