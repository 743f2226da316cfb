package loyalty

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/carebot/carebot/store"
)

// Index buckets for the scheduled care jobs, which must pick a day's
// birthdays or the dormant members out of up to a million members without
// decoding every member's JSON. save maintains them in the same
// transaction as the member, so every writer keeps them right.
var (
	// "MM-DD", id → nil: members by birthday (month and day).
	bucketBirthdays = store.RegisterBucket("loyalty", "loyalty_idx_birthday")
	// "YYYY-MM-DD", id → nil: joined members by the local date of JoinedAt.
	bucketJoinDays = store.RegisterBucket("loyalty", "loyalty_idx_joined")
	// id → "MM-DD" 0x00 "YYYY-MM-DD" (either part may be empty): the keys
	// the member has in the two indexes above, so that save removes a
	// stale key with one Get instead of a scan.
	bucketIndexOf = store.RegisterBucket("loyalty", "loyalty_idx_of")
	// id → the activity row (see activityValue): what IdleSince, ActiveSince
	// and Census need, so that they read short rows, not members.
	bucketActivity = store.RegisterBucket("loyalty", "loyalty_idx_activity")
)

// indexMarker in bucketMeta records that EnsureIndexes built the indexes;
// bump the version when an index's format changes so that it is rebuilt.
// v2: the activity row grew from 16 bytes to activityFixed + tier name.
var indexMarker = []byte("indexes:v2")

// Layout of an activity row, all integers big-endian. The first 16 bytes
// are the v1 row (IdleSince and ActiveSince read only them); the rest is
// what Stage and the tier need, so that Census never decodes a member.
const (
	actActive   = 0  // u64 unix seconds of LastActive (Created when zero)
	actPurchase = 8  // u64 unix seconds of LastPurchase (0 when none)
	actLast     = 16 // i64 unix ns of the latest of Created, LastActive, LastPurchase
	actCreated  = 24 // i64 unix ns of Created
	actOrders   = 32 // u32 Orders, saturated
	// activityFixed is where the tier name (the rest of the row) starts.
	activityFixed = 36
)

// indexChunk bounds how many ids a query collects before calling fn with
// no cursor open: fn may then write anything (bbolt cursors must not see
// their bucket change) while memory stays small on a million members.
const indexChunk = 1024

// index brings m's rows in the index buckets up to date. A merged member
// has none: lookups follow the merge, and the survivor is indexed.
func (p *Program) index(tx store.Tx, m *Member) error {
	id := []byte(m.ID)
	if m.MergedInto != "" {
		if err := tx.Delete(bucketActivity, id); err != nil {
			return err
		}
	} else if err := tx.Put(bucketActivity, id, activityValue(m)); err != nil {
		return err
	}
	var bday, jday string
	if m.MergedInto == "" {
		bday = birthdayKey(m.Birthday)
		if !m.JoinedAt.IsZero() {
			jday = p.day(m.JoinedAt)
		}
	}
	// Most saves (a check-in, an order) change neither key: one Get and
	// no write.
	oldB, oldJ, _ := strings.Cut(string(tx.Get(bucketIndexOf, id)), "\x00")
	if oldB == bday && oldJ == jday {
		return nil
	}
	for _, k := range []struct {
		b        store.Bucket
		old, new string
	}{{bucketBirthdays, oldB, bday}, {bucketJoinDays, oldJ, jday}} {
		if k.old == k.new {
			continue
		}
		if k.old != "" {
			if err := tx.Delete(k.b, store.Key(k.old, m.ID)); err != nil {
				return err
			}
		}
		if k.new != "" {
			if err := tx.Put(k.b, store.Key(k.new, m.ID), nil); err != nil {
				return err
			}
		}
	}
	if bday == "" && jday == "" {
		return tx.Delete(bucketIndexOf, id)
	}
	return tx.Put(bucketIndexOf, id, []byte(bday+"\x00"+jday))
}

// birthdayKey is the "MM-DD" of a YYYY-MM-DD birthday, or "" for none
// (or a malformed one, which checkBirthday keeps out).
func birthdayKey(b string) string {
	if len(b) != len(dateLayout) || b[4] != '-' || b[7] != '-' {
		return ""
	}
	return b[5:]
}

// activityValue encodes the activity row (layout above). The seconds
// fields store a zero time as 0, not as the (negative) unix time of year
// 1. The nanosecond fields keep full precision because Census must agree
// with Stage to the nanosecond: truncating to seconds would move a member
// across a stage boundary for up to a second.
func activityValue(m *Member) []byte {
	active := m.LastActive
	if active.IsZero() {
		active = m.Created
	}
	// Stage's "last": Created, then whichever of the two is later.
	last := m.Created
	for _, t := range []time.Time{m.LastActive, m.LastPurchase} {
		if t.After(last) {
			last = t
		}
	}
	v := make([]byte, activityFixed+len(m.Tier)) // bbolt keeps the slice until commit: a fresh one per save
	binary.BigEndian.PutUint64(v[actActive:], unixOrZero(active))
	binary.BigEndian.PutUint64(v[actPurchase:], unixOrZero(m.LastPurchase))
	binary.BigEndian.PutUint64(v[actLast:], uint64(unixNano(last)))
	binary.BigEndian.PutUint64(v[actCreated:], uint64(unixNano(m.Created)))
	binary.BigEndian.PutUint32(v[actOrders:], uint32(min(max(m.Orders, 0), math.MaxUint32)))
	copy(v[activityFixed:], m.Tier)
	return v
}

// unixNano is t in unix nanoseconds, clamped to the int64 range: the zero
// time (and anything before 1678) becomes MinInt64, so that it is as far
// in the past for Census as time.Time.Sub's saturation makes it for Stage.
func unixNano(t time.Time) int64 {
	switch {
	case t.Before(minNano):
		return math.MinInt64
	case t.After(maxNano):
		return math.MaxInt64
	}
	return t.UnixNano()
}

var minNano, maxNano = time.Unix(0, math.MinInt64), time.Unix(0, math.MaxInt64)

func unixOrZero(t time.Time) uint64 {
	if t.IsZero() || t.Unix() < 0 {
		return 0
	}
	return uint64(t.Unix())
}

// BirthdaysOn calls fn for each member whose birthday (month and day) is
// day's date, taken from day's own Month and Day as given (no zone
// conversion: the caller decides whose "today" it is). In a common year,
// 28 February also yields the members born on 29 February, who would
// otherwise have no birthday that year. Members come in id order, the 29
// February ones after the 28 February ones. fn may write in tx and may
// return an error to stop, which BirthdaysOn returns.
func (p *Program) BirthdaysOn(tx store.Tx, day time.Time, fn func(*Member) error) error {
	keys := []string{fmt.Sprintf("%02d-%02d", int(day.Month()), day.Day())}
	if day.Month() == time.February && day.Day() == 28 && !isLeap(day.Year()) {
		keys = append(keys, "02-29")
	}
	for _, k := range keys {
		err := p.eachIndexed(tx, bucketBirthdays, k, func(m *Member) bool { return birthdayKey(m.Birthday) == k }, fn)
		if err != nil {
			return fmt.Errorf("birthdays on %s: %w", k, err)
		}
	}
	return nil
}

// JoinedOn calls fn for each member whose JoinedAt falls on the local date
// day (YYYY-MM-DD in the programme's zone), in id order. fn may write in tx
// and may return an error to stop, which JoinedOn returns.
func (p *Program) JoinedOn(tx store.Tx, day string, fn func(*Member) error) error {
	if _, err := time.Parse(dateLayout, day); err != nil {
		return fmt.Errorf("joined on %q: %w: want a date YYYY-MM-DD", day, ErrInvalid)
	}
	err := p.eachIndexed(tx, bucketJoinDays, day, func(m *Member) bool { return !m.JoinedAt.IsZero() && p.day(m.JoinedAt) == day }, fn)
	if err != nil {
		return fmt.Errorf("joined on %s: %w", day, err)
	}
	return nil
}

// eachIndexed loads the members under key in an index bucket and calls fn
// for those that are not merged and still match (ok guards against an
// index left stale by an older binary: a greeting on the wrong day is
// worse than none). Ids are collected a chunk at a time so that no cursor
// is open while fn runs.
func (p *Program) eachIndexed(tx store.Tx, b store.Bucket, key string, ok func(*Member) bool, fn func(*Member) error) error {
	prefix := store.Prefix(key)
	start, end := prefix, prefixEnd(prefix)
	ids := make([]string, 0, indexChunk)
	for {
		ids = ids[:0]
		err := tx.ScanRange(b, start, end, func(k, _ []byte) error {
			ids = append(ids, string(k[len(prefix):]))
			if len(ids) == indexChunk {
				return store.ErrStop
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, id := range ids {
			m, err := p.memberExact(tx, id)
			if errors.Is(err, ErrNoMember) {
				continue // indexed by an older binary, then gone: nothing to send
			}
			if err != nil {
				return err
			}
			if m.MergedInto != "" || !ok(m) {
				continue
			}
			if err := fn(m); err != nil {
				return err
			}
		}
		if len(ids) < indexChunk {
			return nil
		}
		start = append(store.Key(key, ids[len(ids)-1]), 0) // the next key after the last one seen
	}
}

// IdleSince calls fn for every member whose last activity (the later of
// LastActive and LastPurchase; Created when both are zero) is not after
// cutoff, to the second, in id order, with that time in the programme's
// zone. It reads only the activity index, never a member record: the
// dormant scan over a million members. fn may write in tx and may return
// an error to stop, which IdleSince returns.
func (p *Program) IdleSince(tx store.Tx, cutoff time.Time, fn func(id string, last time.Time) error) error {
	if cutoff.Unix() < 0 {
		return nil // before 1970: nobody was idle yet
	}
	limit := uint64(cutoff.Unix())
	err := p.scanActivity(tx, func(t uint64) bool { return t <= limit }, fn)
	if err != nil {
		return fmt.Errorf("idle since %s: %w", cutoff.Format(time.RFC3339), err)
	}
	return nil
}

// ActiveSince is IdleSince's complement: every member whose last activity
// is after since (the active members an NPS survey samples).
func (p *Program) ActiveSince(tx store.Tx, since time.Time, fn func(id string, last time.Time) error) error {
	limit := uint64(max(since.Unix(), 0))
	err := p.scanActivity(tx, func(t uint64) bool { return t > limit }, fn)
	if err != nil {
		return fmt.Errorf("active since %s: %w", since.Format(time.RFC3339), err)
	}
	return nil
}

// scanActivity calls fn for the members whose last activity (unix
// seconds) satisfies keep, gathering ids a chunk at a time with no cursor
// open while fn runs.
func (p *Program) scanActivity(tx store.Tx, keep func(uint64) bool, fn func(id string, last time.Time) error) error {
	type hit struct {
		id   string
		last uint64
	}
	var start []byte
	for {
		hits := make([]hit, 0, indexChunk)
		err := tx.ScanRange(bucketActivity, start, nil, func(k, v []byte) error {
			// A v1 row (16 bytes) still holds both times: only Census
			// needs the rest.
			if len(v) < actLast {
				return fmt.Errorf("activity of %s: %d bytes, want at least %d", k, len(v), actLast)
			}
			t := max(binary.BigEndian.Uint64(v[actActive:]), binary.BigEndian.Uint64(v[actPurchase:]))
			if keep(t) {
				hits = append(hits, hit{string(k), t})
				if len(hits) == indexChunk {
					return store.ErrStop
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, h := range hits {
			if err := fn(h.id, time.Unix(int64(h.last), 0).In(p.loc)); err != nil {
				return err
			}
		}
		if len(hits) < indexChunk {
			return nil
		}
		start = append([]byte(hits[len(hits)-1].id), 0) // the next key after the last hit
	}
}

// EnsureIndexes builds the index buckets from the member records, once
// per database and index format (marker "indexes:v2" in the meta bucket):
// databases written before the indexes existed have members and no index
// rows, and v1 databases have 16-byte activity rows that Census cannot
// read. It returns the number of (unmerged) members indexed, 0 when the
// indexes were already built. Call it at every start-up and before a bulk
// import, while nothing else writes members; after the first run it is
// one read.
//
// The build runs in transactions of buildChunk members: one transaction
// for a million members held every dirty page in memory (2.5 GB at the
// first start after an import). The marker is written last, so a build
// cut short by a crash starts again from empty buckets next time.
func (p *Program) EnsureIndexes(st *store.Store) (int, error) {
	built := false
	if err := st.View(func(tx store.Tx) error { built = tx.Get(bucketMeta, indexMarker) != nil; return nil }); err != nil {
		return 0, fmt.Errorf("build member indexes: %w", err)
	}
	if built {
		return 0, nil
	}
	// Start from empty buckets: rows an older build may have left would
	// otherwise never be removed (save trusts bucketIndexOf).
	for _, b := range []store.Bucket{bucketBirthdays, bucketJoinDays, bucketIndexOf, bucketActivity} {
		for more := true; more; {
			if err := st.Update(func(tx store.Tx) (err error) { more, err = clearChunk(tx, b); return }); err != nil {
				return 0, fmt.Errorf("build member indexes: clear %s: %w", b, err)
			}
		}
	}
	n := 0
	var start []byte
	for more := true; more; {
		err := st.Update(func(tx store.Tx) error {
			done, indexed := 0, 0
			more = false
			// index writes only the index buckets, never bucketMembers,
			// so it may run under this cursor.
			err := tx.ScanRange(bucketMembers, start, nil, func(k, v []byte) error {
				if done == buildChunk {
					more, start = true, slices.Clone(k)
					return store.ErrStop
				}
				done++
				var m Member
				if err := store.DecodeJSON(v, &m); err != nil {
					return fmt.Errorf("member %s: %w", k, err)
				}
				if m.MergedInto == "" {
					indexed++
				}
				if err := p.index(tx, &m); err != nil {
					return fmt.Errorf("index member %s: %w", m.ID, err)
				}
				return nil
			})
			n += indexed
			return err
		})
		if err != nil {
			return 0, fmt.Errorf("build member indexes: %w", err)
		}
	}
	err := st.Update(func(tx store.Tx) error {
		if err := tx.Put(bucketMeta, indexMarker, []byte{1}); err != nil {
			return err
		}
		// The older marker would only mislead someone reading the meta bucket.
		return tx.Delete(bucketMeta, []byte("indexes:v1"))
	})
	if err != nil {
		return 0, fmt.Errorf("build member indexes: mark them built: %w", err)
	}
	return n, nil
}

// buildChunk is the number of members EnsureIndexes indexes per
// transaction (a variable so that tests can make chunks small).
var buildChunk = 20_000

// clearChunk deletes up to 10,000 keys of b and reports whether more may
// remain.
func clearChunk(tx store.Tx, b store.Bucket) (bool, error) {
	var keys [][]byte
	err := tx.Scan(b, nil, func(k, _ []byte) error {
		keys = append(keys, slices.Clone(k))
		if len(keys) == 10_000 {
			return store.ErrStop
		}
		return nil
	})
	if err != nil {
		return false, err
	}
	for _, k := range keys {
		if err := tx.Delete(b, k); err != nil {
			return false, err
		}
	}
	return len(keys) == 10_000, nil
}

func isLeap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

// prefixEnd is the smallest key after every key with the prefix (the
// prefix ends in the 0x00 separator, so incrementing its last byte works).
func prefixEnd(prefix []byte) []byte {
	end := slices.Clone(prefix)
	end[len(end)-1]++
	return end
}
