package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/conveyor-dev/conveyor/internal/store"
	"github.com/conveyor-dev/conveyor/internal/store/storetest"
)

func TestPRHeads(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		t0 := time.UnixMilli(1_700_000_000_000)
		rec := func(sha string, at time.Time) {
			t.Helper()
			if err := s.RecordPRHead(ctx, store.PRHead{Repository: "acme/shop", PR: 7, SHA: sha, At: at}); err != nil {
				t.Fatal(err)
			}
		}
		rec("aaa", t0)
		rec("aaa", t0.Add(time.Minute)) // redelivery: not repeated
		rec("bbb", t0.Add(2*time.Minute))
		rec("aaa", t0.Add(3*time.Minute)) // force-push back to aaa: recorded
		if err := s.RecordPRHead(ctx, store.PRHead{Repository: "acme/shop", PR: 8, SHA: "ccc", At: t0}); err != nil {
			t.Fatal(err)
		}
		got, err := s.PRHeads(ctx, "acme/shop", 7)
		if err != nil {
			t.Fatal(err)
		}
		var shas []string
		for _, h := range got {
			shas = append(shas, h.SHA)
		}
		if strings.Join(shas, ",") != "aaa,bbb,aaa" {
			t.Fatalf("history = %v, want aaa,bbb,aaa", shas)
		}
		if !got[1].At.Equal(t0.Add(2 * time.Minute)) {
			t.Fatalf("second head at %v, want %v", got[1].At, t0.Add(2*time.Minute))
		}
		// A late redelivery of the first push is placed by its time and
		// adds nothing: the history already has aaa then.
		rec("aaa", t0.Add(30*time.Second))
		// A late event for a head between known ones is placed by its time.
		rec("ddd", t0.Add(150*time.Second))
		got, err = s.PRHeads(ctx, "acme/shop", 7)
		if err != nil {
			t.Fatal(err)
		}
		shas = nil
		for _, h := range got {
			shas = append(shas, h.SHA)
		}
		if strings.Join(shas, ",") != "aaa,bbb,ddd,aaa" {
			t.Fatalf("history after late events = %v, want aaa,bbb,ddd,aaa", shas)
		}
		none, err := s.PRHeads(ctx, "acme/shop", 99)
		if err != nil || len(none) != 0 {
			t.Fatalf("unknown PR: %v, %v; want no history", none, err)
		}
		err = s.RecordPRHead(ctx, store.PRHead{Repository: "acme/shop", PR: 7})
		if err == nil || !strings.Contains(err.Error(), "SHA are required") {
			t.Fatalf("empty SHA: err = %v, want a required-field error", err)
		}
	})
}
