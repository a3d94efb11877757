package slackapproval

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/slack-go/slack"
)

// InteractionArgs is the slack_interaction job: one button click or modal
// submission, reduced to what acting on it needs.
type InteractionArgs struct {
	Type                string `json:"type"` // block_actions or view_submission
	TeamID              string `json:"team_id,omitempty"`
	UserID              string `json:"user_id"`
	UserName            string `json:"user_name,omitempty"`
	ActionID            string `json:"action_id,omitempty"`
	Value               string `json:"value,omitempty"` // the button's value: the deployment id
	Channel             string `json:"channel,omitempty"`
	TS                  string `json:"ts,omitempty"` // the clicked message's ts
	CallbackID          string `json:"callback_id,omitempty"`
	ViewPrivateMetadata string `json:"view_private_metadata,omitempty"` // the modal's deployment id
	Reason              string `json:"reason,omitempty"`
}

// Kind names the job for river.
func (InteractionArgs) Kind() string { return "slack_interaction" }

// ErrNotOurs marks a well-formed interaction that is not one of Conveyor's
// buttons or modals; it is acknowledged and ignored.
var ErrNotOurs = errors.New("not a Conveyor approval interaction")

// IsRejectClick reports whether the interaction is a Reject button click,
// which must open the reason modal at once (its trigger_id lives 3 seconds).
func (a InteractionArgs) IsRejectClick() bool {
	return a.Type == string(slack.InteractionTypeBlockActions) && a.ActionID == ActionReject
}

// DeploymentID is the deployment the interaction is about.
func (a InteractionArgs) DeploymentID() (int64, error) {
	raw := a.Value
	if a.Type == string(slack.InteractionTypeViewSubmission) {
		raw = a.ViewPrivateMetadata
	}
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("interaction names deployment %q, which is not a deployment id", raw)
	}
	return id, nil
}

// FromCallback reduces a Slack interaction payload to InteractionArgs.
// Interactions that are not Conveyor's return ErrNotOurs; Conveyor's with
// missing parts return a descriptive error.
func FromCallback(cb *slack.InteractionCallback) (InteractionArgs, error) {
	a := InteractionArgs{Type: string(cb.Type), TeamID: cb.Team.ID, UserID: cb.User.ID, UserName: cb.User.Name}
	switch cb.Type {
	case slack.InteractionTypeBlockActions:
		var act *slack.BlockAction
		for _, b := range cb.ActionCallback.BlockActions {
			if b != nil && (b.ActionID == ActionApprove || b.ActionID == ActionReject) {
				act = b
				break
			}
		}
		if act == nil {
			return a, ErrNotOurs
		}
		a.ActionID, a.Value = act.ActionID, act.Value
		a.Channel = cmpOr(cb.Container.ChannelID, cb.Channel.ID)
		a.TS = cmpOr(cb.Container.MessageTs, cb.Message.Timestamp)
	case slack.InteractionTypeViewSubmission:
		if cb.View.CallbackID != CallbackReject {
			return a, ErrNotOurs
		}
		a.CallbackID = cb.View.CallbackID
		a.ViewPrivateMetadata = cb.View.PrivateMetadata
		if cb.View.State != nil {
			a.Reason = strings.TrimSpace(cb.View.State.Values[ReasonBlock][ReasonAction].Value)
		}
	default:
		return a, ErrNotOurs
	}
	if a.UserID == "" {
		return a, errors.New("interaction has no user.id")
	}
	if _, err := a.DeploymentID(); err != nil {
		return a, err
	}
	return a, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
