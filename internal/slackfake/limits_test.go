package slackfake_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/conveyor-dev/conveyor/internal/slackfake"
)

func txt(typ, s string) *slack.TextBlockObject { return slack.NewTextBlockObject(typ, s, false, false) }

// Each Block Kit limit from @slack/types is refused with invalid_blocks, naming the
// field as Slack does; a message just inside every limit posts.
func TestBlockKitLimitsRefusedAsSlackDoes(t *testing.T) {
	f, api := newClient(t)
	button := func(text, id, value string) slack.Block {
		return slack.NewActionBlock("a", slack.NewButtonBlockElement(id, value, txt(slack.PlainTextType, text)))
	}
	at := func(n int) string { return strings.Repeat("x", n) }
	many := func(n int) []slack.Block {
		var bs []slack.Block
		for range n {
			bs = append(bs, slack.NewDividerBlock())
		}
		return bs
	}
	for _, tc := range []struct {
		name    string
		blocks  []slack.Block
		pointer string
	}{
		{"section text", []slack.Block{slack.NewSectionBlock(txt(slack.MarkdownType, at(3001)), nil, nil)}, "/blocks/0/text/text"},
		{"header text", []slack.Block{slack.NewHeaderBlock(txt(slack.PlainTextType, at(151)))}, "/blocks/0/text/text"},
		{"button text", []slack.Block{button(at(76), "approve", "1")}, "/blocks/0/elements/0/text/text"},
		{"action_id", []slack.Block{button("OK", at(256), "1")}, "/blocks/0/elements/0/action_id"},
		{"button value", []slack.Block{button("OK", "approve", at(2001))}, "/blocks/0/elements/0/value"},
		{"blocks per message", many(51), "/blocks"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := api.PostMessage("C1", slack.MsgOptionText("fallback", false), slack.MsgOptionBlocks(tc.blocks...))
			if err == nil || err.Error() != "invalid_blocks" {
				t.Fatalf("err = %v, want invalid_blocks", err)
			}
			calls := f.Calls()
			if last := calls[len(calls)-1]; last.Error != "invalid_blocks" {
				t.Fatalf("last call = %+v", last)
			}
		})
	}
	// The answer carries Slack's detail: which field, at which JSON pointer.
	body := postRaw(t, f, "chat.postMessage", map[string]any{"channel": "C1",
		"blocks": []any{map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": at(3001)}}}})
	if body["error"] != "invalid_blocks" || !strings.Contains(toJSON(body["errors"]), "must be less than 3001 characters [json-pointer:/blocks/0/text/text]") {
		t.Errorf("invalid_blocks answer = %v", body)
	}
	// Just inside every limit (lengths in characters, not bytes).
	if _, _, err := api.PostMessage("C1", slack.MsgOptionBlocks(append(many(47),
		slack.NewSectionBlock(txt(slack.MarkdownType, strings.Repeat("é", 3000)), nil, nil),
		slack.NewHeaderBlock(txt(slack.PlainTextType, at(150))),
		button(at(75), at(255), at(2000)))...)); err != nil {
		t.Errorf("a message at the limits: %v", err)
	}
	if _, _, err := api.PostMessage("C1", slack.MsgOptionText(at(40001), false)); err == nil || err.Error() != "msg_too_long" {
		t.Errorf("41k text: %v, want msg_too_long", err)
	}
}

func TestChannelsMustExistAndHaveTheBot(t *testing.T) {
	f, api := newClient(t)
	f.AddChannel("C0OTHER", false)
	if _, _, err := api.PostMessage("C0NOPE", slack.MsgOptionText("hi", false)); err == nil || err.Error() != "channel_not_found" {
		t.Errorf("unknown channel: %v", err)
	}
	if _, _, err := api.PostMessage("C0OTHER", slack.MsgOptionText("hi", false)); err == nil || err.Error() != "not_in_channel" {
		t.Errorf("channel without the bot: %v", err)
	}
	if _, _, _, err := api.UpdateMessage("C0NOPE", "1.2", slack.MsgOptionText("hi", false)); err == nil || err.Error() != "channel_not_found" {
		t.Errorf("update in unknown channel: %v", err)
	}
	if len(f.Messages("C0OTHER")) != 0 || len(f.Messages("C0NOPE")) != 0 {
		t.Error("a refused post was stored")
	}
}

func TestModalLimits(t *testing.T) {
	_, api := newClient(t)
	input := slack.NewInputBlock("r", txt(slack.PlainTextType, "Reason"), nil, slack.NewPlainTextInputBlockElement(nil, "t"))
	for name, v := range map[string]slack.ModalViewRequest{
		"title over 24": {Type: slack.VTModal, Title: txt(slack.PlainTextType, strings.Repeat("t", 25)),
			Submit: txt(slack.PlainTextType, "OK"), Blocks: slack.Blocks{BlockSet: []slack.Block{input}}},
		"input without submit": {Type: slack.VTModal, Title: txt(slack.PlainTextType, "Reject"),
			Blocks: slack.Blocks{BlockSet: []slack.Block{input}}},
		"submit over 24": {Type: slack.VTModal, Title: txt(slack.PlainTextType, "Reject"),
			Submit: txt(slack.PlainTextType, strings.Repeat("s", 25)), Blocks: slack.Blocks{BlockSet: []slack.Block{input}}},
	} {
		if _, err := api.OpenView("trigger", v); err == nil || err.Error() != "invalid_arguments" {
			t.Errorf("%s: %v, want invalid_arguments", name, err)
		}
	}
}

// A response_url takes 5 posts within 30 minutes, then answers used_url / expired_url.
func TestResponseURLExpires(t *testing.T) {
	f, api := newClient(t)
	a := newApp(t)
	f.AddUser("U1", "octocat", "octocat@example.com")
	post := func(url string) *http.Response {
		t.Helper()
		resp, err := http.Post(url, "application/json", strings.NewReader(`{"text":"noted"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	click := func() string {
		_, ts, err := api.PostMessage("C1", slack.MsgOptionText("deploy?", false), approvalBlocks())
		if err != nil {
			t.Fatal(err)
		}
		resp, err := f.ClickButton(a.srv.URL, signingSecret, "C1", ts, "approve", "U1")
		mustStatus(t, resp, err, http.StatusOK)
		return a.last(t).ResponseURL
	}
	url := click()
	for i := range 5 {
		if r := post(url); r.StatusCode != http.StatusOK {
			t.Fatalf("use %d: %d", i+1, r.StatusCode)
		}
	}
	if r := post(url); r.StatusCode != http.StatusNotFound {
		t.Errorf("6th use: %d, want 404 used_url", r.StatusCode)
	}
	late := click()
	f.Advance(31 * time.Minute)
	if r := post(late); r.StatusCode != http.StatusNotFound {
		t.Errorf("after 31 minutes: %d, want 404 expired_url", r.StatusCode)
	}
}

func postRaw(t *testing.T, f *slackfake.Server, method string, args map[string]any) map[string]any {
	t.Helper()
	b, _ := json.Marshal(args)
	req, _ := http.NewRequest(http.MethodPost, f.URL()+"/api/"+method, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("Authorization", "Bearer "+f.Token())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

func toJSON(v any) string { b, _ := json.Marshal(v); return string(b) }

type recordingTB struct {
	cleanups []func()
	errs     []string
}

func (r *recordingTB) Helper()                   {}
func (r *recordingTB) Cleanup(f func())          { r.cleanups = append(r.cleanups, f) }
func (r *recordingTB) Errorf(f string, a ...any) { r.errs = append(r.errs, f) }

// A call Slack would refuse for its form fails the test that made it; the
// workspace's own answers (an unknown channel) do not, a product must handle those.
func TestNewTestFailsOnRefusedForm(t *testing.T) {
	rt := &recordingTB{}
	f := slackfake.NewTest(rt)
	f.AddChannel("C1", true)
	api := slack.New(f.Token(), slack.OptionAPIURL(f.URL()+"/api/"))
	_, _, _ = api.PostMessage("C0NOPE", slack.MsgOptionText("hi", false))
	_, _, _ = api.PostMessage("C1", slack.MsgOptionBlocks(slack.NewHeaderBlock(txt(slack.PlainTextType, strings.Repeat("h", 151)))))
	v := f.ContractViolations()
	if len(v) != 1 || !strings.Contains(v[0], "chat.postMessage: invalid_blocks") || !strings.Contains(v[0], "/blocks/0/text/text") {
		t.Fatalf("violations = %q, want the header only", v)
	}
	for i := len(rt.cleanups) - 1; i >= 0; i-- {
		rt.cleanups[i]()
	}
	if len(rt.errs) != 1 {
		t.Fatalf("NewTest reported %d errors, want 1", len(rt.errs))
	}
}
