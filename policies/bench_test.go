package policies

import (
	"context"
	"runtime"
	"slices"
	"testing"
	"time"
)

// BenchmarkDecision measures one production deploy decision (default bundle,
// three artifacts, Evaluator.Eval: input digest, input document, OPA's
// topdown evaluation, decoding) and reports p50/p99 latency and the live
// heap after 10% and after all of the decisions. Run it with a fixed count:
//
//	go test ./policies/ -run '^$' -bench BenchmarkDecision -benchtime=20000x -benchmem
func BenchmarkDecision(b *testing.B) {
	ctx := context.Background()
	e, err := New(ctx, Options{Config: testConfig(b)})
	if err != nil {
		b.Fatal(err)
	}
	in := productionDeploy()
	if d, _, _ := e.Eval(ctx, in); !d.Allow {
		b.Fatalf("benchmark input denied: %v", d.Deny)
	}
	lat := make([]time.Duration, 0, b.N)
	var heapTenth uint64
	tenth := b.N / 10
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		d, _, err := e.Eval(ctx, in)
		lat = append(lat, time.Since(start))
		if err != nil || !d.Allow {
			b.Fatalf("decision %d: %v %v", i, err, d.Deny)
		}
		if i+1 == tenth {
			b.StopTimer()
			heapTenth = liveHeap()
			b.StartTimer()
		}
	}
	b.StopTimer()
	heapAll := liveHeap()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1e3, "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1e3, "p99-µs")
	if tenth > 0 {
		b.ReportMetric(float64(heapTenth)/(1<<20), "heap-at-10%-MiB")
		b.ReportMetric(float64(heapAll)/(1<<20), "heap-at-end-MiB")
	}
}

func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
