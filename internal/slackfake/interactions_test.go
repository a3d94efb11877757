package slackfake_test

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/conveyor-dev/conveyor/internal/slackfake"
)

const signingSecret = "8f742231b10e8888abcd99yyyzzz85a5"

// app is the receiving end of interactions: it verifies them with slack-go
// exactly as Conveyor's /slack/interactions handler does.
type app struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []slack.InteractionCallback
}

func newApp(t *testing.T) *app {
	t.Helper()
	a := &app{}
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		sv, err := slack.NewSecretsVerifier(r.Header, signingSecret)
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		_, _ = sv.Write(body)
		if err := sv.Ensure(); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		cb, err := slack.InteractionCallbackParse(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		a.mu.Lock()
		a.got = append(a.got, cb)
		a.mu.Unlock()
	}))
	t.Cleanup(a.srv.Close)
	return a
}

func (a *app) last(t *testing.T) slack.InteractionCallback {
	t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.got) == 0 {
		t.Fatal("the app received no interaction")
	}
	return a.got[len(a.got)-1]
}

func mustStatus(t *testing.T, resp *http.Response, err error, want int) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != want {
		t.Fatalf("app answered %d (%s), want %d", resp.StatusCode, body, want)
	}
}

func TestSignatureIsVerifiedBySlackGo(t *testing.T) {
	body := []byte("payload=%7B%7D")
	h := slackfake.SignInteraction(signingSecret, body, time.Now())
	sv, err := slack.NewSecretsVerifier(h, signingSecret)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = sv.Write(body)
	if err := sv.Ensure(); err != nil {
		t.Fatalf("slack-go rejects our signature: %v", err)
	}

	sv, _ = slack.NewSecretsVerifier(h, "another-secret")
	_, _ = sv.Write(body)
	if sv.Ensure() == nil {
		t.Fatal("signature verified with the wrong secret")
	}
	sv, _ = slack.NewSecretsVerifier(h, signingSecret)
	_, _ = sv.Write([]byte("payload=%7B%22x%22%7D"))
	if sv.Ensure() == nil {
		t.Fatal("signature verified for a different body")
	}
	old := slackfake.SignInteraction(signingSecret, body, time.Now().Add(-10*time.Minute))
	if _, err := slack.NewSecretsVerifier(old, signingSecret); !errors.Is(err, slack.ErrExpiredTimestamp) {
		t.Fatalf("stale timestamp: %v, want ErrExpiredTimestamp", err)
	}
}

func TestClickButtonSendsBlockActions(t *testing.T) {
	f, api := newClient(t)
	a := newApp(t)
	f.AddUser("U024BE7LH", "octocat", "octocat@example.com")
	_, ts, err := api.PostMessage("C0PROD", slack.MsgOptionText("deploy?", false), approvalBlocks())
	if err != nil {
		t.Fatal(err)
	}

	resp, err := f.ClickButton(a.srv.URL, signingSecret, "C0PROD", ts, "approve", "U024BE7LH")
	mustStatus(t, resp, err, http.StatusOK)
	cb := a.last(t)
	if cb.Type != slack.InteractionTypeBlockActions || cb.User.ID != "U024BE7LH" || cb.User.Name != "octocat" || cb.Team.ID != slackfake.TeamID {
		t.Fatalf("callback = %+v", cb)
	}
	if len(cb.ActionCallback.BlockActions) != 1 {
		t.Fatalf("actions = %+v", cb.ActionCallback)
	}
	act := cb.ActionCallback.BlockActions[0]
	if act.ActionID != "approve" || act.BlockID != "decide" || act.Value != "dep-42" || act.Text.Text != "Approve" || act.Type != "button" {
		t.Fatalf("action = %+v", act)
	}
	if cb.Container.Type != "message" || cb.Container.MessageTs != ts || cb.Container.ChannelID != "C0PROD" || cb.Channel.ID != "C0PROD" {
		t.Fatalf("container/channel = %+v / %+v", cb.Container, cb.Channel)
	}
	if cb.Message.Timestamp != ts || len(cb.Message.Blocks.BlockSet) != 2 || cb.TriggerID == "" || cb.ResponseURL == "" {
		t.Fatalf("message/trigger/response_url missing: %+v", cb)
	}

	// The app answers through response_url, replacing the original message.
	if _, _, err := api.PostMessage("C0PROD", slack.MsgOptionReplaceOriginal(cb.ResponseURL), slack.MsgOptionText("approved by octocat (1/2)", false)); err != nil {
		t.Fatalf("response_url: %v", err)
	}
	if m := f.Message("C0PROD", ts); m.Text != "approved by octocat (1/2)" || m.Edits != 1 {
		t.Fatalf("after response_url: %+v", m)
	}
	// Without replace_original the answer is ephemeral to the clicking user.
	if _, _, err := api.PostMessage("C0PROD", slack.MsgOptionResponseURL(cb.ResponseURL, slack.ResponseTypeEphemeral), slack.MsgOptionText("noted", false)); err != nil {
		t.Fatalf("response_url ephemeral: %v", err)
	}
	if e := f.Ephemerals("U024BE7LH"); len(e) != 1 || e[0].Text != "noted" {
		t.Fatalf("ephemerals = %+v", e)
	}

	// A button in a thread reply works too, and keeps the thread in the container.
	_, reply, _ := api.PostMessage("C0PROD", slack.MsgOptionTS(ts), approvalBlocks())
	resp, err = f.ClickButton(a.srv.URL, signingSecret, "C0PROD", reply, "reject", "U7")
	mustStatus(t, resp, err, http.StatusOK)
	if cb := a.last(t); cb.Container.ThreadTs != ts || cb.ActionCallback.BlockActions[0].ActionID != "reject" || cb.User.ID != "U7" {
		t.Fatalf("thread click = %+v", cb)
	}
}

func TestClickButtonWrongSecretIsRejectedByTheApp(t *testing.T) {
	f, api := newClient(t)
	a := newApp(t)
	_, ts, _ := api.PostMessage("C1", approvalBlocks())
	resp, err := f.ClickButton(a.srv.URL, "not-the-secret", "C1", ts, "approve", "U1")
	mustStatus(t, resp, err, http.StatusUnauthorized)
}

func TestClickButtonErrors(t *testing.T) {
	f, api := newClient(t)
	a := newApp(t)
	_, ts, _ := api.PostMessage("C1", approvalBlocks())
	if _, err := f.ClickButton(a.srv.URL, signingSecret, "C1", "1.000001", "approve", "U1"); err == nil || !strings.Contains(err.Error(), "no message") {
		t.Fatalf("unknown message: %v", err)
	}
	_, err := f.ClickButton(a.srv.URL, signingSecret, "C1", ts, "deploy", "U1")
	if err == nil || !strings.Contains(err.Error(), `"approve", "reject"`) {
		t.Fatalf("unknown button should list the buttons there are: %v", err)
	}
}

func TestSubmitViewSendsViewSubmission(t *testing.T) {
	f, api := newClient(t)
	a := newApp(t)
	view := slack.ModalViewRequest{
		Type:            slack.VTModal,
		Title:           slack.NewTextBlockObject(slack.PlainTextType, "Reject", false, false),
		Submit:          slack.NewTextBlockObject(slack.PlainTextType, "Reject", false, false),
		CallbackID:      "reject",
		PrivateMetadata: `{"deployment":42}`,
		Blocks: slack.Blocks{BlockSet: []slack.Block{
			slack.NewInputBlock("reason", slack.NewTextBlockObject(slack.PlainTextType, "Reason", false, false), nil,
				slack.NewPlainTextInputBlockElement(nil, "reason_text")),
			slack.NewInputBlock("severity", slack.NewTextBlockObject(slack.PlainTextType, "Severity", false, false), nil,
				slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, nil, "severity_pick",
					slack.NewOptionBlockObject("high", slack.NewTextBlockObject(slack.PlainTextType, "High", false, false), nil))),
		}},
	}
	opened, err := api.OpenView("trigger-1", view)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := f.SubmitView(a.srv.URL, signingSecret, opened.ID, "U9", map[string]map[string]string{
		"reason":   {"reason_text": "AUC regressed"},
		"severity": {"severity_pick": "high"},
	})
	mustStatus(t, resp, err, http.StatusOK)
	cb := a.last(t)
	if cb.Type != slack.InteractionTypeViewSubmission || cb.User.ID != "U9" || cb.View.ID != opened.ID {
		t.Fatalf("callback = %+v", cb)
	}
	if cb.View.PrivateMetadata != `{"deployment":42}` || cb.View.CallbackID != "reject" {
		t.Fatalf("view = %+v", cb.View)
	}
	if got := cb.View.State.Values["reason"]["reason_text"].Value; got != "AUC regressed" {
		t.Fatalf("reason = %q", got)
	}
	if got := cb.View.State.Values["severity"]["severity_pick"].SelectedOption.Value; got != "high" {
		t.Fatalf("severity = %q", got)
	}

	if _, err := f.SubmitView(a.srv.URL, signingSecret, "V404", "U9", nil); err == nil || !strings.Contains(err.Error(), "no view") {
		t.Fatalf("unknown view: %v", err)
	}
	_, err = f.SubmitView(a.srv.URL, signingSecret, opened.ID, "U9", map[string]map[string]string{"reason": {"typo": "x"}})
	if err == nil || !strings.Contains(err.Error(), `action_id "typo"`) {
		t.Fatalf("unknown input: %v", err)
	}
}

func TestSendInteractionIsAFormWithPayload(t *testing.T) {
	var gotType, gotBody string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotType = r.Header.Get("Content-Type")
		raw, _ := io.ReadAll(r.Body)
		gotBody = string(raw)
	}))
	defer srv.Close()
	resp, err := slackfake.SendInteraction(srv.URL, signingSecret, slack.InteractionCallback{Type: slack.InteractionTypeBlockActions, TriggerID: "t1"})
	mustStatus(t, resp, err, http.StatusOK)
	if gotType != "application/x-www-form-urlencoded" || !strings.HasPrefix(gotBody, "payload=%7B") || !strings.Contains(gotBody, "block_actions") {
		t.Fatalf("content-type %q body %q", gotType, gotBody)
	}
}
