package slackfake

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"
)

// interactionClient sends interactions; the app under test answers quickly.
var interactionClient = &http.Client{Timeout: 30 * time.Second}

// SignInteraction returns the headers Slack adds to a request it sends to an
// app: X-Slack-Request-Timestamp and X-Slack-Signature, "v0=" and the hex
// HMAC-SHA256 of "v0:{timestamp}:{body}" keyed with the signing secret.
func SignInteraction(secret string, body []byte, ts time.Time) http.Header {
	stamp := strconv.FormatInt(ts.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("v0:" + stamp + ":"))
	mac.Write(body)
	h := http.Header{}
	h.Set("Content-Type", "application/x-www-form-urlencoded")
	h.Set("X-Slack-Request-Timestamp", stamp)
	h.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
	return h
}

// SendInteraction posts payload to the app at appURL as Slack does: a form with
// one field, payload=<json>, signed with secret at the current time. The
// caller closes the response body.
func SendInteraction(appURL, secret string, payload slack.InteractionCallback) (*http.Response, error) {
	raw, err := json.Marshal(&payload)
	if err != nil {
		return nil, fmt.Errorf("slackfake: encode interaction payload: %w", err)
	}
	body := []byte(url.Values{"payload": {string(raw)}}.Encode())
	req, err := http.NewRequest(http.MethodPost, appURL, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("slackfake: build interaction request: %w", err)
	}
	req.Header = SignInteraction(secret, body, time.Now())
	return interactionClient.Do(req)
}

// ClickButton sends the block_actions interaction Slack sends when userID
// presses the button actionID in message ts of channel: the message, its
// container, a response_url served by this fake, a trigger_id for
// views.open, the user and the button's value.
func (s *Server) ClickButton(appURL, secret, channel, ts, actionID, userID string) (*http.Response, error) {
	s.mu.Lock()
	m := s.find(channel, ts)
	if m == nil {
		s.mu.Unlock()
		return nil, fmt.Errorf("slackfake: no message %s in channel %s; post it first and use the ts chat.postMessage returned", ts, channel)
	}
	msg := m.snapshot()
	button, blockID, found := findElement(msg.BlocksJSON, actionID)
	if !found || button["type"] != "button" {
		s.mu.Unlock()
		return nil, fmt.Errorf("slackfake: message %s in channel %s has no button with action_id %q (buttons: %s)", ts, channel, actionID, strings.Join(buttonIDs(msg.BlocksJSON), ", "))
	}
	user := s.userLocked(userID)
	responseURL := s.newResponseURL(channel, ts, userID)
	trigger, actionTS := s.triggerLocked()
	s.mu.Unlock()

	action := &slack.BlockAction{ActionID: actionID, BlockID: blockID, Type: "button", ActionTs: actionTS}
	action.Value, _ = button["value"].(string)
	if text, ok := button["text"].(map[string]any); ok {
		action.Text.Type, _ = text["type"].(string)
		action.Text.Text, _ = text["text"].(string)
	}
	var ch slack.Channel
	ch.ID = channel
	cb := slack.InteractionCallback{
		Type:        slack.InteractionTypeBlockActions,
		ResponseURL: responseURL,
		TriggerID:   trigger,
		Team:        slack.Team{ID: TeamID, Name: TeamName, Domain: "conveyor-test"},
		Channel:     ch,
		User:        user,
		Message: slack.Message{Msg: slack.Msg{
			Type: "message", User: BotUserID, BotID: BotID, Text: msg.Text,
			Timestamp: msg.TS, ThreadTimestamp: msg.ThreadTS, Blocks: msg.Blocks,
		}},
		ActionCallback:   slack.ActionCallbacks{BlockActions: []*slack.BlockAction{action}},
		APIAppID:         AppID,
		Container:        slack.Container{Type: "message", MessageTs: ts, ChannelID: channel, ThreadTs: msg.ThreadTS},
		BlockActionState: &slack.BlockActionStates{Values: map[string]map[string]slack.BlockAction{}},
	}
	return SendInteraction(appURL, secret, cb)
}

// SubmitView sends the view_submission interaction Slack sends when userID
// submits the opened view viewID. values maps block_id -> action_id -> the
// entered value (the selected option's value for selects and radio buttons);
// private_metadata and callback_id come from the view as opened.
func (s *Server) SubmitView(appURL, secret, viewID, userID string, values map[string]map[string]string) (*http.Response, error) {
	s.mu.Lock()
	v := s.view(viewID)
	if v == nil {
		s.mu.Unlock()
		return nil, fmt.Errorf("slackfake: no view %q was opened; use the id views.open returned", viewID)
	}
	view := v.snapshot()
	user := s.userLocked(userID)
	trigger, _ := s.triggerLocked()
	s.mu.Unlock()

	state := map[string]map[string]slack.BlockAction{}
	for blockID, actions := range values {
		for actionID, value := range actions {
			el := findInBlock(view.JSON, blockID, actionID)
			if el == nil {
				return nil, fmt.Errorf("slackfake: view %s has no input with block_id %q and action_id %q", viewID, blockID, actionID)
			}
			typ, _ := el["type"].(string)
			a := slack.BlockAction{Type: slack.ActionType(typ)}
			switch typ {
			case "static_select", "radio_buttons", "external_select":
				a.SelectedOption = slack.OptionBlockObject{Value: value}
			case "users_select":
				a.SelectedUser = value
			case "conversations_select":
				a.SelectedConversation = value
			case "channels_select":
				a.SelectedChannel = value
			default:
				a.Value = value
			}
			if state[blockID] == nil {
				state[blockID] = map[string]slack.BlockAction{}
			}
			state[blockID][actionID] = a
		}
	}
	req := view.Request
	cb := slack.InteractionCallback{
		Type:      slack.InteractionTypeViewSubmission,
		TriggerID: trigger,
		Team:      slack.Team{ID: TeamID, Name: TeamName, Domain: "conveyor-test"},
		User:      user,
		APIAppID:  AppID,
		View: slack.View{
			ID: view.ID, TeamID: TeamID, Type: req.Type, Title: req.Title, Close: req.Close, Submit: req.Submit,
			Blocks: req.Blocks, PrivateMetadata: req.PrivateMetadata, CallbackID: req.CallbackID,
			State: &slack.ViewState{Values: state}, Hash: "h-" + view.ID, RootViewID: view.ID,
			AppID: AppID, BotID: BotID, ExternalID: req.ExternalID,
		},
	}
	return SendInteraction(appURL, secret, cb)
}

// userLocked describes userID as Slack does in interactions; callers hold s.mu.
func (s *Server) userLocked(userID string) slack.User {
	u := slack.User{ID: userID, TeamID: TeamID, Name: userID}
	if known, ok := s.users[userID]; ok {
		u.Name, u.RealName = known.Name, known.Name
		u.Profile.Email = known.Email
	}
	return u
}

// triggerLocked returns a fresh trigger_id and action_ts; callers hold s.mu.
func (s *Server) triggerLocked() (trigger, actionTS string) {
	n := s.nextSeq()
	return fmt.Sprintf("%d.%s.trigger%06d", n, TeamID, n), fmt.Sprintf("%d.%06d", time.Now().Unix(), n)
}

// findElement finds the interactive element with action_id in blocks JSON
// (a list of blocks, or a view holding "blocks"), and its block's block_id.
func findElement(raw json.RawMessage, actionID string) (el map[string]any, blockID string, found bool) {
	for _, b := range topBlocks(raw) {
		id, _ := b["block_id"].(string)
		if el := walk(b, actionID); el != nil {
			return el, id, true
		}
	}
	return nil, "", false
}

// findInBlock finds the element with action_id inside the block block_id.
func findInBlock(raw json.RawMessage, blockID, actionID string) map[string]any {
	for _, b := range topBlocks(raw) {
		if b["block_id"] == blockID {
			return walk(b, actionID)
		}
	}
	return nil
}

func topBlocks(raw json.RawMessage) []map[string]any {
	var blocks []map[string]any
	if json.Unmarshal(raw, &blocks) == nil {
		return blocks
	}
	var view struct {
		Blocks []map[string]any `json:"blocks"`
	}
	_ = json.Unmarshal(raw, &view)
	return view.Blocks
}

// walk searches a decoded JSON value for an object with the action_id.
func walk(v any, actionID string) map[string]any {
	switch x := v.(type) {
	case map[string]any:
		if x["action_id"] == actionID {
			return x
		}
		for _, child := range x {
			if found := walk(child, actionID); found != nil {
				return found
			}
		}
	case []any:
		for _, child := range x {
			if found := walk(child, actionID); found != nil {
				return found
			}
		}
	}
	return nil
}

// buttonIDs lists the action_ids of every button in blocks, for error messages.
func buttonIDs(raw json.RawMessage) []string {
	var ids []string
	var collect func(any)
	collect = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if x["type"] == "button" {
				if id, ok := x["action_id"].(string); ok {
					ids = append(ids, strconv.Quote(id))
				}
			}
			for _, c := range x {
				collect(c)
			}
		case []any:
			for _, c := range x {
				collect(c)
			}
		}
	}
	for _, b := range topBlocks(raw) {
		collect(b)
	}
	sort.Strings(ids)
	if len(ids) == 0 {
		return []string{"none"}
	}
	return ids
}
