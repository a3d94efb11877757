package web

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/conveyor-dev/conveyor/internal/store"
	"github.com/conveyor-dev/conveyor/internal/store/storetest"
	"github.com/conveyor-dev/conveyor/internal/testwait"
)

func TestNothingIsShownWithoutSignIn(t *testing.T) {
	f := newFixture(t, store.SQLite)
	f.auth.login = ""
	for _, path := range []string{"/", "/r/acme/shop/pull/7", "/r/acme/shop/artifact/web", "/audit?actor=sam"} {
		res, body := f.get(path)
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login?next="+url.QueryEscape(path) {
			t.Errorf("GET %s signed out: %d to %q, want 303 to /login?next=", path, res.StatusCode, res.Header.Get("Location"))
		}
		mustNotContain(t, path, body, "fraud-model", "acme/shop")
	}
	if res, _ := f.get("/r/acme/shop/pull/7/events"); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("event stream signed out: %d, want 401", res.StatusCode)
	}
	if res, _ := f.post("/r/acme/shop/pull/7/approve", "", url.Values{"deployment": {"3"}}); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("approve signed out: %d, want 401", res.StatusCode)
	}
	if res, body := f.get("/login"); res.StatusCode != http.StatusOK || body != "sign in with GitHub" {
		t.Errorf("the sign-in routes are not mounted: %d %q", res.StatusCode, body)
	}
}

func TestOverviewShowsWhatRunsWhere(t *testing.T) {
	for _, d := range storetest.Dialects {
		t.Run(string(d), func(t *testing.T) { testOverviewShowsWhatRunsWhere(t, newFixture(t, d)) })
	}
}

func testOverviewShowsWhatRunsWhere(t *testing.T, f *fixture) {
	res, body := f.get("/")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET / = %d\n%s", res.StatusCode, body)
	}
	mustContain(t, "overview", body,
		// what serves: version, since when, by whom, from which PR
		`<strong class="serving" title="1111111111111111111111111111111111111111">13</strong>`,
		"since <time datetime=\"2026-02-28T12:00:00Z\">2026-02-28 12:00 UTC</time> · by @maria",
		`href="/r/acme/shop/pull/4#artifact-fraud-model">PR #4</a>`,
		`href="/r/acme/shop/artifact/fraud-model"`,
		"@acme/ml",
		// the rollout: step and percent
		"in progress</span> step 2 of 3 · 50 %",
		// the pending approval: age, approvers needed, expiry
		"1 of 2 (@sam); still needed: 1 more approval from @acme/sre", "2 from @acme/sre", "1 h 30 min", `datetime="2026-03-03T10:30:00Z"`,
		// the lock
		"acme/shop qa", "@carol", "/lock: freeze for the audit",
		`data-live="/events"`)
	mustNotContain(t, "overview", body, secrets...)

	// A deployment that finishes shows at once, though the reading of the
	// history is reused while nothing changes.
	f.insert(&store.DeploymentRow{Repository: shop, PR: 8, SHA: "7777777777777777777777777777777777777777", Environment: "production",
		Mode: "deploy", State: "succeeded", Steps: []int{100}, Requester: "maria", CreatedAt: f.now,
		Artifacts: []store.ArtifactRow{{Name: "fraud-model", Kind: "model", Serving: "14", State: "succeeded"}}})
	_, body = f.get("/")
	mustContain(t, "overview after a deployment", body, `title="7777777777777777777777777777777777777777">14</strong>`, `href="/r/acme/shop/pull/8#artifact-fraud-model">PR #8</a>`)
}

func TestOverviewFilters(t *testing.T) {
	f := newFixture(t, store.SQLite)
	cases := []struct {
		query     string
		want, not []string
	}{
		{"kind=model", []string{">fraud-model</a>", "No rollout is running."}, []string{">web</a>"}},
		{"team=acme/web", []string{">web</a>", "step 2 of 3"}, []string{">fraud-model</a>"}},
		{"env=staging", []string{">web</a>", "<th>staging</th>", "step 2 of 3", "No environment is locked."}, []string{"<th>production</th>", ">fraud-model</a>", "1 of 2"}},
		{"repo=acme/shop", []string{">fraud-model</a>", ">web</a>"}, nil},
		// Naming a repository the viewer cannot read shows nothing of it.
		{"repo=acme/secret", []string{"Nothing to show for these filters"}, []string{">fraud-model</a>"}},
	}
	for _, c := range cases {
		res, body := f.get("/?" + c.query)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET /?%s = %d", c.query, res.StatusCode)
		}
		mustContain(t, c.query, body, c.want...)
		mustNotContain(t, c.query, body, c.not...)
		mustNotContain(t, c.query, body, secrets...)
	}
}

func TestPullRequestPage(t *testing.T) {
	f := newFixture(t, store.SQLite)
	res, body := f.get("/r/acme/shop/pull/7")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET PR page = %d\n%s", res.StatusCode, body)
	}
	mustContain(t, "PR page", body,
		`id="artifact-web"`,
		// the four stages, their markdown rendered
		"<td>Validate</td>", "<td>Quality</td>", "<td>Policy</td>", "<td>Readiness</td>",
		"allow: within quota, cost delta <strong>$12/month</strong>",
		"no freeze window applies",
		"<strong>Policy decision</strong> <span class=\"state ok\">pass</span>: allow: within quota",
		"<li>no freeze window applies</li>",
		// the check run's full text as GitHub renders it (GFM table)
		"<th>stage</th>", "<code>build</code> passed on <strong>4f2a9c1</strong>",
		// deployments with steps and timings
		`id="deployment-2"`, "step 1: 10 % — web done <time", "step 2: 50 % — running",
		// approvals given and missing, expiry, the decision
		`id="deployment-3"`, "1 of 2 (2 from @acme/sre); still needed: 1 more approval from @acme/sre.", "@sam via slack", "Expires <time datetime=\"2026-03-03T10:30:00Z\"",
		"production needs 2 approvals from @acme/sre",
		// the approve form, with the CSRF token and the SHA shown
		`action="/r/acme/shop/pull/7/approve"`, `name="csrf_token" value="tok-123"`, `name="sha" value="`+headS+`"`,
		// the audit trail of this PR
		"<td>@sam</td><td>approve</td>",
		`data-live="/r/acme/shop/pull/7/events"`)
	// No raw HTML from check text, no javascript: links.
	mustNotContain(t, "PR page", body, "<script>alert", `href="javascript:`, "HYPERLINK")
	mustNotContain(t, "PR page", body, secrets...)
}

func TestPagesOfUnreadableRepositoriesDoNotExist(t *testing.T) {
	f := newFixture(t, store.SQLite)
	for _, path := range []string{"/r/acme/secret/pull/1", "/r/acme/secret/artifact/vault", "/r/acme/secret/pull/1/events", "/r/acme/nothing/pull/1"} {
		res, body := f.get(path)
		if res.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", path, res.StatusCode)
		}
		mustNotContain(t, path, body, secrets[1:]...)
	}
	if res, _ := f.get("/r/acme/shop/pull/99"); res.StatusCode != http.StatusNotFound {
		t.Errorf("an unknown PR = %d, want 404", res.StatusCode)
	}
	if res, _ := f.get("/r/acme/shop/pull/x"); res.StatusCode != http.StatusNotFound {
		t.Errorf("a PR number that is not one = %d, want 404", res.StatusCode)
	}
}

func TestArtifactPageShowsHistoryAndRollbackTarget(t *testing.T) {
	f := newFixture(t, store.SQLite)
	// A second production deployment of the model: /rollback would go back to 13.
	v14 := f.insert(&store.DeploymentRow{Repository: shop, PR: 8, SHA: "5555555555555555555555555555555555555555", Environment: "production",
		Mode: "deploy", State: "succeeded", Steps: []int{100}, Requester: "maria", CreatedAt: f.now.Add(-time.Hour),
		Artifacts: []store.ArtifactRow{{Name: "fraud-model", Kind: "model", Summary: "fraud-detector v14", Serving: "14", Previous: "13", State: "succeeded"}}})
	f.insert(&store.DeploymentRow{Repository: shop, PR: 9, SHA: "6666666666666666666666666666666666666666", Environment: "production",
		Mode: "deploy", State: "rolled_back", Steps: []int{100}, Requester: "maria", CreatedAt: f.now.Add(-30 * time.Minute),
		Artifacts: []store.ArtifactRow{{Name: "fraud-model", Kind: "model", Summary: "fraud-detector v15", Serving: "14", State: "rolled_back"}}})
	res, body := f.get("/r/acme/shop/artifact/fraud-model")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET artifact page = %d\n%s", res.StatusCode, body)
	}
	mustContain(t, "artifact page", body,
		"Serving: <strong>14</strong>",
		"<code>/rollback production fraud-model</code> would go back to 13 (deployment "+strconv.FormatInt(f.model, 10)+")",
		"<td>"+strconv.FormatInt(v14, 10)+"</td>", "<td>fraud-detector v14</td>", `href="/r/acme/shop/pull/8#artifact-fraud-model">#8</a>`,
		`<tr class="rollback">`, "rolled back", "@maria")
	// Only one deployment and a baseline: the engine's own words.
	_, body = f.get("/r/acme/shop/artifact/web")
	mustContain(t, "web page", body, "<code>/rollback staging</code>: web has never been deployed to staging by Conveyor")
}

func TestAuditSearchAndExport(t *testing.T) {
	for _, d := range storetest.Dialects {
		t.Run(string(d), func(t *testing.T) { testAuditSearchAndExport(t, newFixture(t, d)) })
	}
}

func testAuditSearchAndExport(t *testing.T, f *fixture) {
	_, body := f.get("/audit?actor=sam")
	mustContain(t, "audit search", body, "<td>@sam</td><td>approve</td>", `href="/audit?actor=sam&amp;format=csv"`)
	mustNotContain(t, "audit search", body, "<td>@alice</td>")
	_, body = f.get("/audit")
	mustNotContain(t, "audit page", body, secrets...)
	_, body = f.get("/audit?repo=acme/secret")
	mustContain(t, "audit of an unreadable repository", body, "No audit events match.")
	mustNotContain(t, "audit of an unreadable repository", body, "secret-action", "mallory")
	res, body := f.get("/audit?pr=seven")
	if res.StatusCode != http.StatusOK || !strings.Contains(body, `pr: &#34;seven&#34; is not a pull request number`) {
		t.Errorf("a bad PR filter: %d, want the page saying what to write\n%s", res.StatusCode, body)
	}
	if res, _ := f.get("/audit?since=yesterday&format=csv"); res.StatusCode != http.StatusBadRequest {
		t.Errorf("a bad time in an export = %d, want 400", res.StatusCode)
	}
	if res, _ := f.get("/audit?format=xml"); res.StatusCode != http.StatusBadRequest {
		t.Errorf("format=xml = %d, want 400", res.StatusCode)
	}

	res, body = f.get("/audit?format=csv")
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
		t.Errorf("CSV content type = %q", ct)
	}
	recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 4 || strings.Join(recs[0], ",") != strings.Join(auditColumns, ",") {
		t.Fatalf("CSV = %v, want the header and acme/shop's three events", recs)
	}
	for _, r := range recs[1:] {
		if r[3] != shop {
			t.Errorf("CSV row of %s exported: %v", r[3], r)
		}
	}
	if recs[1][2] != "deployment" || recs[1][7] != `'=HYPERLINK("x")` {
		t.Errorf("a formula-looking actor is exported as %q, want it quoted", recs[1])
	}

	res, body = f.get("/audit?format=json&pr=7&since=2026-03-02")
	var events []store.AuditEvent
	if err := json.Unmarshal([]byte(body), &events); err != nil || res.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("JSON export: %v\n%s", err, body)
	}
	if len(events) != 2 || events[0].Actor != "sam" || events[1].Action != "deploy" {
		t.Errorf("JSON export of PR 7 = %+v", events)
	}
	res, body = f.get("/audit?format=json&repo=acme/secret")
	if strings.TrimSpace(body) != "[]" {
		t.Errorf("JSON export of an unreadable repository = %s, want []", body)
	}
}

func TestApproveNeedsTheCSRFToken(t *testing.T) {
	f := newFixture(t, store.SQLite)
	form := url.Values{"deployment": {strconv.FormatInt(f.pending, 10)}, "sha": {headS}, "action": {"approve"}}
	res, _ := f.post("/r/acme/shop/pull/7/approve", "sue", form)
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("approve without a token = %d, want 403", res.StatusCode)
	}
	form.Set(CSRFField, "forged")
	if res, _ := f.post("/r/acme/shop/pull/7/approve", "sue", form); res.StatusCode != http.StatusForbidden {
		t.Errorf("approve with a wrong token = %d, want 403", res.StatusCode)
	}
	d, err := store.LoadDeployment(context.Background(), f.st.DB, f.pending)
	if err != nil || len(d.Approvals) != 1 {
		t.Errorf("approvals after refused posts = %+v, %v; want only sam's", d.Approvals, err)
	}
}

func TestApproveFollowsTheSameRulesAsSlack(t *testing.T) {
	f := newFixture(t, store.SQLite)
	id := strconv.FormatInt(f.pending, 10)
	approve := func(login, sha string) string {
		t.Helper()
		form := url.Values{CSRFField: {"tok-123"}, "deployment": {id}, "sha": {sha}, "action": {"approve"}}
		res, _ := f.post("/r/acme/shop/pull/7/approve", login, form)
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/r/acme/shop/pull/7#deployment-"+id {
			t.Fatalf("approve as %s = %d to %q, want 303 back to the deployment", login, res.StatusCode, res.Header.Get("Location"))
		}
		// Follow the redirect with the flash cookie, as a browser would.
		req := httptest.NewRequest(http.MethodGet, "/r/acme/shop/pull/7", nil)
		req.Header.Set("X-Test-Login", login)
		for _, c := range res.Cookies() {
			req.AddCookie(c)
		}
		rec := httptest.NewRecorder()
		f.h.ServeHTTP(rec, req)
		return rec.Body.String()
	}
	approvals := func() []string {
		d, err := store.LoadDeployment(context.Background(), f.st.DB, f.pending)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, a := range d.Approvals {
			out = append(out, a.Login+"/"+a.Via)
		}
		return out
	}
	// alice opened the PR: the policy refuses her approval.
	body := approve("alice", headS)
	mustContain(t, "self-approval", body, `class="flash"`, "Approval refused:", "@alice opened PR #7 and cannot approve its own deployment")
	// bob is not in @acme/sre.
	body = approve("bob", headS)
	mustContain(t, "outsider", body, "Approval refused:", "@bob is not in acme/sre and cannot approve")
	// An approval of another commit than the deployment's is refused by the engine.
	body = approve("sue", "9999999999999999999999999999999999999999")
	mustContain(t, "wrong SHA", body, "Approval not recorded:", "approvals bind to one SHA")
	if got := approvals(); strings.Join(got, ",") != "sam/slack" {
		t.Fatalf("approvals after refusals = %v, want only sam's", got)
	}
	// sam already approved in Slack: it counts once.
	body = approve("sam", headS)
	mustContain(t, "second approval", body, "You already approved deploying")
	// sue is in @acme/sre: recorded via the dashboard.
	body = approve("sue", headS)
	mustContain(t, "approval", body, "You approved deploying `4f2a9c1` to production (2/2).", "queued")
	if got := approvals(); strings.Join(got, ",") != "sam/slack,sue/web" {
		t.Errorf("approvals = %v, want sam's and sue's (via web)", got)
	}
	if d, _ := store.LoadDeployment(context.Background(), f.st.DB, f.pending); d.State != "queued" {
		t.Errorf("after the quorum the deployment is %s, want queued", d.State)
	}
	// The flash is shown once.
	_, body = f.get("/r/acme/shop/pull/7", "X-Test-Login", "sue")
	mustNotContain(t, "reloaded page", body, `class="flash"`)
}

func TestApproveCannotReachAnotherRepository(t *testing.T) {
	f := newFixture(t, store.SQLite)
	f.auth.readable[secret] = false
	// acme/secret's deployment awaiting approval; posting it to acme/shop's page must not touch it.
	var secretID int64
	if err := f.st.DB.QueryRow(`SELECT id FROM deployments WHERE repository = $1 AND state = 'awaiting_approval'`, secret).Scan(&secretID); err != nil {
		t.Fatal(err)
	}
	form := url.Values{CSRFField: {"tok-123"}, "deployment": {strconv.FormatInt(secretID, 10)}, "sha": {"3333333333333333333333333333333333333333"}, "action": {"approve"}}
	if res, _ := f.post("/r/acme/shop/pull/2/approve", "sue", form); res.StatusCode != http.StatusNotFound {
		t.Errorf("approving another repository's deployment = %d, want 404", res.StatusCode)
	}
	if res, _ := f.post("/r/acme/secret/pull/2/approve", "sue", form); res.StatusCode != http.StatusNotFound {
		t.Errorf("approving in an unreadable repository = %d, want 404", res.StatusCode)
	}
	d, _ := store.LoadDeployment(context.Background(), f.st.DB, secretID)
	if len(d.Approvals) != 0 {
		t.Errorf("the other repository's deployment got approvals: %+v", d.Approvals)
	}
}

func TestRejectFromThePage(t *testing.T) {
	f := newFixture(t, store.SQLite)
	form := url.Values{CSRFField: {"tok-123"}, "deployment": {strconv.FormatInt(f.pending, 10)}, "sha": {headS}, "action": {"reject"}, "reason": {"not during the sale"}}
	if res, _ := f.post("/r/acme/shop/pull/7/approve", "sue", form); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("reject = %d", res.StatusCode)
	}
	d, err := store.LoadDeployment(context.Background(), f.st.DB, f.pending)
	if err != nil || d.State != "rejected" || !strings.Contains(d.Error, "not during the sale") {
		t.Errorf("after reject: %+v, %v; want rejected with the reason", d, err)
	}
}

// TestLiveUpdates: the PR page's event stream says "change" when a step of
// its rollout finishes, and the overview's when any readable deployment
// moves.
func TestLiveUpdates(t *testing.T) {
	f := newFixture(t, store.SQLite)
	ts := httptest.NewServer(f.h)
	defer ts.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pr := openStream(t, ctx, ts.URL, "/r/acme/shop/pull/7/events")
	all := openStream(t, ctx, ts.URL, "/events")
	// The rollout finishes step 2 and moves on.
	var staging int64
	if err := f.st.DB.QueryRow(`SELECT id FROM deployments WHERE environment = 'staging'`).Scan(&staging); err != nil {
		t.Fatal(err)
	}
	step := 2
	if err := store.MarkStepDone(ctx, f.st.DB, staging, "web", 1, headS, f.now); err != nil {
		t.Fatal(err)
	}
	if err := store.UpdateDeployment(ctx, f.st.DB, staging, "in_progress", store.DeploymentUpdate{Step: &step, At: f.now.Add(time.Second)}); err != nil {
		t.Fatal(err)
	}
	for name, br := range map[string]*bufio.Reader{"PR": pr, "overview": all} {
		if line := nextEvent(t, name, br); line != "event: change" {
			t.Fatalf("%s stream: %q, want event: change", name, line)
		}
	}
	_, body := f.get("/r/acme/shop/pull/7")
	mustContain(t, "PR page after the step", body, "step 2: 50 % — web done", "step 3: 100 % — running")
}

// TestWhenGitHubCannotSayWhoMayReadNothingIsShown: a failed permission
// check is an error page that names no repository, never a page that
// assumes access.
func TestWhenGitHubCannotSayWhoMayReadNothingIsShown(t *testing.T) {
	f := newFixture(t, store.SQLite)
	f.auth.broken = true
	for _, path := range []string{"/", "/audit", "/audit?format=json", "/r/acme/shop/pull/7", "/r/acme/shop/artifact/web"} {
		res, body := f.get(path)
		if res.StatusCode != http.StatusInternalServerError {
			t.Errorf("GET %s with CanRead failing = %d, want 500", path, res.StatusCode)
		}
		mustNotContain(t, path, body, "acme/", "fraud-model", "502")
	}
}

// TestASignInGitHubNoLongerAcceptsLeadsToSignInAgain: when the viewer's
// token is refused (expired, authorization revoked), pages send them to sign
// in again and streams and forms answer 401, showing nothing.
func TestASignInGitHubNoLongerAcceptsLeadsToSignInAgain(t *testing.T) {
	f := newFixture(t, store.SQLite)
	f.auth.revoked = true
	for _, path := range []string{"/", "/audit", "/r/acme/shop/pull/7", "/r/acme/shop/artifact/web"} {
		res, body := f.get(path)
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login?next="+url.QueryEscape(path) {
			t.Errorf("GET %s with the sign-in revoked = %d to %q, want 303 to /login", path, res.StatusCode, res.Header.Get("Location"))
		}
		mustNotContain(t, path, body, "acme/", "fraud-model")
	}
	if res, _ := f.get("/r/acme/shop/pull/7/events"); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("event stream with the sign-in revoked: %d, want 401", res.StatusCode)
	}
}

// TestChangedHistoryIsFoldedInAsAFullReadingWouldShow: after a reading of
// the history, the deployments that changed are folded in instead of
// reading it all again, and the result is what a full reading says; a
// change that reaches a new environment reads it in full.
func TestChangedHistoryIsFoldedInAsAFullReadingWouldShow(t *testing.T) {
	f := newFixture(t, store.SQLite)
	ctx, db := context.Background(), f.st.DB
	repos := []string{shop}
	if _, err := f.srv.allCells(ctx, repos); err != nil {
		t.Fatal(err)
	}
	e := f.srv.cells.entries[shop]
	firstFull := e.full
	// The staging rollout goes on and succeeds; v14 of the model succeeds in production; a
	// later deployment of it fails.
	var staging int64
	if err := db.QueryRow(`SELECT id FROM deployments WHERE environment = 'staging'`).Scan(&staging); err != nil {
		t.Fatal(err)
	}
	step, done, served := 2, "succeeded", headS
	if err := store.UpdateDeployment(ctx, db, staging, "in_progress", store.DeploymentUpdate{Step: &step, At: f.now.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if err := store.UpdateArtifact(ctx, db, staging, "web", store.ArtifactUpdate{State: &done, Serving: &served}); err != nil {
		t.Fatal(err)
	}
	if err := store.UpdateDeployment(ctx, db, staging, "in_progress", store.DeploymentUpdate{State: &done, At: f.now.Add(2 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	f.insert(&store.DeploymentRow{Repository: shop, PR: 8, SHA: "8888888888888888888888888888888888888888", Environment: "production",
		Mode: "deploy", State: "succeeded", Steps: []int{100}, Requester: "maria", CreatedAt: f.now.Add(3 * time.Minute),
		Artifacts: []store.ArtifactRow{{Name: "fraud-model", Kind: "model", Serving: "14", State: "succeeded"}}})
	f.insert(&store.DeploymentRow{Repository: shop, PR: 9, SHA: "9999999999999999999999999999999999999999", Environment: "production",
		Mode: "deploy", State: "failed", Steps: []int{100}, Requester: "maria", CreatedAt: f.now.Add(4 * time.Minute),
		Artifacts: []store.ArtifactRow{{Name: "fraud-model", Kind: "model", Serving: "15", State: "failed"}}})
	got, err := f.srv.allCells(ctx, repos)
	if err != nil {
		t.Fatal(err)
	}
	if !e.full.Equal(firstFull) {
		t.Errorf("the history was read in full again; want the changes folded in")
	}
	want, err := store.ServingCells(ctx, db, store.ServingFilter{Repos: repos})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("folded:\n%+v\nfull reading:\n%+v", got, want)
	}
	// A replica whose clock lags two seconds expires the deployment waiting
	// for approvals: still folded in, not missed.
	expired := "expired"
	if err := store.UpdateDeployment(ctx, db, f.pending, "awaiting_approval", store.DeploymentUpdate{State: &expired, At: f.now.Add(4*time.Minute - 2*time.Second)}); err != nil {
		t.Fatal(err)
	}
	got, err = f.srv.allCells(ctx, repos)
	if err != nil {
		t.Fatal(err)
	}
	if want, _ = store.ServingCells(ctx, db, store.ServingFilter{Repos: repos}); !reflect.DeepEqual(got, want) || !e.full.Equal(firstFull) {
		t.Errorf("after a change stamped by a lagging clock:\n%+v\nfull reading:\n%+v", got, want)
	}
	// A new environment for web: read in full.
	f.insert(&store.DeploymentRow{Repository: shop, PR: 7, SHA: headS, Environment: "qa", Mode: "deploy", State: "succeeded",
		Steps: []int{100}, Requester: "alice", CreatedAt: f.now.Add(5 * time.Minute), Artifacts: []store.ArtifactRow{{Name: "web", Kind: "app", Serving: headS, State: "succeeded"}}})
	got, err = f.srv.allCells(ctx, repos)
	if err != nil {
		t.Fatal(err)
	}
	if want, _ = store.ServingCells(ctx, db, store.ServingFilter{Repos: repos}); !reflect.DeepEqual(got, want) || len(got) != 4 {
		t.Errorf("after a new cell:\n%+v\nfull reading:\n%+v", got, want)
	}
}

// TestPRPageFollowsItsChecks: the PR page's stream says "change" when a
// check on the head gets new output (a stage moved), and the page then
// shows it: the checks are a live part of the page, not only the
// deployments.
func TestPRPageFollowsItsChecks(t *testing.T) {
	for _, dialect := range []store.Dialect{store.SQLite, store.Postgres} {
		t.Run(string(dialect), func(t *testing.T) {
			f := newFixture(t, dialect)
			ts := httptest.NewServer(f.h)
			defer ts.Close()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			br := openStream(t, ctx, ts.URL, "/r/acme/shop/pull/7/events")
			if err := store.SaveCheckOutput(ctx, f.st.DB, store.CheckOutput{Repository: "acme/shop", PR: 7, SHA: headS, Artifact: "web", Name: "conveyor / web", Kind: "app",
				Status: "completed", Conclusion: "failure", Title: "Quality: CI failed: test", UpdatedAt: f.now.Add(time.Minute),
				Stages: `[{"name":"Validate","result":"pass","summary":"config valid"},{"name":"Quality","result":"fail","summary":"CI failed: test"}]`}); err != nil {
				t.Fatal(err)
			}
			if line := nextEvent(t, "the PR", br); line != "event: change" {
				t.Fatalf("stream: %q, want event: change", line)
			}
			_, body := f.get("/r/acme/shop/pull/7")
			mustContain(t, "PR page after the check moved", body, `<div id="checks" data-live-part>`, "CI failed: test")
		})
	}
}

// openStream opens the event stream at path and reads past its retry line.
func openStream(t *testing.T, ctx context.Context, base, path string) *bufio.Reader {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Body.Close() })
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("GET %s = %d %s", path, res.StatusCode, res.Header.Get("Content-Type"))
	}
	br := bufio.NewReader(res.Body)
	if line, _ := br.ReadString('\n'); !strings.HasPrefix(line, "retry: ") {
		t.Fatalf("stream starts with %q, want a retry interval", line)
	}
	return br
}

// nextEvent waits for the stream's next event line ("event: change").
func nextEvent(t *testing.T, name string, br *bufio.Reader) string {
	t.Helper()
	got := make(chan string, 1)
	go func() {
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				got <- "error: " + err.Error()
				return
			}
			if strings.HasPrefix(line, "event: ") {
				got <- strings.TrimSpace(line)
				return
			}
		}
	}()
	var line string
	testwait.For(t, name+" stream to say change", func() bool {
		select {
		case line = <-got:
			return true
		default:
			return false
		}
	})
	return line
}
