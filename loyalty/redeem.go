package loyalty

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/carebot/carebot/store"
)

var (
	bucketCoupons       = store.RegisterBucket("loyalty", "loyalty_coupons")        // code → Coupon
	bucketMemberCoupons = store.RegisterBucket("loyalty", "loyalty_member_coupons") // id, seq → code
	bucketRedeemed      = store.RegisterBucket("loyalty", "loyalty_redeemed")       // id, right[, year] → count
)

// Coupon statuses.
const (
	CouponActive  = "active"
	CouponUsed    = "used"
	CouponExpired = "expired"
)

// Reasons an Offer is not eligible (Offer.Reason); Redeem returns the
// matching sentinel error.
const (
	OfferFrozen       = "frozen"       // ErrFrozen
	OfferTier         = "tier"         // ErrNotEligible
	OfferBirthday     = "birthday"     // ErrNotEligible: not the birthday month
	OfferOutOfStock   = "out_of_stock" // ErrOutOfStock
	OfferLimit        = "limit"        // ErrLimit
	OfferInsufficient = "insufficient" // ErrInsufficient
)

// Offer is a right as one member sees it (the 权益 list).
type Offer struct {
	Right Right `json:"right"`
	// Cost is the member's price after the tier discount.
	Cost     int64  `json:"cost"`
	Eligible bool   `json:"eligible"`
	Reason   string `json:"reason,omitempty"`
	// Left is the remaining stock, -1 when unlimited.
	Left int64 `json:"left"`
}

// Coupon is an issued right. Kind, Name, Value and MinSpend are copied from
// the right at issue, so that editing the catalogue never changes a coupon
// a customer holds.
type Coupon struct {
	Code     string            `json:"code"`
	Member   string            `json:"member"`
	Right    string            `json:"right"`
	Kind     string            `json:"kind"`
	Name     map[string]string `json:"name,omitempty"`
	Value    float64           `json:"value,omitempty"`
	MinSpend float64           `json:"min_spend,omitempty"`
	Issued   time.Time         `json:"issued"`
	// Expires is zero for a coupon that never expires.
	Expires time.Time `json:"expires,omitzero"`
	Used    time.Time `json:"used,omitzero"`
	UsedRef string    `json:"used_ref,omitempty"`
	// Points paid (0 for a grant); Ticket is the handoff ticket of a
	// compensation.
	Points int64  `json:"points"`
	Ticket uint64 `json:"ticket,omitempty"`
	// Reason is how the coupon was issued: OriginRedeem for points, else
	// the grant's reason (compensation, birthday, recall, welcome…). It
	// attributes a use to its origin in MetricCouponsUsed; coupons issued
	// before it existed have none and count as OriginUnknown.
	Reason string `json:"reason,omitempty"`
	// Status is active, used or expired, as of the read.
	Status string `json:"status"`
}

// Offers lists the active rights with the member's price and whether the
// member can redeem each now, cheapest first.
func (p *Program) Offers(tx store.Tx, id string) ([]Offer, error) {
	m, err := p.Member(tx, id)
	if err != nil {
		return nil, err
	}
	rights, err := p.Rights(tx)
	if err != nil {
		return nil, err
	}
	var out []Offer
	for _, r := range rights {
		if !r.Active {
			continue
		}
		o := Offer{Right: r, Cost: p.cost(r, m.Tier), Left: p.left(tx, r)}
		o.Reason = p.refusal(tx, m, r, o.Cost, o.Left)
		o.Eligible = o.Reason == ""
		out = append(out, o)
	}
	slices.SortStableFunc(out, func(a, b Offer) int { return cmp.Compare(a.Cost, b.Cost) })
	return out, nil
}

// cost is the right's price for a tier: TierCost if set, else Cost less the
// tier's discount, rounded to the nearest point.
func (p *Program) cost(r Right, tier string) int64 {
	if c, ok := r.TierCost[tier]; ok {
		return c
	}
	t, _ := p.Tier(tier)
	return int64(math.Round(float64(r.Cost) * (1 - t.Discount)))
}

// refusal says why m cannot redeem r now ("" when it can).
func (p *Program) refusal(tx store.Tx, m *Member, r Right, cost, left int64) string {
	switch {
	case m.Frozen:
		return OfferFrozen
	case len(r.Tiers) > 0 && !slices.Contains(r.Tiers, m.Tier):
		return OfferTier
	case r.BirthdayMonth && !p.birthdayMonth(m):
		return OfferBirthday
	case left == 0:
		return OfferOutOfStock
	case r.PerMember > 0 && p.redeemed(tx, m.ID, r) >= r.PerMember:
		return OfferLimit
	case m.Points < cost:
		return OfferInsufficient
	}
	return ""
}

var refusalErrors = map[string]error{
	OfferFrozen: ErrFrozen, OfferTier: ErrNotEligible, OfferBirthday: ErrNotEligible,
	OfferOutOfStock: ErrOutOfStock, OfferLimit: ErrLimit, OfferInsufficient: ErrInsufficient,
}

func (p *Program) birthdayMonth(m *Member) bool {
	if len(m.Birthday) != len(dateLayout) {
		return false
	}
	return m.Birthday[5:7] == p.now().In(p.loc).Format("01")
}

// redeemedKey counts a member's redemptions of a right; birthday rights
// count per year, since the limit is once per birthday.
func (p *Program) redeemedKey(member string, r Right) []byte {
	if r.BirthdayMonth {
		return store.Key(member, r.ID, strconv.Itoa(p.now().In(p.loc).Year()))
	}
	return store.Key(member, r.ID)
}

func (p *Program) redeemed(tx store.Tx, member string, r Right) int {
	return int(store.ParseU64(tx.Get(bucketRedeemed, p.redeemedKey(member, r))))
}

func incr(tx store.Tx, b store.Bucket, key []byte) error {
	return tx.Put(b, key, store.U64(store.ParseU64(tx.Get(b, key))+1))
}

// Redeem exchanges points for a right, in the caller's transaction: it
// checks the member is not frozen, the tier, the birthday month, stock, the
// per-member limit and the balance (after the tier discount), then debits
// lots FIFO, counts the stock and issues a unique coupon. It is idempotent
// on key (a repeat returns the first coupon and entry); an empty key makes
// every call a new redemption.
func (p *Program) Redeem(tx store.Tx, id, rightID, key string) (*Coupon, Entry, error) {
	m, err := p.Member(tx, id)
	if err != nil {
		return nil, Entry{}, err
	}
	full := ""
	if key != "" {
		full = "redeem:" + m.ID + ":" + key
		if c, e, ok, err := p.couponByKey(tx, full); err != nil || ok {
			if err == nil && c.Right != rightID {
				err = fmt.Errorf("redeem key %q: %w: it redeemed %s, not %s", key, ErrInvalid, c.Right, rightID)
			}
			return c, e, err
		}
	}
	r, err := p.Right(tx, rightID)
	if err != nil {
		return nil, Entry{}, err
	}
	if !r.Active {
		return nil, Entry{}, fmt.Errorf("right %q is not offered: %w", rightID, ErrNoRight)
	}
	cost := p.cost(r, m.Tier)
	if why := p.refusal(tx, m, r, cost, p.left(tx, r)); why != "" {
		return nil, Entry{}, fmt.Errorf("redeem %s for %s (cost %d, balance %d): %w", r.ID, m.ID, cost, m.Points, refusalErrors[why])
	}
	c, err := p.newCoupon(tx, m, r)
	if err != nil {
		return nil, Entry{}, err
	}
	c.Points, c.Reason = cost, OriginRedeem
	e, err := p.debit(tx, m, Entry{Kind: KindRedeem, Reason: ReasonReward, Key: full, Right: r.ID, Coupon: c.Code}, cost, 0, nil)
	if err != nil {
		return nil, Entry{}, err
	}
	if err := incr(tx, bucketRedeemed, p.redeemedKey(m.ID, r)); err != nil {
		return nil, Entry{}, err
	}
	return c, e, p.issue(tx, c, r)
}

// GrantParams describe a coupon given without points.
type GrantParams struct {
	Member, Right string
	// Key makes the grant idempotent per member (required), e.g.
	// "ticket:42:sorry5" or "birthday:2026".
	Key string
	// Reason of the ledger entry, also the coupon's origin (Coupon.Reason,
	// a dimension of MetricCouponsIssued and MetricCouponsUsed): 1–40
	// lowercase letters, digits, '_', '.' or '-', not "redeem" or
	// "unknown"; empty means compensation.
	Reason string
	Ticket uint64
	By     string
	Note   string
}

// Grant gives a compensation coupon for a handoff ticket, without points:
// a zero-point ledger entry (reason compensation) records it with the
// ticket. It is idempotent per ticket and right, ignores tier, birthday
// and per-member limits and the member's freeze, and works for inactive
// (grant-only) rights; stock still counts.
func (p *Program) Grant(tx store.Tx, id, rightID string, ticket uint64, by string) (*Coupon, error) {
	if ticket == 0 {
		return nil, fmt.Errorf("grant %s: %w: a compensation needs its ticket id", rightID, ErrInvalid)
	}
	c, _, err := p.GrantWith(tx, GrantParams{Member: id, Right: rightID, Key: fmt.Sprintf("ticket:%d:%s", ticket, rightID),
		Reason: ReasonCompensation, Ticket: ticket, By: by})
	return c, err
}

// GrantWith is Grant for other occasions (a birthday gift from cron, an
// agent's goodwill gesture), keyed by g.Key.
func (p *Program) GrantWith(tx store.Tx, g GrantParams) (*Coupon, Entry, error) {
	if g.Key == "" || len(g.Key) > 200 {
		return nil, Entry{}, fmt.Errorf("grant %s: %w: a key of at most 200 bytes is required", g.Right, ErrInvalid)
	}
	if g.Reason == "" {
		g.Reason = ReasonCompensation
	}
	// The reason becomes a counter dimension: a free-form one would split
	// the dashboard's series (or break the right:origin split), and the
	// two origins of our own would attribute the coupon wrongly.
	if !nameRE.MatchString(g.Reason) || g.Reason == OriginRedeem || g.Reason == OriginUnknown {
		return nil, Entry{}, fmt.Errorf("grant %s: %w: reason %q must be 1–40 lowercase letters, digits, '_', '.' or '-', and not %q or %q",
			g.Right, ErrInvalid, g.Reason, OriginRedeem, OriginUnknown)
	}
	m, err := p.Member(tx, g.Member)
	if err != nil {
		return nil, Entry{}, err
	}
	full := "grant:" + m.ID + ":" + g.Key
	if c, e, ok, err := p.couponByKey(tx, full); err != nil || ok {
		return c, e, err
	}
	r, err := p.Right(tx, g.Right)
	if err != nil {
		return nil, Entry{}, err
	}
	if p.left(tx, r) == 0 {
		return nil, Entry{}, fmt.Errorf("grant %s to %s: %w", r.ID, m.ID, ErrOutOfStock)
	}
	c, err := p.newCoupon(tx, m, r)
	if err != nil {
		return nil, Entry{}, err
	}
	c.Ticket, c.Reason = g.Ticket, g.Reason
	e, err := p.record(tx, m, Entry{Kind: KindAdjust, Reason: g.Reason, Key: full, Right: r.ID, Coupon: c.Code,
		Ticket: g.Ticket, By: g.By, Note: g.Note})
	if err != nil {
		return nil, Entry{}, err
	}
	return c, e, p.issue(tx, c, r)
}

// couponByKey returns the coupon and entry an earlier redemption or grant
// recorded under key.
func (p *Program) couponByKey(tx store.Tx, key string) (*Coupon, Entry, bool, error) {
	var ref keyRef
	ok, err := store.GetJSON(tx, bucketKeys, []byte(key), &ref)
	if err != nil || !ok {
		return nil, Entry{}, false, err
	}
	e, err := p.entry(tx, ref.Member, ref.Seq)
	if err != nil {
		return nil, Entry{}, false, err
	}
	c, err := p.coupon(tx, ref.Coupon)
	if err != nil {
		return nil, Entry{}, false, err
	}
	return c, e, true, nil
}

func (p *Program) newCoupon(tx store.Tx, m *Member, r Right) (*Coupon, error) {
	code, err := uniqueCode(tx, bucketCoupons, nil, couponLen)
	if err != nil {
		return nil, err
	}
	now := p.now()
	c := &Coupon{Code: code, Member: m.ID, Right: r.ID, Kind: r.Kind, Name: r.Name, Value: r.Value, MinSpend: r.MinSpend,
		Issued: now, Status: CouponActive}
	if r.ValidDays > 0 {
		c.Expires = p.endOfDayAfter(now, 0, r.ValidDays)
	}
	return c, nil
}

// issue stores the coupon, lists it under its member, counts the stock
// and counts the coupon in MetricCouponsIssued. Redeem and GrantWith call
// it only for a new key, so a retried call issues (and counts) nothing.
func (p *Program) issue(tx store.Tx, c *Coupon, r Right) error {
	if err := p.stats.Add(tx, MetricCouponsIssued, couponDim(c), c.Issued, 1); err != nil {
		return fmt.Errorf("issue coupon %s: count: %w", c.Code, err)
	}
	if err := store.PutJSON(tx, bucketCoupons, []byte(c.Code), c); err != nil {
		return fmt.Errorf("issue coupon: %w", err)
	}
	seq, err := tx.NextSequence(bucketMemberCoupons)
	if err != nil {
		return fmt.Errorf("issue coupon: %w", err)
	}
	if err := tx.Put(bucketMemberCoupons, append(store.Prefix(c.Member), store.U64(seq)...), []byte(c.Code)); err != nil {
		return err
	}
	return incr(tx, bucketStock, []byte(r.ID))
}

func (p *Program) coupon(tx store.Tx, code string) (*Coupon, error) {
	var c Coupon
	ok, err := store.GetJSON(tx, bucketCoupons, []byte(code), &c)
	if err != nil {
		return nil, fmt.Errorf("coupon %s: %w", code, err)
	}
	if !ok {
		return nil, fmt.Errorf("coupon %q: %w", code, ErrNoCoupon)
	}
	c.Status = p.status(&c)
	return &c, nil
}

func (p *Program) status(c *Coupon) string {
	switch {
	case !c.Used.IsZero():
		return CouponUsed
	case !c.Expires.IsZero() && !p.now().Before(c.Expires):
		return CouponExpired
	}
	return CouponActive
}

// Coupon looks a coupon up by its code (as typed: case, spaces and dashes
// do not matter).
func (p *Program) Coupon(tx store.Tx, code string) (*Coupon, error) {
	return p.coupon(tx, normCode(code))
}

// Coupons lists the member's coupons, newest first (我的券).
func (p *Program) Coupons(tx store.Tx, id string) ([]Coupon, error) {
	m, err := p.Member(tx, id)
	if err != nil {
		return nil, err
	}
	var codes []string
	err = tx.ScanReverse(bucketMemberCoupons, store.Prefix(m.ID), func(_, v []byte) error {
		codes = append(codes, string(v))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("coupons of %s: %w", id, err)
	}
	out := make([]Coupon, 0, len(codes))
	for _, code := range codes {
		c, err := p.coupon(tx, code)
		if err != nil {
			return nil, err
		}
		out = append(out, *c)
	}
	return out, nil
}

// UseCoupon marks a coupon used at the shop's checkout; ref is the shop's
// reference (an order id). A used coupon gives ErrCouponUsed and an expired
// one ErrCouponExpired, each with the coupon, so the caller can see the
// earlier UsedRef (a retried request carries the same ref).
func (p *Program) UseCoupon(tx store.Tx, code, ref string) (*Coupon, error) {
	if len(ref) > 200 {
		return nil, fmt.Errorf("use coupon: %w: ref longer than 200 bytes", ErrInvalid)
	}
	c, err := p.Coupon(tx, code)
	if err != nil {
		return nil, err
	}
	switch c.Status {
	case CouponUsed:
		return c, fmt.Errorf("coupon %s (used %s, ref %q): %w", c.Code, c.Used.Format(time.RFC3339), c.UsedRef, ErrCouponUsed)
	case CouponExpired:
		return c, fmt.Errorf("coupon %s (expired %s): %w", c.Code, c.Expires.Format(time.RFC3339), ErrCouponExpired)
	}
	c.Used, c.UsedRef, c.Status = p.now(), ref, CouponUsed
	if err := store.PutJSON(tx, bucketCoupons, []byte(c.Code), c); err != nil {
		return nil, fmt.Errorf("use coupon %s: %w", c.Code, err)
	}
	// Only the first use gets here (a repeat is ErrCouponUsed above), so a
	// retried checkout is not counted twice.
	if err := p.stats.Add(tx, MetricCouponsUsed, couponDim(c), c.Used, 1); err != nil {
		return nil, fmt.Errorf("use coupon %s: count: %w", c.Code, err)
	}
	return c, nil
}
