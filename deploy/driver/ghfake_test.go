package driver

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-github/v66/github"
)

// nextRunID keeps run IDs unique across fakes, as they are on GitHub.
var nextRunID atomic.Int64

// fakeGitHub answers the handful of GitHub routes the drivers use: the
// repository, workflow dispatch, workflow runs, and tarball downloads
// (redirecting to a "codeload" URL with a token, as GitHub does).
type fakeGitHub struct {
	srv      *httptest.Server
	mu       sync.Mutex
	mode     string
	tarballs map[string][]byte // sha -> tar.gz
	runs     []*fakeRun
	serving  string // sha input of the last successful run
	lastRun  *fakeRun
	requests []string
}

type fakeRun struct {
	ID         int64
	Ref        string
	Inputs     map[string]any
	Created    time.Time
	Polls      int
	Status     string
	Conclusion string
}

func newFakeGitHub(t *testing.T) *fakeGitHub {
	f := &fakeGitHub{mode: "ok", tarballs: map[string][]byte{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeGitHub) client() *github.Client {
	c := github.NewClient(f.srv.Client())
	c.BaseURL, _ = url.Parse(f.srv.URL + "/")
	return c
}

func (f *fakeGitHub) deps() Deps {
	return Deps{GitHub: func(int64) (*github.Client, error) { return f.client(), nil }, HTTP: f.srv.Client()}
}

func (f *fakeGitHub) setMode(m string) { f.mu.Lock(); f.mode = m; f.mu.Unlock() }

func (f *fakeGitHub) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, r.Method+" "+r.URL.Path)
	p := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	switch {
	case r.Method == "GET" && len(p) == 3 && p[0] == "repos":
		writeJSON(w, 200, map[string]any{"full_name": p[1] + "/" + p[2], "default_branch": "main"})
	case r.Method == "POST" && len(p) == 7 && p[3] == "actions" && p[6] == "dispatches":
		if p[5] == "missing.yml" {
			writeJSON(w, 404, map[string]any{"message": "Not Found"})
			return
		}
		var ev github.CreateWorkflowDispatchEventRequest
		if err := json.NewDecoder(r.Body).Decode(&ev); err != nil || ev.Ref == "" {
			writeJSON(w, 422, map[string]any{"message": "ref is required"})
			return
		}
		run := &fakeRun{ID: nextRunID.Add(1), Ref: ev.Ref, Inputs: ev.Inputs, Created: time.Now().UTC(), Status: "queued"}
		f.runs = append(f.runs, run)
		f.lastRun = run
		w.WriteHeader(204)
	case r.Method == "GET" && len(p) == 7 && p[3] == "actions" && p[6] == "runs":
		q := r.URL.Query()
		since, err := time.Parse(time.RFC3339, strings.TrimPrefix(q.Get("created"), ">="))
		if q.Get("event") != "workflow_dispatch" || err != nil {
			writeJSON(w, 422, map[string]any{"message": "bad filter " + r.URL.RawQuery})
			return
		}
		var list []map[string]any
		for _, run := range f.runs {
			if !run.Created.Before(since) && run.Ref == q.Get("branch") {
				list = append(list, f.runJSON(run))
			}
		}
		writeJSON(w, 200, map[string]any{"total_count": len(list), "workflow_runs": list})
	case r.Method == "GET" && len(p) == 6 && p[3] == "actions" && p[4] == "runs":
		id, _ := strconv.ParseInt(p[5], 10, 64)
		for _, run := range f.runs {
			if run.ID == id {
				f.advance(run)
				writeJSON(w, 200, f.runJSON(run))
				return
			}
		}
		writeJSON(w, 404, map[string]any{"message": "Not Found"})
	case r.Method == "GET" && len(p) == 5 && p[3] == "tarball":
		if _, ok := f.tarballs[p[4]]; !ok {
			writeJSON(w, 404, map[string]any{"message": "Not Found"})
			return
		}
		w.Header().Set("Location", f.srv.URL+"/codeload/"+p[4]+"?token=sekrit")
		w.WriteHeader(http.StatusFound)
	case r.Method == "GET" && len(p) == 2 && p[0] == "codeload":
		if r.URL.Query().Get("token") != "sekrit" {
			w.WriteHeader(403)
			return
		}
		w.Write(f.tarballs[p[1]])
	default:
		writeJSON(w, 404, map[string]any{"message": "Not Found: " + r.URL.Path})
	}
}

// advance moves a run along each time it is read: queued, in_progress,
// then completed (unless the fake hangs).
func (f *fakeGitHub) advance(run *fakeRun) {
	run.Polls++
	switch {
	case run.Status == "completed":
	case f.mode == "hang" || run.Polls == 1:
		run.Status = "in_progress"
	case f.mode == "fail":
		run.Status, run.Conclusion = "completed", "failure"
	default:
		run.Status, run.Conclusion = "completed", "success"
		f.serving, _ = run.Inputs["sha"].(string)
	}
}

func (f *fakeGitHub) runJSON(run *fakeRun) map[string]any {
	return map[string]any{
		"id": run.ID, "status": run.Status, "conclusion": run.Conclusion, "event": "workflow_dispatch",
		"head_branch": run.Ref, "created_at": run.Created.Format(time.RFC3339),
		"html_url": fmt.Sprintf("https://github.example/acme/shop/actions/runs/%d", run.ID),
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

// tarEntry is one entry of a test archive.
type tarEntry struct {
	Name, Body, Link string
	Type             byte
}

// makeTarball builds a gzipped tarball like GitHub's, with a global pax
// header first.
func makeTarball(t *testing.T, entries ...tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(tw.WriteHeader(&tar.Header{Typeflag: tar.TypeXGlobalHeader, Name: "pax_global_header", PAXRecords: map[string]string{"comment": "abc"}}))
	for _, e := range entries {
		h := &tar.Header{Name: e.Name, Mode: 0o644, Typeflag: e.Type, Linkname: e.Link}
		switch e.Type {
		case 0, tar.TypeReg:
			h.Typeflag, h.Size = tar.TypeReg, int64(len(e.Body))
		case tar.TypeDir:
			h.Mode = 0o755
		}
		must(tw.WriteHeader(h))
		if h.Typeflag == tar.TypeReg {
			_, err := tw.Write([]byte(e.Body))
			must(err)
		}
	}
	must(tw.Close())
	must(zw.Close())
	return buf.Bytes()
}
