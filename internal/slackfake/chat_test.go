package slackfake_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/conveyor-dev/conveyor/internal/slackfake"
)

func newClient(t *testing.T) (*slackfake.Server, *slack.Client) {
	t.Helper()
	f := slackfake.New()
	t.Cleanup(f.Close)
	f.AddChannel("C0PROD", true)
	f.AddChannel("C1", true)
	return f, slack.New(f.Token(), slack.OptionAPIURL(f.URL()+"/api/"))
}

func approvalBlocks() slack.MsgOption {
	return slack.MsgOptionBlocks(
		slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "*fraud-model* to production", false, false), nil, nil),
		slack.NewActionBlock("decide",
			slack.NewButtonBlockElement("approve", "dep-42", slack.NewTextBlockObject(slack.PlainTextType, "Approve", false, false)),
			slack.NewButtonBlockElement("reject", "dep-42", slack.NewTextBlockObject(slack.PlainTextType, "Reject", false, false)),
		),
	)
}

func TestPostMessageStoresBlocksAndThreads(t *testing.T) {
	f, api := newClient(t)
	ch, ts, err := api.PostMessage("C0PROD", slack.MsgOptionText("deploy?", false), approvalBlocks())
	if err != nil {
		t.Fatal(err)
	}
	if ch != "C0PROD" || ts == "" {
		t.Fatalf("channel %q ts %q", ch, ts)
	}
	m := f.Message("C0PROD", ts)
	if m == nil || m.Text != "deploy?" || len(m.Blocks.BlockSet) != 2 || !strings.Contains(string(m.BlocksJSON), `"action_id":"approve"`) {
		t.Fatalf("stored message = %+v", m)
	}
	if _, ok := m.Blocks.BlockSet[1].(*slack.ActionBlock); !ok {
		t.Fatalf("second block decoded as %T, want *slack.ActionBlock", m.Blocks.BlockSet[1])
	}

	_, r1, err := api.PostMessage("C0PROD", slack.MsgOptionText("step 10%", false), slack.MsgOptionTS(ts))
	if err != nil {
		t.Fatal(err)
	}
	_, r2, err := api.PostMessage("C0PROD", slack.MsgOptionText("step 50%", false), slack.MsgOptionTS(r1))
	if err != nil {
		t.Fatal(err)
	}
	thread := f.Thread("C0PROD", ts)
	if len(thread) != 2 || thread[0].TS != r1 || thread[1].TS != r2 || thread[1].ThreadTS != ts || thread[1].Text != "step 50%" {
		t.Fatalf("thread = %+v", thread)
	}
	if top := f.Messages("C0PROD"); len(top) != 1 || top[0].TS != ts {
		t.Fatalf("top-level messages = %+v", top)
	}
	if r1 <= ts || r2 <= r1 {
		t.Fatalf("timestamps not increasing: %s %s %s", ts, r1, r2)
	}

	_, _, err = api.PostMessage("C0PROD", slack.MsgOptionText("orphan", false), slack.MsgOptionTS("1.000000"))
	if err == nil || err.Error() != "thread_not_found" {
		t.Fatalf("reply to unknown thread: %v", err)
	}
	if _, _, err = api.PostMessage("C0PROD"); err == nil || err.Error() != "no_text" {
		t.Fatalf("empty message: %v", err)
	}
}

func TestUpdateMessage(t *testing.T) {
	f, api := newClient(t)
	_, ts, err := api.PostMessage("C1", slack.MsgOptionText("waiting", false), approvalBlocks())
	if err != nil {
		t.Fatal(err)
	}
	ch, uts, text, err := api.UpdateMessage("C1", ts, slack.MsgOptionText("approved by octocat", false),
		slack.MsgOptionBlocks(slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "approved", false, false), nil, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if ch != "C1" || uts != ts || text != "approved by octocat" {
		t.Fatalf("update answered %q %q %q", ch, uts, text)
	}
	m := f.Message("C1", ts)
	if m.Text != "approved by octocat" || m.Edits != 1 || len(m.Blocks.BlockSet) != 1 {
		t.Fatalf("after update: %+v", m)
	}
	if _, _, _, err := api.UpdateMessage("C1", "9.999999", slack.MsgOptionText("x", false)); err == nil || err.Error() != "message_not_found" {
		t.Fatalf("update unknown message: %v", err)
	}
	if _, _, _, err := api.UpdateMessage("C404", ts, slack.MsgOptionText("x", false)); err == nil || err.Error() != "channel_not_found" {
		t.Fatalf("update in unknown channel: %v", err)
	}
}

func TestPostEphemeral(t *testing.T) {
	f, api := newClient(t)
	ts, err := api.PostEphemeral("C1", "U42", slack.MsgOptionText("you cannot approve your own PR", false))
	if err != nil || ts == "" {
		t.Fatalf("ts %q err %v", ts, err)
	}
	got := f.Ephemerals("U42")
	if len(got) != 1 || got[0].Text != "you cannot approve your own PR" || got[0].Channel != "C1" || got[0].TS != ts {
		t.Fatalf("ephemerals = %+v", got)
	}
	if len(f.Ephemerals("U7")) != 0 || len(f.Messages("C1")) != 0 {
		t.Fatal("an ephemeral leaked to another user or the channel")
	}
}

func TestOpenView(t *testing.T) {
	f, api := newClient(t)
	view := slack.ModalViewRequest{
		Type:            slack.VTModal,
		Title:           slack.NewTextBlockObject(slack.PlainTextType, "Reject", false, false),
		Submit:          slack.NewTextBlockObject(slack.PlainTextType, "Reject", false, false),
		CallbackID:      "reject",
		PrivateMetadata: "dep-42",
		Blocks: slack.Blocks{BlockSet: []slack.Block{
			slack.NewInputBlock("reason", slack.NewTextBlockObject(slack.PlainTextType, "Reason", false, false), nil,
				slack.NewPlainTextInputBlockElement(nil, "reason_text")),
		}},
	}
	resp, err := api.OpenView("123.456.abc", view)
	if err != nil {
		t.Fatal(err)
	}
	if resp.ID == "" || resp.PrivateMetadata != "dep-42" || resp.CallbackID != "reject" || len(resp.Blocks.BlockSet) != 1 {
		t.Fatalf("views.open answered %+v", resp.View)
	}
	views := f.Views()
	if len(views) != 1 || views[0].ID != resp.ID || views[0].TriggerID != "123.456.abc" || views[0].Request.PrivateMetadata != "dep-42" {
		t.Fatalf("views = %+v", views)
	}
	if _, err := api.OpenView("", view); err == nil {
		t.Fatal("views.open without trigger accepted")
	}
}

func TestUsersInfoAndAuthTest(t *testing.T) {
	f, api := newClient(t)
	f.AddUser("U024BE7LH", "octocat", "octocat@example.com")
	u, err := api.GetUserInfo("U024BE7LH")
	if err != nil {
		t.Fatal(err)
	}
	if u.ID != "U024BE7LH" || u.Name != "octocat" || u.Profile.Email != "octocat@example.com" {
		t.Fatalf("user = %+v", u)
	}
	if _, err := api.GetUserInfo("U404"); err == nil || err.Error() != "user_not_found" {
		t.Fatalf("unknown user: %v", err)
	}
	at, err := api.AuthTest()
	if err != nil {
		t.Fatal(err)
	}
	if at.TeamID != slackfake.TeamID || at.UserID != slackfake.BotUserID || at.BotID != slackfake.BotID {
		t.Fatalf("auth.test = %+v", at)
	}
}

func TestInvalidToken(t *testing.T) {
	f := slackfake.New(slackfake.WithToken("xoxb-right"))
	defer f.Close()
	bad := slack.New("xoxb-wrong", slack.OptionAPIURL(f.URL()+"/api/"))
	if _, err := bad.AuthTest(); err == nil || err.Error() != "invalid_auth" {
		t.Fatalf("form method with wrong token: %v", err)
	}
	if _, _, err := bad.PostMessage("C1", slack.MsgOptionText("hi", false)); err == nil || err.Error() != "invalid_auth" {
		t.Fatalf("chat.postMessage with wrong token: %v", err)
	}
	if _, err := bad.OpenView("t", slack.ModalViewRequest{Type: slack.VTModal}); err == nil || err.Error() != "invalid_auth" {
		t.Fatalf("JSON method with wrong token: %v", err)
	}
	good := slack.New("xoxb-right", slack.OptionAPIURL(f.URL()+"/api/"))
	if _, err := good.AuthTest(); err != nil {
		t.Fatalf("right token: %v", err)
	}
	if len(f.Messages("C1")) != 0 {
		t.Fatal("a request with a wrong token changed state")
	}
	for _, c := range f.Calls() {
		if c.Params.Has("token") {
			t.Fatalf("call log keeps the token in Params: %+v", c.Params)
		}
	}
}

func TestFaults(t *testing.T) {
	f, api := newClient(t)

	f.FailNext("chat.postMessage", 1, http.StatusServiceUnavailable)
	_, _, err := api.PostMessage("C1", slack.MsgOptionText("hi", false))
	var sce slack.StatusCodeError
	if !errors.As(err, &sce) || sce.Code != http.StatusServiceUnavailable {
		t.Fatalf("FailNext: %v", err)
	}

	f.ErrorNext("chat.postMessage", "channel_not_found", 2)
	for i := 0; i < 2; i++ {
		if _, _, err := api.PostMessage("C1", slack.MsgOptionText("hi", false)); err == nil || err.Error() != "channel_not_found" {
			t.Fatalf("ErrorNext %d: %v", i, err)
		}
	}

	f.RateLimitNext("users.info", 1, 1500*time.Millisecond)
	_, err = api.GetUserInfo("U1")
	var rle *slack.RateLimitedError
	if !errors.As(err, &rle) || rle.RetryAfter != 2*time.Second {
		t.Fatalf("RateLimitNext: %v", err)
	}

	f.FailNext("*", 1, http.StatusInternalServerError)
	if _, err := api.AuthTest(); !errors.As(err, &sce) || sce.Code != 500 {
		t.Fatalf("FailNext(*): %v", err)
	}

	if _, _, err := api.PostMessage("C1", slack.MsgOptionText("finally", false)); err != nil {
		t.Fatalf("faults should be used up: %v", err)
	}
	calls := f.Calls()
	want := []struct {
		method string
		status int
		err    string
	}{
		{"chat.postMessage", 503, ""}, {"chat.postMessage", 200, "channel_not_found"}, {"chat.postMessage", 200, "channel_not_found"},
		{"users.info", 429, ""}, {"auth.test", 500, ""}, {"chat.postMessage", 200, ""},
	}
	if len(calls) != len(want) {
		t.Fatalf("calls = %+v", calls)
	}
	for i, w := range want {
		if calls[i].Method != w.method || calls[i].Status != w.status || calls[i].Error != w.err {
			t.Errorf("call %d = %s %d %q, want %s %d %q", i, calls[i].Method, calls[i].Status, calls[i].Error, w.method, w.status, w.err)
		}
	}
	if calls[5].Params.Get("text") != "finally" || calls[5].Params.Get("channel") != "C1" || calls[5].Params.Has("token") {
		t.Fatalf("logged params = %v", calls[5].Params)
	}
	f.ResetCalls()
	if len(f.Calls()) != 0 {
		t.Fatal("ResetCalls kept entries")
	}
}

func TestLatencyHonoursContext(t *testing.T) {
	f, api := newClient(t)
	f.SetLatency(time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := api.AuthTestContext(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want context.DeadlineExceeded", err)
	}
}

func TestBadArgumentsOnTheWire(t *testing.T) {
	f, _ := newClient(t)
	form := url.Values{"token": {f.Token()}, "channel": {"C1"}, "blocks": {"not json"}}
	resp, err := http.PostForm(f.URL()+"/api/chat.postMessage", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	calls := f.Calls()
	if calls[len(calls)-1].Error != "invalid_blocks" {
		t.Fatalf("bad blocks: %+v", calls[len(calls)-1])
	}
	resp, err = http.PostForm(f.URL()+"/api/chat.delete", url.Values{"token": {f.Token()}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	calls = f.Calls()
	if calls[len(calls)-1].Error != "unknown_method" {
		t.Fatalf("unknown method: %+v", calls[len(calls)-1])
	}
	resp, err = http.PostForm(f.URL()+"/api/auth.test", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	calls = f.Calls()
	if calls[len(calls)-1].Error != "not_authed" {
		t.Fatalf("no token: %+v", calls[len(calls)-1])
	}
}
