package commands

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/go-github/v66/github"

	"github.com/conveyor-dev/conveyor/internal/store"
)

// maxReplyBytes bounds a reply comment: GitHub refuses bodies over 65,536
// characters, and a reply cut short is better than none.
const maxReplyBytes = 60000

// replyMarker is the hidden line that ends a reply comment, so that after an
// ambiguous failure (a 5xx or a lost connection after GitHub may have
// created the comment) the reply is looked for before it is created again.
func replyMarker(delivery string, n int) string {
	return fmt.Sprintf("<!-- conveyor:reply:%s:%d -->", delivery, n)
}

// react queues a reaction on the session's comment.
func (s *session) react(content string) {
	if s.commentID == 0 {
		return
	}
	s.queue(store.Reply{Kind: "reaction", CommentID: s.commentID, Content: content})
}

// reply queues the session's reply comment, addressed to the actor.
func (s *session) reply(body string) {
	body = fmt.Sprintf("@%s\n\n%s", s.actor, body)
	if len(body) > maxReplyBytes {
		body = Excerpt(body, maxReplyBytes) + "\n\n(Conveyor cut this reply short.)"
	}
	s.queue(store.Reply{Kind: "comment", Content: body})
}

func (s *session) queue(r store.Reply) {
	r.DeliveryID, r.N = s.delivery, len(s.out)
	r.Installation, r.Repository, r.PR = s.installation, s.repo, s.pr
	r.State, r.CreatedAt = store.ReplyPending, s.h.now()
	if r.Kind == "comment" && s.delivery != "" {
		r.Content += "\n\n" + replyMarker(s.delivery, r.N)
	}
	s.out = append(s.out, r)
}

// postNow tries the replies queued so far once, before the commands run (the
// :eyes: reaction says the comment was taken). What fails is tried again
// with the rest when the session finishes.
func (s *session) postNow(ctx context.Context) {
	for i := range s.out {
		if s.out[i].State == store.ReplyPending {
			s.h.post(ctx, s.gh, &s.out[i])
		}
	}
}

// finish stores the session's replies (when there is a store) and posts the
// ones not yet accepted. It returns an error while any is still pending, so
// the delivery is retried; the retry finds the stored replies and posts only
// those (see resume), without running the commands again.
func (s *session) finish(ctx context.Context) error {
	if s.h.o.Store != nil && s.delivery != "" && len(s.out) > 0 {
		if err := s.h.o.Store.SaveReplies(ctx, s.out); err != nil {
			return err
		}
	}
	return s.h.deliver(ctx, s.gh, s.out)
}

// resume posts the stored replies of a delivery whose commands already ran.
// It reports false when the delivery has none stored (its commands have not
// run, or said nothing).
func (h *Handler) resume(ctx context.Context, installation int64, delivery string) (bool, error) {
	if h.o.Store == nil || delivery == "" {
		return false, nil
	}
	rs, err := h.o.Store.Replies(ctx, delivery)
	if err != nil || len(rs) == 0 {
		return false, err
	}
	gh, err := h.o.GitHub(installation)
	if err != nil {
		return true, fmt.Errorf("github client for installation %d: %w", installation, err)
	}
	return true, h.deliver(ctx, gh, rs)
}

// deliver posts the pending replies in order, stopping at the first one
// GitHub does not accept yet (a reaction never comes before the reply it
// follows). It returns an error while any reply is pending; replies GitHub
// refuses for good are logged and count as done.
func (h *Handler) deliver(ctx context.Context, gh *github.Client, rs []store.Reply) error {
	for i := range rs {
		r := &rs[i]
		if r.State != store.ReplyPending {
			continue
		}
		h.post(ctx, gh, r)
		if r.State == store.ReplyPending {
			return fmt.Errorf("%s %d of delivery %s not accepted by GitHub yet (attempt %d): %s", r.Kind, r.N, r.DeliveryID, r.Attempts, r.LastError)
		}
	}
	return nil
}

// post tries one reply once and records the outcome in r and the store.
func (h *Handler) post(ctx context.Context, gh *github.Client, r *store.Reply) {
	owner, name := splitRepo(r.Repository)
	save := func() {
		if h.o.Store == nil || r.DeliveryID == "" {
			return
		}
		if err := h.o.Store.UpdateReply(ctx, *r); err != nil && !errors.Is(err, store.ErrNotFound) {
			h.log.Warn("reply state not saved", "delivery", r.DeliveryID, "n", r.N, "err", err)
		}
	}
	if r.Kind == "comment" && r.Attempts > 0 && r.DeliveryID != "" {
		// An earlier attempt may have created the comment without our
		// seeing the answer: look before creating it again.
		id, found, err := findReply(ctx, gh, owner, name, r)
		switch {
		case err != nil:
			r.LastError = "look for an earlier post: " + err.Error()
			save()
			return
		case found:
			r.State, r.PostedID, r.LastError = store.ReplyDone, id, ""
			save()
			return
		}
	}
	// The attempt is counted before the call: if this process dies during
	// it, the next one knows the comment may exist.
	r.Attempts++
	save()
	var err error
	switch r.Kind {
	case "reaction":
		_, _, err = gh.Reactions.CreateIssueCommentReaction(ctx, owner, name, r.CommentID, r.Content)
	case "comment":
		var c *github.IssueComment
		c, _, err = gh.Issues.CreateComment(ctx, owner, name, r.PR, &github.IssueComment{Body: &r.Content})
		if err == nil {
			r.PostedID = c.GetID()
		}
	default:
		err = fmt.Errorf("unknown reply kind %q", r.Kind)
	}
	switch {
	case err == nil:
		r.State, r.LastError = store.ReplyDone, ""
	case refusedForGood(err):
		r.State, r.LastError = store.ReplyFailed, err.Error()
		h.log.Error("GitHub refused a reply for good", "repo", r.Repository, "pr", r.PR, "kind", r.Kind, "delivery", r.DeliveryID, "err", err)
	default:
		r.LastError = err.Error()
		h.log.Warn("reply not posted yet", "repo", r.Repository, "pr", r.PR, "kind", r.Kind, "delivery", r.DeliveryID, "attempt", r.Attempts, "err", err)
	}
	save()
}

// findReply looks for r's marker among the PR's comments made since r was
// queued.
func findReply(ctx context.Context, gh *github.Client, owner, name string, r *store.Reply) (int64, bool, error) {
	marker := replyMarker(r.DeliveryID, r.N)
	since := r.CreatedAt.Add(-5 * time.Minute) // clock skew between this server and GitHub
	opt := &github.IssueListCommentsOptions{Since: &since, ListOptions: github.ListOptions{PerPage: 100}}
	for page := 0; page < 10; page++ {
		cs, resp, err := gh.Issues.ListComments(ctx, owner, name, r.PR, opt)
		if err != nil {
			return 0, false, err
		}
		for _, c := range cs {
			if strings.Contains(c.GetBody(), marker) {
				return c.GetID(), true, nil
			}
		}
		if resp.NextPage == 0 {
			break
		}
		opt.Page = resp.NextPage
	}
	return 0, false, nil
}

// refusedForGood reports whether GitHub's answer says a retry cannot help: a
// 4xx other than rate limits (go-github reports those as their own error
// types), 408 and 429. Transport failures and 5xx are worth retrying.
func refusedForGood(err error) bool {
	var er *github.ErrorResponse
	if !errors.As(err, &er) || er.Response == nil {
		return false
	}
	code := er.Response.StatusCode
	return code >= 400 && code < 500 && code != http.StatusRequestTimeout && code != http.StatusTooManyRequests
}
