package main

import (
	"context"
	"io"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/conveyor-dev/conveyor/internal/ghclient"
	"github.com/conveyor-dev/conveyor/internal/ghfake"
)

// BenchmarkCommentToReaction measures, on the real server with SQLite and the
// GitHub emulator, the time from sending an issue_comment webhook to GitHub
// recording the "eyes" reaction: intake, queue pick-up, routing, parsing and
// the reaction call.
func BenchmarkCommentToReaction(b *testing.B) {
	dir := b.TempDir()
	d := &demo{out: io.Discard, dir: dir, secret: "bench-secret", failing: filepath.Join(dir, "fail"), prs: nil}
	d.prs = map[int]*ghfake.PR{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// GitHub's pacing (80 content-creating calls a minute) would dominate;
	// this measures the server, so lift it.
	o := &demoOptions{examples: "../../examples", pace: ghclient.PaceLimits{PerMinute: 1 << 20, PerHour: 1 << 20}}
	if err := d.start(ctx, o, "../../examples/monorepo"); err != nil {
		b.Fatal(err)
	}
	defer d.stop()
	pr := d.gh.OpenPR(demoRepo, "main", "main", "bench", "dev")
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		id, err := d.comment(pr, "dev", "/help")
		if err != nil {
			b.Fatal(err)
		}
		for len(d.reactions(id)) == 0 {
			if time.Since(start) > 10*time.Second {
				b.Fatal("no reaction")
			}
			time.Sleep(200 * time.Microsecond)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}
