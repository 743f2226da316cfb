package outreach

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/carebot/carebot/store"
)

func openStore(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "carebot.db"), store.Options{LockTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

var (
	shanghai = time.FixedZone("CST", 8*3600)
	bangkok  = time.FixedZone("ICT", 7*3600)
)

func TestDeferQuietHours(t *testing.T) {
	r := Rules{QuietStart: 21 * 60, QuietEnd: 9 * 60}
	at := func(d, h, m int, loc *time.Location) time.Time { return time.Date(2026, 11, d, h, m, 0, 0, loc) }
	cases := []struct {
		name string
		in   time.Time
		loc  *time.Location
		want time.Time
	}{
		{"daytime goes at once", at(23, 10, 0, shanghai), shanghai, at(23, 10, 0, shanghai)},
		{"evening waits for the morning", at(23, 22, 30, shanghai), shanghai, at(24, 9, 0, shanghai)},
		{"21:00 sharp is quiet", at(23, 21, 0, shanghai), shanghai, at(24, 9, 0, shanghai)},
		{"early morning waits the same day", at(23, 3, 0, shanghai), shanghai, at(23, 9, 0, shanghai)},
		{"09:00 sharp goes", at(23, 9, 0, shanghai), shanghai, at(23, 9, 0, shanghai)},
		// 09:00 in Shanghai is 08:00 in Bangkok: the member's own hours count.
		{"member's own zone", at(23, 9, 0, shanghai), bangkok, at(23, 9, 0, bangkok)},
	}
	for _, c := range cases {
		if got := r.Defer(c.in, c.loc); !got.Equal(c.want) {
			t.Errorf("%s: Defer(%s) = %s, want %s", c.name, c.in, got, c.want)
		}
	}
	day := Rules{QuietStart: 12 * 60, QuietEnd: 14 * 60} // a lunch break, not wrapping
	if got := day.Defer(at(23, 13, 0, shanghai), shanghai); !got.Equal(at(23, 14, 0, shanghai)) {
		t.Errorf("lunch quiet hours: %s", got)
	}
	if got := (Rules{}).Defer(at(23, 23, 0, shanghai), shanghai); !got.Equal(at(23, 23, 0, shanghai)) {
		t.Errorf("no quiet hours moved the time: %s", got)
	}
}

func TestCapCountsBothSidesAndReserve(t *testing.T) {
	st := openStore(t)
	r := Rules{Cap: 2, Window: 7 * 24 * time.Hour}
	base := time.Date(2026, 11, 23, 10, 0, 0, 0, shanghai)
	allow := func(at time.Time, reserve int) bool {
		t.Helper()
		var ok bool
		if err := st.View(func(tx store.Tx) error {
			var err error
			ok, err = r.Allow(tx, "M1", at, reserve)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return ok
	}
	record := func(kind string, at time.Time) {
		t.Helper()
		if err := st.Update(func(tx store.Tx) error {
			return Record(tx, Send{Member: "M1", Kind: kind, Key: kind + at.String(), At: at})
		}); err != nil {
			t.Fatal(err)
		}
	}
	if !allow(base, 0) || !allow(base, 1) {
		t.Fatal("an empty history must allow")
	}
	record(KindRecall, base.Add(-6*24*time.Hour))
	if !allow(base, 0) {
		t.Fatal("one send in the window must allow a second")
	}
	if allow(base, 1) {
		t.Fatal("one send and one reserved place must refuse")
	}
	record(KindNPS, base.Add(24*time.Hour)) // queued for tomorrow (quiet hours)
	if allow(base, 0) {
		t.Fatal("two sends within 7 days either side must refuse")
	}
	if !allow(base.Add(8*24*time.Hour+time.Hour), 0) {
		t.Fatal("a week after the last send must allow again")
	}
	// Another member is not affected.
	var ok bool
	_ = st.View(func(tx store.Tx) error { ok, _ = r.Allow(tx, "M2", base, 0); return nil })
	if !ok {
		t.Fatal("the cap leaked to another member")
	}
	var sent []string
	_ = st.View(func(tx store.Tx) error {
		return SentOfKind(tx, KindRecall, base.Add(-30*24*time.Hour), base, func(m string, at time.Time) error {
			sent = append(sent, m+"@"+at.In(shanghai).Format("01-02"))
			return nil
		})
	})
	if len(sent) != 1 || sent[0] != "M1@11-17" {
		t.Fatalf("SentOfKind = %v", sent)
	}
}

func TestSurveyAnswersNPSAndCSAT(t *testing.T) {
	st := openStore(t)
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, shanghai)
	scores := map[string]int{"M1": 10, "M2": 9, "M3": 8, "M4": 6, "M5": 0}
	err := st.Update(func(tx store.Tx) error {
		for m, s := range scores {
			_, had, err := SaveAnswer(tx, Answer{Kind: SurveyNPS, Period: "2026Q4", Member: m, Score: s, At: now})
			if err != nil || had {
				t.Fatalf("first answer of %s = %v, %v", m, had, err)
			}
		}
		// M5 changes their mind: the score is replaced, first stays.
		prev, had, err := SaveAnswer(tx, Answer{Kind: SurveyNPS, Period: "2026Q4", Member: "M5", Score: 9, At: now.Add(time.Hour)})
		if err != nil || !had || prev.Score != 0 {
			t.Fatalf("second answer = %+v %v, %v", prev, had, err)
		}
		a, ok, err := GetAnswer(tx, SurveyNPS, "2026Q4", "M5")
		if err != nil || !ok || a.Score != 9 || !a.First.Equal(now) {
			t.Fatalf("answer = %+v %v %v", a, ok, err)
		}
		// Another quarter does not mix in.
		if _, _, err := SaveAnswer(tx, Answer{Kind: SurveyNPS, Period: "2026Q3", Member: "M9", Score: 0, At: now}); err != nil {
			return err
		}
		for i, s := range []int{5, 4, 2} {
			if _, _, err := SaveAnswer(tx, Answer{Kind: SurveyCSAT, Period: "T" + string(rune('1'+i)), Member: "M1", Score: s, At: now.Add(time.Duration(i) * time.Hour)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = st.View(func(tx store.Tx) error {
		n, err := NPSOf(tx, "2026Q4")
		if err != nil {
			t.Fatal(err)
		}
		// Promoters M1, M2, M5 (now 9); passive M3; detractor M4: (3-1)/5 = +40.
		if n.Responses != 5 || n.Promoters != 3 || n.Passives != 1 || n.Detractors != 1 || n.Score != 40 {
			t.Fatalf("NPS = %+v", n)
		}
		c, err := CSATBetween(tx, now, now.Add(2*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		// 5 and 4 in range (the 2 came at +2h, outside): average 4.5, 100% satisfied.
		if c.Responses != 2 || c.Average != 4.5 || c.Satisfied != 100 {
			t.Fatalf("CSAT = %+v", c)
		}
		return nil
	})
	bad := []Answer{
		{Kind: SurveyNPS, Period: "2026Q4", Member: "M1", Score: 11},
		{Kind: SurveyNPS, Period: "2026Q4", Member: "M1", Score: -1},
		{Kind: SurveyCSAT, Period: "T1", Member: "M1", Score: 0},
		{Kind: SurveyNPS, Period: "", Member: "M1", Score: 5},
	}
	for _, a := range bad {
		err := st.Update(func(tx store.Tx) error { _, _, err := SaveAnswer(tx, a); return err })
		if !errors.Is(err, ErrBadAnswer) {
			t.Errorf("SaveAnswer(%+v) = %v, want ErrBadAnswer", a, err)
		}
	}
}

func TestPeriods(t *testing.T) {
	for _, c := range []struct {
		t    time.Time
		q, w string
	}{
		{time.Date(2026, 1, 1, 0, 0, 0, 0, shanghai), "2026Q1", "2026-W01"},
		{time.Date(2026, 11, 23, 9, 0, 0, 0, shanghai), "2026Q4", "2026-W48"},
		{time.Date(2027, 1, 1, 0, 0, 0, 0, shanghai), "2027Q1", "2026-W53"},
		{time.Date(2026, 6, 30, 23, 0, 0, 0, shanghai), "2026Q2", "2026-W27"},
	} {
		if q, w := Quarter(c.t), Week(c.t); q != c.q || w != c.w {
			t.Errorf("%s: %s %s, want %s %s", c.t, q, w, c.q, c.w)
		}
	}
}
