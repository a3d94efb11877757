package bot

import (
	"errors"
	"io"
	"net/http"
	"sync/atomic"
)

// DefaultBodyBudget is how many bytes of webhook bodies may be held, across
// all requests, before their signature is checked (WEBHOOK_BODY_BUDGET_MIB).
const DefaultBodyBudget = 64 << 20

// errBudget says the global budget for unsigned bodies is spent.
var errBudget = errors.New("webhook body budget spent")

// bodyBudget counts the body bytes held by requests whose signature is not
// checked yet. Anyone can send those, so without a bound sixteen parallel
// 25 MB posts cost 400 MB before a single one is known to be GitHub's.
type bodyBudget struct {
	max  int64
	used atomic.Int64
}

// take reserves n bytes, or reports false when that would pass the budget.
func (b *bodyBudget) take(n int64) bool {
	for {
		cur := b.used.Load()
		if cur+n > b.max {
			return false
		}
		if b.used.CompareAndSwap(cur, cur+n) {
			return true
		}
	}
}

func (b *bodyBudget) give(n int64) { b.used.Add(-n) }

// readBody reads a webhook body under the per-request cap (MaxWebhookBody)
// and the global budget. A body of announced length is reserved whole before
// a byte is read, so a request the budget cannot hold is refused without
// reading it; a body of unknown length (chunked) is reserved as it arrives.
// The caller gives back the returned reservation once the signature is
// checked.
func (b *bodyBudget) readBody(w http.ResponseWriter, r *http.Request) (body []byte, reserved int64, err error) {
	if r.ContentLength > MaxWebhookBody {
		return nil, 0, &http.MaxBytesError{Limit: MaxWebhookBody}
	}
	if r.ContentLength >= 0 {
		if !b.take(r.ContentLength) {
			return nil, 0, errBudget
		}
		body = make([]byte, r.ContentLength)
		// net/http ends the body at Content-Length; a shorter one is an error.
		if _, err := io.ReadFull(r.Body, body); err != nil {
			return nil, r.ContentLength, err
		}
		return body, r.ContentLength, nil
	}
	br := &budgetReader{r: http.MaxBytesReader(w, r.Body, MaxWebhookBody), b: b}
	body, err = io.ReadAll(br)
	return body, br.taken, err
}

// budgetReader reserves budget for each piece of a body as it is read.
type budgetReader struct {
	r     io.Reader
	b     *bodyBudget
	taken int64
}

func (r *budgetReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if n > 0 {
		if !r.b.take(int64(n)) {
			return 0, errBudget
		}
		r.taken += int64(n)
	}
	return n, err
}
