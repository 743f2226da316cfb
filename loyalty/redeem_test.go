package loyalty

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carebot/carebot/store"
)

func perk(id string, cost int64) Right {
	return Right{ID: id, Kind: RightPerk, Name: map[string]string{"en": id}, Cost: cost, Stock: -1, Active: true, ValidDays: 30}
}

func TestRedeemChecks(t *testing.T) {
	tests := []struct {
		name    string
		right   Right
		tier    string
		points  float64 // one order
		frozen  bool
		before  int // earlier redemptions
		wantErr error
		cost    int64
	}{
		{"ok", perk("a", 500), "regular", 600, false, 0, nil, 500},
		{"exact balance", perk("a", 600), "regular", 600, false, 0, nil, 600},
		{"insufficient", perk("a", 601), "regular", 600, false, 0, ErrInsufficient, 0},
		{"gold discount", perk("a", 1000), "gold", 1000, false, 0, nil, 900},
		{"tier cost overrides the discount", func() Right { r := perk("a", 1000); r.TierCost = map[string]int64{"gold": 100}; return r }(), "gold", 1000, false, 0, nil, 100},
		{"tier not eligible", func() Right { r := perk("a", 10); r.Tiers = []string{"gold", "diamond"}; return r }(), "silver", 1000, false, 0, ErrNotEligible, 0},
		{"tier eligible", func() Right { r := perk("a", 10); r.Tiers = []string{"gold", "diamond"}; return r }(), "diamond", 1000, false, 0, nil, 9},
		{"frozen", perk("a", 10), "regular", 1000, true, 0, ErrFrozen, 0},
		{"out of stock", func() Right { r := perk("a", 10); r.Stock = 1; return r }(), "regular", 1000, false, 1, ErrOutOfStock, 0},
		{"per-member limit", func() Right { r := perk("a", 10); r.PerMember = 2; return r }(), "regular", 1000, false, 2, ErrLimit, 0},
		{"inactive", func() Right { r := perk("a", 10); r.Active = false; return r }(), "regular", 1000, false, 0, ErrNoRight, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, nil)
			h.putRight(tt.right)
			m := h.member("u")
			h.credit(m.ID, "o", tt.points)
			h.do(func(tx store.Tx) error {
				mm, err := h.p.Member(tx, m.ID)
				if err != nil {
					return err
				}
				mm.Tier, mm.Frozen = tt.tier, tt.frozen
				return h.p.save(tx, mm)
			})
			for i := range tt.before {
				if _, _, err := h.redeem(m.ID, "a", fmt.Sprint("before", i)); err != nil {
					t.Fatal(err)
				}
			}
			before := h.balance(m.ID).Points
			var offers []Offer
			h.do(func(tx store.Tx) (err error) { offers, err = h.p.Offers(tx, m.ID); return })
			c, e, err := h.redeem(m.ID, "a", "k")
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr != nil {
				if got := h.balance(m.ID).Points; got != before {
					t.Fatalf("a failed redemption changed the balance %d → %d", before, got)
				}
				if tt.right.Active && (len(offers) != 1 || offers[0].Eligible || refusalErrors[offers[0].Reason] != tt.wantErr) {
					t.Fatalf("offers = %+v", offers)
				}
				return
			}
			if c.Points != tt.cost || e.Points != -tt.cost || e.Kind != KindRedeem || e.Coupon != c.Code || len(c.Code) != couponLen {
				t.Fatalf("coupon %+v, entry %+v", c, e)
			}
			if len(offers) != 1 || !offers[0].Eligible || offers[0].Cost != tt.cost {
				t.Fatalf("offers = %+v", offers)
			}
			// Same key: the same coupon, no second debit.
			c2, e2, err := h.redeem(m.ID, "a", "k")
			if err != nil || c2.Code != c.Code || e2.Seq != e.Seq || h.balance(m.ID).Points != before-tt.cost {
				t.Fatalf("retry: %+v %+v %v", c2, e2, err)
			}
			h.check(m.ID)
		})
	}
}

// TestConcurrentRedemptions: 100 members redeem a right with stock 10 at
// once, each in its own transaction. Exactly 10 win, nobody's balance goes
// negative and no code is issued twice.
func TestConcurrentRedemptions(t *testing.T) {
	h := newHarness(t, nil)
	r := perk("limited", 300)
	r.Stock = 10
	h.putRight(r)
	ids := make([]string, 100)
	for i := range ids {
		ids[i] = h.member(fmt.Sprint("u", i)).ID
		h.credit(ids[i], fmt.Sprint("o", i), 500)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[string]bool{}
	wins, outOfStock := 0, 0
	start := make(chan struct{})
	for i, id := range ids {
		wg.Go(func() {
			<-start
			c, _, err := h.redeem(id, "limited", fmt.Sprint("k", i))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
				if codes[c.Code] {
					t.Errorf("code %s issued twice", c.Code)
				}
				codes[c.Code] = true
			case errors.Is(err, ErrOutOfStock):
				outOfStock++
			default:
				t.Error(err)
			}
		})
	}
	close(start)
	wg.Wait()
	if wins != 10 || outOfStock != 90 {
		t.Fatalf("%d won, %d out of stock", wins, outOfStock)
	}
	spent := 0
	for _, id := range ids {
		b := h.balance(id)
		if b.Points < 0 {
			t.Fatalf("%s balance %d", id, b.Points)
		}
		if b.Points == 200 {
			spent++
		}
		h.check(id)
	}
	h.do(func(tx store.Tx) error {
		if n := h.p.Issued(tx, "limited"); n != 10 || spent != 10 {
			t.Errorf("issued %d, members who paid %d", n, spent)
		}
		return nil
	})
}

func TestUseCoupon(t *testing.T) {
	h := newHarness(t, nil)
	m := h.member("u").ID
	h.putRight(perk("a", 0))
	c, _, err := h.redeem(m, "a", "k")
	if err != nil {
		t.Fatal(err)
	}
	use := func(code string) (*Coupon, error) {
		var out *Coupon
		err := h.try(func(tx store.Tx) (err error) { out, err = h.p.UseCoupon(tx, code, "shop-order-1"); return })
		return out, err
	}
	// Typed loosely: lower case, with a dash.
	typed := strings.ToLower(c.Code[:5] + "-" + c.Code[5:])
	used, err := use(typed)
	if err != nil || used.Status != CouponUsed || used.UsedRef != "shop-order-1" {
		t.Fatalf("first use: %+v, %v", used, err)
	}
	again, err := use(c.Code)
	if !errors.Is(err, ErrCouponUsed) || again.UsedRef != "shop-order-1" {
		t.Fatalf("second use: %+v, %v", again, err)
	}
	if _, err := use("NOSUCHCODE"); !errors.Is(err, ErrNoCoupon) {
		t.Fatalf("unknown code: %v", err)
	}
	// Valid to the end of the local day 30 days after issue.
	c2, _, err := h.redeem(m, "a", "k2")
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 4, 10, 0, 0, 0, 0, shanghai); !c2.Expires.Equal(want) {
		t.Fatalf("expires %s, want %s", c2.Expires, want)
	}
	h.clk.set(c2.Expires)
	if _, err := use(c2.Code); !errors.Is(err, ErrCouponExpired) {
		t.Fatalf("expired coupon: %v", err)
	}
	var list []Coupon
	h.do(func(tx store.Tx) (err error) { list, err = h.p.Coupons(tx, m); return })
	if len(list) != 2 || list[0].Code != c2.Code || list[0].Status != CouponExpired || list[1].Status != CouponUsed {
		t.Fatalf("coupons = %+v", list)
	}
}

func TestGrantCompensation(t *testing.T) {
	h := newHarness(t, nil)
	m := h.member("u").ID
	sorry := Right{ID: "sorry-10", Kind: RightAmountOff, Name: map[string]string{"zh-Hans": "10元补偿券"}, Value: 10, Stock: 2, ValidDays: 30}
	h.putRight(sorry) // inactive: grant-only
	grant := func(ticket uint64) (*Coupon, error) {
		var c *Coupon
		err := h.try(func(tx store.Tx) (err error) { c, err = h.p.Grant(tx, m, "sorry-10", ticket, "agent:ann"); return })
		return c, err
	}
	c, err := grant(42)
	if err != nil || c.Points != 0 || c.Ticket != 42 {
		t.Fatalf("grant: %+v, %v", c, err)
	}
	again, err := grant(42)
	if err != nil || again.Code != c.Code {
		t.Fatalf("same ticket again: %+v, %v", again, err)
	}
	e := h.ledger(m)[0]
	if e.Points != 0 || e.Reason != ReasonCompensation || e.Ticket != 42 || e.Coupon != c.Code || e.By != "agent:ann" || len(h.ledger(m)) != 1 {
		t.Fatalf("ledger = %+v", h.ledger(m))
	}
	if _, err := grant(0); !errors.Is(err, ErrInvalid) {
		t.Fatalf("ticket 0: %v", err)
	}
	if _, err := grant(43); err != nil {
		t.Fatal(err)
	}
	if _, err := grant(44); !errors.Is(err, ErrOutOfStock) {
		t.Fatalf("grant past the stock: %v", err)
	}
	// Not offered in chat.
	var offers []Offer
	h.do(func(tx store.Tx) (err error) { offers, err = h.p.Offers(tx, m); return })
	if len(offers) != 0 {
		t.Fatalf("grant-only right offered: %+v", offers)
	}
}

func TestBirthdayRight(t *testing.T) {
	h := newHarness(t, nil)
	m := h.member("u").ID
	bday := Right{ID: "bday", Kind: RightAmountOff, Name: map[string]string{"en": "bday"}, Value: 10, Stock: -1, PerMember: 1,
		BirthdayMonth: true, Active: true}
	h.putRight(bday)
	if _, _, err := h.redeem(m, "bday", "k0"); !errors.Is(err, ErrNotEligible) {
		t.Fatalf("no birthday: %v", err)
	}
	h.do(func(tx store.Tx) error { _, err := h.p.Join(tx, m, "Ann", "1990-04-02", true); return err })
	if _, _, err := h.redeem(m, "bday", "k1"); !errors.Is(err, ErrNotEligible) {
		t.Fatalf("March, birthday in April: %v", err)
	}
	h.clk.set(time.Date(2026, 4, 15, 12, 0, 0, 0, shanghai))
	if _, _, err := h.redeem(m, "bday", "k2"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := h.redeem(m, "bday", "k3"); !errors.Is(err, ErrLimit) {
		t.Fatalf("twice in one birthday month: %v", err)
	}
	h.clk.set(time.Date(2027, 4, 1, 12, 0, 0, 0, shanghai))
	if _, _, err := h.redeem(m, "bday", "k4"); err != nil {
		t.Fatalf("next year: %v", err)
	}
}

func TestCatalogueFileSeedsOnce(t *testing.T) {
	data, err := os.ReadFile("../configs/rewards.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cat, err := ParseCatalogue(data)
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, func(o *Options) { o.Catalogue = cat })
	var rights []Right
	h.do(func(tx store.Tx) (err error) { rights, err = h.p.Rights(tx); return })
	if len(rights) != len(cat) || len(cat) < 6 {
		t.Fatalf("seeded %d of %d rights", len(rights), len(cat))
	}
	byID := map[string]Right{}
	for _, r := range cat {
		byID[r.ID] = r
		for _, l := range []string{"zh-Hans", "zh-Hant", "en"} {
			if r.Name[l] == "" {
				t.Errorf("%s has no %s name", r.ID, l)
			}
		}
	}
	if r := byID["ten-percent-off"]; r.Kind != RightPercentOff || r.Value != 10 || strings.Join(r.Tiers, ",") != "gold,diamond" {
		t.Errorf("9折券 = %+v", r)
	}
	if r := byID["cash-5"]; r.Stock != -1 || !r.Active {
		t.Errorf("absent stock/active: %+v", r)
	}
	if r := byID["sorry-10"]; r.Active {
		t.Errorf("compensation right offered: %+v", r)
	}
	// An admin deletes one and edits another; a restart's Seed keeps that.
	h.do(func(tx store.Tx) error {
		if err := h.p.DeleteRight(tx, "free-shipping"); err != nil {
			return err
		}
		r := byID["cash-5"]
		r.Cost = 450
		return h.p.PutRight(tx, r)
	})
	h.do(func(tx store.Tx) error { return h.p.Seed(tx) })
	h.do(func(tx store.Tx) error {
		if _, err := h.p.Right(tx, "free-shipping"); !errors.Is(err, ErrNoRight) {
			t.Errorf("deleted right came back: %v", err)
		}
		if r, _ := h.p.Right(tx, "cash-5"); r.Cost != 450 {
			t.Errorf("edit overwritten: %+v", r)
		}
		return nil
	})
}

func TestParseCatalogueErrors(t *testing.T) {
	for _, tt := range []struct{ yaml, want string }{
		{"rights:\n  - id: a\n    kind: perk\n    name: {en: A}\n    costt: 5\n", "costt"},
		{"rights:\n  - id: a\n    kind: voucher\n    name: {en: A}\n", `kind "voucher"`},
		{"rights:\n  - id: a\n    kind: percent_off\n    name: {en: A}\n    value: 100\n", "percent_off"},
		{"rights:\n  - id: a\n    kind: perk\n    name: {en: A}\n  - id: a\n    kind: perk\n    name: {en: B}\n", "used twice"},
		{"rights:\n  - id: A B\n    kind: perk\n    name: {en: A}\n", "id must be"},
		{"rights:\n  - id: a\n    kind: perk\n", "needs a name"},
		{"rights:\n  - id: a\n    kind: perk\n    name: {en: A}\n    stock: -2\n", "stock"},
	} {
		_, err := ParseCatalogue([]byte(tt.yaml))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseCatalogue(%q) = %v, want %q", tt.yaml, err, tt.want)
		}
	}
	if rights, err := ParseCatalogue(nil); err != nil || len(rights) != 0 {
		t.Errorf("empty catalogue: %v, %v", rights, err)
	}
	// Tier names are checked against the programme's tiers.
	cat, err := ParseCatalogue([]byte("rights:\n  - id: a\n    kind: perk\n    name: {en: A}\n    tiers: [platinum]\n"))
	if err != nil {
		t.Fatal(err)
	}
	opts := DefaultOptions()
	opts.Catalogue = cat
	if _, err := New(opts, nil); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "platinum") {
		t.Errorf("unknown tier: %v", err)
	}
}
