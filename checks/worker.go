package checks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/riverqueue/river"

	"github.com/conveyor-dev/conveyor/internal/store"
)

// EvaluateArgs is the checks_evaluate job: evaluate a PR at a head SHA.
// One job is enqueued per SHA at a time; requests that arrive meanwhile are
// served by it. Seq is the request that enqueued it.
type EvaluateArgs struct {
	Installation int64  `json:"installation"`
	Repo         string `json:"repo"`
	PR           int    `json:"pr"`
	SHA          string `json:"sha"`
	BaseRef      string `json:"base_ref"`
	Seq          int64  `json:"seq"`
}

// Kind implements river.JobArgs.
func (EvaluateArgs) Kind() string { return "checks_evaluate" }

type evaluateWorker struct {
	river.WorkerDefaults[EvaluateArgs]
	s *Suite
}

// Register adds the checks_evaluate worker.
func (s *Suite) Register(workers *river.Workers) {
	river.AddWorker(workers, &evaluateWorker{s: s})
	river.AddWorker(workers, &retryWorker{s: s})
}

// maxRounds bounds how often one job re-evaluates for requests that keep
// arriving while it runs before it yields.
const maxRounds = 5

func (w *evaluateWorker) Work(ctx context.Context, job *river.Job[EvaluateArgs]) error {
	// Debounce: let a burst of events gather before reading what they asked.
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(w.s.o.Debounce):
	}
	for range maxRounds {
		settled, err := w.s.work(ctx, job.Args)
		if err != nil || settled {
			return err
		}
	}
	return river.JobSnooze(w.s.o.Debounce)
}

// work runs one evaluation of what is pending for the SHA and writes it.
// settled is false when requests arrived meanwhile and it must run again.
func (s *Suite) work(ctx context.Context, a EvaluateArgs) (settled bool, err error) {
	db := s.o.Store.DB
	head, err := store.GetCheckHead(ctx, db, a.Repo, a.PR)
	if errors.Is(err, store.ErrNotFound) || (err == nil && head.SHA != a.SHA) {
		return true, nil // the PR moved on: a newer job evaluates its head
	}
	if err != nil {
		return false, err
	}
	req, err := store.GetCheckRequest(ctx, db, a.Repo, a.SHA)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !req.Full && len(req.CI) == 0) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	stored, err := store.CheckResults(ctx, db, a.Repo, a.SHA)
	if err != nil {
		return false, err
	}
	var only map[string]bool
	if !req.Full && len(stored) > 0 {
		only = map[string]bool{}
		for _, r := range stored {
			if awaitsCI(r) {
				only[r.Artifact] = true
			}
			for _, n := range req.CI {
				if r.Artifact != "" && contains(r.CI, n) {
					only[r.Artifact] = true
				}
			}
		}
	}
	if s.o.GitHub == nil {
		return false, errors.New("checks: Options.GitHub is required to evaluate pull requests")
	}
	gh, err := s.o.GitHub(head.InstallationID)
	if err != nil {
		return false, fmt.Errorf("GitHub client for installation %d: %w", head.InstallationID, err)
	}
	f, err := s.newGitHubFacts(gh, Change{Repository: a.Repo, Number: a.PR, Author: head.Author, HeadSHA: a.SHA,
		BaseRef: head.BaseRef, BaseSHA: head.BaseSHA, HeadSeen: head.UpdatedAt})
	if err != nil {
		return false, err
	}
	since := map[string]time.Time{}
	for _, r := range stored {
		if r.Artifact != "" && r.WaitingSince != 0 {
			since[r.Artifact] = time.UnixMilli(r.WaitingSince)
		}
	}
	ev, err := s.evaluate(ctx, f, only, since)
	if err != nil {
		return false, err
	}
	if s.afterEvaluate != nil {
		s.afterEvaluate()
	}

	unlock := s.lockSHA(a.Repo + "@" + a.SHA)
	defer unlock()
	if ok, err := store.ClaimCheckWrite(ctx, db, a.Repo, a.SHA, req.Seq); err != nil || !ok {
		return false, err // !ok: a newer evaluation has written; run again for what is pending now
	}
	if stored, err = store.CheckResults(ctx, db, a.Repo, a.SHA); err != nil {
		return false, err
	}
	done := map[string]*ArtifactResult{}
	for _, res := range ev.result.Artifacts {
		done[res.Name] = res
		name := CheckName(res.Name)
		row, err := s.writeCheck(ctx, gh, a.Repo, a.PR, a.SHA, artifactOutput(res), stored[name])
		if err != nil {
			return false, err
		}
		if row.Digest != stored[name].Digest {
			if err := s.saveOwners(ctx, a.Repo, res, ev); err != nil {
				return false, err
			}
		}
		row.Artifact, row.Kind, row.CI, row.Selection, row.Seq = res.Name, res.Kind, res.CI, res.Selection, req.Seq
		evJSON, err := json.Marshal(res.Evidence)
		if err != nil {
			return false, fmt.Errorf("evidence of %s: %w", res.Name, err)
		}
		row.Evidence, row.Overridable = string(evJSON), res.Overridable
		cardJSON, err := json.Marshal(storedCard{Card: res.Card, Cost: res.Cost})
		if err != nil {
			return false, fmt.Errorf("card of %s: %w", res.Name, err)
		}
		row.Card = string(cardJSON)
		row.WaitingSince = 0
		if !res.WaitingSince.IsZero() {
			row.WaitingSince = res.WaitingSince.UnixMilli()
		}
		if err := store.SaveCheckResult(ctx, db, row); err != nil {
			return false, err
		}
	}
	rows := make([]GateRow, 0, len(ev.touched))
	for _, art := range ev.touched {
		if res := done[art.Name]; res != nil {
			rows = append(rows, gateRow(res))
		} else if st, ok := stored[CheckName(art.Name)]; ok {
			rows = append(rows, GateRow{Name: art.Name, Kind: st.Kind, Status: st.Status, Conclusion: st.Conclusion, Title: st.Title})
		} else {
			rows = append(rows, GateRow{Name: art.Name, Kind: art.Kind, Status: StatusInProgress, Title: "not evaluated yet"})
		}
	}
	gate := gateFrom(rows, ev)
	row, err := s.writeCheck(ctx, gh, a.Repo, a.PR, a.SHA, gateOutput(gate), stored[GateName])
	if err != nil {
		return false, err
	}
	row.Seq = req.Seq
	if err := store.SaveCheckResult(ctx, db, row); err != nil {
		return false, err
	}
	if err := s.scheduleRetry(ctx, a.Repo, a.SHA, ev.result.Artifacts); err != nil {
		return false, err
	}
	return store.SettleCheckRequest(ctx, db, a.Repo, a.SHA, req.Seq)
}

// lockSHA serializes writers of one SHA within this process; across
// processes the claimed sequence number keeps older results from winning.
func (s *Suite) lockSHA(key string) func() {
	h := fnv.New32a()
	h.Write([]byte(key))
	m := &s.writing[h.Sum32()%uint32(len(s.writing))]
	m.Lock()
	return m.Unlock
}

// saveOwners records an artifact's kind and owners (as its governing config
// reads them) for the dashboard's team filter; called when its check changed.
func (s *Suite) saveOwners(ctx context.Context, repo string, res *ArtifactResult, ev *evaluation) error {
	for _, art := range ev.touched {
		if art.Name == res.Name {
			return store.SetArtifactOwners(ctx, s.o.Store.DB, store.ArtifactOwnersRow{Repository: repo, Artifact: res.Name, Kind: res.Kind, Owners: art.Owners})
		}
	}
	return nil
}
