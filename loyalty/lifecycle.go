package loyalty

import (
	"fmt"
	"slices"
	"time"

	"github.com/carebot/carebot/store"
)

// ExpireDue is the daily expiry job: every lot past its expiry becomes
// part of one expire entry per member (key "expire:<member>:<first lot>").
// It returns the number of entries written; running it again writes none.
func (p *Program) ExpireDue(tx store.Tx) (int, error) {
	due, order, err := p.dueLots(tx, p.now())
	if err != nil {
		return 0, err
	}
	n := 0
	for _, id := range order {
		m, err := p.memberExact(tx, id)
		if err != nil {
			return n, err
		}
		var sum int64
		first := ""
		for _, lk := range due[id] {
			var l lot
			ok, err := store.GetJSON(tx, bucketLots, lk, &l)
			if err != nil {
				return n, fmt.Errorf("expire lots of %s: %w", id, err)
			}
			if !ok {
				continue
			}
			if first == "" {
				// Expiry and sequence together name a lot (merged lots
				// share a sequence), so the key is never reused.
				first = fmt.Sprintf("%d:%d", expUnix(l.Expires), l.Seq)
			}
			sum += l.Remaining
			l.Remaining = 0
			if err := p.putLot(tx, id, lk, l); err != nil {
				return n, err
			}
		}
		if sum <= 0 {
			continue
		}
		e := Entry{Kind: KindExpire, Reason: ReasonExpiry, Points: -sum, Key: "expire:" + id + ":" + first}
		if _, err := p.record(tx, m, e); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// dueLots lists the lot keys expiring by `by`, grouped by member, with the
// members in the order first seen.
func (p *Program) dueLots(tx store.Tx, by time.Time) (map[string][][]byte, []string, error) {
	due := map[string][][]byte{}
	var order []string
	end := store.U64(expUnix(by) + 1)
	err := tx.ScanRange(bucketExpiry, nil, end, func(k, _ []byte) error {
		id, lk, ok := parseExpiryKey(k)
		if !ok {
			return fmt.Errorf("bad expiry key %x", k)
		}
		if _, seen := due[id]; !seen {
			order = append(order, id)
		}
		due[id] = append(due[id], lk)
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("scan expiring lots: %w", err)
	}
	return due, order, nil
}

// ExpiringWithin calls fn once per member whose points expire within d from
// now (lots already due but not yet expired included), with the points and
// the earliest expiry, in member id order. It is the query of the 30-day
// notice; the caller sends it (and makes it idempotent). fn may write in
// tx.
func (p *Program) ExpiringWithin(tx store.Tx, d time.Duration, fn func(m *Member, points int64, by time.Time) error) error {
	due, order, err := p.dueLots(tx, p.now().Add(d))
	if err != nil {
		return err
	}
	slices.Sort(order)
	for _, id := range order {
		var sum int64
		var first time.Time
		for _, lk := range due[id] {
			var l lot
			if _, err := store.GetJSON(tx, bucketLots, lk, &l); err != nil {
				return fmt.Errorf("lots of %s: %w", id, err)
			}
			if l.Remaining > 0 {
				sum += l.Remaining
				if first.IsZero() || l.Expires.Before(first) {
					first = l.Expires
				}
			}
		}
		if sum <= 0 {
			continue
		}
		m, err := p.memberExact(tx, id)
		if err != nil {
			return err
		}
		if err := fn(m, sum, first); err != nil {
			return err
		}
	}
	return nil
}

// YearlyReview is the yearly tier review, run once per local year (a
// member already reviewed this year is skipped, so running it again, or in
// several transactions, changes nothing). A member whose qualifying points
// reach KeepRatio × the tier's threshold keeps the tier (保级); anyone else
// goes down exactly one tier, whatever the points.
func (p *Program) YearlyReview(tx store.Tx) ([]TierChange, error) {
	year := p.now().In(p.loc).Year()
	// Collect ids first (only members above the lowest tier need a look),
	// then write: bbolt cursors must not see their bucket change.
	var ids []string
	err := tx.Scan(bucketMembers, nil, func(k, v []byte) error {
		var m Member
		if err := store.DecodeJSON(v, &m); err != nil {
			return fmt.Errorf("member %s: %w", k, err)
		}
		if m.MergedInto == "" && m.Reviewed != year && p.rank(m.Tier) > 0 {
			ids = append(ids, m.ID)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("yearly review: %w", err)
	}
	var changes []TierChange
	for _, id := range ids {
		m, err := p.memberExact(tx, id)
		if err != nil {
			return nil, err
		}
		q, err := p.qualifying(tx, id)
		if err != nil {
			return nil, err
		}
		m.Reviewed = year
		r := p.rank(m.Tier)
		if q >= p.keepLevel(p.opts.Tiers[r]) {
			if err := p.save(tx, m); err != nil {
				return nil, err
			}
			continue
		}
		c, err := p.changeTier(tx, m, p.opts.Tiers[r-1].Name, TierReview)
		if err != nil {
			return nil, err
		}
		changes = append(changes, *c)
	}
	return changes, nil
}

// memberExact loads the member stored under id without following a merge.
func (p *Program) memberExact(tx store.Tx, id string) (*Member, error) {
	var m Member
	ok, err := store.GetJSON(tx, bucketMembers, []byte(id), &m)
	if err != nil {
		return nil, fmt.Errorf("member %s: %w", id, err)
	}
	if !ok {
		return nil, fmt.Errorf("member %q: %w", id, ErrNoMember)
	}
	return &m, nil
}
