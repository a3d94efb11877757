package slackfake_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/slack-go/slack"
)

// PassNext lets calls through, so the fault queued after it hits a later call;
// other methods neither use it up nor meet the fault.
func TestPassNextDelaysTheFault(t *testing.T) {
	f, api := newClient(t)
	f.PassNext("chat.postMessage", 2)
	f.FailNext("chat.postMessage", 1, http.StatusBadGateway)
	if _, err := api.AuthTest(); err != nil {
		t.Fatalf("auth.test met a chat.postMessage fault: %v", err)
	}
	for i := range 2 {
		if _, _, err := api.PostMessage("C1", slack.MsgOptionText("through", false)); err != nil {
			t.Fatalf("post %d should pass: %v", i+1, err)
		}
	}
	_, _, err := api.PostMessage("C1", slack.MsgOptionText("third", false))
	var sce slack.StatusCodeError
	if !errors.As(err, &sce) || sce.Code != http.StatusBadGateway {
		t.Fatalf("third post: %v, want HTTP 502", err)
	}
	if _, _, err := api.PostMessage("C1", slack.MsgOptionText("fourth", false)); err != nil {
		t.Fatalf("the fault should be used up: %v", err)
	}
	if n := len(f.Messages("C1")); n != 3 {
		t.Fatalf("%d messages stored, want 3 (the failed post stores none)", n)
	}
}
