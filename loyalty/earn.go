package loyalty

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/carebot/carebot/store"
)

var bucketOrders = store.RegisterBucket("loyalty", "loyalty_orders") // order id → orderRec

// Order is a purchase reported by the shop (POST /api/v1/orders).
type Order struct {
	ID string `json:"order_id"`
	// Member, or Channel and User (the member is then created on first
	// contact), say who bought.
	Member   string      `json:"member,omitempty"`
	Channel  string      `json:"channel,omitempty"`
	User     string      `json:"user,omitempty"`
	Amount   float64     `json:"amount"`
	Currency string      `json:"currency,omitempty"`
	Category string      `json:"category,omitempty"`
	Items    []OrderItem `json:"items,omitempty"`
}

// OrderItem is one line of an order. When items carry prices, the amount
// paid is shared among them in proportion, and each share earns with its
// own category's multipliers (an item without a category uses the
// order's).
type OrderItem struct {
	SKU      string  `json:"sku,omitempty"`
	Name     string  `json:"name,omitempty"`
	Category string  `json:"category,omitempty"`
	Quantity int     `json:"quantity,omitempty"`
	Price    float64 `json:"price,omitempty"`
}

// EarnResult is the outcome of a credit.
type EarnResult struct {
	Entry Entry `json:"entry"`
	// Duplicate: the key (order id, survey…) was seen before; Entry is the
	// first result and nothing changed.
	Duplicate bool `json:"duplicate"`
	// Upgrade is set when this credit lifted the member's tier (the
	// congratulation message).
	Upgrade *TierChange `json:"upgrade,omitempty"`
	// Bonus lists referral entries this order paid (to the member and the
	// referrer), or a refund reversed.
	Bonus []Entry `json:"bonus,omitempty"`
}

// CheckInResult is the outcome of a check-in.
type CheckInResult struct {
	// Points earned by today's check-in, Bonus by the streak (both also on
	// an Already result: what today's first check-in earned).
	Points int64 `json:"points"`
	Bonus  int64 `json:"bonus"`
	// Streak is the run of consecutive days, today included.
	Streak int `json:"streak"`
	// Already: the member had checked in today; nothing changed.
	Already bool  `json:"already"`
	Balance int64 `json:"balance"`
}

type orderRec struct {
	ID         string    `json:"id"`
	Member     string    `json:"member"`
	Seq        uint64    `json:"seq"`
	Points     int64     `json:"points"`
	Day        string    `json:"day"`
	LotExpires time.Time `json:"lot_expires,omitzero"`
	Bonuses    []bonus   `json:"bonuses,omitempty"`
	Refunded   bool      `json:"refunded,omitempty"`
	RefundBy   string    `json:"refund_member,omitempty"` // member of the refund entry
	RefundSeq  uint64    `json:"refund_seq,omitempty"`
}

type bonus struct {
	Role    string    `json:"role"` // referee or referrer
	Member  string    `json:"member"`
	Seq     uint64    `json:"seq"`
	Points  int64     `json:"points"`
	Expires time.Time `json:"expires,omitzero"`
}

// maxAmount bounds an order amount so that points cannot overflow.
const maxAmount = 1e10

// CreditOrder credits an order: Amount × PointsPerUnit × category ×
// tier × campaign multipliers, rounded down. It is idempotent on the order
// id (a repeat returns the first entry with Duplicate set, whatever its
// amount). The first order of a referred member pays both referral
// bonuses. Crossing a tier threshold upgrades at once (Upgrade).
func (p *Program) CreditOrder(tx store.Tx, o Order) (EarnResult, error) {
	if err := p.checkOrder(o); err != nil {
		return EarnResult{}, err
	}
	var rec orderRec
	if ok, err := store.GetJSON(tx, bucketOrders, []byte(o.ID), &rec); err != nil || ok {
		if err != nil {
			return EarnResult{}, fmt.Errorf("order %s: %w", o.ID, err)
		}
		e, err := p.entry(tx, rec.Member, rec.Seq)
		return EarnResult{Entry: e, Duplicate: true}, err
	}
	m, err := p.orderMember(tx, o)
	if err != nil {
		return EarnResult{}, err
	}
	points, err := p.orderPoints(tx, o, m.Tier)
	if err != nil {
		return EarnResult{}, err
	}
	now := p.now()
	m.Orders++
	m.countCategories(o)
	m.LastPurchase, m.LastActive = now, now
	e, err := p.earn(tx, m, Entry{Kind: KindEarn, Reason: ReasonOrder, Points: points, Key: "order:" + o.ID, Order: o.ID})
	if err != nil {
		return EarnResult{}, err
	}
	rec = orderRec{ID: o.ID, Member: m.ID, Seq: e.Seq, Points: points, Day: p.day(now), LotExpires: p.lotExpiry(now)}
	if err := p.addQualifying(tx, m.ID, rec.Day, points); err != nil {
		return EarnResult{}, err
	}
	res := EarnResult{Entry: e}
	if res.Upgrade, err = p.upgrade(tx, m, TierQualifying); err != nil {
		return EarnResult{}, err
	}
	if m.Orders == 1 && m.ReferredBy != "" {
		if rec.Bonuses, res.Bonus, err = p.payReferral(tx, m, o.ID); err != nil {
			return EarnResult{}, err
		}
	}
	if err := store.PutJSON(tx, bucketOrders, []byte(o.ID), rec); err != nil {
		return EarnResult{}, err
	}
	return res, nil
}

func (p *Program) checkOrder(o Order) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("order %q: %w: %s", o.ID, ErrInvalid, fmt.Sprintf(format, args...))
	}
	switch {
	case o.ID == "" || len(o.ID) > 128 || strings.ContainsRune(o.ID, 0):
		return bad("order_id must be 1 to 128 bytes")
	case !finite(o.Amount) || o.Amount <= 0 || o.Amount > maxAmount:
		return bad("amount must be above 0 and at most %g, got %g", float64(maxAmount), o.Amount)
	case p.opts.Currency != "" && o.Currency != "" && !strings.EqualFold(o.Currency, p.opts.Currency):
		return bad("currency %s: points are earned in %s", o.Currency, p.opts.Currency)
	case o.Member == "" && (o.Channel == "" || o.User == ""):
		return bad("give member, or channel and user")
	}
	for i, it := range o.Items {
		if !finite(it.Price) || it.Price < 0 || it.Price > maxAmount || it.Quantity < 0 || it.Quantity > 1_000_000 {
			return bad("items[%d]: price and quantity must not be negative", i)
		}
	}
	return nil
}

func (p *Program) orderMember(tx store.Tx, o Order) (*Member, error) {
	if o.Member != "" {
		return p.Member(tx, o.Member)
	}
	m, _, err := p.EnsureMember(tx, o.Channel, o.User)
	return m, err
}

// orderPoints applies the multipliers. Campaigns do not stack: the highest
// applicable one counts.
func (p *Program) orderPoints(tx store.Tx, o Order, tier string) (int64, error) {
	camps, err := p.activeCampaigns(tx)
	if err != nil {
		return 0, err
	}
	mults, err := p.CategoryMultipliers(tx)
	if err != nil {
		return 0, err
	}
	rate := func(cat string) float64 {
		cat = normCategory(cat)
		m, ok := mults[cat]
		if !ok {
			m = 1
		}
		best, found := 0.0, false
		for _, c := range camps {
			if c.applies(cat) && (!found || c.Multiplier > best) {
				best, found = c.Multiplier, true
			}
		}
		if found {
			m *= best
		}
		return m
	}
	var total float64
	for _, it := range o.Items {
		total += it.Price * float64(max(it.Quantity, 1))
	}
	var weighted float64
	if total > 0 {
		for _, it := range o.Items {
			cat := it.Category
			if cat == "" {
				cat = o.Category
			}
			weighted += o.Amount * it.Price * float64(max(it.Quantity, 1)) / total * rate(cat)
		}
	} else {
		weighted = o.Amount * rate(o.Category)
	}
	tr, _ := p.Tier(tier)
	if tr.Multiplier == 0 {
		tr = p.opts.Tiers[0]
	}
	// The epsilon keeps 100 × 1.1 (109.99999…) from losing a point.
	pts := math.Floor(weighted*p.opts.PointsPerUnit*tr.Multiplier + 1e-6)
	if pts > maxPoints {
		return 0, fmt.Errorf("order %s: %w: earns more than %d points", o.ID, ErrInvalid, int64(maxPoints))
	}
	return int64(pts), nil
}

// RefundOrder reverses what an order earned (and the referral bonuses it
// paid), taking the order's own lot first, then FIFO. Points already spent
// take the balance down to BalanceFloor and no further; the rest is the
// entry's Shortfall. Idempotent: a second refund returns the first entry.
// A refund never lowers the tier at once (the yearly review does).
func (p *Program) RefundOrder(tx store.Tx, orderID string) (EarnResult, error) {
	var rec orderRec
	ok, err := store.GetJSON(tx, bucketOrders, []byte(orderID), &rec)
	if err != nil {
		return EarnResult{}, fmt.Errorf("order %s: %w", orderID, err)
	}
	if !ok {
		return EarnResult{}, fmt.Errorf("refund %q: %w", orderID, ErrNoOrder)
	}
	if rec.Refunded {
		e, err := p.entry(tx, rec.RefundBy, rec.RefundSeq)
		return EarnResult{Entry: e, Duplicate: true}, err
	}
	m, err := p.Member(tx, rec.Member)
	if err != nil {
		return EarnResult{}, err
	}
	var prefer []byte
	if m.ID == rec.Member { // a merge moved the lots under new keys
		prefer = lotKey(m.ID, rec.LotExpires, rec.Seq)
	}
	e, err := p.debit(tx, m, Entry{Kind: KindReverse, Reason: ReasonRefund, Key: "refund:" + orderID, Order: orderID}, rec.Points, p.opts.BalanceFloor, prefer)
	if err != nil {
		return EarnResult{}, err
	}
	if err := p.addQualifying(tx, m.ID, rec.Day, -rec.Points); err != nil {
		return EarnResult{}, err
	}
	res := EarnResult{Entry: e}
	for _, b := range rec.Bonuses {
		bm, err := p.Member(tx, b.Member)
		if err != nil {
			return EarnResult{}, err
		}
		var prefer []byte
		if bm.ID == b.Member {
			prefer = lotKey(bm.ID, b.Expires, b.Seq)
		}
		be, err := p.debit(tx, bm, Entry{Kind: KindReverse, Reason: ReasonReferral, Key: "refund:" + orderID + ":" + b.Role, Order: orderID}, b.Points, p.opts.BalanceFloor, prefer)
		if err != nil {
			return EarnResult{}, err
		}
		res.Bonus = append(res.Bonus, be)
	}
	rec.Refunded, rec.RefundBy, rec.RefundSeq = true, m.ID, e.Seq
	if err := store.PutJSON(tx, bucketOrders, []byte(orderID), rec); err != nil {
		return EarnResult{}, err
	}
	return res, nil
}

// CheckIn earns CheckInPoints once per local day; every StreakDays-th
// consecutive day adds StreakBonus.
func (p *Program) CheckIn(tx store.Tx, id string) (CheckInResult, error) {
	m, err := p.Member(tx, id)
	if err != nil {
		return CheckInResult{}, err
	}
	now := p.now()
	today := p.day(now)
	key, streakKey := "checkin:"+m.ID+":"+today, "streak:"+m.ID+":"+today
	if e, ok, err := p.entryByKey(tx, key); err != nil || ok {
		res := CheckInResult{Points: e.Points, Streak: m.Streak, Already: true, Balance: m.Points}
		if b, ok, _ := p.entryByKey(tx, streakKey); ok {
			res.Bonus = b.Points
		}
		return res, err
	}
	if m.LastCheckIn == p.day(p.startOfDay(now).AddDate(0, 0, -1)) {
		m.Streak++
	} else {
		m.Streak = 1
	}
	m.LastCheckIn, m.LastActive = today, now
	e, err := p.earn(tx, m, Entry{Kind: KindEarn, Reason: ReasonCheckIn, Points: p.opts.CheckInPoints, Key: key})
	if err != nil {
		return CheckInResult{}, err
	}
	res := CheckInResult{Points: e.Points, Streak: m.Streak}
	if p.opts.StreakDays > 0 && p.opts.StreakBonus > 0 && m.Streak%p.opts.StreakDays == 0 {
		b, err := p.earn(tx, m, Entry{Kind: KindEarn, Reason: ReasonStreak, Points: p.opts.StreakBonus, Key: streakKey,
			Note: fmt.Sprintf("%d-day streak", m.Streak)})
		if err != nil {
			return CheckInResult{}, err
		}
		res.Bonus = b.Points
	}
	res.Balance = m.Points
	return res, nil
}

// Referral records that newMemberID joined with another member's referral
// code. Both are paid (ReferrerPoints, RefereePoints) when the new member's
// first order is credited; a code counts only before that first order.
// Giving the same code again is not an error.
func (p *Program) Referral(tx store.Tx, newMemberID, code string) error {
	m, err := p.Member(tx, newMemberID)
	if err != nil {
		return err
	}
	code = normCode(code)
	owner := tx.Get(bucketRefCodes, []byte(code))
	if owner == nil {
		return fmt.Errorf("referral code %q: %w: unknown code", code, ErrInvalid)
	}
	ref, err := p.Member(tx, string(owner))
	if err != nil {
		return fmt.Errorf("referral code %q: %w", code, err)
	}
	switch {
	case ref.ID == m.ID:
		return fmt.Errorf("referral code %q: %w: that is the member's own code", code, ErrInvalid)
	case m.ReferredBy == ref.ID:
		return nil
	case m.ReferredBy != "":
		return fmt.Errorf("referral code %q: %w: %s was already referred by another member", code, ErrInvalid, m.ID)
	case m.Orders > 0:
		return fmt.Errorf("referral code %q: %w: codes count only before the first order", code, ErrInvalid)
	case ref.ReferredBy == m.ID:
		return fmt.Errorf("referral code %q: %w: members cannot refer each other", code, ErrInvalid)
	}
	m.ReferredBy = ref.ID
	return p.save(tx, m)
}

// payReferral credits both referral bonuses for m's first order.
func (p *Program) payReferral(tx store.Tx, m *Member, orderID string) ([]bonus, []Entry, error) {
	ref, err := p.Member(tx, m.ReferredBy)
	if err != nil || ref.ID == m.ID {
		return nil, nil, nil // the referrer is gone (or merged into m): nobody to pay
	}
	var bs []bonus
	var es []Entry
	for _, b := range []struct {
		role   string
		m      *Member
		points int64
	}{{"referee", m, p.opts.RefereePoints}, {"referrer", ref, p.opts.ReferrerPoints}} {
		if b.points <= 0 {
			continue
		}
		e, err := p.earn(tx, b.m, Entry{Kind: KindEarn, Reason: ReasonReferral, Points: b.points,
			Key: "referral:" + m.ID + ":" + b.role, Order: orderID, Note: "referral of " + m.ID})
		if err != nil {
			return nil, nil, err
		}
		bs = append(bs, bonus{Role: b.role, Member: b.m.ID, Seq: e.Seq, Points: b.points, Expires: p.lotExpiry(e.Time)})
		es = append(es, e)
	}
	return bs, es, nil
}

// SurveyReward earns SurveyPoints for answering a survey, once per member
// and surveyKey.
func (p *Program) SurveyReward(tx store.Tx, id, surveyKey string) (EarnResult, error) {
	if surveyKey == "" || len(surveyKey) > 200 {
		return EarnResult{}, fmt.Errorf("survey reward: %w: a survey key of at most 200 bytes is required", ErrInvalid)
	}
	m, err := p.Member(tx, id)
	if err != nil {
		return EarnResult{}, err
	}
	key := "survey:" + m.ID + ":" + surveyKey
	if e, ok, err := p.entryByKey(tx, key); err != nil || ok {
		return EarnResult{Entry: e, Duplicate: ok}, err
	}
	m.LastActive = p.now()
	e, err := p.earn(tx, m, Entry{Kind: KindEarn, Reason: ReasonSurvey, Points: p.opts.SurveyPoints, Key: key, Note: surveyKey})
	return EarnResult{Entry: e}, err
}

// earn credits e, or records it without a lot when it is worth nothing
// (a small order, a zero-point rule), so that its key still counts.
func (p *Program) earn(tx store.Tx, m *Member, e Entry) (Entry, error) {
	if e.Points > 0 {
		return p.credit(tx, m, e)
	}
	e.Points = 0
	return p.record(tx, m, e)
}

// lotExpiry is when a lot earned at t expires (zero: never).
func (p *Program) lotExpiry(t time.Time) time.Time {
	if p.opts.LotMonths <= 0 {
		return time.Time{}
	}
	return p.endOfDayAfter(t, p.opts.LotMonths, 0)
}
