package loyalty

import (
	"crypto/rand"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/carebot/carebot/store"
)

type linkCode struct {
	Member  string    `json:"member"`
	Expires time.Time `json:"expires"`
}

// LinkCode issues a one-time 6-digit code, valid for LinkCodeTTL, that
// links another chat identity to the member (绑定). A new code replaces the
// member's previous one.
func (p *Program) LinkCode(tx store.Tx, id string) (string, time.Time, error) {
	m, err := p.Member(tx, id)
	if err != nil {
		return "", time.Time{}, err
	}
	if err := p.dropLinkCode(tx, m.ID); err != nil {
		return "", time.Time{}, err
	}
	now := p.now()
	for range 32 {
		n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
		if err != nil {
			return "", time.Time{}, fmt.Errorf("link code: %w", err)
		}
		code := fmt.Sprintf("%06d", n.Int64())
		var old linkCode
		taken, err := store.GetJSON(tx, bucketLinks, store.Key("code", code), &old)
		if err != nil {
			return "", time.Time{}, err
		}
		if taken && now.Before(old.Expires) {
			continue // another member's live code
		}
		lc := linkCode{Member: m.ID, Expires: now.Add(p.opts.LinkCodeTTL)}
		if err := store.PutJSON(tx, bucketLinks, store.Key("code", code), lc); err != nil {
			return "", time.Time{}, err
		}
		if err := tx.Put(bucketLinks, store.Key("member", m.ID), []byte(code)); err != nil {
			return "", time.Time{}, err
		}
		return code, lc.Expires, nil
	}
	return "", time.Time{}, fmt.Errorf("link code: no free code after 32 tries")
}

func (p *Program) dropLinkCode(tx store.Tx, member string) error {
	old := tx.Get(bucketLinks, store.Key("member", member))
	if old == nil {
		return nil
	}
	if err := tx.Delete(bucketLinks, store.Key("code", string(old))); err != nil {
		return err
	}
	return tx.Delete(bucketLinks, store.Key("member", member))
}

// Link uses a link code sent from another chat identity: the identity joins
// the code's member. The code works once. If the identity already had a
// member of its own (created on first contact), that member is merged into
// the code's member: its points move with entries on both ledgers (lots
// keep their expiry), and its purchase history, coupons, other identities
// and, when the target never joined, its profile move too. A frozen member
// is never merged (ErrFrozen): that would thaw its points. Rate-limit
// attempts in the caller: a failed Link returns an error, so its
// transaction records nothing.
func (p *Program) Link(tx store.Tx, code, channel, user string) (*Member, error) {
	if err := checkIdentity(channel, user); err != nil {
		return nil, err
	}
	code = strings.TrimSpace(code)
	var lc linkCode
	ok, err := store.GetJSON(tx, bucketLinks, store.Key("code", code), &lc)
	if err != nil {
		return nil, fmt.Errorf("link code: %w", err)
	}
	if !ok || len(code) != 6 || !p.now().Before(lc.Expires) {
		return nil, fmt.Errorf("link %s/%s: %w", channel, user, ErrLinkCode)
	}
	if err := p.dropLinkCode(tx, lc.Member); err != nil {
		return nil, err
	}
	t, err := p.Member(tx, lc.Member)
	if err != nil {
		return nil, err
	}
	s, known, err := p.MemberByIdentity(tx, channel, user)
	switch {
	case err != nil:
		return nil, err
	case !known:
		if err := p.addIdentity(tx, t, channel, user); err != nil {
			return nil, err
		}
		return t, p.save(tx, t)
	case s.ID == t.ID:
		return t, nil
	}
	if err := p.merge(tx, s, t); err != nil {
		return nil, err
	}
	return t, nil
}

// merge moves everything of s into t and leaves s as a pointer to t.
func (p *Program) merge(tx store.Tx, s, t *Member) error {
	if s.Frozen {
		return fmt.Errorf("merge %s into %s: %w: ask an agent to review the frozen member first", s.ID, t.ID, ErrFrozen)
	}
	if err := p.mergePoints(tx, s, t); err != nil {
		return err
	}
	if err := p.moveRows(tx, bucketQual, s.ID, t.ID, true); err != nil {
		return err
	}
	if err := p.moveRows(tx, bucketRedeemed, s.ID, t.ID, true); err != nil {
		return err
	}
	if err := p.moveCoupons(tx, s.ID, t.ID); err != nil {
		return err
	}
	for _, id := range s.Identities {
		if err := tx.Put(bucketIdentities, store.Key(id.Channel, id.User), []byte(t.ID)); err != nil {
			return err
		}
		t.Identities = append(removeIdentity(t.Identities, id.Channel, id.User), Identity{Channel: id.Channel, User: id.User, Linked: p.now()})
	}
	t.Orders += s.Orders
	for c, n := range s.Categories {
		if t.Categories == nil {
			t.Categories = map[string]int{}
		}
		t.Categories[c] += n
	}
	if t.Zone == "" {
		t.Zone = s.Zone
	}
	t.LastActive, t.LastPurchase = later(t.LastActive, s.LastActive), later(t.LastPurchase, s.LastPurchase)
	if s.Created.Before(t.Created) {
		t.Created = s.Created
	}
	if !t.Joined && s.Joined {
		t.Name, t.Birthday, t.Joined, t.JoinedAt, t.Consent, t.ConsentAt = s.Name, s.Birthday, true, s.JoinedAt, s.Consent, s.ConsentAt
	}
	if t.Phone == "" {
		t.Phone = s.Phone
	}
	if t.ReferredBy == "" && s.ReferredBy != t.ID {
		t.ReferredBy = s.ReferredBy
	}
	if s.LastCheckIn > t.LastCheckIn {
		t.LastCheckIn, t.Streak = s.LastCheckIn, s.Streak
	}
	if p.rank(s.Tier) > p.rank(t.Tier) {
		if _, err := p.changeTier(tx, t, s.Tier, TierMerge); err != nil {
			return err
		}
	}
	if _, err := p.upgrade(tx, t, TierMerge); err != nil {
		return err
	}
	if err := p.dropLinkCode(tx, s.ID); err != nil {
		return err
	}
	s.MergedInto, s.Identities = t.ID, nil
	if err := p.save(tx, s); err != nil {
		return err
	}
	return p.save(tx, t)
}

// mergePoints moves s's balance to t with an entry on each ledger. Lots
// keep their expiry (grouped per expiry under t's entry); a debt of s is
// taken from t down to the floor, the rest recorded as a shortfall.
func (p *Program) mergePoints(tx store.Tx, s, t *Member) error {
	switch {
	case s.Points > 0:
		var lots []lot
		var keys [][]byte
		err := tx.Scan(bucketLots, store.Prefix(s.ID), func(k, v []byte) error {
			var l lot
			if err := store.DecodeJSON(v, &l); err != nil {
				return err
			}
			keys = append(keys, slices.Clone(k))
			if n := len(lots); n > 0 && lots[n-1].Expires.Equal(l.Expires) {
				lots[n-1].Remaining += l.Remaining
			} else {
				lots = append(lots, lot{Expires: l.Expires, Remaining: l.Remaining})
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("lots of %s: %w", s.ID, err)
		}
		for i, k := range keys {
			var l lot
			if _, err := store.GetJSON(tx, bucketLots, k, &l); err != nil {
				return err
			}
			l.Remaining = 0
			if err := p.putLot(tx, s.ID, keys[i], l); err != nil {
				return err
			}
		}
		n := s.Points
		if _, err := p.record(tx, s, Entry{Kind: KindAdjust, Reason: ReasonMerge, Points: -n, Note: "merged into " + t.ID}); err != nil {
			return err
		}
		before := t.Points
		e, err := p.record(tx, t, Entry{Kind: KindAdjust, Reason: ReasonMerge, Points: n, Note: "merged from " + s.ID})
		if err != nil {
			return err
		}
		for i := range lots {
			lots[i].Seq, lots[i].Earned, lots[i].Points = e.Seq, e.Time, lots[i].Remaining
		}
		return p.addLots(tx, t.ID, before, lots)
	case s.Points < 0:
		debt := -s.Points
		if _, err := p.record(tx, s, Entry{Kind: KindAdjust, Reason: ReasonMerge, Points: debt, Note: "debt merged into " + t.ID}); err != nil {
			return err
		}
		_, err := p.debit(tx, t, Entry{Kind: KindAdjust, Reason: ReasonMerge, Note: "debt merged from " + s.ID}, debt, p.opts.BalanceFloor, nil)
		return err
	}
	return nil
}

// moveRows re-keys a member's rows (id + suffix) to another member, adding
// 8-byte counters when sum is set.
func (p *Program) moveRows(tx store.Tx, b store.Bucket, from, to string, sum bool) error {
	type row struct{ suffix, v []byte }
	var rows []row
	prefix := store.Prefix(from)
	err := tx.Scan(b, prefix, func(k, v []byte) error {
		rows = append(rows, row{slices.Clone(k[len(prefix):]), slices.Clone(v)})
		return nil
	})
	if err != nil {
		return fmt.Errorf("move rows of %s: %w", from, err)
	}
	for _, r := range rows {
		nk := append(store.Prefix(to), r.suffix...)
		v := r.v
		if sum {
			v = store.U64(store.ParseU64(tx.Get(b, nk)) + store.ParseU64(r.v))
		}
		if err := tx.Put(b, nk, v); err != nil {
			return err
		}
		if err := tx.Delete(b, append(slices.Clone(prefix), r.suffix...)); err != nil {
			return err
		}
	}
	return nil
}

func (p *Program) moveCoupons(tx store.Tx, from, to string) error {
	var codes []string
	var keys [][]byte
	err := tx.Scan(bucketMemberCoupons, store.Prefix(from), func(k, v []byte) error {
		codes, keys = append(codes, string(v)), append(keys, slices.Clone(k))
		return nil
	})
	if err != nil {
		return fmt.Errorf("coupons of %s: %w", from, err)
	}
	for i, code := range codes {
		c, err := p.coupon(tx, code)
		if err != nil {
			return err
		}
		c.Member = to
		if err := store.PutJSON(tx, bucketCoupons, []byte(code), c); err != nil {
			return err
		}
		seq, err := tx.NextSequence(bucketMemberCoupons)
		if err != nil {
			return err
		}
		if err := tx.Put(bucketMemberCoupons, append(store.Prefix(to), store.U64(seq)...), []byte(code)); err != nil {
			return err
		}
		if err := tx.Delete(bucketMemberCoupons, keys[i]); err != nil {
			return err
		}
	}
	return nil
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
