// Package outreach holds the rules every proactive care message obeys and
// the record of what was sent and answered: quiet hours in the member's own
// zone, a frequency cap per member, the log of care messages (which the cap
// and the recall conversions read), and survey answers with NPS and CSAT
// per period.
//
// It knows nothing of channels or members' profiles: the scheduled jobs in
// package bot decide who gets what, and ask this package when and whether.
package outreach

import (
	"errors"
	"fmt"
	"time"

	"github.com/carebot/carebot/store"
)

// Buckets.
var (
	// member, at(8), seq(8) → Send: a member's care messages in time order.
	bucketSent = store.RegisterBucket("outreach", "outreach_sent")
	// kind, at(8), seq(8) → member: every care message of a kind in time
	// order, for reports (recall conversions).
	bucketSentByKind = store.RegisterBucket("outreach", "outreach_sent_kind")
)

// Kinds of care message. Rank orders them for the frequency cap.
const (
	KindBirthday  = "birthday"
	KindExpiry    = "expiry"
	KindNewMember = "new-member"
	KindNPS       = "nps"
	KindRecall    = "recall"
)

// Rules are the delivery rules of care messages.
type Rules struct {
	// QuietStart and QuietEnd are minutes after local midnight; a message
	// due in [QuietStart, QuietEnd) (wrapping past midnight when start is
	// after end) waits until QuietEnd. Equal values: no quiet hours.
	QuietStart, QuietEnd int
	// Cap is the most care messages per member within Window; 0 is off.
	Cap    int
	Window time.Duration
}

// Defer returns t, or the end of the quiet hours in loc when t falls in
// them. Care messages are deferred, never dropped.
func (r Rules) Defer(t time.Time, loc *time.Location) time.Time {
	if r.QuietStart == r.QuietEnd {
		return t
	}
	lt := t.In(loc)
	mins := lt.Hour()*60 + lt.Minute()
	quiet := false
	if r.QuietStart < r.QuietEnd {
		quiet = mins >= r.QuietStart && mins < r.QuietEnd
	} else {
		quiet = mins >= r.QuietStart || mins < r.QuietEnd
	}
	if !quiet {
		return t
	}
	day := lt
	if mins >= r.QuietStart && r.QuietStart > r.QuietEnd {
		day = lt.AddDate(0, 0, 1) // 22:00 waits for tomorrow's 09:00
	}
	end := time.Date(day.Year(), day.Month(), day.Day(), r.QuietEnd/60, r.QuietEnd%60, 0, 0, loc)
	if !end.After(t) {
		// A zone transition swallowed the hour: the window is over.
		return t
	}
	return end
}

// Send is one care message queued for a member.
type Send struct {
	Member string    `json:"member"`
	Kind   string    `json:"kind"`
	Key    string    `json:"key"`
	At     time.Time `json:"at"` // when it is due (after quiet hours)
}

// Record logs s. The caller makes sure a key is recorded once (it is the
// outbox key of the message, queued in the same transaction).
func Record(tx store.Tx, s Send) error {
	if s.Member == "" || s.Kind == "" {
		return errors.New("record care message: member and kind are required")
	}
	seq, err := tx.NextSequence(bucketSent)
	if err != nil {
		return fmt.Errorf("record care message: %w", err)
	}
	if err := store.PutJSON(tx, bucketSent, append(timeKey(store.Prefix(s.Member), s.At), store.U64(seq)...), s); err != nil {
		return fmt.Errorf("record care message: %w", err)
	}
	return tx.Put(bucketSentByKind, append(timeKey(store.Prefix(s.Kind), s.At), store.U64(seq)...), []byte(s.Member))
}

// Sends returns member's care messages due within [from, to), oldest
// first.
func Sends(tx store.Tx, member string, from, to time.Time) ([]Send, error) {
	var out []Send
	prefix := store.Prefix(member)
	err := tx.ScanRange(bucketSent, timeKey(prefix, from), timeKey(prefix, to), func(_, v []byte) error {
		var s Send
		if err := store.DecodeJSON(v, &s); err != nil {
			return err
		}
		out = append(out, s)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("care messages of %s: %w", member, err)
	}
	return out, nil
}

// SentOfKind calls fn for each care message of kind due within [from, to),
// oldest first.
func SentOfKind(tx store.Tx, kind string, from, to time.Time, fn func(member string, at time.Time) error) error {
	prefix := store.Prefix(kind)
	err := tx.ScanRange(bucketSentByKind, timeKey(prefix, from), timeKey(prefix, to), func(k, v []byte) error {
		return fn(string(v), time.Unix(0, int64(store.ParseU64(k[len(prefix):len(prefix)+8]))))
	})
	if err != nil {
		return fmt.Errorf("care messages of kind %s: %w", kind, err)
	}
	return nil
}

// timeKey is prefix followed by t as big-endian unix nanoseconds (times
// before 1970 sort first).
func timeKey(prefix []byte, t time.Time) []byte {
	return append(append([]byte{}, prefix...), store.U64(uint64(max(t.UnixNano(), 0)))...)
}

// Allow reports whether member may get one more care message due at:
// fewer than Cap messages within Window either side of at, after keeping
// reserved places free (for a birthday greeting due soon, which outranks
// recall offers and surveys).
func (r Rules) Allow(tx store.Tx, member string, at time.Time, reserved int) (bool, error) {
	if r.Cap <= 0 {
		return true, nil
	}
	sends, err := Sends(tx, member, at.Add(-r.Window+1), at.Add(r.Window))
	if err != nil {
		return false, err
	}
	return len(sends)+reserved < r.Cap, nil
}

// Quarter names the calendar quarter of t in its zone, "2026Q4": the NPS
// period.
func Quarter(t time.Time) string {
	return fmt.Sprintf("%dQ%d", t.Year(), (int(t.Month())-1)/3+1)
}

// Week names the ISO week of t in its zone, "2026-W48": the report period.
func Week(t time.Time) string {
	y, w := t.ISOWeek()
	return fmt.Sprintf("%d-W%02d", y, w)
}
