package store_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/conveyor-dev/conveyor/internal/store"
	"github.com/conveyor-dev/conveyor/internal/store/storetest"
)

// TestOpenCheckHeads: a closed pull request's head is forgotten, so a
// repository's refresh skips it; reopening records it again.
func TestOpenCheckHeads(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		for pr, sha := range map[int]string{3: "ccc", 4: "ddd"} {
			if err := store.SetCheckHead(ctx, s.DB, store.CheckHead{Repository: "acme/shop", PR: pr, SHA: sha}); err != nil {
				t.Fatal(err)
			}
		}
		if err := store.SetCheckHead(ctx, s.DB, store.CheckHead{Repository: "acme/other", PR: 3, SHA: "eee"}); err != nil {
			t.Fatal(err)
		}
		if err := store.DeleteCheckHead(ctx, s.DB, "acme/shop", 3); err != nil {
			t.Fatal(err)
		}
		hs, err := store.OpenCheckHeads(ctx, s.DB, "acme/shop")
		if err != nil || len(hs) != 1 || hs[0].PR != 4 || hs[0].SHA != "ddd" {
			t.Fatalf("open heads = %+v, %v; want PR 4 only", hs, err)
		}
		if err := store.DeleteCheckHead(ctx, s.DB, "acme/shop", 99); err != nil {
			t.Errorf("forgetting an unknown PR: %v", err)
		}
	})
}

func TestCheckHeads(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		if _, err := store.GetCheckHead(ctx, s.DB, "acme/shop", 7); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown PR: err = %v, want ErrNotFound", err)
		}
		h := store.CheckHead{Repository: "acme/shop", PR: 7, SHA: "aaa", BaseRef: "main", BaseSHA: "b1", Author: "octo", InstallationID: 9}
		if err := store.SetCheckHead(ctx, s.DB, h); err != nil {
			t.Fatal(err)
		}
		h.SHA, h.BaseSHA = "bbb", "b2"
		if err := store.SetCheckHead(ctx, s.DB, h); err != nil {
			t.Fatal(err)
		}
		got, err := store.GetCheckHead(ctx, s.DB, "acme/shop", 7)
		if err != nil {
			t.Fatal(err)
		}
		if got.SHA != "bbb" || got.BaseSHA != "b2" || got.BaseRef != "main" || got.Author != "octo" || got.InstallationID != 9 {
			t.Fatalf("head = %+v, want the second one", got)
		}
		// The same head again (a redelivery) writes nothing: its time stays.
		time.Sleep(3 * time.Millisecond) // let the millisecond clock move
		if err := store.SetCheckHead(ctx, s.DB, h); err != nil {
			t.Fatal(err)
		}
		if again, err := store.GetCheckHead(ctx, s.DB, "acme/shop", 7); err != nil || !again.UpdatedAt.Equal(got.UpdatedAt) {
			t.Fatalf("same head again: %+v, %v; want it untouched (updated %v)", again, err, got.UpdatedAt)
		}
		// Any field that changes is written.
		h.Author = "hubot"
		if err := store.SetCheckHead(ctx, s.DB, h); err != nil {
			t.Fatal(err)
		}
		if moved, err := store.GetCheckHead(ctx, s.DB, "acme/shop", 7); err != nil || moved.Author != "hubot" {
			t.Fatalf("changed author: %+v, %v", moved, err)
		}
		at, err := store.CheckHeadsAt(ctx, s.DB, "acme/shop", "aaa")
		if err != nil || len(at) != 0 {
			t.Fatalf("heads at old sha = %v, %v; want none", at, err)
		}
		at, err = store.CheckHeadsAt(ctx, s.DB, "acme/shop", "bbb")
		if err != nil || len(at) != 1 || at[0].PR != 7 {
			t.Fatalf("heads at bbb = %v, %v; want PR 7", at, err)
		}
		err = store.SetCheckHead(ctx, s.DB, store.CheckHead{Repository: "acme/shop"})
		if err == nil || !strings.Contains(err.Error(), "required") {
			t.Fatalf("empty head: err = %v, want a message naming what is required", err)
		}
	})
}

func TestCheckRequestsCoalesceAndOrder(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		q := s.DB
		seq1, enq1, err := store.RequestCheck(ctx, q, "acme/shop", "aaa", false, []string{"test"}, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		seq2, enq2, _ := store.RequestCheck(ctx, q, "acme/shop", "aaa", true, []string{"build", "test"}, time.Hour)
		seq3, enq3, _ := store.RequestCheck(ctx, q, "acme/shop", "aaa", false, nil, time.Hour)
		if seq1 != 1 || seq2 != 2 || seq3 != 3 {
			t.Fatalf("seqs = %d %d %d, want 1 2 3", seq1, seq2, seq3)
		}
		if !enq1 || enq2 || enq3 {
			t.Fatalf("enqueue = %v %v %v, want only the first request to enqueue a job", enq1, enq2, enq3)
		}
		r, err := store.GetCheckRequest(ctx, q, "acme/shop", "aaa")
		if err != nil {
			t.Fatal(err)
		}
		if !r.Full || !slices.Equal(r.CI, []string{"build", "test"}) || r.Seq != 3 || r.Written != 0 {
			t.Fatalf("request = %+v, want full with build,test at seq 3", r)
		}
		// The newer evaluation writes first; the older one may not.
		if ok, err := store.ClaimCheckWrite(ctx, q, "acme/shop", "aaa", 3); err != nil || !ok {
			t.Fatalf("claim 3 = %v, %v; want granted", ok, err)
		}
		if ok, _ := store.ClaimCheckWrite(ctx, q, "acme/shop", "aaa", 2); ok {
			t.Fatal("claim 2 after 3 was granted; an older evaluation must never overwrite a newer one")
		}
		if ok, _ := store.ClaimCheckWrite(ctx, q, "acme/shop", "aaa", 3); !ok {
			t.Fatal("a retried claim of the same seq was refused")
		}
		// Settling with a stale seq keeps the pending scope.
		if ok, _ := store.SettleCheckRequest(ctx, q, "acme/shop", "aaa", 2); ok {
			t.Fatal("settled with seq 2 although seq 3 was requested")
		}
		if ok, _ := store.SettleCheckRequest(ctx, q, "acme/shop", "aaa", 3); !ok {
			t.Fatal("could not settle with the latest seq")
		}
		r, _ = store.GetCheckRequest(ctx, q, "acme/shop", "aaa")
		if r.Full || len(r.CI) != 0 || r.Written != 3 {
			t.Fatalf("after settle = %+v, want empty scope, written 3", r)
		}
		// Settled: the next request needs a new job.
		if seq, enq, _ := store.RequestCheck(ctx, q, "acme/shop", "aaa", true, nil, time.Hour); seq != 4 || !enq {
			t.Fatalf("after settle: seq %d enqueue %v, want 4 true", seq, enq)
		}
		// A job enqueued longer ago than staleAfter is presumed lost.
		if _, enq, _ := store.RequestCheck(ctx, q, "acme/shop", "aaa", true, nil, -time.Second); !enq {
			t.Fatal("a stale enqueued job did not let a new one be enqueued")
		}
		if _, err := store.GetCheckRequest(ctx, q, "acme/shop", "zzz"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown sha: err = %v, want ErrNotFound", err)
		}
	})
}

func TestCIAndCheckResults(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		q := s.DB
		must := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		must(store.RecordCI(ctx, q, "acme/shop", "aaa", store.CIResult{Name: "build", Status: "in_progress"}))
		must(store.RecordCI(ctx, q, "acme/shop", "aaa", store.CIResult{Name: "build", Status: "completed", Conclusion: "success"}))
		must(store.RecordCI(ctx, q, "acme/shop", "bbb", store.CIResult{Name: "test", Status: "completed", Conclusion: "failure"}))
		ci, err := store.CIResults(ctx, q, "acme/shop", "aaa")
		must(err)
		if len(ci) != 1 || ci["build"].Conclusion != "success" {
			t.Fatalf("CI at aaa = %+v, want build success only", ci)
		}
		if err := store.RecordCI(ctx, q, "acme/shop", "aaa", store.CIResult{}); err == nil {
			t.Fatal("a CI result without a name was accepted")
		}

		r := store.CheckResult{Repository: "acme/shop", SHA: "aaa", Name: "conveyor / web", CheckRunID: 41, Artifact: "web",
			Kind: "app", Status: "in_progress", Title: "waiting for test", CI: []string{"build", "test"}, Digest: "d1", Seq: 1}
		must(store.SaveCheckResult(ctx, q, r))
		r.Status, r.Conclusion, r.Digest, r.Seq = "completed", "success", "d2", 2
		r.Card = `{"lines":["CI passed: build, test"],"cost":{"monthly_usd":480,"delta_usd":120}}`
		must(store.SaveCheckResult(ctx, q, r))
		got, err := store.CheckResults(ctx, q, "acme/shop", "aaa")
		must(err)
		w := got["conveyor / web"]
		if len(got) != 1 || w.CheckRunID != 41 || w.Conclusion != "success" || w.Digest != "d2" || w.Seq != 2 ||
			!slices.Equal(w.CI, []string{"build", "test"}) || w.Card != r.Card {
			t.Fatalf("stored = %+v", got)
		}
	})
}
