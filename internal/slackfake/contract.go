package slackfake

import (
	"strings"

	"github.com/conveyor-dev/conveyor/internal/fakeapi"
)

// formErrors are the answers Slack gives to a call whose form is wrong (a missing
// argument, blocks over Block Kit's limits, text over 40,000 characters, a malformed
// view): the caller's bug, never the workspace's state. Answers about the workspace
// (channel_not_found, not_in_channel, message_not_found, user_not_found, expired
// triggers) are not here: a product may meet them in production and must handle them.
var formErrors = map[string]bool{
	"invalid_blocks": true, "msg_too_long": true, "invalid_arguments": true, "no_text": true,
	"invalid_form_data": true, "unknown_method": true, "invalid_trigger_id": true,
}

// noteRefusal records a call refused for its form; injected faults never get here.
func (s *Server) noteRefusal(method, slackErr string, detail map[string]any) {
	if !formErrors[slackErr] {
		return
	}
	msg := method + ": " + slackErr
	if errs, ok := detail["errors"].([]string); ok {
		msg += " (" + strings.Join(errs, "; ") + ")"
	}
	s.refused.Record(msg)
}

// ContractViolations lists the calls so far that Slack would refuse for their form.
func (s *Server) ContractViolations() []string { return s.refused.Calls() }

// TakeContractViolations returns the violations so far and forgets them: for a test
// that sends a wrong call on purpose.
func (s *Server) TakeContractViolations() []string { return s.refused.Take() }

// TB is the part of testing.TB that NewTest needs.
type TB = fakeapi.TB

// NewTest starts an emulator for a test: closed when the test ends, and the test fails
// if the code under test made a call Slack would refuse for its form (over Block Kit's
// limits as @slack/types@3.2.0 states them, a missing argument, a malformed view).
func NewTest(t TB, opts ...Option) *Server {
	t.Helper()
	s := New(opts...)
	fakeapi.HoldToContract(t, "slackfake contract", s.Close, s.ContractViolations)
	return s
}
