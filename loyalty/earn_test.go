package loyalty

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/carebot/carebot/store"
)

func TestOrderPoints(t *testing.T) {
	tests := []struct {
		name  string
		tier  string
		when  time.Time
		order Order
		want  int64
	}{
		{"base rate, rounded down", "regular", t0, Order{Amount: 99.99}, 99},
		{"tier multiplier", "silver", t0, Order{Amount: 100}, 120},
		{"no float loss (100 × 1.1)", "regular", t0, Order{Amount: 110, Category: "x1.1"}, 121},
		{"category multiplier", "regular", t0, Order{Amount: 100, Category: "Books"}, 200},
		{"category that earns nothing", "gold", t0, Order{Amount: 500, Category: "gift_card"}, 0},
		{"campaign day, any category", "regular", time.Date(2026, 11, 11, 23, 59, 0, 0, shanghai), Order{Amount: 100}, 200},
		{"day after the campaign", "regular", time.Date(2026, 11, 12, 0, 0, 0, 0, shanghai), Order{Amount: 100}, 100},
		{"campaigns do not stack: the highest wins", "gold", time.Date(2026, 6, 18, 12, 0, 0, 0, shanghai), Order{Amount: 100, Category: "shoes"}, 450},
		{"category campaign skips other categories", "regular", time.Date(2026, 6, 18, 12, 0, 0, 0, shanghai), Order{Amount: 100, Category: "books"}, 400},
		{"items share the amount by price", "regular", t0, Order{Amount: 90, Category: "shoes", Items: []OrderItem{
			{Price: 50, Quantity: 1, Category: "books"}, {Price: 25, Quantity: 2}}}, 135},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, func(o *Options) {
				o.CategoryMultipliers = map[string]float64{"books": 2, "gift_card": 0, "x1.1": 1.1}
				o.Campaigns = []Campaign{
					{Name: "double-11", From: "2026-11-11", To: "2026-11-11", Multiplier: 2},
					{Name: "618", From: "2026-06-01", To: "2026-06-18", Multiplier: 2},
					{Name: "618-shoes", From: "2026-06-18", To: "2026-06-18", Multiplier: 3, Categories: []string{"Shoes"}},
				}
			})
			h.clk.set(tt.when)
			m := h.member("u")
			if tt.tier != "regular" {
				h.do(func(tx store.Tx) error { m.Tier = tt.tier; return h.p.save(tx, m) })
			}
			tt.order.ID, tt.order.Member = "o1", m.ID
			var res EarnResult
			h.do(func(tx store.Tx) (err error) { res, err = h.p.CreditOrder(tx, tt.order); return })
			if res.Entry.Points != tt.want {
				t.Fatalf("points = %d, want %d", res.Entry.Points, tt.want)
			}
			h.check(m.ID)
		})
	}
}

func TestCreditOrderRejectsBadOrders(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.Currency = "CNY" })
	m := h.member("u").ID
	for _, o := range []Order{
		{ID: "", Member: m, Amount: 1},
		{ID: "a", Member: m, Amount: 0},
		{ID: "a", Member: m, Amount: -5},
		{ID: "a", Member: m, Amount: 1e20},
		{ID: "a", Member: m, Amount: 10, Currency: "JPY"},
		{ID: "a", Amount: 10},
		{ID: "a", Member: m, Amount: 10, Items: []OrderItem{{Price: -1}}},
	} {
		err := h.try(func(tx store.Tx) error { _, err := h.p.CreditOrder(tx, o); return err })
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%+v: err = %v, want ErrInvalid", o, err)
		}
	}
	err := h.try(func(tx store.Tx) error {
		_, err := h.p.CreditOrder(tx, Order{ID: "a", Member: "M999999", Amount: 1})
		return err
	})
	if !errors.Is(err, ErrNoMember) {
		t.Errorf("unknown member: %v", err)
	}
	// By channel and user, the member is created on first contact.
	var res EarnResult
	h.do(func(tx store.Tx) (err error) {
		res, err = h.p.CreditOrder(tx, Order{ID: "tg-1", Channel: "telegram", User: "42", Amount: 10, Currency: "cny"})
		return
	})
	if res.Entry.Member == "" || res.Entry.Points != 10 {
		t.Fatalf("credit by identity: %+v", res)
	}
}

func TestSameOrderCreditsOnce(t *testing.T) {
	h := newHarness(t, nil)
	m := h.member("u").ID
	first := h.credit(m, "A1", 250)
	again := h.credit(m, "A1", 9999)
	if first.Duplicate || !again.Duplicate || again.Entry.Seq != first.Entry.Seq || h.balance(m).Points != 250 {
		t.Fatalf("first %+v, again %+v, balance %d", first, again, h.balance(m).Points)
	}

	// Concurrently, from many goroutines, each in its own transaction.
	var wg sync.WaitGroup
	var mu sync.Mutex
	fresh := 0
	for range 20 {
		wg.Go(func() {
			var res EarnResult
			err := h.try(func(tx store.Tx) (err error) {
				res, err = h.p.CreditOrder(tx, Order{ID: "B2", Member: m, Amount: 100})
				return
			})
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if !res.Duplicate {
				fresh++
			}
		})
	}
	wg.Wait()
	if fresh != 1 || h.balance(m).Points != 350 {
		t.Fatalf("%d credits, balance %d", fresh, h.balance(m).Points)
	}
	h.check(m)
}

func TestCheckInOncePerDayAndStreak(t *testing.T) {
	h := newHarness(t, nil)
	m := h.member("u").ID
	checkIn := func() CheckInResult {
		t.Helper()
		var r CheckInResult
		h.do(func(tx store.Tx) (err error) { r, err = h.p.CheckIn(tx, m); return })
		return r
	}
	var total int64
	for day := 1; day <= 7; day++ {
		r := checkIn()
		wantBonus := int64(0)
		if day == 7 {
			wantBonus = 100
		}
		if r.Already || r.Points != 10 || r.Streak != day || r.Bonus != wantBonus {
			t.Fatalf("day %d: %+v", day, r)
		}
		total += 10 + wantBonus
		again := checkIn()
		if !again.Already || again.Streak != day || again.Points != 10 || again.Bonus != wantBonus || again.Balance != total {
			t.Fatalf("day %d, second check-in: %+v", day, again)
		}
		// Local days: 23:30 and 00:30 Shanghai are different days.
		h.clk.add(24 * time.Hour)
	}
	if b := h.balance(m).Points; b != 170 {
		t.Fatalf("balance = %d, want 7×10 + 100", b)
	}
	h.clk.add(48 * time.Hour) // a day missed
	if r := checkIn(); r.Streak != 1 || r.Bonus != 0 {
		t.Fatalf("after a gap: %+v", r)
	}
	// Local midnight, not UTC midnight, starts a new day.
	h.clk.set(time.Date(2026, 5, 1, 23, 50, 0, 0, shanghai))
	checkIn()
	h.clk.set(time.Date(2026, 5, 2, 0, 10, 0, 0, shanghai))
	if r := checkIn(); r.Already {
		t.Fatalf("00:10 local is a new day: %+v", r)
	}
	h.check(m)
}

func TestReferralPaidOnFirstOrderAndReversedByItsRefund(t *testing.T) {
	h := newHarness(t, nil)
	alice, bob := h.member("alice"), h.member("bob")
	for _, tt := range []struct {
		member, code string
	}{{bob.ID, "NOPE1234"}, {alice.ID, alice.ReferralCode}} {
		if err := h.try(func(tx store.Tx) error { return h.p.Referral(tx, tt.member, tt.code) }); !errors.Is(err, ErrInvalid) {
			t.Fatalf("Referral(%s, %s) = %v, want ErrInvalid", tt.member, tt.code, err)
		}
	}
	h.do(func(tx store.Tx) error {
		return h.p.Referral(tx, bob.ID, " "+alice.ReferralCode[:4]+"-"+alice.ReferralCode[4:])
	})
	h.do(func(tx store.Tx) error { return h.p.Referral(tx, bob.ID, alice.ReferralCode) }) // again: fine
	if err := h.try(func(tx store.Tx) error { return h.p.Referral(tx, alice.ID, bob.ReferralCode) }); !errors.Is(err, ErrInvalid) {
		t.Fatalf("mutual referral: %v", err)
	}
	res := h.credit(bob.ID, "B1", 50)
	if len(res.Bonus) != 2 || h.balance(bob.ID).Points != 150 || h.balance(alice.ID).Points != 200 {
		t.Fatalf("bonus %+v; bob %d, alice %d", res.Bonus, h.balance(bob.ID).Points, h.balance(alice.ID).Points)
	}
	if r := h.credit(bob.ID, "B2", 50); len(r.Bonus) != 0 {
		t.Fatalf("second order paid a bonus: %+v", r.Bonus)
	}
	carol := h.member("carol")
	if err := h.try(func(tx store.Tx) error { return h.p.Referral(tx, bob.ID, carol.ReferralCode) }); !errors.Is(err, ErrInvalid) {
		t.Fatalf("re-referral after orders: %v", err)
	}
	var ref EarnResult
	h.do(func(tx store.Tx) (err error) { ref, err = h.p.RefundOrder(tx, "B1"); return })
	if len(ref.Bonus) != 2 || h.balance(bob.ID).Points != 50 || h.balance(alice.ID).Points != 0 {
		t.Fatalf("refund %+v; bob %d, alice %d", ref, h.balance(bob.ID).Points, h.balance(alice.ID).Points)
	}
	h.check(alice.ID)
	h.check(bob.ID)
}

func TestSurveyRewardOncePerSurvey(t *testing.T) {
	h := newHarness(t, nil)
	m := h.member("u").ID
	var a, b EarnResult
	h.do(func(tx store.Tx) (err error) { a, err = h.p.SurveyReward(tx, m, "nps:2026-03"); return })
	h.do(func(tx store.Tx) (err error) { b, err = h.p.SurveyReward(tx, m, "nps:2026-03"); return })
	if a.Entry.Points != 20 || a.Duplicate || !b.Duplicate || h.balance(m).Points != 20 {
		t.Fatalf("a %+v b %+v", a, b)
	}
	if err := h.try(func(tx store.Tx) error { _, err := h.p.SurveyReward(tx, m, ""); return err }); !errors.Is(err, ErrInvalid) {
		t.Fatalf("empty survey key: %v", err)
	}
}
