package loyalty

import (
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/carebot/carebot/stats"
	"github.com/carebot/carebot/store"
)

// series reads a metric over [from, to] and returns dim → day → value,
// without the zero days.
func (h *harness) series(metric, from, to string) map[string]map[string]int64 {
	h.t.Helper()
	out := map[string]map[string]int64{}
	if err := h.st.View(func(tx store.Tx) error {
		s, err := stats.Read(tx, metric, from, to)
		if err != nil {
			return err
		}
		for dim, vals := range s.Values {
			for i, v := range vals {
				if v != 0 {
					if out[dim] == nil {
						out[dim] = map[string]int64{}
					}
					out[dim][s.Days[i]] = v
				}
			}
		}
		return nil
	}); err != nil {
		h.t.Fatal(err)
	}
	return out
}

func wantSeries(t *testing.T, what string, got, want map[string]map[string]int64) {
	t.Helper()
	if !maps.EqualFunc(got, want, func(a, b map[string]int64) bool { return maps.Equal(a, b) }) {
		t.Fatalf("%s:\n got %v\nwant %v", what, got, want)
	}
}

func TestPointsMetric(t *testing.T) {
	h := newHarness(t, nil)
	h.putRight(perk("coffee", 50))
	a := h.member("a").ID
	b := h.member("b").ID

	// Day 1 (2026-03-10, Shanghai): earn by order, check-in and survey,
	// each repeated: the repeats count nothing.
	h.credit(a, "o1", 100)
	h.credit(a, "o1", 100)
	for range 2 {
		h.do(func(tx store.Tx) error { _, err := h.p.CheckIn(tx, a); return err })
		h.do(func(tx store.Tx) error { _, err := h.p.SurveyReward(tx, a, "nps-1"); return err })
	}
	// 00:30 on 11 March in Shanghai is still 10 March in UTC: the counters
	// follow the programme's zone.
	h.clk.set(time.Date(2026, 3, 11, 0, 30, 0, 0, shanghai))
	for range 2 {
		if _, _, err := h.redeem(a, "coffee", "r1"); err != nil {
			t.Fatal(err)
		}
	}
	// The refund takes back what a still holds (80 of the order's 100: 20
	// went into the coffee and are the entry's shortfall, not counted).
	for range 2 {
		h.do(func(tx store.Tx) error { _, err := h.p.RefundOrder(tx, "o1"); return err })
	}
	for range 2 {
		h.do(func(tx store.Tx) error { _, err := h.p.AdjustKey(tx, b, 30, "goodwill", "admin", "k1"); return err })
		h.do(func(tx store.Tx) error { _, err := h.p.AdjustKey(tx, b, -5, "typo", "admin", "k2"); return err })
	}
	// A freeze is a zero-point adjustment: nothing to count.
	h.do(func(tx store.Tx) error { return h.p.Freeze(tx, b, true, "test", "admin") })
	h.do(func(tx store.Tx) error { return h.p.Freeze(tx, b, false, "test", "admin") })

	// A year and more later every lot has expired, on the day of the job.
	h.clk.set(time.Date(2027, 4, 1, 3, 0, 0, 0, shanghai))
	for i := range 2 {
		var n int
		h.do(func(tx store.Tx) (err error) { n, err = h.p.ExpireDue(tx); return })
		if (i == 0) != (n > 0) {
			t.Fatalf("ExpireDue run %d wrote %d entries", i+1, n)
		}
	}

	got := h.series(MetricPoints, "2026-03-01", "2027-04-30")
	wantSeries(t, "loyalty_points", got, map[string]map[string]int64{
		PointsEarned:   {"2026-03-10": 100 + 10 + 20},
		PointsRedeemed: {"2026-03-11": 50},
		PointsRefunded: {"2026-03-11": 80},
		PointsAdjusted: {"2026-03-11": 25},
		PointsExpired:  {"2027-04-01": 25}, // b's adjustment: a holds nothing after the refund
	})
	wantSeries(t, "loyalty_points_earned", h.series(MetricPointsEarned, "2026-03-01", "2027-04-30"), map[string]map[string]int64{
		ReasonOrder: {"2026-03-10": 100}, ReasonCheckIn: {"2026-03-10": 10}, ReasonSurvey: {"2026-03-10": 20},
	})
	// The movements account for every point members hold.
	net := func(dim string) int64 {
		var n int64
		for _, v := range got[dim] {
			n += v
		}
		return n
	}
	held := h.balance(a).Points + h.balance(b).Points
	if flow := net(PointsEarned) - net(PointsRedeemed) - net(PointsExpired) - net(PointsRefunded) + net(PointsAdjusted); flow != held {
		t.Fatalf("movements sum to %d, members hold %d", flow, held)
	}
}

func TestPointsMetricReferralImportMerge(t *testing.T) {
	h := newHarness(t, nil)
	ref := h.member("ref")
	newbie := h.member("new").ID
	h.do(func(tx store.Tx) error { return h.p.Referral(tx, newbie, ref.ReferralCode) })
	h.credit(newbie, "o1", 10) // 10 + referee 100 + referrer 200
	h.do(func(tx store.Tx) error { _, err := h.p.RefundOrder(tx, "o1"); return err })
	for range 2 {
		h.do(func(tx store.Tx) error {
			_, err := h.p.ImportMember(tx, ImportRow{ID: "C1", Name: "Ann", Points: 500})
			return err
		})
	}
	// Merging moves points between two accounts of one person: no
	// movement.
	other := h.member("other").ID
	h.adjust(other, 7)
	var code string
	h.do(func(tx store.Tx) (err error) { code, _, err = h.p.LinkCode(tx, ref.ID); return })
	h.do(func(tx store.Tx) error { _, err := h.p.Link(tx, code, "webchat", "other"); return err })

	d := h.p.Stats().Day(t0)
	wantSeries(t, "loyalty_points", h.series(MetricPoints, d, d), map[string]map[string]int64{
		PointsEarned: {d: 10 + 100 + 200 + 500}, PointsRefunded: {d: 10 + 100 + 200}, PointsAdjusted: {d: 7},
	})
	wantSeries(t, "loyalty_points_earned", h.series(MetricPointsEarned, d, d), map[string]map[string]int64{
		ReasonOrder: {d: 10}, ReasonReferral: {d: 300}, ReasonImport: {d: 500},
	})
}

func TestCouponMetrics(t *testing.T) {
	h := newHarness(t, nil)
	h.putRight(perk("coffee", 10))
	h.putRight(Right{ID: "sorry5", Kind: RightAmountOff, Name: map[string]string{"en": "sorry"}, Value: 5, Stock: -1})
	h.putRight(Right{ID: "bday", Kind: RightAmountOff, Name: map[string]string{"en": "bday"}, Value: 10, Stock: -1, ValidDays: 30})
	a := h.member("a").ID
	h.adjust(a, 100)

	var coffee, gift, sorry, old *Coupon
	for range 2 { // every call twice: the repeats issue nothing
		var err error
		if coffee, _, err = h.redeem(a, "coffee", "k1"); err != nil {
			t.Fatal(err)
		}
		h.do(func(tx store.Tx) (err error) {
			gift, _, err = h.p.GrantWith(tx, GrantParams{Member: a, Right: "bday", Key: "birthday:2026", Reason: "birthday", By: "carebot"})
			return
		})
		h.do(func(tx store.Tx) (err error) { sorry, err = h.p.Grant(tx, a, "sorry5", 42, "agent"); return })
	}
	if coffee.Reason != OriginRedeem || gift.Reason != "birthday" || sorry.Reason != ReasonCompensation {
		t.Fatalf("origins: %q %q %q", coffee.Reason, gift.Reason, sorry.Reason)
	}
	// A coupon stored before coupons had a reason.
	h.do(func(tx store.Tx) (err error) { old, err = h.p.Grant(tx, a, "sorry5", 43, "agent"); return })
	h.do(func(tx store.Tx) error {
		c, err := h.p.coupon(tx, old.Code)
		if err != nil {
			return err
		}
		c.Reason = ""
		return store.PutJSON(tx, bucketCoupons, []byte(c.Code), c)
	})
	for _, bad := range []string{"redeem", "unknown", "Birthday", "a:b", "", strings.Repeat("x", 41)} {
		if bad == "" {
			continue // empty means compensation
		}
		err := h.try(func(tx store.Tx) error {
			_, _, err := h.p.GrantWith(tx, GrantParams{Member: a, Right: "bday", Key: "bad:" + bad, Reason: bad})
			return err
		})
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("grant reason %q: %v, want ErrInvalid", bad, err)
		}
	}

	// Uses on the next day; a repeated use (same ref) is refused and, even
	// in a transaction that commits anyway, counts nothing.
	h.clk.set(t0.Add(24 * time.Hour))
	use := func(code, ref string) error {
		var useErr error
		h.do(func(tx store.Tx) error { _, useErr = h.p.UseCoupon(tx, code, ref); return nil })
		return useErr
	}
	for _, c := range []*Coupon{coffee, gift, old} {
		if err := use(c.Code, "order-"+c.Code); err != nil {
			t.Fatal(err)
		}
		if err := use(c.Code, "order-"+c.Code); !errors.Is(err, ErrCouponUsed) {
			t.Fatalf("second use: %v", err)
		}
	}

	d1, d2 := h.p.day(t0), h.p.day(t0.Add(24*time.Hour))
	wantSeries(t, "issued", h.series(MetricCouponsIssued, d1, d2), map[string]map[string]int64{
		"coffee:redeem": {d1: 1}, "bday:birthday": {d1: 1}, "sorry5:compensation": {d1: 2},
	})
	wantSeries(t, "used", h.series(MetricCouponsUsed, d1, d2), map[string]map[string]int64{
		"coffee:redeem": {d2: 1}, "bday:birthday": {d2: 1}, "sorry5:unknown": {d2: 1},
	})
	wantSeries(t, "points", h.series(MetricPoints, d1, d2), map[string]map[string]int64{
		PointsAdjusted: {d1: 100}, PointsRedeemed: {d1: 10},
	})
	if r, o := SplitCouponDim("sorry5:compensation"); r != "sorry5" || o != "compensation" {
		t.Fatalf("SplitCouponDim: %q %q", r, o)
	}
}

// stagesByMember is the census computed member by member with Stage.
func stagesByMember(tx store.Tx, p *Program) (Census, error) {
	c := Census{Tiers: map[string]int{}, Stages: map[string]int{}, TierStages: map[string]map[string]int{}}
	err := tx.Scan(bucketMembers, nil, func(_, v []byte) error {
		var m Member
		if err := store.DecodeJSON(v, &m); err != nil {
			return err
		}
		if m.MergedInto != "" {
			return nil
		}
		s := p.Stage(&m)
		c.Total++
		c.Tiers[m.Tier]++
		c.Stages[s]++
		if c.TierStages[m.Tier] == nil {
			c.TierStages[m.Tier] = map[string]int{}
		}
		c.TierStages[m.Tier][s]++
		return nil
	})
	return c, err
}

// sameCensus compares the non-zero counts of two censuses.
func sameCensus(got, want Census) error {
	nz := func(m map[string]int) map[string]int {
		out := map[string]int{}
		for k, v := range m {
			if v != 0 {
				out[k] = v
			}
		}
		return out
	}
	if got.Total != want.Total || !maps.Equal(nz(got.Tiers), nz(want.Tiers)) || !maps.Equal(nz(got.Stages), nz(want.Stages)) {
		return fmt.Errorf("census total %d tiers %v stages %v, member by member %d %v %v",
			got.Total, got.Tiers, got.Stages, want.Total, want.Tiers, want.Stages)
	}
	for tier, st := range got.TierStages {
		if !maps.Equal(nz(st), nz(want.TierStages[tier])) {
			return fmt.Errorf("tier %s: %v, member by member %v", tier, st, want.TierStages[tier])
		}
	}
	return nil
}

func TestCensusMatchesStage(t *testing.T) {
	h := newHarness(t, nil)
	census := func() Census {
		t.Helper()
		var got, want Census
		if err := h.st.View(func(tx store.Tx) (err error) {
			if got, err = h.p.Census(tx); err != nil {
				return err
			}
			want, err = stagesByMember(tx, h.p)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if err := sameCensus(got, want); err != nil {
			t.Fatalf("at %s: %v", h.clk.now().Format(time.RFC3339Nano), err)
		}
		return got
	}
	empty := census()
	if empty.Total != 0 || len(empty.Tiers) != 4 || len(empty.Stages) != 5 || empty.Tiers["gold"] != 0 {
		t.Fatalf("empty census: %+v", empty)
	}

	// Members through the API, on a clock with sub-second steps.
	h.member("a") // new
	h.clk.add(time.Hour + 123456789)
	b := h.member("b").ID
	h.credit(b, "b1", 9000) // gold, growing once NewFor is over
	h.clk.add(40*24*time.Hour + 7)
	c := h.member("c").ID
	for i := range 5 {
		h.credit(c, fmt.Sprint("c", i), 10) // core
	}
	d := h.member("d").ID
	h.do(func(tx store.Tx) error { return h.p.Touch(tx, d) })
	var code string // e is merged into d: not counted
	h.member("e")
	h.do(func(tx store.Tx) (err error) { code, _, err = h.p.LinkCode(tx, d); return })
	h.do(func(tx store.Tx) error { _, err := h.p.Link(tx, code, "webchat", "e"); return err })

	// And generated ones, with the corner cases Stage meets: zero times,
	// times before 1970, a tier no longer configured, orders at the core
	// threshold.
	rng := rand.New(rand.NewPCG(3, 4))
	now := h.clk.now()
	ago := func() time.Time {
		switch rng.IntN(12) {
		case 0:
			return time.Time{}
		case 1:
			return time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC)
		}
		return now.Add(-time.Duration(rng.Int64N(int64(200 * 24 * time.Hour))))
	}
	tiers := []string{"regular", "silver", "gold", "diamond", "platinum"}
	h.do(func(tx store.Tx) error {
		for i := range 300 {
			m := &Member{ID: fmt.Sprintf("G%04d", i), Tier: tiers[rng.IntN(len(tiers))], Created: ago(),
				LastActive: ago(), LastPurchase: ago(), Orders: rng.IntN(8), ReferralCode: fmt.Sprintf("G%04d", i)}
			if err := h.p.save(tx, m); err != nil {
				return err
			}
		}
		return nil
	})
	got := census()
	if got.Tiers["platinum"] == 0 || got.Total != 4+300 {
		t.Fatalf("census: %+v", got)
	}
	for _, s := range stageOrder {
		if got.Stages[s] == 0 {
			t.Fatalf("no member is %s: %+v", s, got.Stages)
		}
	}
	// The clock moves on: every stage boundary of d, last active at a
	// fraction of a second, is crossed, to the nanosecond on either side
	// (an index of whole seconds would put d at risk a fraction early).
	var dm *Member
	h.do(func(tx store.Tx) (err error) { dm, err = h.p.Member(tx, d); return })
	if dm.LastActive.Nanosecond() == 0 {
		t.Fatalf("d was last active on a whole second: %s", dm.LastActive)
	}
	for _, at := range []time.Time{
		dm.LastActive.Add(h.p.opts.AtRiskAfter - 1), dm.LastActive.Add(h.p.opts.AtRiskAfter),
		dm.LastActive.Add(h.p.opts.DormantAfter - 1), dm.LastActive.Add(h.p.opts.DormantAfter),
	} {
		h.clk.set(at)
		census()
	}
	for range 30 {
		h.clk.add(time.Duration(rng.Int64N(int64(10 * 24 * time.Hour))))
		census()
	}
}

// TestEnsureIndexesV1Upgrade starts from a database whose activity rows
// are the 16-byte v1 rows: IdleSince still reads them, Census refuses
// them, and EnsureIndexes rebuilds them once.
func TestEnsureIndexesV1Upgrade(t *testing.T) {
	h := newHarness(t, nil)
	h.member("a")
	h.credit(h.member("b").ID, "b1", 9000)
	if _, err := h.p.EnsureIndexes(h.st); err != nil {
		t.Fatal(err)
	}
	h.do(func(tx store.Tx) error {
		var rows [][2][]byte
		err := tx.Scan(bucketActivity, nil, func(k, v []byte) error {
			rows = append(rows, [2][]byte{[]byte(string(k)), []byte(string(v[:16]))})
			return nil
		})
		if err != nil {
			return err
		}
		for _, r := range rows {
			if err := tx.Put(bucketActivity, r[0], r[1]); err != nil {
				return err
			}
		}
		if err := tx.Delete(bucketMeta, indexMarker); err != nil {
			return err
		}
		return tx.Put(bucketMeta, []byte("indexes:v1"), []byte{1})
	})
	h.clk.add(70 * 24 * time.Hour)
	if got := h.idle(60 * 24 * time.Hour); len(got) != 2 {
		t.Fatalf("IdleSince on v1 rows: %v", got)
	}
	err := h.st.View(func(tx store.Tx) error { _, err := h.p.Census(tx); return err })
	if err == nil || !strings.Contains(err.Error(), "EnsureIndexes") {
		t.Fatalf("Census on v1 rows: %v, want an error asking for EnsureIndexes", err)
	}
	n, err := h.p.EnsureIndexes(h.st)
	if err != nil || n != 2 {
		t.Fatalf("EnsureIndexes on a v1 database: %d, %v; want 2", n, err)
	}
	if n, err = h.p.EnsureIndexes(h.st); err != nil || n != 0 {
		t.Fatalf("EnsureIndexes again: %d, %v", n, err)
	}
	var c Census
	h.do(func(tx store.Tx) error {
		if tx.Get(bucketMeta, []byte("indexes:v1")) != nil {
			return errors.New("the v1 marker is still there")
		}
		var err error
		c, err = h.p.Census(tx)
		return err
	})
	if c.Total != 2 || c.Tiers["regular"] != 1 || c.Tiers["gold"] != 1 || c.Stages[StageAtRisk] != 2 {
		t.Fatalf("census after the upgrade: %+v", c)
	}
}
