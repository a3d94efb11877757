package slackfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"
)

// Message is a message (or thread reply, or ephemeral) the server holds.
type Message struct {
	Channel    string
	TS         string
	ThreadTS   string // the parent's ts for a thread reply, "" otherwise
	User       string // the author (the bot), or the recipient of an ephemeral
	Text       string
	BlocksJSON json.RawMessage // blocks exactly as sent
	Blocks     slack.Blocks    // the same, decoded by slack-go
	Edits      int             // how many times chat.update (or a response_url) changed it
}

// stored is the server's own record; Message values handed out are copies.
type stored struct {
	Message
	deleted bool
}

func (m *stored) snapshot() Message {
	out := m.Message
	out.BlocksJSON = append(json.RawMessage(nil), m.BlocksJSON...)
	out.Blocks = slack.Blocks{}
	if len(out.BlocksJSON) > 0 {
		_ = json.Unmarshal(out.BlocksJSON, &out.Blocks) // validated when stored
	}
	return out
}

// wire renders the message as Slack's message object.
func (m *stored) wire() map[string]any {
	out := map[string]any{"type": "message", "text": m.Text, "user": BotUserID, "bot_id": BotID, "ts": m.TS, "team": TeamID}
	if m.ThreadTS != "" {
		out["thread_ts"] = m.ThreadTS
	}
	if len(m.BlocksJSON) > 0 {
		out["blocks"] = json.RawMessage(m.BlocksJSON)
	}
	return out
}

// Message returns a copy of the message (or reply) ts in channel, or nil.
func (s *Server) Message(channel, ts string) *Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.find(channel, ts); m != nil {
		out := m.snapshot()
		return &out
	}
	return nil
}

// Messages returns the top-level messages of channel, oldest first.
func (s *Server) Messages(channel string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	for _, m := range s.channels[channel] {
		if !m.deleted && m.ThreadTS == "" {
			out = append(out, m.snapshot())
		}
	}
	return out
}

// Thread returns the replies to message ts in channel, oldest first.
func (s *Server) Thread(channel, ts string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	for _, m := range s.channels[channel] {
		if !m.deleted && m.ThreadTS == ts {
			out = append(out, m.snapshot())
		}
	}
	return out
}

// Ephemerals returns the ephemeral messages sent to user, oldest first.
func (s *Server) Ephemerals(user string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	for _, m := range s.ephemerals {
		if m.User == user {
			e := stored{Message: m}
			out = append(out, e.snapshot())
		}
	}
	return out
}

// find returns the live message ts in channel; callers hold s.mu.
func (s *Server) find(channel, ts string) *stored {
	for _, m := range s.channels[channel] {
		if m.TS == ts && !m.deleted {
			return m
		}
	}
	return nil
}

// newTS returns a unique, increasing Slack timestamp; callers hold s.mu.
func (s *Server) newTS() string {
	return fmt.Sprintf("1700000000.%06d", s.nextSeq())
}

// checkMessage returns the Slack error for a message's text and blocks, with the
// details Slack gives for invalid_blocks (nil when the message is acceptable).
func checkMessage(text string, raw []byte) (map[string]any, string) {
	if utf8.RuneCountInString(text) > maxMessageText {
		return nil, "msg_too_long"
	}
	if len(raw) == 0 {
		return nil, ""
	}
	var b slack.Blocks
	if err := json.Unmarshal(raw, &b); err != nil {
		return nil, "invalid_blocks"
	}
	if errs := blockErrors(raw, maxMessageBlocks, "/blocks"); len(errs) > 0 {
		return invalidDetails(errs), "invalid_blocks"
	}
	return nil, ""
}

// invalidDetails is the detail Slack sends with invalid_blocks and invalid_arguments.
func invalidDetails(errs []string) map[string]any {
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = "[ERROR] " + e
	}
	return map[string]any{"errors": errs, "response_metadata": map[string]any{"messages": msgs}}
}

// checkChannel answers channel_not_found for a channel the workspace does not have
// and not_in_channel for one the bot is not a member of; callers hold s.mu.
func (s *Server) checkChannel(channel string) string {
	member, ok := s.known[channel]
	switch {
	case !ok:
		return "channel_not_found"
	case !member:
		return "not_in_channel"
	}
	return ""
}

func (s *Server) postMessage(q *request) (map[string]any, string) {
	channel, text, blocks, threadTS := q.get("channel"), q.get("text"), q.raw("blocks"), q.get("thread_ts")
	if channel == "" {
		return nil, "channel_not_found"
	}
	if text == "" && len(blocks) == 0 && q.get("attachments") == "" {
		return nil, "no_text"
	}
	if d, e := checkMessage(text, blocks); e != "" {
		return d, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.checkChannel(channel); e != "" {
		return nil, e
	}
	if threadTS != "" {
		parent := s.find(channel, threadTS)
		if parent == nil {
			return nil, "thread_not_found"
		}
		if parent.ThreadTS != "" {
			threadTS = parent.ThreadTS // a reply to a reply joins the same thread
		}
	}
	m := &stored{Message: Message{Channel: channel, TS: s.newTS(), ThreadTS: threadTS, User: BotUserID, Text: text, BlocksJSON: blocks}}
	s.channels[channel] = append(s.channels[channel], m)
	return map[string]any{"channel": channel, "ts": m.TS, "message": m.wire()}, ""
}

func (s *Server) update(q *request) (map[string]any, string) {
	channel, ts, text, blocks := q.get("channel"), q.get("ts"), q.get("text"), q.raw("blocks")
	if channel == "" {
		return nil, "channel_not_found"
	}
	if ts == "" {
		return nil, "message_not_found"
	}
	if text == "" && len(blocks) == 0 && q.get("attachments") == "" {
		return nil, "no_text"
	}
	if d, e := checkMessage(text, blocks); e != "" {
		return d, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.checkChannel(channel); e != "" {
		return nil, e
	}
	m := s.find(channel, ts)
	if m == nil {
		return nil, "message_not_found"
	}
	s.edit(m, text, blocks)
	return map[string]any{"channel": channel, "ts": ts, "text": m.Text, "message": m.wire()}, ""
}

// edit replaces the given parts of a message; callers hold s.mu.
func (s *Server) edit(m *stored, text string, blocks []byte) {
	if text != "" {
		m.Text = text
	}
	if len(blocks) > 0 {
		m.BlocksJSON = blocks
	}
	m.Edits++
}

func (s *Server) postEphemeral(q *request) (map[string]any, string) {
	channel, user, text, blocks := q.get("channel"), q.get("user"), q.get("text"), q.raw("blocks")
	switch {
	case channel == "":
		return nil, "channel_not_found"
	case user == "":
		return nil, "user_not_found"
	case text == "" && len(blocks) == 0 && q.get("attachments") == "":
		return nil, "no_text"
	}
	if d, e := checkMessage(text, blocks); e != "" {
		return d, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.checkChannel(channel); e != "" {
		return nil, e
	}
	ts := s.newTS()
	s.ephemerals = append(s.ephemerals, Message{Channel: channel, TS: ts, ThreadTS: q.get("thread_ts"), User: user, Text: text, BlocksJSON: blocks})
	return map[string]any{"message_ts": ts}, ""
}

// responseTarget is what a response_url handed out with an interaction acts on.
type responseTarget struct {
	channel, ts, user string
	issued            time.Time
	uses              int
}

// A response_url "can be used up to 5 times within 30 minutes" (Slack, "Handling
// user interaction", responding with response_url).
const (
	responseURLUses = 5
	responseURLLife = 30 * time.Minute
)

// newResponseURL registers a response_url for a message; callers hold s.mu.
func (s *Server) newResponseURL(channel, ts, user string) string {
	id := fmt.Sprintf("R%06d", s.nextSeq())
	s.responses[id] = &responseTarget{channel: channel, ts: ts, user: user, issued: s.now()}
	return s.URL() + "/response/" + id
}

// serveResponseURL handles posts to a response_url as Slack does:
// replace_original edits the message, delete_original removes it,
// response_type "in_channel" posts to the channel, otherwise the reply is
// ephemeral to the user who acted.
func (s *Server) serveResponseURL(w http.ResponseWriter, r *http.Request) {
	id := strings.TrimPrefix(r.URL.Path, "/response/")
	var msg struct {
		Text            string          `json:"text"`
		Blocks          json.RawMessage `json:"blocks"`
		ThreadTS        string          `json:"thread_ts"`
		ResponseType    string          `json:"response_type"`
		ReplaceOriginal bool            `json:"replace_original"`
		DeleteOriginal  bool            `json:"delete_original"`
	}
	if r.Method != http.MethodPost || json.NewDecoder(r.Body).Decode(&msg) != nil {
		http.Error(w, "invalid_payload", http.StatusBadRequest)
		return
	}
	if string(msg.Blocks) == "null" {
		msg.Blocks = nil
	}
	if _, e := checkMessage(msg.Text, msg.Blocks); e != "" {
		http.Error(w, e, http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.responses[id]
	if !ok || s.now().Sub(t.issued) > responseURLLife {
		http.Error(w, "expired_url", http.StatusNotFound)
		return
	}
	if t.uses >= responseURLUses {
		http.Error(w, "used_url", http.StatusNotFound)
		return
	}
	t.uses++
	switch {
	case msg.DeleteOriginal || msg.ReplaceOriginal:
		m := s.find(t.channel, t.ts)
		if m == nil {
			http.Error(w, "message_not_found", http.StatusNotFound)
			return
		}
		if msg.DeleteOriginal {
			m.deleted = true
		} else {
			s.edit(m, msg.Text, msg.Blocks)
		}
	case msg.ResponseType == slack.ResponseTypeInChannel:
		s.channels[t.channel] = append(s.channels[t.channel], &stored{Message: Message{
			Channel: t.channel, TS: s.newTS(), ThreadTS: msg.ThreadTS, User: BotUserID, Text: msg.Text, BlocksJSON: msg.Blocks,
		}})
	default:
		s.ephemerals = append(s.ephemerals, Message{Channel: t.channel, TS: s.newTS(), User: t.user, Text: msg.Text, BlocksJSON: msg.Blocks})
	}
	writeJSON(w, map[string]any{"ok": true})
}
