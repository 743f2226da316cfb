package loyalty

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/carebot/carebot/store"
)

// runOps interprets ops as a sequence of ledger operations on three
// members, each in its own transaction, and checks the ledger invariants
// of every member after each one. Failed operations (not enough points,
// out of stock) must leave nothing behind: their transaction rolls back.
func runOps(t testing.TB, h *harness, ops []byte) {
	t.Helper()
	members := []string{h.member("a").ID, h.member("b").ID, h.member("c").ID}
	h.putRight(Right{ID: "cheap", Kind: RightAmountOff, Name: map[string]string{"en": "cheap"}, Value: 1, Cost: 70, Stock: -1, Active: true})
	h.putRight(Right{ID: "scarce", Kind: RightPerk, Name: map[string]string{"en": "scarce"}, Cost: 10, Stock: 3, PerMember: 1, Active: true})
	var orders []string
	next := func(i *int) byte {
		*i++
		if *i < len(ops) {
			return ops[*i]
		}
		return 0
	}
	allowed := func(err error) bool {
		return err == nil || errors.Is(err, ErrInsufficient) || errors.Is(err, ErrOutOfStock) || errors.Is(err, ErrLimit)
	}
	for i := 0; i < len(ops); i++ {
		op := ops[i] % 10
		m := members[int(next(&i))%len(members)]
		var err error
		switch op {
		case 0, 8, 9: // earn
			id := fmt.Sprintf("o%d", len(orders))
			orders = append(orders, id)
			err = h.try(func(tx store.Tx) error {
				_, err := h.p.CreditOrder(tx, Order{ID: id, Member: m, Amount: float64(next(&i))*7 + 1, Category: "shoes"})
				return err
			})
		case 1: // redeem
			right := "cheap"
			if next(&i)%3 == 0 {
				right = "scarce"
			}
			_, _, err = h.redeem(m, right, fmt.Sprintf("k%d", i))
		case 2: // refund (possibly again)
			if len(orders) == 0 {
				continue
			}
			id := orders[int(next(&i))%len(orders)]
			err = h.try(func(tx store.Tx) error { _, err := h.p.RefundOrder(tx, id); return err })
		case 3: // time passes (hours, or months), the daily expiry job runs
			if d := time.Duration(next(&i)); d > 230 {
				h.clk.add((d - 230) * 30 * 24 * time.Hour)
			} else {
				h.clk.add(d * time.Hour)
			}
			err = h.try(func(tx store.Tx) error { _, err := h.p.ExpireDue(tx); return err })
		case 4: // admin adjustment
			delta := int64(next(&i)) - 128
			if delta == 0 {
				delta = 1
			}
			err = h.try(func(tx store.Tx) error { _, err := h.p.Adjust(tx, m, delta, "fuzz", "tester"); return err })
		case 5: // check-in
			err = h.try(func(tx store.Tx) error { _, err := h.p.CheckIn(tx, m); return err })
		case 6: // a repeated order must not credit again
			if len(orders) == 0 {
				continue
			}
			id := orders[int(next(&i))%len(orders)]
			var before, after int64
			err = h.try(func(tx store.Tx) error {
				var sum int64
				for _, mm := range members {
					b, _ := h.p.Balance(tx, mm)
					sum += b.Points
				}
				before = sum
				res, err := h.p.CreditOrder(tx, Order{ID: id, Member: m, Amount: 999})
				if err == nil && !res.Duplicate {
					return fmt.Errorf("order %s credited twice", id)
				}
				for _, mm := range members {
					b, _ := h.p.Balance(tx, mm)
					after += b.Points
				}
				return err
			})
			if err == nil && before != after {
				t.Fatalf("op %d: a repeated order changed the balances from %d to %d", i, before, after)
			}
		case 7: // a day passes and a redemption is retried with the same key
			h.clk.add(24 * time.Hour)
			key := fmt.Sprintf("retry%d", int(next(&i))%len(ops))
			c1, _, err1 := h.redeem(m, "cheap", key)
			c2, _, err2 := h.redeem(m, "cheap", key)
			if err1 == nil && (err2 != nil || c1.Code != c2.Code) {
				t.Fatalf("op %d: retried redemption gave %v, %v", i, c2, err2)
			}
			err = err1
		}
		if !allowed(err) {
			t.Fatalf("op %d (%d): %v", i, op, err)
		}
		for _, id := range members {
			h.check(id)
		}
	}
}

// TestLedgerProperties runs many random operation sequences (with a zero
// and a negative balance floor) and checks after every step that each
// balance equals the sum of its entries and of its lots and never falls
// below the floor.
func TestLedgerProperties(t *testing.T) {
	n := 40
	if testing.Short() {
		n = 8
	}
	var mu sync.Mutex
	seen := map[string]int{} // what the sequences exercised
	t.Run("group", func(t *testing.T) {
		for seed := range n {
			t.Run(fmt.Sprint(seed), func(t *testing.T) {
				t.Parallel()
				r := rand.New(rand.NewPCG(uint64(seed), 42))
				ops := make([]byte, 400)
				for i := range ops {
					ops[i] = byte(r.IntN(256))
				}
				floor := int64(0)
				if seed%2 == 1 {
					floor = -300
				}
				h := newHarness(t, func(o *Options) { o.BalanceFloor = floor })
				runOps(t, h, ops)
				h.do(func(tx store.Tx) error {
					return tx.Scan(bucketLedger, nil, func(_, v []byte) error {
						var e Entry
						if err := store.DecodeJSON(v, &e); err != nil {
							return err
						}
						mu.Lock()
						defer mu.Unlock()
						seen[e.Kind]++
						if e.Shortfall > 0 {
							seen["shortfall"]++
						}
						if e.Balance < 0 {
							seen["negative"]++
						}
						return nil
					})
				})
			})
		}
	})
	for _, k := range []string{KindEarn, KindRedeem, KindExpire, KindAdjust, KindReverse, "shortfall", "negative"} {
		if seen[k] == 0 && !t.Failed() {
			t.Errorf("no sequence produced %s (seen %v): the generator lost its reach", k, seen)
		}
	}
	t.Logf("entries by kind: %v", seen)
}

// FuzzLedger explores operation sequences; its seed corpus runs under
// plain go test.
func FuzzLedger(f *testing.F) {
	f.Add([]byte{0, 200, 0, 100, 1, 0, 2, 0, 3, 250, 3, 250})                 // earn, redeem, refund, expire
	f.Add([]byte{0, 255, 0, 1, 17, 1, 9, 0, 2, 0, 2, 0, 4, 0, 4, 255})        // spend then refund below zero
	f.Add([]byte{5, 0, 3, 1, 5, 0, 3, 1, 5, 0, 7, 2, 1, 3, 1, 3, 1, 3, 1, 3}) // check-ins, scarce rights
	f.Add([]byte{0, 50, 6, 0, 2, 0, 6, 0, 2, 0, 3, 255, 3, 255, 3, 255})      // duplicates, long expiry
	f.Fuzz(func(t *testing.T, ops []byte) {
		if len(ops) > 200 {
			ops = ops[:200]
		}
		floor := int64(0)
		if len(ops) > 0 && ops[0]&0x80 != 0 {
			floor = -200
		}
		runOps(t, newHarness(t, func(o *Options) { o.BalanceFloor = floor }), ops)
	})
}

func TestRefundAfterSpendingStopsAtTheFloor(t *testing.T) {
	for _, tt := range []struct {
		name              string
		floor             int64
		balance, shortage int64
	}{
		{"floor 0", 0, 0, 800},
		{"floor -500", -500, -500, 300},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, func(o *Options) { o.BalanceFloor = tt.floor })
			m := h.member("u1").ID
			h.credit(m, "A1", 1000)
			h.putRight(Right{ID: "big", Kind: RightPerk, Name: map[string]string{"en": "big"}, Cost: 800, Stock: -1, Active: true})
			if _, _, err := h.redeem(m, "big", "r1"); err != nil {
				t.Fatal(err)
			}
			var res EarnResult
			h.do(func(tx store.Tx) (err error) { res, err = h.p.RefundOrder(tx, "A1"); return })
			if res.Entry.Kind != KindReverse || res.Entry.Balance != tt.balance || res.Entry.Shortfall != tt.shortage ||
				res.Entry.Points != -(1000-tt.shortage) {
				t.Fatalf("refund entry = %+v", res.Entry)
			}
			h.check(m)
			// A second refund changes nothing.
			h.do(func(tx store.Tx) (err error) { res, err = h.p.RefundOrder(tx, "A1"); return })
			if !res.Duplicate || h.balance(m).Points != tt.balance {
				t.Fatalf("second refund: %+v, balance %d", res, h.balance(m).Points)
			}
			// New points pay the debt first: lots hold max(balance, 0).
			h.credit(m, "A2", 700)
			if got := h.balance(m).Points; got != tt.balance+700 {
				t.Fatalf("balance after new order = %d", got)
			}
			h.check(m)
		})
	}
	h := newHarness(t, nil)
	if err := h.try(func(tx store.Tx) error { _, err := h.p.RefundOrder(tx, "nope"); return err }); !errors.Is(err, ErrNoOrder) {
		t.Fatalf("refund of unknown order: %v", err)
	}
}

func TestExpiryFIFOAndNotice(t *testing.T) {
	h := newHarness(t, nil)
	m := h.member("u1").ID
	h.credit(m, "A", 100)          // lot 1: earned 2026-03-10, valid through 2027-03-10
	h.clk.set(t0.AddDate(0, 1, 0)) // 2026-04-10
	h.credit(m, "B", 200)          // lot 2: valid through 2027-04-10
	h.putRight(Right{ID: "r150", Kind: RightPerk, Name: map[string]string{"en": "r"}, Cost: 150, Stock: -1, Active: true})
	if _, _, err := h.redeem(m, "r150", "x"); err != nil { // FIFO: all of lot 1, 50 of lot 2
		t.Fatal(err)
	}
	h.check(m)

	// 2027-02-20: lot 2's 150 points expire within 30 days? No: only by 04-10.
	h.clk.set(time.Date(2027, 2, 20, 9, 0, 0, 0, shanghai))
	if b := h.balance(m); b.Expiring != 0 {
		t.Fatalf("nothing expires within 30 days of 02-20, got %+v", b)
	}
	h.clk.set(time.Date(2027, 3, 20, 9, 0, 0, 0, shanghai))
	b := h.balance(m)
	wantBy := time.Date(2027, 4, 11, 0, 0, 0, 0, shanghai)
	if b.Expiring != 150 || !b.ExpiringBy.Equal(wantBy) {
		t.Fatalf("balance = %+v, want 150 expiring by %s", b, wantBy)
	}
	var notices []string
	h.do(func(tx store.Tx) error {
		return h.p.ExpiringWithin(tx, 30*24*time.Hour, func(mm *Member, pts int64, by time.Time) error {
			notices = append(notices, fmt.Sprintf("%s %d %s", mm.ID, pts, by.Format(dateLayout)))
			return nil
		})
	})
	if len(notices) != 1 || notices[0] != m+" 150 2027-04-11" {
		t.Fatalf("notices = %v", notices)
	}

	// The last valid day keeps the points; the next day the job expires them.
	h.clk.set(time.Date(2027, 4, 10, 23, 59, 0, 0, shanghai))
	var n int
	h.do(func(tx store.Tx) (err error) { n, err = h.p.ExpireDue(tx); return })
	if n != 0 || h.balance(m).Points != 150 {
		t.Fatalf("expired early: %d entries, balance %d", n, h.balance(m).Points)
	}
	h.clk.set(time.Date(2027, 4, 11, 0, 5, 0, 0, shanghai))
	h.do(func(tx store.Tx) (err error) { n, err = h.p.ExpireDue(tx); return })
	if n != 1 || h.balance(m).Points != 0 {
		t.Fatalf("ExpireDue = %d entries, balance %d", n, h.balance(m).Points)
	}
	if e := h.ledger(m)[0]; e.Kind != KindExpire || e.Points != -150 {
		t.Fatalf("expire entry = %+v", e)
	}
	h.do(func(tx store.Tx) (err error) { n, err = h.p.ExpireDue(tx); return })
	if n != 0 {
		t.Fatalf("second run wrote %d entries", n)
	}
	h.check(m)
}

func TestAdjustIsAuditedAndBounded(t *testing.T) {
	h := newHarness(t, nil)
	m := h.member("u1").ID
	e := h.adjust(m, 300)
	if e.Kind != KindAdjust || e.Reason != ReasonAdmin || e.By != "tester" || e.Note != "test" || e.Balance != 300 {
		t.Fatalf("entry = %+v", e)
	}
	for _, tt := range []struct {
		delta       int64
		reason, by  string
		want        error
		description string
	}{
		{-301, "x", "y", ErrInsufficient, "more than the balance"},
		{0, "x", "y", ErrInvalid, "zero"},
		{10, "", "y", ErrInvalid, "no reason"},
		{10, "x", "", ErrInvalid, "no actor"},
		{2 * maxPoints, "x", "y", ErrInvalid, "overflow"},
	} {
		err := h.try(func(tx store.Tx) error { _, err := h.p.Adjust(tx, m, tt.delta, tt.reason, tt.by); return err })
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: err = %v, want %v", tt.description, err, tt.want)
		}
	}
	var e1, e2 Entry
	h.do(func(tx store.Tx) (err error) {
		e1, err = h.p.AdjustKey(tx, m, -100, "goodwill undo", "ann", "req-1")
		return
	})
	h.do(func(tx store.Tx) (err error) {
		e2, err = h.p.AdjustKey(tx, m, -100, "goodwill undo", "ann", "req-1")
		return
	})
	if e1.Seq != e2.Seq || h.balance(m).Points != 200 {
		t.Fatalf("AdjustKey not idempotent: %+v %+v", e1, e2)
	}
	h.check(m)
}
