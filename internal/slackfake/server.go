// Package slackfake is an in-process Slack Web API for tests and the demo.
// It answers the methods Conveyor calls (chat.postMessage, chat.update,
// chat.postEphemeral, views.open, users.info, auth.test) the way Slack does
// for github.com/slack-go/slack, keeps the messages, threads, ephemerals and
// views it received, injects faults, and sends signed interactions (button
// clicks, view submissions) to an app the way Slack would. It must not be
// used in production code paths.
package slackfake

import (
	"crypto/subtle"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/conveyor-dev/conveyor/internal/fakeapi"
)

// DefaultToken is the bot token the server accepts unless WithToken is given.
const DefaultToken = "xoxb-conveyor-test-token"

// Workspace identity returned by auth.test and used in interactions.
const (
	TeamID    = "T0CONVEYOR"
	TeamName  = "Conveyor Test"
	BotUserID = "U0CONVEYORBOT"
	BotID     = "B0CONVEYOR"
	AppID     = "A0CONVEYOR"
)

// Call is one Web API request the server received.
type Call struct {
	Method string     // Slack method, e.g. "chat.postMessage"
	Params url.Values // form fields, or top-level JSON fields (non-strings as JSON)
	Body   string     // raw request body
	Status int        // HTTP status answered
	Error  string     // Slack "error" when ok was false
}

// Server is a running Slack emulator. All methods are safe for concurrent use.
type Server struct {
	srv   *httptest.Server
	token string

	mu         sync.Mutex
	seq        int
	channels   map[string][]*stored // channel -> messages and replies, in post order
	ephemerals []Message
	views      []*View
	users      map[string]User
	responses  map[string]*responseTarget // response_url id -> message
	known      map[string]bool            // channel ID or name -> the bot is a member
	clock      time.Duration              // Advance's offset from the real clock

	// calls, faults and latency carry their own locks; mu does not guard them.
	calls   fakeapi.Log[Call]
	faults  fakeapi.Faults[fault]
	latency fakeapi.Latency
	// refused are calls Slack would refuse for their form (contract.go).
	refused fakeapi.Log[string]
}

// Option configures a Server.
type Option func(*Server)

// WithToken sets the one bot token the server accepts (default DefaultToken).
func WithToken(tok string) Option {
	return func(s *Server) { s.token = tok }
}

// New starts an emulator on a loopback port. Point slack-go at it with
// slack.OptionAPIURL(fake.URL()+"/api/"). Call Close when done.
func New(opts ...Option) *Server {
	s := &Server{
		token:     DefaultToken,
		channels:  map[string][]*stored{},
		users:     map[string]User{},
		responses: map[string]*responseTarget{},
		known:     map[string]bool{},
	}
	for _, o := range opts {
		o(s)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/api/", s.serveAPI)
	mux.HandleFunc("/response/", s.serveResponseURL)
	s.srv = httptest.NewServer(mux)
	return s
}

// AddChannel makes a channel (by ID or by name, as chat.postMessage accepts either)
// exist in the workspace, with the bot a member or not. Posting to a channel that
// was not added answers channel_not_found; to one the bot is not in, not_in_channel.
func (s *Server) AddChannel(channel string, botMember bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.known[channel] = botMember
}

// Advance moves the emulator's clock forward (response_url expiry).
func (s *Server) Advance(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clock += d
}

// now is the emulator's clock; callers hold s.mu.
func (s *Server) now() time.Time { return time.Now().Add(s.clock) }

// URL is the server's base URL (no trailing slash).
func (s *Server) URL() string { return s.srv.URL }

// Token is the bot token the server accepts.
func (s *Server) Token() string { return s.token }

// Close shuts the server down.
func (s *Server) Close() { s.srv.Close() }

// Calls returns a copy of the Web API request log, oldest first.
func (s *Server) Calls() []Call { return s.calls.Calls() }

// ResetCalls empties the request log.
func (s *Server) ResetCalls() { s.calls.Reset() }

// SetLatency delays every Web API answer by d (0 turns it off).
func (s *Server) SetLatency(d time.Duration) { s.latency.Set(d) }

type faultKind int

const (
	faultHTTP faultKind = iota
	faultSlackError
	faultRateLimit
	faultPass // answers normally: lets calls through before the faults queued after it
)

// fault makes calls of a method fail in one way; fakeapi.Faults counts how many.
type fault struct {
	method     string // "*" matches every method
	kind       faultKind
	status     int
	slackError string
	retryAfter time.Duration
}

// FailNext makes the next n calls of method (or "*" for any) answer the HTTP
// status, e.g. 500 or 503, with an HTML body as Slack's edge does.
func (s *Server) FailNext(method string, n, status int) {
	s.faults.Add(fault{method: method, kind: faultHTTP, status: status}, n)
}

// ErrorNext makes the next n calls of method (or "*") answer
// {"ok":false,"error":slackError}, e.g. "channel_not_found".
func (s *Server) ErrorNext(method, slackError string, n int) {
	s.faults.Add(fault{method: method, kind: faultSlackError, slackError: slackError}, n)
}

// RateLimitNext makes the next n calls of method (or "*") answer HTTP 429
// with Retry-After in whole seconds (at least 1), as Slack does.
func (s *Server) RateLimitNext(method string, n int, retryAfter time.Duration) {
	s.faults.Add(fault{method: method, kind: faultRateLimit, retryAfter: retryAfter}, n)
}

// PassNext lets the next n calls of method (or "*") through unharmed, so a
// fault queued after it hits call n+1: PassNext("chat.postMessage", 1) then
// FailNext("chat.postMessage", 1, 503) fails the second post.
func (s *Server) PassNext(method string, n int) {
	s.faults.Add(fault{method: method, kind: faultPass}, n)
}

// serveAPI handles /api/<method>: latency, auth, faults, then the method.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	method := strings.TrimPrefix(r.URL.Path, "/api/")
	req, parseErr := parseRequest(r)
	call := Call{Method: method, Params: req.params(), Body: string(req.body), Status: http.StatusOK}
	defer func() { s.calls.Record(call) }()

	if !s.latency.Wait(r.Context()) {
		call.Status = 499 // the client went away
		return
	}

	fail := func(e string) {
		call.Error = e
		writeJSON(w, map[string]any{"ok": false, "error": e})
	}
	switch tok := req.token(); {
	case tok == "":
		fail("not_authed")
		return
	case subtle.ConstantTimeCompare([]byte(tok), []byte(s.token)) != 1:
		fail("invalid_auth")
		return
	}
	if f, ok := s.faults.Take(func(f fault) bool { return f.method == method || f.method == "*" }); ok && f.kind != faultPass {
		switch f.kind {
		case faultHTTP:
			call.Status = f.status
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(f.status)
			_, _ = fmt.Fprintf(w, "<html><body>injected fault: HTTP %d</body></html>", f.status)
		case faultRateLimit:
			call.Status = http.StatusTooManyRequests
			secs := int(math.Max(1, math.Ceil(f.retryAfter.Seconds())))
			w.Header().Set("Retry-After", strconv.Itoa(secs))
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = w.Write([]byte(`{"ok":false,"error":"ratelimited"}`))
		case faultSlackError:
			fail(f.slackError)
		}
		return
	}
	if parseErr != nil {
		fail("invalid_form_data")
		return
	}

	var resp map[string]any
	var slackErr string
	switch method {
	case "chat.postMessage":
		resp, slackErr = s.postMessage(req)
	case "chat.update":
		resp, slackErr = s.update(req)
	case "chat.postEphemeral":
		resp, slackErr = s.postEphemeral(req)
	case "views.open":
		resp, slackErr = s.openView(req)
	case "users.info":
		resp, slackErr = s.userInfo(req)
	case "auth.test":
		resp = map[string]any{
			"url": "https://conveyor-test.slack.com/", "team": TeamName, "user": "conveyor",
			"team_id": TeamID, "user_id": BotUserID, "bot_id": BotID,
		}
	default:
		slackErr = "unknown_method"
	}
	if slackErr != "" {
		s.noteRefusal(method, slackErr, resp)
		call.Error = slackErr
		out := map[string]any{"ok": false, "error": slackErr}
		for k, v := range resp { // invalid_blocks carries errors and response_metadata
			out[k] = v
		}
		writeJSON(w, out)
		return
	}
	resp["ok"] = true
	writeJSON(w, resp)
}

// nextSeq returns a fresh sequence number; callers hold s.mu.
func (s *Server) nextSeq() int {
	s.seq++
	return s.seq
}
