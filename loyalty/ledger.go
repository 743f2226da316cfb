package loyalty

import (
	"bytes"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/carebot/carebot/store"
)

var (
	bucketLedger = store.RegisterBucket("loyalty", "loyalty_ledger")     // id, seq → Entry
	bucketKeys   = store.RegisterBucket("loyalty", "loyalty_keys")       // idempotency key → keyRef
	bucketLots   = store.RegisterBucket("loyalty", "loyalty_lots")       // id, expiry, seq → lot
	bucketExpiry = store.RegisterBucket("loyalty", "loyalty_expiry")     // expiry, id, seq → ""
	bucketQual   = store.RegisterBucket("loyalty", "loyalty_qualifying") // id, local day → purchase points
)

// Entry kinds.
const (
	KindEarn    = "earn"
	KindRedeem  = "redeem"
	KindExpire  = "expire"
	KindAdjust  = "adjust"
	KindReverse = "reverse"
)

// Entry reasons.
const (
	ReasonOrder        = "order"
	ReasonRefund       = "refund"
	ReasonCheckIn      = "checkin"
	ReasonStreak       = "streak"
	ReasonReferral     = "referral"
	ReasonSurvey       = "survey"
	ReasonReward       = "reward" // a redemption
	ReasonCompensation = "compensation"
	ReasonImport       = "import"
	ReasonAdmin        = "admin"
	ReasonExpiry       = "expiry"
	ReasonMerge        = "merge"
	ReasonFreeze       = "freeze"
	ReasonUnfreeze     = "unfreeze"
)

// Entry is one line of a member's ledger; entries are never changed or
// removed.
type Entry struct {
	// Seq orders all entries of all members.
	Seq    uint64 `json:"seq"`
	Member string `json:"member"`
	Kind   string `json:"kind"`
	Reason string `json:"reason"`
	// Points is signed: positive credits, negative debits.
	Points int64 `json:"points"`
	// Balance is the member's balance after this entry.
	Balance int64 `json:"balance"`
	// Shortfall is what a reversal could not take because of the balance
	// floor: points the member had already spent.
	Shortfall int64 `json:"shortfall,omitempty"`
	// Key is the idempotency key; a second call with it returns this entry.
	Key    string    `json:"key"`
	Order  string    `json:"order,omitempty"`
	Right  string    `json:"right,omitempty"`
	Coupon string    `json:"coupon,omitempty"`
	Ticket uint64    `json:"ticket,omitempty"`
	By     string    `json:"by,omitempty"`
	Note   string    `json:"note,omitempty"`
	Time   time.Time `json:"time"`
}

// Balance is a member's points at a glance (the 积分 command).
type Balance struct {
	Member string `json:"member"`
	Points int64  `json:"points"`
	Frozen bool   `json:"frozen"`
	// Qualifying is purchase points of the last QualifyMonths.
	Qualifying int64  `json:"qualifying"`
	Tier       string `json:"tier"`
	// NextTier is the tier above ("" at the top); ToNext the qualifying
	// points still needed for it.
	NextTier string `json:"next_tier,omitempty"`
	ToNext   int64  `json:"to_next"`
	// ToKeep is the qualifying points still needed to keep the tier at the
	// next yearly review (0 when safe).
	ToKeep int64 `json:"to_keep"`
	// Expiring points expire within Options.ExpiryNotice; ExpiringBy is
	// the earliest of those expiries.
	Expiring   int64     `json:"expiring"`
	ExpiringBy time.Time `json:"expiring_by,omitzero"`
}

// TierChange records a member moving between tiers.
type TierChange struct {
	Member string    `json:"member"`
	From   string    `json:"from"`
	To     string    `json:"to"`
	Time   time.Time `json:"time"`
	// Reason is qualifying (an upgrade), review (the yearly downgrade),
	// import or merge.
	Reason string `json:"reason"`
}

// Tier change reasons.
const (
	TierQualifying = "qualifying"
	TierReview     = "review"
	TierImport     = "import"
	TierMerge      = "merge"
)

// keyRef is what an idempotency key points at.
type keyRef struct {
	Member string `json:"member"`
	Seq    uint64 `json:"seq"`
	Coupon string `json:"coupon,omitempty"`
}

// lot is the unspent rest of one credit. Lots are keyed by member, expiry
// and entry sequence, so a member's lots scan in the order they expire:
// FIFO consumption spends the points closest to expiry first.
type lot struct {
	Seq       uint64    `json:"seq"`
	Expires   time.Time `json:"expires,omitzero"` // zero: never
	Earned    time.Time `json:"earned"`
	Points    int64     `json:"points"`
	Remaining int64     `json:"remaining"`
}

func expUnix(t time.Time) uint64 {
	if t.IsZero() {
		return math.MaxUint64
	}
	return uint64(max(t.Unix(), 0))
}

func lotKey(member string, exp time.Time, seq uint64) []byte {
	k := store.Prefix(member)
	k = append(k, store.U64(expUnix(exp))...)
	return append(k, store.U64(seq)...)
}

func expiryKey(member string, exp time.Time, seq uint64) []byte {
	k := append(store.U64(expUnix(exp)), store.Prefix(member)...)
	return append(k, store.U64(seq)...)
}

// parseExpiryKey splits an expiry index key into member and lot key.
func parseExpiryKey(k []byte) (member string, lk []byte, ok bool) {
	if len(k) < 8+1+8 {
		return "", nil, false
	}
	member = string(k[8 : len(k)-9])
	lk = store.Prefix(member)
	lk = append(lk, k[:8]...)
	return member, append(lk, k[len(k)-8:]...), true
}

func ledgerKey(member string, seq uint64) []byte {
	return append(store.Prefix(member), store.U64(seq)...)
}

// Ledger returns the member's entries, newest first; limit ≤ 0 means 50.
func (p *Program) Ledger(tx store.Tx, id string, limit int) ([]Entry, error) {
	m, err := p.Member(tx, id)
	if err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = 50
	}
	var out []Entry
	err = tx.ScanReverse(bucketLedger, store.Prefix(m.ID), func(_, v []byte) error {
		var e Entry
		if err := store.DecodeJSON(v, &e); err != nil {
			return err
		}
		out = append(out, e)
		if len(out) >= limit {
			return store.ErrStop
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("ledger of %s: %w", id, err)
	}
	return out, nil
}

// Balance returns the member's balance, tier progress and points expiring
// soon.
func (p *Program) Balance(tx store.Tx, id string) (Balance, error) {
	m, err := p.Member(tx, id)
	if err != nil {
		return Balance{}, err
	}
	q, err := p.qualifying(tx, m.ID)
	if err != nil {
		return Balance{}, err
	}
	b := Balance{Member: m.ID, Points: m.Points, Frozen: m.Frozen, Qualifying: q, Tier: m.Tier}
	r := p.rank(m.Tier)
	if r+1 < len(p.opts.Tiers) {
		next := p.opts.Tiers[r+1]
		b.NextTier, b.ToNext = next.Name, max(0, next.Threshold-q)
	}
	if r > 0 {
		b.ToKeep = max(0, p.keepLevel(p.opts.Tiers[r])-q)
	}
	b.Expiring, b.ExpiringBy, err = p.expiringLots(tx, m.ID, p.now().Add(p.opts.ExpiryNotice))
	if err != nil {
		return Balance{}, err
	}
	return b, nil
}

// expiringLots sums the member's lots that expire by `by` and returns the
// earliest of their expiries.
func (p *Program) expiringLots(tx store.Tx, member string, by time.Time) (int64, time.Time, error) {
	var sum int64
	var first time.Time
	end := append(store.Prefix(member), store.U64(expUnix(by)+1)...)
	err := tx.ScanRange(bucketLots, store.Prefix(member), end, func(_, v []byte) error {
		var l lot
		if err := store.DecodeJSON(v, &l); err != nil {
			return err
		}
		if l.Remaining > 0 {
			sum += l.Remaining
			if first.IsZero() {
				first = l.Expires
			}
		}
		return nil
	})
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("lots of %s: %w", member, err)
	}
	return sum, first, nil
}

// Adjust changes a member's points by delta on an admin's decision; reason
// (required) and by are kept on the entry. A positive delta is a new lot;
// a negative one spends lots FIFO and may not exceed the balance.
func (p *Program) Adjust(tx store.Tx, id string, delta int64, reason, by string) (Entry, error) {
	return p.AdjustKey(tx, id, delta, reason, by, "")
}

// AdjustKey is Adjust made idempotent on key (e.g. the admin API's
// Idempotency-Key header); an empty key makes every call a new entry.
func (p *Program) AdjustKey(tx store.Tx, id string, delta int64, reason, by, key string) (Entry, error) {
	switch {
	case delta == 0 || delta > maxPoints || delta < -maxPoints:
		return Entry{}, fmt.Errorf("adjust %s: %w: delta must be non-zero and at most %d points", id, ErrInvalid, int64(maxPoints))
	case strings.TrimSpace(reason) == "" || strings.TrimSpace(by) == "":
		return Entry{}, fmt.Errorf("adjust %s: %w: a reason and the acting account are required", id, ErrInvalid)
	}
	m, err := p.Member(tx, id)
	if err != nil {
		return Entry{}, err
	}
	if key != "" {
		key = "adjust:" + m.ID + ":" + key
		if e, ok, err := p.entryByKey(tx, key); err != nil || ok {
			return e, err
		}
	}
	e := Entry{Kind: KindAdjust, Reason: ReasonAdmin, Key: key, By: by, Note: reason}
	if delta > 0 {
		e.Points = delta
		return p.credit(tx, m, e)
	}
	if m.Points < -delta {
		return Entry{}, fmt.Errorf("adjust %s by %d: balance %d: %w", m.ID, delta, m.Points, ErrInsufficient)
	}
	return p.debit(tx, m, e, -delta, 0, nil)
}

// entryByKey returns the entry an idempotency key recorded.
func (p *Program) entryByKey(tx store.Tx, key string) (Entry, bool, error) {
	var ref keyRef
	ok, err := store.GetJSON(tx, bucketKeys, []byte(key), &ref)
	if err != nil || !ok {
		return Entry{}, false, err
	}
	e, err := p.entry(tx, ref.Member, ref.Seq)
	return e, err == nil, err
}

func (p *Program) entry(tx store.Tx, member string, seq uint64) (Entry, error) {
	var e Entry
	ok, err := store.GetJSON(tx, bucketLedger, ledgerKey(member, seq), &e)
	if err == nil && !ok {
		err = fmt.Errorf("entry %d of %s is missing", seq, member)
	}
	return e, err
}

// record appends e to m's ledger, applies its points to the cached balance,
// counts them in the daily points metrics and saves m. The caller has
// checked that e.Key is new and moves the lots.
func (p *Program) record(tx store.Tx, m *Member, e Entry) (Entry, error) {
	seq, err := tx.NextSequence(bucketLedger)
	if err != nil {
		return Entry{}, fmt.Errorf("ledger sequence: %w", err)
	}
	e.Seq, e.Member, e.Time = seq, m.ID, p.now()
	if e.Key == "" {
		e.Key = fmt.Sprintf("%s:%s:%d", e.Reason, m.ID, seq)
	}
	if tx.Get(bucketKeys, []byte(e.Key)) != nil {
		// Callers look keys up first; reaching here is a bug, and writing
		// the entry would count points twice.
		return Entry{}, fmt.Errorf("ledger key %q used twice", e.Key)
	}
	m.Points += e.Points
	e.Balance = m.Points
	if err := store.PutJSON(tx, bucketLedger, ledgerKey(m.ID, seq), e); err != nil {
		return Entry{}, err
	}
	if err := store.PutJSON(tx, bucketKeys, []byte(e.Key), keyRef{Member: m.ID, Seq: seq, Coupon: e.Coupon}); err != nil {
		return Entry{}, err
	}
	// Counted here, where every entry is written exactly once (a repeated
	// key never gets this far), so the daily points can neither miss an
	// entry nor count a retry.
	if err := p.countEntry(tx, e); err != nil {
		return Entry{}, err
	}
	return e, p.save(tx, m)
}

// credit records e (e.Points > 0) and adds its lot, expiring LotMonths
// from now.
func (p *Program) credit(tx store.Tx, m *Member, e Entry) (Entry, error) {
	before := m.Points
	e, err := p.record(tx, m, e)
	if err != nil {
		return Entry{}, err
	}
	l := lot{Seq: e.Seq, Earned: e.Time, Expires: p.lotExpiry(e.Time), Points: e.Points, Remaining: e.Points}
	return e, p.addLots(tx, m.ID, before, []lot{l})
}

// addLots stores new lots (in expiry order) for a member whose balance was
// `before`. A negative balance (a refund past spent points) is a debt the
// new points pay first, so lots always sum to max(balance, 0).
func (p *Program) addLots(tx store.Tx, member string, before int64, lots []lot) error {
	debt := max(0, -before)
	for _, l := range lots {
		take := min(debt, l.Remaining)
		l.Remaining -= take
		debt -= take
		if l.Remaining <= 0 {
			continue
		}
		if err := store.PutJSON(tx, bucketLots, lotKey(member, l.Expires, l.Seq), l); err != nil {
			return err
		}
		if !l.Expires.IsZero() {
			if err := tx.Put(bucketExpiry, expiryKey(member, l.Expires, l.Seq), nil); err != nil {
				return err
			}
		}
	}
	return nil
}

// debit records e taking n points from m, never leaving the balance below
// floor: what cannot be taken is e.Shortfall. Lots are spent FIFO, starting
// with the lot at prefer (an order's own lot when it is refunded).
func (p *Program) debit(tx store.Tx, m *Member, e Entry, n, floor int64, prefer []byte) (Entry, error) {
	take := min(n, max(0, m.Points-floor))
	fromLots := min(take, max(0, m.Points))
	got, err := p.consumeLots(tx, m.ID, fromLots, prefer)
	if err != nil {
		return Entry{}, err
	}
	if got != fromLots {
		return Entry{}, fmt.Errorf("member %s: lots hold %d of the balance %d: ledger inconsistent", m.ID, got, m.Points)
	}
	e.Points, e.Shortfall = -take, n-take
	return p.record(tx, m, e)
}

// consumeLots takes up to n points from the member's lots, the preferred
// lot first, then in expiry order, and returns how many it took.
func (p *Program) consumeLots(tx store.Tx, member string, n int64, prefer []byte) (int64, error) {
	type change struct {
		key []byte
		l   lot
	}
	var changes []change
	need := n
	take := func(k []byte, l lot) {
		t := min(need, l.Remaining)
		l.Remaining -= t
		need -= t
		changes = append(changes, change{append([]byte(nil), k...), l})
	}
	if prefer != nil && need > 0 {
		var l lot
		ok, err := store.GetJSON(tx, bucketLots, prefer, &l)
		if err != nil {
			return 0, fmt.Errorf("lot of %s: %w", member, err)
		}
		if ok {
			take(prefer, l)
		}
	}
	if need > 0 {
		// Collect first, write after: bbolt cursors must not see their
		// bucket change under them.
		err := tx.Scan(bucketLots, store.Prefix(member), func(k, v []byte) error {
			if need <= 0 {
				return store.ErrStop
			}
			if prefer != nil && bytes.Equal(k, prefer) {
				return nil
			}
			var l lot
			if err := store.DecodeJSON(v, &l); err != nil {
				return err
			}
			take(k, l)
			return nil
		})
		if err != nil {
			return 0, fmt.Errorf("lots of %s: %w", member, err)
		}
	}
	for _, c := range changes {
		if err := p.putLot(tx, member, c.key, c.l); err != nil {
			return 0, err
		}
	}
	return n - need, nil
}

// putLot writes a lot back, deleting it (and its expiry index row) once
// spent so that scans stay short.
func (p *Program) putLot(tx store.Tx, member string, key []byte, l lot) error {
	if l.Remaining > 0 {
		return store.PutJSON(tx, bucketLots, key, l)
	}
	if err := tx.Delete(bucketLots, key); err != nil {
		return err
	}
	return tx.Delete(bucketExpiry, expiryKey(member, l.Expires, l.Seq))
}

func qualKey(member, day string) []byte { return append(store.Prefix(member), day...) }

func (p *Program) addQualifying(tx store.Tx, member, day string, delta int64) error {
	k := qualKey(member, day)
	v := int64(store.ParseU64(tx.Get(bucketQual, k))) + delta
	if v <= 0 {
		return tx.Delete(bucketQual, k)
	}
	return tx.Put(bucketQual, k, store.U64(uint64(v)))
}

// qualifying sums the member's purchase points of the last QualifyMonths,
// today included.
func (p *Program) qualifying(tx store.Tx, member string) (int64, error) {
	today := p.startOfDay(p.now())
	from := qualKey(member, p.day(today.AddDate(0, -p.opts.QualifyMonths, 1)))
	to := append(qualKey(member, p.day(today)), 0)
	var sum int64
	err := tx.ScanRange(bucketQual, from, to, func(_, v []byte) error {
		sum += int64(store.ParseU64(v))
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("qualifying points of %s: %w", member, err)
	}
	return sum, nil
}

// keepLevel is the qualifying points that keep tier t at the review.
func (p *Program) keepLevel(t TierRule) int64 {
	return int64(math.Ceil(float64(t.Threshold) * p.opts.KeepRatio))
}

// upgrade raises m's tier to what its qualifying points reach, if higher,
// and logs the change. It never lowers a tier (only YearlyReview does).
func (p *Program) upgrade(tx store.Tx, m *Member, reason string) (*TierChange, error) {
	q, err := p.qualifying(tx, m.ID)
	if err != nil {
		return nil, err
	}
	to := p.tierFor(q)
	if p.rank(to) <= p.rank(m.Tier) {
		return nil, nil
	}
	return p.changeTier(tx, m, to, reason)
}

func (p *Program) changeTier(tx store.Tx, m *Member, to, reason string) (*TierChange, error) {
	c := &TierChange{Member: m.ID, From: m.Tier, To: to, Time: p.now(), Reason: reason}
	m.Tier, m.TierSince = to, c.Time
	seq, err := tx.NextSequence(bucketTierLog)
	if err != nil {
		return nil, fmt.Errorf("tier log: %w", err)
	}
	if err := store.PutJSON(tx, bucketTierLog, append(store.Prefix(m.ID), store.U64(seq)...), c); err != nil {
		return nil, err
	}
	return c, p.save(tx, m)
}
