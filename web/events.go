package web

import (
	"fmt"
	"net/http"
	"time"

	"github.com/conveyor-dev/conveyor/internal/store"
)

// streamLife bounds one event stream; the browser's EventSource reconnects
// by itself, so a stream never outlives a proxy's idea of an idle request
// by much and a deploy of Conveyor never waits for old streams.
const streamLife = 5 * time.Minute

// overviewEvents streams "change" whenever a deployment of a repository
// the viewer may read changes: the page's script then reloads what it
// shows. Without JavaScript the page is simply read as it was served.
func (s *Server) overviewEvents(w http.ResponseWriter, r *http.Request, v viewer) {
	repos, err := s.readable(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.stream(w, r, repos, 0)
}

// pullEvents streams "change" whenever a deployment of the pull request
// changes state or step, or gets an approval.
func (s *Server) pullEvents(w http.ResponseWriter, r *http.Request, v viewer) {
	repo, n, ok := s.pullOf(w, r)
	if !ok {
		return
	}
	s.stream(w, r, []string{repo}, n)
}

// stream is a server-sent event stream (text/event-stream, as the HTML
// standard's EventSource reads it): a "change" event when the fingerprint
// of the deployments moves, a comment line as a heartbeat otherwise.
func (s *Server) stream(w http.ResponseWriter, r *http.Request, repos []string, pr int) {
	// The fingerprint is taken before the stream opens, so a change made
	// once the client sees the stream open is never missed.
	last, err := store.Fingerprint(r.Context(), s.o.Store.DB, repos, pr)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	// Reconnect after the poll interval, not the browser's default 3 s.
	fmt.Fprintf(w, "retry: %d\n\n", s.o.Live.Milliseconds())
	if err := rc.Flush(); err != nil {
		return
	}
	tick := time.NewTicker(s.o.Live)
	defer tick.Stop()
	end := time.NewTimer(streamLife)
	defer end.Stop()
	beats := 0
	for {
		select {
		case <-r.Context().Done():
			return
		case <-s.o.Done:
			return
		case <-end.C:
			return
		case <-tick.C:
		}
		fp, err := store.Fingerprint(r.Context(), s.o.Store.DB, repos, pr)
		if err != nil {
			s.o.Log.Warn("event stream", "err", err)
			return
		}
		beats++
		switch {
		case fp != last:
			last = fp
			fmt.Fprintf(w, "event: change\ndata: %s\n\n", fp)
		case beats%10 == 0:
			fmt.Fprint(w, ": still here\n\n")
		default:
			continue
		}
		if err := rc.Flush(); err != nil {
			return
		}
	}
}
