package loyalty

import (
	"errors"
	"math"
	"testing"

	"github.com/carebot/carebot/store"
)

func TestCategoryMultipliersSetInTheConsoleReplaceTheConfigured(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.CategoryMultipliers = map[string]float64{"beauty": 2} })
	m := h.member("cat-a")
	earn := func(order, cat string) int64 {
		t.Helper()
		var r EarnResult
		h.do(func(tx store.Tx) error {
			var err error
			r, err = h.p.CreditOrder(tx, Order{ID: order, Member: m.ID, Amount: 100, Category: cat})
			return err
		})
		return r.Entry.Points
	}
	if got := earn("o1", "Beauty"); got != 200 {
		t.Fatalf("configured beauty ×2: %d points", got)
	}
	h.do(func(tx store.Tx) error { return h.p.SetCategoryMultipliers(tx, map[string]float64{" Home ": 3}) })
	if got := earn("o2", "beauty"); got != 100 {
		t.Fatalf("beauty after the console's set (no longer listed): %d points", got)
	}
	if got := earn("o3", "home"); got != 300 {
		t.Fatalf("home ×3: %d points", got)
	}
	var got map[string]float64
	h.do(func(tx store.Tx) error { var err error; got, err = h.p.CategoryMultipliers(tx); return err })
	if len(got) != 1 || got["home"] != 3 {
		t.Fatalf("multipliers = %v", got)
	}
	for _, bad := range []map[string]float64{{"x": -1}, {"x": 101}, {"": 2}, {"x": math.NaN()}} {
		if err := h.st.Update(func(tx store.Tx) error { return h.p.SetCategoryMultipliers(tx, bad) }); !errors.Is(err, ErrInvalid) {
			t.Errorf("SetCategoryMultipliers(%v) = %v", bad, err)
		}
	}
}
