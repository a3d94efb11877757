package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/conveyor-dev/conveyor/checks"
	"github.com/conveyor-dev/conveyor/examples"
	"github.com/conveyor-dev/conveyor/internal/ghfake"
	"github.com/conveyor-dev/conveyor/internal/store"
	"github.com/conveyor-dev/conveyor/internal/testwait"
)

var updateScreenshots = flag.Bool("update-screenshots", false, "write the browser tests' screenshots to docs/img/")

// chromiumPath finds Debian's chromium. Without it the browser tests skip,
// except in CI, where .ci/run installs it and its absence is a failure.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "no chromium on PATH; install Debian's chromium package (apt-get install -y chromium) to run the dashboard's browser tests"
	if os.Getenv("CI") != "" {
		t.Fatal(msg + " (CI must run them: .ci/run installs the package)")
	}
	t.Skip(msg)
	return ""
}

// startBrowser runs headless Chromium for the test (--no-sandbox: test
// containers run as root, where Chromium's sandbox cannot start).
func startBrowser(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)), chromedp.NoSandbox, chromedp.Headless, chromedp.DisableGPU,
		chromedp.WindowSize(1280, 900), chromedp.UserDataDir(t.TempDir()))
	alloc, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	browser, cancel := chromedp.NewContext(alloc)
	t.Cleanup(cancel)
	// Started without a deadline, as chromedp asks: a deadline would stop the browser.
	if err := chromedp.Do(browser); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return browser
}

// tab opens a tab in a browser context of its own (its own cookies: another
// person).
func tab(t *testing.T, browser context.Context) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// step runs actions with a generous deadline (the machine may be loaded).
func step(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	if err := chromedp.Do(sctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func eval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	v, err := chromedp.Run(sctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

func pageText(t *testing.T, ctx context.Context) string {
	t.Helper()
	return eval[string](t, ctx, `document.body.innerText`)
}

// screenshot takes the whole page as it stands (full) or the window's view
// of it (a long page); with -update-screenshots it becomes
// docs/img/<name>.png, which the README shows.
func screenshot(t *testing.T, ctx context.Context, name string, full bool) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	shot := chromedp.CaptureScreenshot()
	if full {
		shot = chromedp.FullScreenshot(100) // quality 100: PNG
	}
	png, err := chromedp.Run(sctx, shot)
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if len(png) < 1000 {
		t.Errorf("screenshot %s is %d bytes: an empty page?", name, len(png))
	}
	if !*updateScreenshots {
		return
	}
	if len(png) > 200<<10 {
		t.Errorf("screenshot %s is %d KiB; keep docs images under 200 KiB", name, len(png)>>10)
		return
	}
	if err := os.WriteFile(filepath.Join("..", "..", "docs", "img", name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// browserDemo is the demo's server and emulators with a journey of the
// test's own: the production rollout pauses 5 s between steps, so a page
// watching it sees each step.
func browserDemo(t *testing.T) (*demo, *ghfake.PR) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	var log strings.Builder
	d := newDemo(&log, t.TempDir())
	if err := d.start(ctx, &demoOptions{examples: "../../examples", verbose: os.Getenv("BROWSER_DEBUG") != ""}, filepath.Join("..", "..", "examples", "monorepo")); err != nil {
		t.Fatalf("start the demo: %v", err)
	}
	t.Cleanup(func() {
		d.stop()
		for _, v := range d.gh.ContractViolations() {
			t.Errorf("ghfake contract: %s", v)
		}
	})
	cfgPath := ".github/conveyor.yml"
	files, err := examples.LoadRepo(filepath.Join("..", "..", "examples", "monorepo"))
	if err != nil {
		t.Fatal(err)
	}
	slower := strings.Replace(files[cfgPath], "pause: 1s", "pause: 5s", 1)
	if slower == files[cfgPath] {
		t.Fatal("the example's production rollout no longer pauses 1s; adapt the browser test")
	}
	before := d.gh.BranchSHA(demoRepo, "main")
	d.gh.Commit(demoRepo, "main", map[string]*string{cfgPath: &slower}, "Pause 5s between production rollout steps")
	if _, _, err := d.gh.Send("push", d.gh.PushEvent(demoRepo, "main", before)); err != nil {
		t.Fatal(err)
	}

	jctx, jcancel := context.WithTimeout(ctx, 3*time.Minute)
	defer jcancel()
	good, err := examples.LoadChange(filepath.Join("..", "..", "examples", "changes", "good"))
	if err != nil {
		t.Fatal(err)
	}
	pr, err := d.openPR(jctx, "feature/fraud-v14", good.Title, "dev", good)
	if err == nil {
		err = d.ciAndChecks(jctx, pr)
	}
	if err == nil {
		err = d.commentAndDeploy(jctx, pr, "dev", "/deploy staging", "staging")
	}
	if err != nil {
		t.Fatalf("journey: %v\n%s", err, log.String())
	}
	return d, pr
}

// The dashboard in a real browser: the demo's visitor is signed in through
// the GitHub emulator's OAuth flow, sees what runs where, opens a check
// run's details link, approves a production deployment from the page (Slack
// and the PR comment follow) and watches the rollout move; someone who
// cannot read the repository is refused it.
func TestDashboardInABrowser(t *testing.T) {
	t.Parallel()
	alloc := startBrowser(t)
	d, pr := browserDemo(t)
	wctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	// 1. The demo signs its visitor in as @sre-alice: the real flow, which the emulator approves at once.
	alice := tab(t, alloc)
	step(t, alice, "open the dashboard", chromedp.Navigate(d.url+"/"), chromedp.WaitVisible(chromedp.CSS("#serving")))
	if viewer := eval[string](t, alice, `document.querySelector("header .viewer").innerText`); !strings.Contains(viewer, "@"+demoViewer) {
		t.Fatalf("signed in as %q, want @%s", viewer, demoViewer)
	}
	if n := len(d.gh.CallsMatching("POST", "/login/oauth/access_token")); n != 1 {
		t.Errorf("code exchanges = %d, want 1 (the sign-in ran GitHub's flow)", n)
	}
	if js := eval[string](t, alice, `document.cookie`); js != "" {
		t.Errorf("page scripts can read cookies %q; the session cookie must be HttpOnly", js)
	}

	// 2. What runs where: the demo's artifacts and environments.
	overview := pageText(t, alice)
	for _, want := range []string{"fraud-model", "analytics", "web", "staging", demoRepo} {
		if !strings.Contains(overview, want) {
			t.Errorf("the overview lacks %q:\n%s", want, overview)
		}
	}
	// One column per environment something was deployed to: staging so far.
	headers := eval[[]string](t, alice, `Array.from(document.querySelectorAll("#serving thead th")).map(th => th.innerText)`)
	if strings.Join(headers, ",") != "repository,artifact,kind,owners,staging" {
		t.Errorf("overview columns = %v, want the artifact and a staging column", headers)
	}
	stagingServing := eval[int](t, alice, `Array.from(document.querySelectorAll("#serving .serving")).length`)
	if stagingServing < 3 {
		t.Errorf("%d cells show what serves, want the three artifacts deployed to staging", stagingServing)
	}

	// 3. A check run's details link is its section of the pull request page, with the four stages.
	var details string
	for _, r := range latestRuns(d.gh.CheckRuns(demoRepo, pr.HeadSHA)) {
		if r.Name == "conveyor / fraud-model" {
			details = r.DetailsURL
		}
	}
	if !strings.HasPrefix(details, d.url+"/r/"+demoRepo+"/pull/") {
		t.Fatalf("details_url of conveyor / fraud-model = %q, want the dashboard's pull request page", details)
	}
	step(t, alice, "open the details link", chromedp.Navigate(details), chromedp.WaitVisible(chromedp.CSS("#artifact-fraud-model table.stages")))
	stages := eval[[]string](t, alice, `Array.from(document.querySelectorAll("#artifact-fraud-model table.stages tbody tr td:first-child")).map(td => td.innerText)`)
	if strings.Join(stages, ",") != strings.Join([]string{checks.StageValidate, checks.StageQuality, checks.StagePolicy, checks.StageReadiness}, ",") {
		t.Errorf("stages on the details page = %v", stages)
	}
	if text := pageText(t, alice); !strings.Contains(text, "auc") {
		t.Errorf("the model's Quality stage does not show its metric:\n%s", text)
	}

	// 4. Approve a production deployment from the page; Slack and the PR comment follow.
	if _, err := d.comment(pr, "dev", "/deploy production"); err != nil {
		t.Fatal(err)
	}
	testwait.Within(t, 60*time.Second, "the production deployment to await approval", func() bool {
		return productionState(t, d, pr) == "awaiting_approval"
	})
	const channel = "C0PRODDEPLOY"
	var card *slackfakeMessage
	testwait.Within(t, 60*time.Second, "the Slack approval card", func() bool { card = d.slackMessage(channel); return card != nil })
	prURL := d.url + "/r/" + demoRepo + "/pull/" + fmt.Sprint(pr.Number)
	step(t, alice, "open the pull request page", chromedp.Navigate(prURL), chromedp.WaitVisible(chromedp.CSS(`form.act button[value="approve"]`)))
	screenshotBefore := pageText(t, alice)
	if !strings.Contains(screenshotBefore, "0 of 2") {
		t.Errorf("the pending deployment does not say 0 of 2 approvals:\n%s", screenshotBefore)
	}
	step(t, alice, "press Approve", chromedp.Click(chromedp.CSS(`form.act button[value="approve"]`)), chromedp.WaitVisible(chromedp.CSS(".flash")))
	if flash := eval[string](t, alice, `document.querySelector(".flash").innerText`); !strings.Contains(strings.ToLower(flash), "approv") {
		t.Errorf("after Approve the page says %q", flash)
	}
	testwait.Within(t, 60*time.Second, "the Slack card to show the dashboard approval", func() bool {
		m := d.slackMessage(channel)
		return m != nil && m.TS == card.TS && m.Edits > card.Edits && strings.Contains(blockText(m.Blocks), "sre-alice")
	})
	testwait.Within(t, 60*time.Second, "the PR status comment to show the dashboard approval", func() bool {
		for _, c := range d.gh.Comments(demoRepo, pr.Number) {
			if strings.Contains(c.Body, "@sre-alice via web") {
				return true
			}
		}
		return false
	})

	// 5. The second approver clicks in Slack; the overview shows the rollout move without a reload.
	step(t, alice, "open the overview", chromedp.Navigate(d.url+"/"), chromedp.WaitVisible(chromedp.CSS("#rollouts")))
	eval[chromedp.Void](t, alice, `window.__sameDocument = true; window.__seen = [];
		setInterval(() => document.querySelectorAll("#rollouts progress").forEach(p => {
			if (!window.__seen.includes(p.value)) window.__seen.push(p.value);
		}), 100); undefined`)
	resp, err := d.slack.ClickButton(d.url+"/slack/interactions", "demo-slack-signing-secret", channel, card.TS, "conveyor_approve", "U0MLLEAD01")
	if err != nil {
		t.Fatal(err)
	}
	clickAnswer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if state, _, err := d.waitDeployment(wctx, pr, "production", finalStates); err != nil || state != "succeeded" {
		var msgs []string
		for _, m := range d.slack.Messages(channel) {
			msgs = append(msgs, fmt.Sprintf("[%s user=%s edits=%d] %s %s", m.TS, m.User, m.Edits, m.Text, blockText(m.Blocks)))
		}
		t.Fatalf("production deployment = %s, %v; want succeeded\nSlack click: %d %s\nmessages:\n%s", state, err, resp.StatusCode, clickAnswer, strings.Join(msgs, "\n"))
	}
	step(t, alice, "the overview to show the rollout over", chromedp.Poll[chromedp.Void](
		`document.querySelector("#rollouts").innerText.includes("No rollout is running")`, chromedp.WithPollingInterval(200*time.Millisecond), chromedp.WithPollingTimeout(60*time.Second)))
	seen := eval[[]float64](t, alice, `window.__seen`)
	if !eval[bool](t, alice, `window.__sameDocument === true`) {
		t.Error("the overview reloaded; live updates should change it in place")
	}
	if len(seen) < 2 {
		t.Errorf("the live overview showed the rollout at %v %%, want it to move through at least two steps", seen)
	}
	if text := pageText(t, alice); !strings.Contains(text, "production") {
		t.Errorf("after the rollout the overview has no production column:\n%s", text)
	}
	screenshot(t, alice, "dashboard-overview", true)
	step(t, alice, "open the pull request page", chromedp.Navigate(prURL), chromedp.WaitVisible(chromedp.CSS("#deployments")))
	if text := pageText(t, alice); !strings.Contains(text, "@sre-alice via web") || !strings.Contains(text, "@ml-bob via slack") {
		t.Errorf("the pull request page does not show both approvals:\n%s", text)
	}
	screenshot(t, alice, "dashboard-pull-request", false)

	// 6. Someone who cannot read the repository signs in (picking their login
	// on the emulator's authorize form) and is refused it.
	d.gh.AddUser("outsider", "User")
	d.gh.AutoAuthorize("")
	out := tab(t, alloc)
	step(t, out, "reach GitHub's authorize page", chromedp.Navigate(prURL), chromedp.WaitVisible(chromedp.CSS(`select[name="login"]`)))
	step(t, out, "authorize as outsider",
		chromedp.SetValue(chromedp.CSS(`select[name="login"]`), "outsider"),
		chromedp.Click(chromedp.CSS(`button[value="authorize"]`)),
		chromedp.WaitVisible(chromedp.CSS("body")))
	testwait.Within(t, 60*time.Second, "the outsider's page", func() bool {
		return strings.Contains(pageText(t, out), "Not found, or you may not read this repository.")
	})
	step(t, out, "open the overview", chromedp.Navigate(d.url+"/"), chromedp.WaitVisible(chromedp.CSS("#serving")))
	if text := pageText(t, out); !strings.Contains(text, "@outsider") || strings.Contains(text, "fraud-model") || strings.Contains(text, demoRepo) {
		t.Errorf("the outsider's overview shows what they cannot read:\n%s", text)
	}
}

// productionState is the state of the pull request's latest production deployment.
func productionState(t *testing.T, d *demo, pr *ghfake.PR) string {
	t.Helper()
	rows, err := store.ListDeployments(context.Background(), d.srv.Store.DB, store.DeploymentFilter{Repository: demoRepo, PR: pr.Number, Environment: "production", Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 {
		return ""
	}
	return rows[0].State
}
