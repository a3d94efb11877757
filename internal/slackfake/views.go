package slackfake

import (
	"encoding/json"
	"fmt"

	"github.com/slack-go/slack"
)

// View is a modal opened with views.open.
type View struct {
	ID        string
	TriggerID string
	JSON      json.RawMessage        // the "view" argument exactly as sent
	Request   slack.ModalViewRequest // the same, decoded by slack-go
}

// User is a workspace member known to users.info.
type User struct {
	ID, Name, Email string
}

// AddUser makes a user known to users.info and names them in interactions.
func (s *Server) AddUser(id, name, email string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[id] = User{ID: id, Name: name, Email: email}
}

// Views returns the views opened so far, oldest first.
func (s *Server) Views() []View {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]View, 0, len(s.views))
	for _, v := range s.views {
		out = append(out, v.snapshot())
	}
	return out
}

func (v *View) snapshot() View {
	out := *v
	out.JSON = append(json.RawMessage(nil), v.JSON...)
	out.Request = slack.ModalViewRequest{}
	_ = json.Unmarshal(out.JSON, &out.Request) // validated when opened
	return out
}

// view returns the opened view id; callers hold s.mu.
func (s *Server) view(id string) *View {
	for _, v := range s.views {
		if v.ID == id {
			return v
		}
	}
	return nil
}

func (s *Server) openView(q *request) (map[string]any, string) {
	trigger, raw := q.get("trigger_id"), q.raw("view")
	if trigger == "" {
		return nil, "invalid_trigger_id"
	}
	if len(raw) == 0 {
		return nil, "invalid_arguments"
	}
	var req slack.ModalViewRequest
	if err := json.Unmarshal(raw, &req); err != nil || req.Type == "" {
		return nil, "invalid_arguments"
	}
	if errs := viewErrors(raw); len(errs) > 0 {
		return invalidDetails(errs), "invalid_arguments"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v := &View{ID: fmt.Sprintf("V%08d", s.nextSeq()), TriggerID: trigger, JSON: raw}
	s.views = append(s.views, v)
	return map[string]any{"view": map[string]any{
		"id": v.ID, "team_id": TeamID, "type": req.Type, "title": req.Title, "close": req.Close, "submit": req.Submit,
		"blocks": req.Blocks, "private_metadata": req.PrivateMetadata, "callback_id": req.CallbackID,
		"state": map[string]any{"values": map[string]any{}}, "hash": "h-" + v.ID, "root_view_id": v.ID,
		"app_id": AppID, "bot_id": BotID, "external_id": req.ExternalID,
		"clear_on_close": req.ClearOnClose, "notify_on_close": req.NotifyOnClose,
	}}, ""
}

func (s *Server) userInfo(q *request) (map[string]any, string) {
	id := q.get("user")
	s.mu.Lock()
	u, ok := s.users[id]
	s.mu.Unlock()
	if !ok {
		return nil, "user_not_found"
	}
	return map[string]any{"user": map[string]any{
		"id": u.ID, "team_id": TeamID, "name": u.Name, "real_name": u.Name, "deleted": false, "is_bot": false,
		"profile": map[string]any{"email": u.Email, "real_name": u.Name, "display_name": u.Name, "team": TeamID},
	}}, ""
}
