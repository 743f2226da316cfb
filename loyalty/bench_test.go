package loyalty

import (
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/carebot/carebot/stats"
	"github.com/carebot/carebot/store"
)

// benchMembers creates n members, each with points to spend and an
// unlimited right that costs 10 points.
func benchMembers(b *testing.B, n int) (*harness, []string) {
	b.Helper()
	h := newHarness(b, nil)
	h.putRight(Right{ID: "bench", Kind: RightAmountOff, Name: map[string]string{"en": "bench"}, Value: 1, Cost: 10, Stock: -1, Active: true})
	ids := make([]string, n)
	h.do(func(tx store.Tx) error {
		for i := range ids {
			m, _, err := h.p.EnsureMember(tx, "webchat", fmt.Sprint("bench-", i))
			if err != nil {
				return err
			}
			if _, err := h.p.Adjust(tx, m.ID, 1_000_000_000, "bench", "bench"); err != nil {
				return err
			}
			ids[i] = m.ID
		}
		return nil
	})
	return h, ids
}

func reportTPS(b *testing.B) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tx/s")
}

// BenchmarkEarn credits one order per transaction (store.Update: one
// commit and fsync each).
func BenchmarkEarn(b *testing.B) {
	h, ids := benchMembers(b, 1000)
	i := 0
	for b.Loop() {
		id := ids[i%len(ids)]
		order := fmt.Sprint("e", i)
		i++
		if err := h.st.Update(func(tx store.Tx) error {
			_, err := h.p.CreditOrder(tx, Order{ID: order, Member: id, Amount: 128})
			return err
		}); err != nil {
			b.Fatal(err)
		}
	}
	reportTPS(b)
}

// BenchmarkEarnBatch credits orders from many goroutines through
// store.Batch, which merges concurrent calls into one commit.
func BenchmarkEarnBatch(b *testing.B) {
	h, ids := benchMembers(b, 1000)
	var n atomic.Int64
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			id, order := ids[int(i)%len(ids)], fmt.Sprint("e", i)
			if err := h.st.Batch(func(tx store.Tx) error {
				_, err := h.p.CreditOrder(tx, Order{ID: order, Member: id, Amount: 128})
				return err
			}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	reportTPS(b)
}

// BenchmarkRedeem redeems a right per transaction: debit, stock count,
// coupon code and index in one commit.
func BenchmarkRedeem(b *testing.B) {
	h, ids := benchMembers(b, 1000)
	i := 0
	for b.Loop() {
		id, key := ids[i%len(ids)], fmt.Sprint("r", i)
		i++
		if err := h.st.Update(func(tx store.Tx) error {
			_, _, err := h.p.Redeem(tx, id, "bench", key)
			return err
		}); err != nil {
			b.Fatal(err)
		}
	}
	reportTPS(b)
}

// BenchmarkRedeemBatch redeems from many goroutines through store.Batch.
func BenchmarkRedeemBatch(b *testing.B) {
	h, ids := benchMembers(b, 1000)
	var n atomic.Int64
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			id, key := ids[int(i)%len(ids)], fmt.Sprint("r", i)
			if err := h.st.Batch(func(tx store.Tx) error {
				_, _, err := h.p.Redeem(tx, id, "bench", key)
				return err
			}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	reportTPS(b)
}

// BenchmarkImportMember imports members 1,000 to a transaction, as
// `carebot member import` would.
func BenchmarkImportMember(b *testing.B) {
	h := newHarness(b, nil)
	const perTx = 1000
	n := 0
	b.ResetTimer()
	for n < b.N {
		h.do(func(tx store.Tx) error {
			for j := 0; j < perTx && n < b.N; j++ {
				row := ImportRow{ID: fmt.Sprintf("C%07d", n), Name: "Member", Phone: "13800138000", Birthday: "1990-01-01",
					Tier: "silver", Points: 1200, Channel: "webchat", ChannelUser: fmt.Sprint("s", n)}
				if _, err := h.p.ImportMember(tx, row); err != nil {
					return err
				}
				n++
			}
			return nil
		})
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "members/s")
}

// millionMembers is the size of the care-job benchmarks: the largest
// programme the scheduled jobs are meant for.
const millionMembers = 1_000_000

// benchMillion fills a fresh database with n generated members, 10,000 to
// a transaction, written through save (so the indexes are built as in
// production, not by EnsureIndexes). Birthdays are uniform over the year
// (and over birth years 1950–2005); last activity is uniform over the last
// two years before the clock (t0), and 70 % of the members also have a
// purchase, uniform over the same two years. Tiers follow the orders (a
// member in a thousand is diamond, from 15 orders gold, from 8 silver).
// The generator is seeded: every run builds the same members.
func benchMillion(b *testing.B, n int) *harness {
	b.Helper()
	h := newHarness(b, nil)
	start := time.Now()
	rng := rand.New(rand.NewPCG(1, 2))
	const span = 2 * 365 * 24 * time.Hour
	now := h.clk.now()
	const perTx = 10_000
	for base := 0; base < n; base += perTx {
		h.do(func(tx store.Tx) error {
			for i := base; i < min(base+perTx, n); i++ {
				birth := time.Date(1950+rng.IntN(56), 1, 1, 0, 0, 0, 0, time.UTC)
				birth = birth.AddDate(0, 0, rng.IntN(daysIn(birth.Year())))
				active := now.Add(-time.Duration(rng.Int64N(int64(span)))).Truncate(time.Second)
				created := active.Add(-time.Duration(rng.Int64N(int64(30 * 24 * time.Hour))))
				m := &Member{ID: fmt.Sprintf("M%07d", i), Name: fmt.Sprint("Member ", i), Birthday: birth.Format(dateLayout),
					Consent: true, ConsentAt: created, Joined: true, JoinedAt: created, Tier: "regular", TierSince: created,
					Identities:   []Identity{{Channel: "webchat", User: fmt.Sprint("bench-", i), Linked: created}},
					ReferralCode: fmt.Sprintf("R%07d", i), Created: created, LastActive: active}
				if rng.IntN(10) < 7 {
					m.LastPurchase = now.Add(-time.Duration(rng.Int64N(int64(span)))).Truncate(time.Second)
					m.Orders, m.Points = 1+rng.IntN(20), rng.Int64N(5000)
					m.Categories = map[string]int{"coffee": m.Orders}
				}
				// From the orders and the id, not the generator, so that the
				// members of the older benchmarks stay the same.
				switch {
				case i%1000 == 0:
					m.Tier = "diamond"
				case m.Orders >= 15:
					m.Tier = "gold"
				case m.Orders >= 8:
					m.Tier = "silver"
				}
				if err := h.p.save(tx, m); err != nil {
					return err
				}
			}
			return nil
		})
	}
	size := int64(0)
	if fi, err := os.Stat(h.st.Path()); err == nil {
		size = fi.Size()
	}
	b.Logf("generated %d members in %s (database %d MB)", n, time.Since(start).Round(time.Millisecond), size>>20)
	return h
}

func daysIn(year int) int {
	if isLeap(year) {
		return 366
	}
	return 365
}

// measureOp runs op with the timer on and returns how much the heap grew
// while it ran, read from runtime.MemStats around it (the reads are not
// timed): TotalAlloc's increase is every byte op allocated, an upper bound
// of its peak heap (reached if no collection ran during it); HeapInuse's
// increase is what was still in use, or not yet collected, at its end.
func measureOp(b *testing.B, op func()) (alloc, inuse uint64) {
	b.StopTimer()
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	b.StartTimer()
	op()
	b.StopTimer()
	runtime.ReadMemStats(&after)
	b.StartTimer()
	return after.TotalAlloc - before.TotalAlloc, after.HeapInuse - min(after.HeapInuse, before.HeapInuse)
}

// reportMemory reports the largest per-op heap figures (see measureOp).
func reportMemory(b *testing.B, alloc, inuse uint64) {
	b.ReportMetric(float64(alloc)/(1<<20), "peak-alloc-MB")
	b.ReportMetric(float64(inuse)/(1<<20), "heap-inuse-MB")
}

// BenchmarkBirthdaysOn1M selects and loads one day's birthdays among a
// million members (the daily greeting job). Target: < 100 ms/op.
func BenchmarkBirthdaysOn1M(b *testing.B) {
	h := benchMillion(b, millionMembers)
	day := time.Date(2026, 6, 15, 0, 0, 0, 0, time.UTC)
	var maxAlloc, maxInuse uint64
	matched := 0
	for b.Loop() {
		alloc, inuse := measureOp(b, func() {
			matched = 0
			if err := h.st.View(func(tx store.Tx) error {
				return h.p.BirthdaysOn(tx, day, func(*Member) error { matched++; return nil })
			}); err != nil {
				b.Fatal(err)
			}
		})
		maxAlloc, maxInuse = max(maxAlloc, alloc), max(maxInuse, inuse)
	}
	if matched == 0 {
		b.Fatal("no birthdays matched")
	}
	reportMemory(b, maxAlloc, maxInuse)
	b.ReportMetric(float64(matched), "matched")
}

// BenchmarkIdleSince1M lists the members without a purchase or a chat in
// the last 60 days among a million (the dormant scan). Target: < 5 s/op.
func BenchmarkIdleSince1M(b *testing.B) {
	h := benchMillion(b, millionMembers)
	cutoff := h.clk.now().Add(-60 * 24 * time.Hour)
	var maxAlloc, maxInuse uint64
	matched := 0
	for b.Loop() {
		alloc, inuse := measureOp(b, func() {
			matched = 0
			if err := h.st.View(func(tx store.Tx) error {
				return h.p.IdleSince(tx, cutoff, func(string, time.Time) error { matched++; return nil })
			}); err != nil {
				b.Fatal(err)
			}
		})
		maxAlloc, maxInuse = max(maxAlloc, alloc), max(maxInuse, inuse)
	}
	if matched == 0 {
		b.Fatal("no idle members matched")
	}
	reportMemory(b, maxAlloc, maxInuse)
	b.ReportMetric(float64(matched), "matched")
}

// BenchmarkCensus1M counts a million members by tier and lifecycle stage
// (the dashboard's member panel) from the activity index. Target:
// < 1 s/op.
func BenchmarkCensus1M(b *testing.B) {
	h := benchMillion(b, millionMembers)
	var maxAlloc, maxInuse uint64
	var c Census
	for b.Loop() {
		alloc, inuse := measureOp(b, func() {
			if err := h.st.View(func(tx store.Tx) (err error) { c, err = h.p.Census(tx); return }); err != nil {
				b.Fatal(err)
			}
		})
		maxAlloc, maxInuse = max(maxAlloc, alloc), max(maxInuse, inuse)
	}
	if c.Total != millionMembers {
		b.Fatalf("census counted %d members", c.Total)
	}
	reportMemory(b, maxAlloc, maxInuse)
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/op")
	b.Logf("tiers %v, stages %v", c.Tiers, c.Stages)
}

// BenchmarkPointsYear reads a year of MetricPoints (the dashboard's points
// chart) from two years of daily counters of every loyalty metric: the
// points movements, earned by reason, and coupons issued and used for 20
// rights by 5 origins, as the events of a busy programme would leave them.
func BenchmarkPointsYear(b *testing.B) {
	h := newHarness(b, nil)
	rng := rand.New(rand.NewPCG(5, 6))
	end := h.clk.now()
	first := end.AddDate(-2, 0, 0)
	for d := first; !d.After(end); d = d.AddDate(0, 0, 1) {
		h.do(func(tx store.Tx) error {
			add := func(metric, dim string, n int64) error { return h.p.stats.Add(tx, metric, dim, d, n) }
			for _, dim := range []string{PointsEarned, PointsRedeemed, PointsExpired, PointsRefunded, PointsAdjusted} {
				if err := add(MetricPoints, dim, 1+rng.Int64N(1_000_000)); err != nil {
					return err
				}
			}
			for _, r := range []string{ReasonOrder, ReasonCheckIn, ReasonStreak, ReasonReferral, ReasonSurvey, ReasonImport} {
				if err := add(MetricPointsEarned, r, 1+rng.Int64N(1_000_000)); err != nil {
					return err
				}
			}
			for i := range 20 {
				for _, o := range []string{OriginRedeem, ReasonCompensation, "birthday", "recall", "welcome"} {
					dim := fmt.Sprintf("right%02d:%s", i, o)
					if err := add(MetricCouponsIssued, dim, 1+rng.Int64N(1000)); err != nil {
						return err
					}
					if err := add(MetricCouponsUsed, dim, 1+rng.Int64N(1000)); err != nil {
						return err
					}
				}
			}
			return nil
		})
	}
	from, to := h.p.day(end.AddDate(-1, 0, 1)), h.p.day(end)
	var maxAlloc, maxInuse uint64
	var s stats.Series
	for b.Loop() {
		alloc, inuse := measureOp(b, func() {
			if err := h.st.View(func(tx store.Tx) (err error) { s, err = stats.Read(tx, MetricPoints, from, to); return }); err != nil {
				b.Fatal(err)
			}
		})
		maxAlloc, maxInuse = max(maxAlloc, alloc), max(maxInuse, inuse)
	}
	if len(s.Days) != 365 || len(s.Values) != 5 || s.Values[PointsEarned][0] == 0 {
		b.Fatalf("read %d days, dims %v", len(s.Days), s.Dims())
	}
	reportMemory(b, maxAlloc, maxInuse)
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/op")
}
