package loyalty

import (
	"bytes"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/carebot/carebot/store"
)

// shanghai is the default zone; the tests load it like New does.
var shanghai, _ = LoadLocation("")

// t0 is a Tuesday morning in Shanghai.
var t0 = time.Date(2026, 3, 10, 10, 0, 0, 0, shanghai)

// clock is an injected clock that tests move by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func (c *clock) add(d time.Duration) { c.set(c.now().Add(d)) }

type harness struct {
	t   testing.TB
	st  *store.Store
	p   *Program
	clk *clock
}

func openStore(t testing.TB) *store.Store {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "loyalty.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// newHarness opens a fresh database and a Program with the default
// options, changed by mutate.
func newHarness(t testing.TB, mutate func(*Options)) *harness {
	t.Helper()
	opts := DefaultOptions()
	if mutate != nil {
		mutate(&opts)
	}
	clk := &clock{t: t0}
	p, err := New(opts, clk.now)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, st: openStore(t), p: p, clk: clk}
	h.do(func(tx store.Tx) error { return p.Seed(tx) })
	if _, ok := t.(*testing.T); ok {
		// Every test ends with the indexes checked against the members, so
		// that a write path bypassing save shows up. (Not in benchmarks: a
		// million members take a while to check.)
		t.Cleanup(func() {
			if err := h.st.View(func(tx store.Tx) error { return checkIndexes(tx, p) }); err != nil {
				t.Error(err)
			}
		})
	}
	return h
}

// do runs fn in its own transaction and fails the test on error.
func (h *harness) do(fn func(tx store.Tx) error) {
	h.t.Helper()
	if err := h.st.Update(fn); err != nil {
		h.t.Fatal(err)
	}
}

// try runs fn in its own transaction and returns its error.
func (h *harness) try(fn func(tx store.Tx) error) error { return h.st.Update(fn) }

// member creates a member for a web chat user.
func (h *harness) member(user string) *Member {
	h.t.Helper()
	var m *Member
	h.do(func(tx store.Tx) error {
		var err error
		m, _, err = h.p.EnsureMember(tx, "webchat", user)
		return err
	})
	return m
}

func (h *harness) credit(member, order string, amount float64) EarnResult {
	h.t.Helper()
	var res EarnResult
	h.do(func(tx store.Tx) error {
		var err error
		res, err = h.p.CreditOrder(tx, Order{ID: order, Member: member, Amount: amount})
		return err
	})
	return res
}

func (h *harness) adjust(member string, delta int64) Entry {
	h.t.Helper()
	var e Entry
	h.do(func(tx store.Tx) error {
		var err error
		e, err = h.p.Adjust(tx, member, delta, "test", "tester")
		return err
	})
	return e
}

func (h *harness) balance(member string) Balance {
	h.t.Helper()
	var b Balance
	h.do(func(tx store.Tx) error {
		var err error
		b, err = h.p.Balance(tx, member)
		return err
	})
	return b
}

func (h *harness) ledger(member string) []Entry {
	h.t.Helper()
	var es []Entry
	h.do(func(tx store.Tx) error {
		var err error
		es, err = h.p.Ledger(tx, member, 10000)
		return err
	})
	return es
}

func (h *harness) putRight(r Right) {
	h.t.Helper()
	h.do(func(tx store.Tx) error { return h.p.PutRight(tx, r) })
}

func (h *harness) redeem(member, right, key string) (*Coupon, Entry, error) {
	var c *Coupon
	var e Entry
	err := h.try(func(tx store.Tx) error {
		var err error
		c, e, err = h.p.Redeem(tx, member, right, key)
		return err
	})
	return c, e, err
}

// check verifies the ledger invariants of one member.
func (h *harness) check(member string) {
	h.t.Helper()
	if err := h.st.View(func(tx store.Tx) error { return checkMember(tx, h.p, member) }); err != nil {
		h.t.Fatal(err)
	}
}

// checkMember verifies: the cached balance equals the sum of the entries
// and each entry's Balance continues the previous one; the lots hold
// max(balance, 0); the balance is at or above the floor; every lot has
// exactly its expiry index row.
func checkMember(tx store.Tx, p *Program, id string) error {
	m, err := p.memberExact(tx, id)
	if err != nil {
		return err
	}
	var sum int64
	var prevSeq uint64
	err = tx.Scan(bucketLedger, store.Prefix(id), func(_, v []byte) error {
		var e Entry
		if err := store.DecodeJSON(v, &e); err != nil {
			return err
		}
		if e.Seq <= prevSeq {
			return fmt.Errorf("%s: entry %d after %d", id, e.Seq, prevSeq)
		}
		sum += e.Points
		if e.Balance != sum {
			return fmt.Errorf("%s: entry %d balance %d, running sum %d", id, e.Seq, e.Balance, sum)
		}
		if e.Shortfall < 0 || (e.Shortfall > 0 && e.Kind != KindReverse && e.Reason != ReasonMerge) {
			return fmt.Errorf("%s: entry %d has shortfall %d", id, e.Seq, e.Shortfall)
		}
		prevSeq = e.Seq
		return nil
	})
	if err != nil {
		return err
	}
	if sum != m.Points {
		return fmt.Errorf("%s: cached balance %d, entries sum to %d", id, m.Points, sum)
	}
	if m.Points < p.opts.BalanceFloor {
		return fmt.Errorf("%s: balance %d below the floor %d", id, m.Points, p.opts.BalanceFloor)
	}
	var lots int64
	nLots := 0
	err = tx.Scan(bucketLots, store.Prefix(id), func(k, v []byte) error {
		var l lot
		if err := store.DecodeJSON(v, &l); err != nil {
			return err
		}
		if l.Remaining <= 0 || l.Remaining > l.Points {
			return fmt.Errorf("%s: lot %d remaining %d of %d", id, l.Seq, l.Remaining, l.Points)
		}
		if !bytes.Equal(k, lotKey(id, l.Expires, l.Seq)) {
			return fmt.Errorf("%s: lot %d under the wrong key", id, l.Seq)
		}
		if !l.Expires.IsZero() {
			if tx.Get(bucketExpiry, expiryKey(id, l.Expires, l.Seq)) == nil {
				return fmt.Errorf("%s: lot %d has no expiry index row", id, l.Seq)
			}
			nLots++
		}
		lots += l.Remaining
		return nil
	})
	if err != nil {
		return err
	}
	if want := max(m.Points, 0); lots != want {
		return fmt.Errorf("%s: lots hold %d, balance %d", id, lots, m.Points)
	}
	nIndex := 0
	err = tx.Scan(bucketExpiry, nil, func(k, _ []byte) error {
		if mid, _, ok := parseExpiryKey(k); ok && mid == id {
			nIndex++
		}
		return nil
	})
	if err != nil {
		return err
	}
	if nIndex != nLots {
		return fmt.Errorf("%s: %d expiry index rows for %d lots", id, nIndex, nLots)
	}
	return nil
}
