package loyalty

import (
	"testing"
	"time"

	"github.com/carebot/carebot/store"
)

func TestTierUpgradeWhenThresholdCrossed(t *testing.T) {
	h := newHarness(t, nil)
	m := h.member("u").ID
	if r := h.credit(m, "o1", 1999); r.Upgrade != nil {
		t.Fatalf("upgraded below the threshold: %+v", r.Upgrade)
	}
	b := h.balance(m)
	if b.Tier != "regular" || b.NextTier != "silver" || b.ToNext != 1 || b.Qualifying != 1999 {
		t.Fatalf("balance = %+v", b)
	}
	r := h.credit(m, "o2", 1)
	if r.Upgrade == nil || r.Upgrade.From != "regular" || r.Upgrade.To != "silver" || r.Upgrade.Reason != TierQualifying {
		t.Fatalf("upgrade = %+v", r.Upgrade)
	}
	// Silver earns 1.2×; one big order can skip a tier.
	r = h.credit(m, "o3", 15000) // 18000 points → 20000 qualifying
	if r.Entry.Points != 18000 || r.Upgrade == nil || r.Upgrade.To != "diamond" {
		t.Fatalf("entry %+v, upgrade %+v", r.Entry, r.Upgrade)
	}
	b = h.balance(m)
	if b.NextTier != "" || b.ToNext != 0 || b.ToKeep != 0 {
		t.Fatalf("top tier balance = %+v", b)
	}
	// Spending points does not touch the tier; check-ins do not qualify.
	h.adjust(m, -20000)
	h.do(func(tx store.Tx) error { _, err := h.p.CheckIn(tx, m); return err })
	if b := h.balance(m); b.Tier != "diamond" || b.Qualifying != 20000 {
		t.Fatalf("after spending: %+v", b)
	}
	var hist []TierChange
	h.do(func(tx store.Tx) (err error) { hist, err = h.p.TierHistory(tx, m); return })
	if len(hist) != 2 || hist[0].To != "diamond" || hist[1].To != "silver" {
		t.Fatalf("history = %+v", hist)
	}
}

// TestYearlyReview moves a clock across a year: members earn in 2026, the
// review on 2027-01-01 keeps (保级) or lowers each by at most one tier.
func TestYearlyReview(t *testing.T) {
	h := newHarness(t, nil)
	type want struct{ before, after string }
	cases := map[string]struct {
		amount float64 // one order in March 2026 (regular rate, then upgrade)
		refund bool
		want   want
	}{
		"gold at 80% keeps gold":         {amount: 8000, want: want{"gold", "gold"}},
		"diamond with nothing left":      {amount: 20000, refund: true, want: want{"diamond", "gold"}},
		"silver exactly at keep level":   {amount: 2000, want: want{"silver", "silver"}},
		"gold below keep level → silver": {amount: 8000, refund: true, want: want{"gold", "silver"}},
		"regular stays regular":          {amount: 100, want: want{"regular", "regular"}},
	}
	ids := map[string]string{}
	for name, c := range cases {
		m := h.member(name).ID
		ids[name] = m
		h.credit(m, name, c.amount)
		if got := h.balance(m).Tier; got != c.want.before {
			t.Fatalf("%s: tier %s after the order, want %s", name, got, c.want.before)
		}
	}
	// Later in the year: the keepers earn their 80%, the others get
	// refunds (which never downgrade at once).
	h.clk.set(time.Date(2026, 9, 1, 12, 0, 0, 0, shanghai))
	for name, c := range cases {
		if c.refund {
			h.do(func(tx store.Tx) error { _, err := h.p.RefundOrder(tx, name); return err })
			if got := h.balance(ids[name]).Tier; got != c.want.before {
				t.Fatalf("%s: refund changed the tier to %s", name, got)
			}
		}
	}
	// By 2027-01-01 the March order is still within 12 months; move the
	// keepers' points to exactly 80% by refunding and re-earning.
	h.do(func(tx store.Tx) error {
		m := ids["gold at 80% keeps gold"]
		if _, err := h.p.RefundOrder(tx, "gold at 80% keeps gold"); err != nil {
			return err
		}
		_, err := h.p.CreditOrder(tx, Order{ID: "keep", Member: m, Amount: 6400 / 1.5})
		return err
	})
	h.do(func(tx store.Tx) error {
		m := ids["silver exactly at keep level"]
		if _, err := h.p.RefundOrder(tx, "silver exactly at keep level"); err != nil {
			return err
		}
		_, err := h.p.CreditOrder(tx, Order{ID: "keep-s", Member: m, Amount: 1600 / 1.2})
		return err
	})

	h.clk.set(time.Date(2027, 1, 1, 3, 0, 0, 0, shanghai))
	var changes []TierChange
	h.do(func(tx store.Tx) (err error) { changes, err = h.p.YearlyReview(tx); return })
	if len(changes) != 2 {
		t.Fatalf("changes = %+v", changes)
	}
	for name, c := range cases {
		if got := h.balance(ids[name]).Tier; got != c.want.after {
			t.Errorf("%s: tier %s after the review, want %s (qualifying %d)", name, got, c.want.after, h.balance(ids[name]).Qualifying)
		}
	}
	// Idempotent within the year.
	h.clk.add(24 * time.Hour)
	h.do(func(tx store.Tx) (err error) { changes, err = h.p.YearlyReview(tx); return })
	if len(changes) != 0 {
		t.Fatalf("second review in 2027 changed %+v", changes)
	}
	// A year on, nothing was earned: everyone above regular drops one tier.
	h.clk.set(time.Date(2028, 1, 1, 3, 0, 0, 0, shanghai))
	h.do(func(tx store.Tx) (err error) { changes, err = h.p.YearlyReview(tx); return })
	if len(changes) != 4 {
		t.Fatalf("2028 review: %+v", changes)
	}
	for _, c := range changes {
		if h.p.rank(c.From)-h.p.rank(c.To) != 1 || c.Reason != TierReview {
			t.Errorf("change %+v is not one tier down", c)
		}
	}
}

func TestBalanceShowsWhatKeepsTheTier(t *testing.T) {
	h := newHarness(t, nil)
	m := h.member("u").ID
	h.credit(m, "o1", 8000) // gold
	h.clk.set(t0.AddDate(0, 12, 0))
	b := h.balance(m)
	if b.Tier != "gold" || b.Qualifying != 0 || b.ToKeep != 6400 {
		t.Fatalf("a year on: %+v", b)
	}
}
