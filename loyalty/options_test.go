package loyalty

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/carebot/carebot/store"
)

func TestNewValidatesOptions(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Options)
		want   string
	}{
		{"no tiers", func(o *Options) { o.Tiers = nil }, "at least one tier"},
		{"lowest threshold", func(o *Options) { o.Tiers[0].Threshold = 5 }, "lowest tier's threshold"},
		{"not ascending", func(o *Options) { o.Tiers[2].Threshold = 2000 }, "tiers[2]: threshold 2000"},
		{"duplicate name", func(o *Options) { o.Tiers[3].Name = "gold" }, "used twice"},
		{"bad name", func(o *Options) { o.Tiers[1].Name = "Silver Card" }, "tiers[1]: name"},
		{"zero multiplier", func(o *Options) { o.Tiers[1].Multiplier = 0 }, "multiplier"},
		{"discount 100%", func(o *Options) { o.Tiers[1].Discount = 1 }, "discount"},
		{"keep ratio", func(o *Options) { o.KeepRatio = 0 }, "keep_ratio"},
		{"rate", func(o *Options) { o.PointsPerUnit = -1 }, "points_per_unit"},
		{"category", func(o *Options) { o.CategoryMultipliers = map[string]float64{"x": -1} }, "category_multipliers"},
		{"campaign date", func(o *Options) {
			o.Campaigns = []Campaign{{Name: "c", From: "2026-02-30", To: "2026-03-01", Multiplier: 2}}
		}, "not a date"},
		{"campaign order", func(o *Options) {
			o.Campaigns = []Campaign{{Name: "c", From: "2026-03-02", To: "2026-03-01", Multiplier: 2}}
		}, "before"},
		{"negative points", func(o *Options) { o.CheckInPoints = -1 }, "check_in_points"},
		{"positive floor", func(o *Options) { o.BalanceFloor = 1 }, "balance_floor"},
		{"ttl", func(o *Options) { o.LinkCodeTTL = 0 }, "link_code_ttl"},
		{"dormant before at-risk", func(o *Options) { o.DormantAfter = o.AtRiskAfter }, "dormant_after"},
		{"lot months", func(o *Options) { o.LotMonths = -1 }, "lot_months"},
		{"core orders", func(o *Options) { o.CoreOrders = 0 }, "core_orders"},
		{"catalogue tier", func(o *Options) {
			o.Catalogue = []Right{{ID: "x", Kind: RightPerk, Name: map[string]string{"en": "x"}, TierCost: map[string]int64{"vip": 1}}}
		}, "vip"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := DefaultOptions()
			tt.mutate(&o)
			_, err := New(o, nil)
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New = %v, want ErrInvalid mentioning %q", err, tt.want)
			}
		})
	}
	p, err := New(DefaultOptions(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if p.Location().String() != "Asia/Shanghai" && p.Location().String() != "CST" {
		t.Errorf("default location %s", p.Location())
	}
	if p.HandoffPriority("diamond") != 3 || p.HandoffPriority("nope") != 0 || len(p.Tiers()) != 4 || p.Options().KeepRatio != 0.8 {
		t.Errorf("accessors: %+v", p.Options())
	}
	if tr, _ := p.Tier("diamond"); tr.LabelIn("zh-Hant") != "鑽石" || tr.LabelIn("fr") != "钻石" {
		t.Errorf("labels: %s %s", tr.LabelIn("zh-Hant"), tr.LabelIn("fr"))
	}
}

func TestLoadLocation(t *testing.T) {
	if loc, err := LoadLocation(""); err != nil || loc == nil {
		t.Fatalf("default: %v", err)
	}
	if _, err := LoadLocation("Mars/Olympus"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("unknown zone: %v", err)
	}
	// Local days follow the configured zone: 23:30 UTC is the next day in
	// Shanghai.
	utcLate := time.Date(2026, 3, 10, 23, 30, 0, 0, time.UTC)
	p, _ := New(DefaultOptions(), func() time.Time { return utcLate })
	if d := p.day(utcLate); d != "2026-03-11" {
		t.Fatalf("local day %s", d)
	}
}

func TestCampaignsEditableAtRuntime(t *testing.T) {
	h := newHarness(t, func(o *Options) {
		o.Campaigns = []Campaign{{Name: "spring", From: "2026-03-01", To: "2026-03-31", Multiplier: 2}}
	})
	m := h.member("u").ID
	if r := h.credit(m, "o1", 100); r.Entry.Points != 200 {
		t.Fatalf("seeded campaign: %+v", r.Entry)
	}
	if err := h.try(func(tx store.Tx) error {
		return h.p.PutCampaign(tx, Campaign{Name: "bad", From: "2026-03-01", To: "2026-02-01", Multiplier: 2})
	}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad campaign: %v", err)
	}
	h.do(func(tx store.Tx) error {
		return h.p.PutCampaign(tx, Campaign{Name: "shoes-x3", From: "2026-03-10", To: "2026-03-10", Multiplier: 3, Categories: []string{"Shoes"}})
	})
	if r := h.credit(m, "o2", 100); r.Entry.Points != 200 { // not shoes
		t.Fatalf("other category: %+v", r.Entry)
	}
	h.do(func(tx store.Tx) error {
		_, err := h.p.CreditOrder(tx, Order{ID: "o3", Member: m, Amount: 100, Category: "shoes"})
		return err
	})
	if got := h.ledger(m)[0].Points; got != 300 {
		t.Fatalf("shoes during both campaigns: %d, want the higher ×3", got)
	}
	h.do(func(tx store.Tx) error { return h.p.DeleteCampaign(tx, "spring") })
	if err := h.try(func(tx store.Tx) error { return h.p.DeleteCampaign(tx, "spring") }); !errors.Is(err, ErrNoCampaign) {
		t.Fatalf("delete twice: %v", err)
	}
	h.do(func(tx store.Tx) error { return h.p.Seed(tx) }) // a deleted seed stays deleted
	var cs []Campaign
	h.do(func(tx store.Tx) (err error) { cs, err = h.p.Campaigns(tx); return })
	if len(cs) != 1 || cs[0].Name != "shoes-x3" || cs[0].Categories[0] != "shoes" {
		t.Fatalf("campaigns = %+v", cs)
	}
	if r := h.credit(m, "o4", 100); r.Entry.Points != 100 {
		t.Fatalf("after deleting spring: %+v", r.Entry)
	}
}

func TestMergeCarriesDebtToTheFloor(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.BalanceFloor = -100 })
	target, other := h.member("a").ID, h.member("b").ID
	h.credit(target, "t", 30)
	h.credit(other, "o", 500)
	h.adjust(other, -450)
	h.do(func(tx store.Tx) error { _, err := h.p.RefundOrder(tx, "o"); return err }) // other: 50 - 500 → floor -100
	if b := h.balance(other).Points; b != -100 {
		t.Fatalf("other = %d", b)
	}
	var code string
	h.do(func(tx store.Tx) (err error) { code, _, err = h.p.LinkCode(tx, target); return })
	h.do(func(tx store.Tx) error { _, err := h.p.Link(tx, code, "webchat", "b"); return err })
	// 30 - 100 = -70: within the floor, no shortfall.
	if b := h.balance(target).Points; b != -70 {
		t.Fatalf("target after merge = %d", b)
	}
	h.check(target)
	h.check(other)
	h.credit(target, "t2", 100)
	if b := h.balance(target).Points; b != 30 {
		t.Fatalf("debt not repaid first: %d", b)
	}
	h.check(target)
}
