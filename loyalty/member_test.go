package loyalty

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/carebot/carebot/store"
)

func TestEnsureMemberOnFirstContact(t *testing.T) {
	h := newHarness(t, nil)
	var a, b *Member
	var createdA, createdB bool
	h.do(func(tx store.Tx) (err error) { a, createdA, err = h.p.EnsureMember(tx, "line", "U1"); return })
	h.do(func(tx store.Tx) (err error) { b, createdB, err = h.p.EnsureMember(tx, "line", "U1"); return })
	if !createdA || createdB || a.ID != "M000001" || b.ID != a.ID || a.Tier != "regular" || len(a.ReferralCode) != referralLen {
		t.Fatalf("a %+v (%v), b %+v (%v)", a, createdA, b, createdB)
	}
	if c := h.member("other"); c.ID != "M000002" {
		t.Fatalf("second member id %s", c.ID)
	}
	err := h.try(func(tx store.Tx) error { _, err := h.p.Member(tx, "M404"); return err })
	if !errors.Is(err, ErrNoMember) {
		t.Fatalf("Member(M404) = %v", err)
	}
	err = h.try(func(tx store.Tx) error { _, _, err := h.p.EnsureMember(tx, "", "x"); return err })
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("empty channel: %v", err)
	}
}

func TestJoinValidation(t *testing.T) {
	h := newHarness(t, nil) // today is 2026-03-10 in Shanghai
	m := h.member("u").ID
	tests := []struct {
		name, person, birthday string
		ok                     bool
		msg                    string
	}{
		{"valid", "  王小明 ", "1990-05-20", true, ""},
		{"no birthday", "Ann", "", true, ""},
		{"born today", "Baby", "2026-03-10", true, ""},
		{"empty name", "   ", "1990-05-20", false, "1 to 40 characters"},
		{"long name", strings.Repeat("名", 41), "", false, "1 to 40 characters"},
		{"control character", "Ann\x07", "", false, "control characters"},
		{"bidi override", "Ann\u202eevil", "", false, "control characters"},
		{"February 30th", "Ann", "2023-02-30", false, "not a real date"},
		{"wrong format", "Ann", "1990/05/20", false, "not a real date"},
		{"future", "Ann", "2026-03-11", false, "in the future"},
		{"older than 120", "Ann", "1906-03-09", false, "120 years"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got *Member
			err := h.try(func(tx store.Tx) (err error) { got, err = h.p.Join(tx, m, tt.person, tt.birthday, true); return })
			if tt.ok {
				if err != nil || got.Name != strings.TrimSpace(tt.person) || !got.Joined || !got.Consent || got.Birthday != tt.birthday {
					t.Fatalf("Join = %+v, %v", got, err)
				}
				return
			}
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("err = %v, want ErrInvalid mentioning %q", err, tt.msg)
			}
		})
	}
	h.clk.add(time.Hour)
	h.do(func(tx store.Tx) error { return h.p.SetConsent(tx, m, false) })
	h.do(func(tx store.Tx) error {
		got, err := h.p.Member(tx, m)
		if err == nil && (got.Consent || !got.ConsentAt.Equal(h.clk.now())) {
			t.Errorf("after 退订: %+v", got)
		}
		return err
	})
}

func TestLinkCodeOnceAndExpiring(t *testing.T) {
	h := newHarness(t, nil)
	line := h.member("line-user").ID
	var code string
	var exp time.Time
	h.do(func(tx store.Tx) (err error) { code, exp, err = h.p.LinkCode(tx, line); return })
	if len(code) != 6 || strings.Trim(code, "0123456789") != "" || !exp.Equal(t0.Add(10*time.Minute)) {
		t.Fatalf("code %q expires %s", code, exp)
	}
	link := func(code, user string) (*Member, error) {
		var m *Member
		err := h.try(func(tx store.Tx) (err error) { m, err = h.p.Link(tx, code, "telegram", user); return })
		return m, err
	}
	m, err := link(code, "tg-1")
	if err != nil || m.ID != line || len(m.Identities) != 2 {
		t.Fatalf("Link = %+v, %v", m, err)
	}
	if _, err := link(code, "tg-2"); !errors.Is(err, ErrLinkCode) {
		t.Fatalf("second use: %v", err)
	}
	// Expiry: valid at 9m59s, gone at 10m.
	h.do(func(tx store.Tx) (err error) { code, _, err = h.p.LinkCode(tx, line); return })
	h.clk.add(10 * time.Minute)
	if _, err := link(code, "tg-3"); !errors.Is(err, ErrLinkCode) {
		t.Fatalf("expired code: %v", err)
	}
	h.do(func(tx store.Tx) (err error) { code, _, err = h.p.LinkCode(tx, line); return })
	h.clk.add(10*time.Minute - time.Second)
	if _, err := link(code, "tg-3"); err != nil {
		t.Fatalf("code at 9m59s: %v", err)
	}
	// A new code replaces the member's previous one.
	var c1, c2 string
	h.do(func(tx store.Tx) (err error) { c1, _, err = h.p.LinkCode(tx, line); return })
	h.do(func(tx store.Tx) (err error) { c2, _, err = h.p.LinkCode(tx, line); return })
	if _, err := link(c1, "tg-4"); c1 != c2 && !errors.Is(err, ErrLinkCode) {
		t.Fatalf("replaced code still works: %v", err)
	}
	if _, err := link("12345", "tg-5"); !errors.Is(err, ErrLinkCode) {
		t.Fatalf("malformed code: %v", err)
	}
}

func TestLinkMergesTheOtherMember(t *testing.T) {
	h := newHarness(t, nil)
	target, other := h.member("web-1").ID, h.member("web-2").ID
	h.credit(target, "t1", 300)
	h.credit(other, "o1", 2000) // other becomes silver
	h.putRight(Right{ID: "r", Kind: RightPerk, Name: map[string]string{"en": "r"}, Cost: 100, Stock: -1, PerMember: 1, Active: true})
	coupon, _, err := h.redeem(other, "r", "k")
	if err != nil {
		t.Fatal(err)
	}
	h.do(func(tx store.Tx) error { _, err := h.p.Join(tx, other, "Lin", "1988-08-08", true); return err })
	var code string
	h.do(func(tx store.Tx) (err error) { code, _, err = h.p.LinkCode(tx, target); return })
	var m *Member
	h.do(func(tx store.Tx) (err error) { m, err = h.p.Link(tx, code, "webchat", "web-2"); return })
	// other was silver when it redeemed: 100 points less 5%.
	if m.ID != target || m.Points != 300+2000-95 || m.Tier != "silver" || m.Orders != 2 || m.Name != "Lin" || len(m.Identities) != 2 {
		t.Fatalf("merged member = %+v", m)
	}
	if b := h.balance(target); b.Qualifying != 2300 {
		t.Fatalf("qualifying after merge = %+v", b)
	}
	// The old id, the identity and the coupon all lead to the target.
	h.do(func(tx store.Tx) error {
		for _, id := range []string{other, target} {
			mm, err := h.p.Member(tx, id)
			if err != nil || mm.ID != target {
				t.Errorf("Member(%s) = %v, %v", id, mm, err)
			}
		}
		cs, err := h.p.Coupons(tx, target)
		if err != nil || len(cs) != 1 || cs[0].Code != coupon.Code || cs[0].Member != target {
			t.Errorf("coupons = %+v, %v", cs, err)
		}
		return nil
	})
	// The per-member limit followed the coupon.
	if _, _, err := h.redeem(target, "r", "k2"); !errors.Is(err, ErrLimit) {
		t.Fatalf("limit after merge: %v", err)
	}
	// A refund of the merged member's order reaches the target.
	h.do(func(tx store.Tx) error { _, err := h.p.RefundOrder(tx, "o1"); return err })
	if got := h.balance(target).Points; got != 300+2000-95-2000 {
		t.Fatalf("balance after refund = %d", got)
	}
	h.check(target)
	h.check(other)
	var es []Entry
	h.do(func(tx store.Tx) (err error) { es, err = h.p.Ledger(tx, other, 0); return })
	if len(es) != 0 {
		// Ledger follows the merge to the target; the merged member's own
		// entries stay under its id (checked above by check(other)).
		if es[0].Member != target {
			t.Fatalf("ledger of the merged id: %+v", es[0])
		}
	}
}

func TestLinkRefusesFrozenMember(t *testing.T) {
	h := newHarness(t, nil)
	target, other := h.member("a").ID, h.member("b").ID
	h.do(func(tx store.Tx) error { return h.p.Freeze(tx, other, true, "abuse", "ann") })
	var code string
	h.do(func(tx store.Tx) (err error) { code, _, err = h.p.LinkCode(tx, target); return })
	err := h.try(func(tx store.Tx) error { _, err := h.p.Link(tx, code, "webchat", "b"); return err })
	if !errors.Is(err, ErrFrozen) {
		t.Fatalf("Link of a frozen member: %v", err)
	}
}

func TestStage(t *testing.T) {
	h := newHarness(t, nil)
	m := h.member("u")
	day := 24 * time.Hour
	steps := []struct {
		at    time.Duration
		touch bool
		order bool
		want  string
	}{
		{0, false, false, StageNew},
		{40 * day, true, false, StageNew}, // no order yet
		{41 * day, false, true, StageGrowing},
		{100 * day, false, false, StageAtRisk}, // 59 days idle → at 101 at-risk
		{131 * day, false, false, StageDormant},
		{132 * day, true, false, StageGrowing},
	}
	for i, s := range steps {
		h.clk.set(t0.Add(s.at))
		if s.touch {
			h.do(func(tx store.Tx) error { return h.p.Touch(tx, m.ID) })
		}
		if s.order {
			h.credit(m.ID, "o", 10)
		}
		if s.want == StageAtRisk {
			h.clk.add(day) // 60 days since the order
		}
		var got string
		h.do(func(tx store.Tx) error {
			mm, err := h.p.Member(tx, m.ID)
			got = h.p.Stage(mm)
			return err
		})
		if got != s.want {
			t.Errorf("step %d: stage %s, want %s", i, got, s.want)
		}
	}
	core := &Member{Created: t0, LastPurchase: h.clk.now(), Orders: 5}
	if got := h.p.Stage(core); got != StageCore {
		t.Errorf("5 orders: %s", got)
	}
}

func TestSearch(t *testing.T) {
	h := newHarness(t, nil)
	a := h.member("web-a").ID
	h.member("web-b")
	h.do(func(tx store.Tx) error { _, err := h.p.Join(tx, a, "Chen Mei", "", true); return err })
	h.do(func(tx store.Tx) error {
		_, err := h.p.ImportMember(tx, ImportRow{ID: "C100", Name: "陈小美", Phone: "+86 138-0013-8000"})
		return err
	})
	for _, tt := range []struct {
		q    string
		want []string
	}{
		{"chen", []string{a}},
		{"小美", []string{"C100"}},
		{"13800138000", []string{"C100"}},
		{"web-b", []string{"M000002"}},
		{a, []string{a}},
		{"nobody", nil},
	} {
		var got []*Member
		h.do(func(tx store.Tx) (err error) { got, err = h.p.Search(tx, tt.q, 10); return })
		var ids []string
		for _, m := range got {
			ids = append(ids, m.ID)
		}
		if strings.Join(ids, ",") != strings.Join(tt.want, ",") {
			t.Errorf("Search(%q) = %v, want %v", tt.q, ids, tt.want)
		}
	}
	var all []*Member
	h.do(func(tx store.Tx) (err error) { all, err = h.p.Search(tx, "", 2); return })
	if len(all) != 2 {
		t.Errorf("empty query, limit 2: %d members", len(all))
	}
}

func TestFreezeStopsRedeemingNotEarning(t *testing.T) {
	h := newHarness(t, nil)
	m := h.member("u").ID
	h.credit(m, "o1", 1000)
	h.putRight(Right{ID: "cash-5", Kind: RightAmountOff, Name: map[string]string{"en": "5 off"}, Value: 5, Cost: 500, Stock: -1, Active: true})
	if err := h.try(func(tx store.Tx) error { return h.p.Freeze(tx, m, true, "", "ann") }); !errors.Is(err, ErrInvalid) {
		t.Fatalf("freeze without a reason: %v", err)
	}
	h.do(func(tx store.Tx) error { return h.p.Freeze(tx, m, true, "bulk fake orders", "ann") })
	if _, _, err := h.redeem(m, "cash-5", "k"); !errors.Is(err, ErrFrozen) {
		t.Fatalf("frozen redeem: %v", err)
	}
	if r := h.credit(m, "o2", 10); r.Entry.Points != 10 {
		t.Fatalf("frozen member did not earn: %+v", r)
	}
	b := h.balance(m)
	if !b.Frozen || b.Points != 1010 {
		t.Fatalf("balance = %+v", b)
	}
	es := h.ledger(m)
	if audit := es[1]; audit.Reason != ReasonFreeze || audit.By != "ann" || audit.Note != "bulk fake orders" || audit.Points != 0 {
		t.Fatalf("audit entry = %+v", audit)
	}
	h.do(func(tx store.Tx) error { return h.p.Freeze(tx, m, false, "reviewed", "bob") })
	if _, _, err := h.redeem(m, "cash-5", "k"); err != nil {
		t.Fatalf("after unfreezing: %v", err)
	}
}

func TestImportMember(t *testing.T) {
	h := newHarness(t, nil)
	// A web chat visitor chatted (and checked in) before the import links
	// the session to the imported member.
	visitor := h.member("session-9").ID
	h.do(func(tx store.Tx) error { _, err := h.p.CheckIn(tx, visitor); return err })
	row := ImportRow{ID: "M000007", Name: "Lee", Phone: "0912-345-678", Birthday: "1985-12-01", Tier: "金卡", Points: 5000,
		Channel: "webchat", ChannelUser: "session-9"}
	var created bool
	h.do(func(tx store.Tx) (err error) { created, err = h.p.ImportMember(tx, row); return })
	if !created {
		t.Fatal("not created")
	}
	h.do(func(tx store.Tx) (err error) { created, err = h.p.ImportMember(tx, row); return })
	if created {
		t.Fatal("re-run created again")
	}
	var m *Member
	h.do(func(tx store.Tx) (err error) { m, _, err = h.p.MemberByIdentity(tx, "webchat", "session-9"); return })
	if m.ID != "M000007" || m.Tier != "gold" || m.Points != 5010 || !m.Joined || m.Consent {
		t.Fatalf("imported member = %+v", m)
	}
	h.check("M000007")
	// The sequence skips the imported id.
	for range 8 {
		h.member(time.Now().String() + string(rune('a'+len(m.ID))))
	}
	h.do(func(tx store.Tx) error {
		got, err := h.p.memberExact(tx, "M000007")
		if err == nil && got.Name != "Lee" {
			t.Errorf("imported member overwritten: %+v", got)
		}
		return err
	})
	for _, tt := range []struct {
		row  ImportRow
		want error
		col  string
	}{
		{ImportRow{ID: ""}, ErrInvalid, "id"},
		{ImportRow{ID: "a b"}, ErrInvalid, "id"},
		{ImportRow{ID: "x1", Birthday: "2023-02-30"}, ErrInvalid, "birthday"},
		{ImportRow{ID: "x2", Tier: "platinum"}, ErrInvalid, "tier"},
		{ImportRow{ID: "x3", Points: -1}, ErrInvalid, "points"},
		{ImportRow{ID: "x4", Phone: "call me"}, ErrInvalid, "phone"},
		{ImportRow{ID: "x5", Channel: "line"}, ErrInvalid, "channel"},
		{ImportRow{ID: "M000001"}, ErrExists, ""},
		{ImportRow{ID: "x6", Channel: "webchat", ChannelUser: "session-9"}, ErrExists, "imported member M000007"},
	} {
		err := h.try(func(tx store.Tx) error { _, err := h.p.ImportMember(tx, tt.row); return err })
		if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.col) {
			t.Errorf("ImportMember(%+v) = %v, want %v naming %q", tt.row, err, tt.want, tt.col)
		}
	}
}

// TestMergedLotsKeepTheirExpiry: lots moved by a merge share the merge
// entry's sequence but keep their own expiry, and expire one by one.
func TestMergedLotsKeepTheirExpiry(t *testing.T) {
	h := newHarness(t, nil)
	target, other := h.member("a").ID, h.member("b").ID
	h.credit(other, "o1", 100) // expires after 2027-03-10
	h.clk.set(t0.AddDate(0, 2, 0))
	h.credit(other, "o2", 200) // expires after 2027-05-10
	var code string
	h.do(func(tx store.Tx) (err error) { code, _, err = h.p.LinkCode(tx, target); return })
	h.do(func(tx store.Tx) error { _, err := h.p.Link(tx, code, "webchat", "b"); return err })
	for _, step := range []struct {
		at   time.Time
		left int64
	}{
		{time.Date(2027, 3, 11, 1, 0, 0, 0, shanghai), 200},
		{time.Date(2027, 5, 11, 1, 0, 0, 0, shanghai), 0},
	} {
		h.clk.set(step.at)
		h.do(func(tx store.Tx) error { _, err := h.p.ExpireDue(tx); return err })
		if got := h.balance(target).Points; got != step.left {
			t.Fatalf("%s: balance %d, want %d", step.at.Format(dateLayout), got, step.left)
		}
		h.check(target)
	}
}
