package bot

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/carebot/carebot/loyalty"
	"github.com/carebot/carebot/store"
)

// BenchmarkRecallCandidates1M is the recall job's selection over a million
// members: the activity index scan plus the outbox-key checks of each idle
// member's episode (target: < 5 s). Members are imported with their
// creation (their only activity) spread over two years, so about 92% are
// idle for 60 days and every one of them is checked. Generation is outside
// the timer. Memory: TotalAlloc and HeapInuse from runtime.MemStats around
// the op, after a GC (allocation is an upper bound of the op's peak heap).
func BenchmarkRecallCandidates1M(b *testing.B) {
	const n = 1_000_000
	cfg := testConfig(b, b.TempDir())
	clock := &fakeClock{now: time.Date(2026, 11, 23, 10, 0, 0, 0, cst)}
	app, err := New(cfg, WithClock(clock.Now), WithLogger(discardLogger()))
	if err != nil {
		b.Fatal(err)
	}
	defer app.Close()
	now := clock.Now()
	rng := rand.New(rand.NewPCG(1, 2))
	for start := 0; start < n; start += 10000 {
		if err := app.Store().Update(func(tx store.Tx) error {
			for i := start; i < min(start+10000, n); i++ {
				clock.Set(now.Add(-time.Duration(rng.Int64N(int64(2 * 365 * 24 * time.Hour)))))
				row := loyalty.ImportRow{ID: fmt.Sprintf("B%07d", i), Name: "会员", Birthday: "1990-06-15"}
				if _, err := app.Loyalty().ImportMember(tx, row); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
	}
	clock.Set(now)
	var cands []recallCandidate
	scanned := 0
	var maxAlloc, maxInuse uint64
	for b.Loop() {
		b.StopTimer()
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		b.StartTimer()
		if err := app.Store().View(func(tx store.Tx) error {
			var err error
			cands, scanned, err = app.careJobs.recallCandidates(tx, now)
			return err
		}); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		runtime.ReadMemStats(&after)
		maxAlloc = max(maxAlloc, after.TotalAlloc-before.TotalAlloc)
		maxInuse = max(maxInuse, after.HeapInuse-min(after.HeapInuse, before.HeapInuse))
		b.StartTimer()
	}
	b.ReportMetric(float64(scanned), "idle")
	b.ReportMetric(float64(len(cands)), "offers")
	b.ReportMetric(float64(maxAlloc)/(1<<20), "peak-alloc-MB")
	b.ReportMetric(float64(maxInuse)/(1<<20), "heap-inuse-MB")
}
