package commands

import (
	"context"
	"fmt"
	"time"

	"github.com/conveyor-dev/conveyor/internal/store"
)

// headChoice is the commit a command acts on and how it was found.
type headChoice struct {
	SHA      string
	Fallback bool // no history was recorded: the PR's current head was used
}

// headTime is when a pull_request event says the PR got its head: GitHub's
// updated_at of the pull request, which an opened, synchronize or reopened
// event carries as the time of that change, however late or often the event
// is delivered. Comments are timed by GitHub too (created_at), so both sides
// of the comparison in headAt come from GitHub's clock; this server's clock
// is used only when the event carries no updated_at.
func (h *Handler) headTime(updated time.Time) time.Time {
	if updated.IsZero() {
		return h.now()
	}
	return updated
}

// recordHead remembers that pr had head sha at time at.
func (h *Handler) recordHead(ctx context.Context, repo string, pr int, sha string, at time.Time) error {
	if h.o.Store == nil {
		return nil
	}
	return h.o.Store.RecordPRHead(ctx, store.PRHead{Repository: repo, PR: pr, SHA: sha, At: at})
}

// headAt returns the head the PR had when a comment was written at written:
// the latest recorded head from a second before the comment's second or
// earlier (GitHub gives both times in whole seconds). Without any history it
// falls back to current (and says so). A head from the comment's own second
// is used only when it is the first head known (the PR was opened then);
// next to an older head it is ambiguous, and so is a history that starts
// after the comment: the command is refused rather than risk deploying code
// the commenter never saw.
func (h *Handler) headAt(ctx context.Context, repo string, pr int, written time.Time, current string) (headChoice, error) {
	if h.o.Store == nil || written.IsZero() {
		return headChoice{SHA: current, Fallback: true}, nil
	}
	heads, err := h.o.Store.PRHeads(ctx, repo, pr)
	if err != nil {
		return headChoice{}, err
	}
	if len(heads) == 0 {
		return headChoice{SHA: current, Fallback: true}, nil
	}
	ws := written.Truncate(time.Second)
	var before, same []store.PRHead
	for _, hd := range heads {
		switch hs := hd.At.Truncate(time.Second); {
		case hs.Before(ws):
			before = append(before, hd)
		case hs.Equal(ws):
			same = append(same, hd)
		}
	}
	switch {
	case len(same) == 0 && len(before) > 0:
		return headChoice{SHA: before[len(before)-1].SHA}, nil
	case len(same) == 1 && len(before) == 0:
		return headChoice{SHA: same[0].SHA}, nil
	}
	return headChoice{}, userErr("the pull request was updated after this comment and Conveyor cannot tell which commit it was written for; comment the command again")
}

// userError is an error whose message is written for the person who commented.
type userError struct{ msg string }

func (e *userError) Error() string { return e.msg }

func userErr(format string, args ...any) error {
	return &userError{msg: fmt.Sprintf(format, args...)}
}
