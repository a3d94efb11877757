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

// recordHead remembers that pr had head sha at time at.
func (h *Handler) recordHead(ctx context.Context, repo string, pr int, sha string, at time.Time) error {
	if h.o.Store == nil {
		return nil
	}
	return h.o.Store.RecordPRHead(ctx, store.PRHead{Repository: repo, PR: pr, SHA: sha, At: at})
}

// headAt returns the head the PR had when a comment was written at written:
// the latest recorded head at or before that time. Without any history it
// falls back to current (and says so). With history that starts after the
// comment, it refuses: every head we know of is newer than the comment, and
// deploying one could ship code the commenter never saw.
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
	var pick string
	for _, hd := range heads {
		if !hd.At.After(written) {
			pick = hd.SHA
		}
	}
	if pick == "" {
		// GitHub reports comment times in whole seconds; a head recorded
		// within that second is the one the comment saw only if nothing else
		// is known.
		if first := heads[0]; first.At.Before(written.Add(time.Second)) {
			return headChoice{SHA: first.SHA}, nil
		}
		return headChoice{}, userErr("the pull request was updated after this comment and Conveyor cannot tell which commit it was written for; comment the command again")
	}
	return headChoice{SHA: pick}, nil
}

// userError is an error whose message is written for the person who commented.
type userError struct{ msg string }

func (e *userError) Error() string { return e.msg }

func userErr(format string, args ...any) error {
	return &userError{msg: fmt.Sprintf(format, args...)}
}
