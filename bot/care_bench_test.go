package bot

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/carebot/carebot/loyalty"
	"github.com/carebot/carebot/stats"
	"github.com/carebot/carebot/store"
)

// millionMemberApp is an app over a database of a million members,
// imported with their creation (their only activity) spread over two
// years before the returned clock's now.
func millionMemberApp(b *testing.B) (*App, *fakeClock) {
	b.Helper()
	const n = 1_000_000
	cfg := testConfig(b, b.TempDir())
	clock := &fakeClock{now: time.Date(2026, 11, 23, 10, 0, 0, 0, cst)}
	app, err := New(cfg, WithClock(clock.Now), WithLogger(discardLogger()))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { app.Close() })
	now := clock.Now()
	rng := rand.New(rand.NewPCG(1, 2))
	tiers := []string{"regular", "regular", "regular", "silver", "gold", "diamond"}
	for start := 0; start < n; start += 10000 {
		if err := app.Store().Update(func(tx store.Tx) error {
			for i := start; i < min(start+10000, n); i++ {
				clock.Set(now.Add(-time.Duration(rng.Int64N(int64(2 * 365 * 24 * time.Hour)))))
				row := loyalty.ImportRow{ID: fmt.Sprintf("B%07d", i), Name: "会员", Birthday: "1990-06-15", Tier: tiers[i%len(tiers)]}
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
	return app, clock
}

// BenchmarkRecallCandidates1M is the recall job's selection over a million
// members: the activity index scan plus the outbox-key checks of each idle
// member's episode (target: < 5 s). Members are imported with their
// creation (their only activity) spread over two years, so about 92% are
// idle for 60 days and every one of them is checked. Generation is outside
// the timer. Memory: TotalAlloc and HeapInuse from runtime.MemStats around
// the op, after a GC (allocation is an upper bound of the op's peak heap).
func BenchmarkRecallCandidates1M(b *testing.B) {
	app, clock := millionMemberApp(b)
	now := clock.Now()
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

// BenchmarkDashboard1M10M reads the manager's dashboard — the summary and
// every chart as SVG for 90 days — over a million members (the census
// reads the activity index) and a year of aggregates for ten million
// customer messages. The aggregates are written straight into the daily
// counters (the turns by outcome, messages by colour, tickets, times,
// points, coupons that ten million dispatches would have counted), since
// replaying ten million dispatches here would take hours; what the
// dashboard reads is the same either way. Target: < 1 s.
func BenchmarkDashboard1M10M(b *testing.B) {
	app, clock := millionMemberApp(b)
	now := clock.Now()
	rec := app.stats
	const messages, days = 10_000_000, 365
	perDay := int64(messages / days)
	err := app.Store().Update(func(tx store.Tx) error {
		for d := range days {
			at := now.AddDate(0, 0, -d)
			for _, c := range []struct {
				metric, dim string
				n           int64
			}{
				{metricEmotion, "green", perDay * 80 / 100}, {metricEmotion, "yellow", perDay * 15 / 100}, {metricEmotion, "red", perDay * 5 / 100},
				{metricTurns, "answered", perDay * 70 / 100}, {metricTurns, "clarify", perDay * 10 / 100}, {metricTurns, "unanswered", perDay * 8 / 100},
				{metricTurns, "handoff", perDay * 2 / 100}, {metricTurns, "chat", perDay * 10 / 100},
				{metricTicketsOpened, "mild", 300}, {metricTicketsOpened, "moderate", 120}, {metricTicketsOpened, "severe", 15},
				{metricTicketsSLA, "moderate:met", 110}, {metricTicketsSLA, "moderate:missed", 10},
				{metricTicketCause, "物流慢", 90}, {metricTicketCause, "质量问题", 60}, {metricTicketCause, "态度", 20},
				{metricCSAT, "5", 200}, {metricCSAT, "2", 20}, {metricNPS, "promoter", 50}, {metricNPS, "detractor", 10},
				{loyalty.MetricPoints, loyalty.PointsEarned, 900000}, {loyalty.MetricPoints, loyalty.PointsRedeemed, 400000},
				{loyalty.MetricCouponsIssued, "cash-5:redeem", 800}, {loyalty.MetricCouponsUsed, "cash-5:redeem", 500},
			} {
				if err := rec.Add(tx, c.metric, c.dim, at, c.n); err != nil {
					return err
				}
			}
			for v := range 40 {
				if err := rec.Observe(tx, metricClaimSeconds, "moderate", at, float64(60*(v+1))); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	rg := dashRange{from: rec.Day(now.AddDate(0, 0, -89)), to: rec.Day(now)}
	rg.days, _ = stats.Days(rg.from, rg.to)
	var svgBytes int
	for b.Loop() {
		svgBytes = 0
		if err := app.Store().View(func(tx store.Tx) error {
			if _, err := app.dashboardSummary(tx, rg); err != nil {
				return err
			}
			for _, c := range dashboardCharts {
				ch, err := c.fn(app, tx, rg)
				if err != nil {
					return err
				}
				var buf bytes.Buffer
				if err := ch.SVG(&buf); err != nil {
					return fmt.Errorf("%s: %w", c.name, err)
				}
				svgBytes += buf.Len()
			}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(dashboardCharts)), "charts")
	b.ReportMetric(float64(svgBytes)/1024, "svg-KB")
}
