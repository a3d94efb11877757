package slackapproval_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/conveyor-dev/conveyor/deploy"
	"github.com/conveyor-dev/conveyor/deploy/slackapproval"
	"github.com/conveyor-dev/conveyor/internal/testwait"
)

func TestApprovalMessageShowsWhatDeploysAndWhoMustApprove(t *testing.T) {
	w := newWorld(t, time.Hour)
	d := w.start("production")
	m := w.message(d)
	blocks := readable(m.BlocksJSON)
	for _, want := range []string{
		"Approval needed: deploy to production",
		"https://github.com/acme/shop/pull/1|acme/shop#1", "Faster checkout",
		w.pr.HeadSHA[:7], "requested by @ana",
		"<https://conveyor.example.com/r/acme/shop/pull/1#artifact-web|web> (app): production: " + w.pr.HeadSHA[:7] + " (nothing known to serve there before)",
		"CI passed: build, test", "1 commit, newest " + w.pr.HeadSHA[:7] + " change web (@octocat)",
		"conveyor check: passed on this head", "cost: +$120.00/month, $480.00/month in all", "monthly cost rises by $120",
		"<https://conveyor.example.com/r/acme/shop/pull/1|Open the pull request page>",
		"*Waiting for 2 more approvals from @acme/sre* by <!date^", "0 of 2 approvals given",
		"Conveyor deployment " + strconv.FormatInt(d.ID, 10) + " · waiting for 2 more approvals from @acme/sre",
		slackapproval.ActionApprove, slackapproval.ActionReject,
	} {
		if !strings.Contains(blocks, want) {
			t.Errorf("approval message lacks %q:\n%s", want, blocks)
		}
	}
	if msgs := w.slack.Messages(prodChannel); len(msgs) != 1 {
		t.Errorf("want one approval message in %s, got %d", prodChannel, len(msgs))
	}
	// States in words: never the engine's identifiers.
	if strings.Contains(blocks, "awaiting_approval") || strings.Contains(blocks, "state `") {
		t.Errorf("the card shows a state identifier:\n%s", blocks)
	}
	// The expiry is the engine's: created + the approval TTL (an hour here).
	if want := "<!date^" + strconv.FormatInt(d.CreatedAt.Add(time.Hour).Unix(), 10) + "^"; !strings.Contains(blocks, want) {
		t.Errorf("the card does not say the request expires an hour after it was made (%s):\n%s", want, blocks)
	}
}

func TestRefusedApproversChangeNothing(t *testing.T) {
	w := newWorld(t, time.Hour)
	d := w.start("production")
	m := w.message(d)

	w.click(m.TS, slackapproval.ActionApprove, uOutsider)
	w.ephemeral(uOutsider, "@olga is not in acme/sre and cannot approve")
	w.click(m.TS, slackapproval.ActionApprove, uOcto)
	w.ephemeral(uOcto, "@octocat opened PR #1 and cannot approve its own deployment")
	w.click(m.TS, slackapproval.ActionApprove, uStranger)
	w.ephemeral(uStranger, slackapproval.UnknownUserText)

	got := w.get(d.ID)
	if len(got.Approvals) != 0 || got.State != deploy.StateAwaitingApproval {
		t.Fatalf("refused approvals changed the deployment: state %s, approvals %+v", got.State, got.Approvals)
	}
	if edited := w.slack.Message(prodChannel, m.TS); edited.Edits != 0 {
		t.Errorf("refused approvals edited the message %d times", edited.Edits)
	}
}

func TestDoubleClickCountsOnceAndQuorumStartsRollout(t *testing.T) {
	w := newWorld(t, time.Hour)
	d := w.start("production")
	m := w.message(d)

	w.click(m.TS, slackapproval.ActionApprove, uSam)
	w.click(m.TS, slackapproval.ActionApprove, uSam)
	w.ephemeral(uSam, "You already approved")
	w.messageSays(m.TS, "Waiting for 1 more approval from @acme/sre", "1 of 2 approvals given", "approved by @sam via slack")
	if got := w.get(d.ID); len(got.Approvals) != 1 {
		t.Fatalf("a double click counted %d approvals, want 1", len(got.Approvals))
	}

	// Eve is mapped through her e-mail (users.info), case-insensitively.
	w.click(m.TS, slackapproval.ActionApprove, uEve)
	w.ephemeral(uEve, "You approved")
	final := waitState(w, d.ID, deploy.StateSucceeded)
	if len(final.Approvals) != 2 || w.drv.count() != 2 {
		t.Fatalf("after quorum: %d approvals, %d driver deploys; want 2 and 2 (50%%, 100%%)", len(final.Approvals), w.drv.count())
	}
	blocks := w.messageSays(m.TS, "Approvals: 2 of 2", "approved by @eve via slack", "Deployed to production")
	if hasButtons([]byte(blocks)) {
		t.Errorf("buttons still shown after quorum:\n%s", blocks)
	}
	testwait.For(t, "progress in the thread", func() bool {
		var texts []string
		for _, r := range w.slack.Thread(prodChannel, m.TS) {
			texts = append(texts, r.Text)
		}
		all := strings.Join(texts, "\n")
		return strings.Contains(all, "Quorum reached") && strings.Contains(all, "(50%)") && strings.Contains(all, "Rollout succeeded")
	})
}

func TestPushVoidsApprovalsInTheMessage(t *testing.T) {
	w := newWorld(t, time.Hour)
	d := w.start("production")
	m := w.message(d)
	w.click(m.TS, slackapproval.ActionApprove, uSam)
	w.messageSays(m.TS, "1 of 2 approvals given")

	if _, err := w.engine.VoidApprovals(context.Background(), repo, w.pr.Number, "0123456789abcdef0123456789abcdef01234567"); err != nil {
		t.Fatal(err)
	}
	blocks := w.messageSays(m.TS, "Approvals are void", "new commits pushed")
	if hasButtons([]byte(blocks)) {
		t.Errorf("buttons still shown after the approvals were voided:\n%s", blocks)
	}
	if got := w.get(d.ID); got.State != deploy.StateCancelled || len(got.Approvals) != 1 {
		t.Fatalf("after void: state %s with %d approvals, want cancelled with 1", got.State, len(got.Approvals))
	}
}

func TestExpiryUpdatesTheMessage(t *testing.T) {
	w := newWorld(t, 300*time.Millisecond)
	d := w.start("production")
	m := w.message(d)
	waitState(w, d.ID, deploy.StateExpired)
	blocks := w.messageSays(m.TS, "Expired:", "did not reach the quorum")
	if hasButtons([]byte(blocks)) {
		t.Errorf("buttons still shown after expiry:\n%s", blocks)
	}
}

func TestRejectWithReasonThroughTheModal(t *testing.T) {
	w := newWorld(t, time.Hour)
	d := w.start("production")
	m := w.message(d)

	w.click(m.TS, slackapproval.ActionReject, uBob)
	views := w.slack.Views()
	if len(views) != 1 {
		t.Fatalf("a Reject click opened %d views, want the reason modal at once", len(views))
	}
	v := views[0]
	if v.Request.CallbackID != slackapproval.CallbackReject || v.Request.PrivateMetadata != itoa(d.ID) {
		t.Fatalf("modal callback %q metadata %q, want %q and %d", v.Request.CallbackID, v.Request.PrivateMetadata, slackapproval.CallbackReject, d.ID)
	}
	if got := w.get(d.ID); got.State != deploy.StateAwaitingApproval {
		t.Fatalf("opening the modal changed the deployment to %s", got.State)
	}

	resp, err := w.slack.SubmitView(w.app.URL+"/slack/interactions", secret, v.ID, uBob,
		map[string]map[string]string{slackapproval.ReasonBlock: {slackapproval.ReasonAction: "error budget is spent"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	got := waitState(w, d.ID, deploy.StateRejected)
	if !strings.Contains(got.Error, "rejected by @bob: error budget is spent") {
		t.Errorf("engine recorded %q, want who and why", got.Error)
	}
	blocks := w.messageSays(m.TS, "rejected by @bob: error budget is spent")
	if hasButtons([]byte(blocks)) {
		t.Errorf("buttons still shown after rejection:\n%s", blocks)
	}
}

func TestRejectByOutsiderIsRefused(t *testing.T) {
	w := newWorld(t, time.Hour)
	d := w.start("production")
	m := w.message(d)
	w.click(m.TS, slackapproval.ActionReject, uOutsider)
	v := w.slack.Views()[0]
	resp, err := w.slack.SubmitView(w.app.URL+"/slack/interactions", secret, v.ID, uOutsider,
		map[string]map[string]string{slackapproval.ReasonBlock: {slackapproval.ReasonAction: "no"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	w.ephemeral(uOutsider, "Rejection refused")
	if got := w.get(d.ID); got.State != deploy.StateAwaitingApproval {
		t.Fatalf("a refused rejection moved the deployment to %s", got.State)
	}
}

func waitState(w *world, id int64, state string) *deploy.Deployment {
	w.t.Helper()
	var d *deploy.Deployment
	testwait.For(w.t, "deployment to become "+state, func() bool {
		d = w.get(id)
		return d.State == state
	}, func() string { return d.State + " " + d.Error })
	return d
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
