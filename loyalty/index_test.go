package loyalty

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/carebot/carebot/store"
)

// checkIndexes verifies that the index buckets hold exactly the rows that
// the member records call for (newHarness runs it when a test ends, so
// every test doubles as a check that its write paths keep the indexes).
func checkIndexes(tx store.Tx, p *Program) error {
	want := map[store.Bucket]map[string]string{
		bucketBirthdays: {}, bucketJoinDays: {}, bucketIndexOf: {}, bucketActivity: {},
	}
	err := tx.Scan(bucketMembers, nil, func(k, v []byte) error {
		var m Member
		if err := store.DecodeJSON(v, &m); err != nil {
			return err
		}
		if m.MergedInto != "" {
			return nil
		}
		want[bucketActivity][m.ID] = string(activityValue(&m))
		var bday, jday string
		if len(m.Birthday) == 10 {
			bday = m.Birthday[5:]
			want[bucketBirthdays][string(store.Key(bday, m.ID))] = ""
		}
		if !m.JoinedAt.IsZero() {
			jday = p.day(m.JoinedAt)
			want[bucketJoinDays][string(store.Key(jday, m.ID))] = ""
		}
		if bday != "" || jday != "" {
			want[bucketIndexOf][m.ID] = bday + "\x00" + jday
		}
		return nil
	})
	if err != nil {
		return err
	}
	for b, rows := range want {
		got := map[string]string{}
		if err := tx.Scan(b, nil, func(k, v []byte) error { got[string(k)] = string(v); return nil }); err != nil {
			return err
		}
		for k, v := range rows {
			if g, ok := got[k]; !ok || g != v {
				return fmt.Errorf("index %s: row %q = %q (present %v), want %q", b, k, g, ok, v)
			}
		}
		for k := range got {
			if _, ok := rows[k]; !ok {
				return fmt.Errorf("index %s: stale row %q", b, k)
			}
		}
	}
	return nil
}

// join completes 注册会员 for a member.
func (h *harness) join(id, birthday string) {
	h.t.Helper()
	h.do(func(tx store.Tx) error { _, err := h.p.Join(tx, id, "Name "+id, birthday, true); return err })
}

// birthdays lists the ids BirthdaysOn yields for day.
func (h *harness) birthdays(day time.Time) []string {
	h.t.Helper()
	var ids []string
	if err := h.st.View(func(tx store.Tx) error {
		return h.p.BirthdaysOn(tx, day, func(m *Member) error { ids = append(ids, m.ID); return nil })
	}); err != nil {
		h.t.Fatal(err)
	}
	return ids
}

func (h *harness) joinedOn(day string) []string {
	h.t.Helper()
	var ids []string
	if err := h.st.View(func(tx store.Tx) error {
		return h.p.JoinedOn(tx, day, func(m *Member) error { ids = append(ids, m.ID); return nil })
	}); err != nil {
		h.t.Fatal(err)
	}
	return ids
}

// idle lists "id@last" for IdleSince(now - d).
func (h *harness) idle(d time.Duration) []string {
	h.t.Helper()
	var out []string
	if err := h.st.View(func(tx store.Tx) error {
		return h.p.IdleSince(tx, h.clk.now().Add(-d), func(id string, last time.Time) error {
			out = append(out, id+"@"+last.In(shanghai).Format("2006-01-02T15:04:05"))
			return nil
		})
	}); err != nil {
		h.t.Fatal(err)
	}
	return out
}

// active lists the members active within d, as ids.
func (h *harness) active(d time.Duration) []string {
	h.t.Helper()
	var out []string
	if err := h.st.View(func(tx store.Tx) error {
		return h.p.ActiveSince(tx, h.clk.now().Add(-d), func(id string, _ time.Time) error {
			out = append(out, id)
			return nil
		})
	}); err != nil {
		h.t.Fatal(err)
	}
	return out
}

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func TestBirthdayIndexFollowsChanges(t *testing.T) {
	h := newHarness(t, nil)
	a, b := h.member("a").ID, h.member("b").ID
	h.join(a, "1990-05-17")
	h.join(b, "1985-05-17")
	if got := h.birthdays(day(2026, 5, 17)); !slices.Equal(got, []string{a, b}) {
		t.Fatalf("17 May: %v, want [%s %s]", got, a, b)
	}
	// Joining again with another birthday moves a; the old date no longer
	// yields it.
	h.join(a, "1990-06-01")
	if got := h.birthdays(day(2026, 5, 17)); !slices.Equal(got, []string{b}) {
		t.Fatalf("17 May after the change: %v, want [%s]", got, b)
	}
	if got := h.birthdays(day(2030, 6, 1)); !slices.Equal(got, []string{a}) {
		t.Fatalf("1 June: %v, want [%s]", got, a)
	}
	// Declining the birthday removes the member from the index.
	h.join(a, "")
	if got := h.birthdays(day(2030, 6, 1)); len(got) != 0 {
		t.Fatalf("1 June after clearing: %v", got)
	}
	// The day's own fields count, not its instant in another zone: 00:30
	// on 18 May in Shanghai is still 17 May in UTC, but asks for 18 May.
	if got := h.birthdays(time.Date(2026, 5, 18, 0, 30, 0, 0, shanghai)); len(got) != 0 {
		t.Fatalf("18 May: %v", got)
	}
	// fn's error stops the query and comes back.
	stop := errors.New("stop")
	n := 0
	err := h.st.View(func(tx store.Tx) error {
		return h.p.BirthdaysOn(tx, day(2026, 5, 17), func(*Member) error { n++; return stop })
	})
	if !errors.Is(err, stop) || n != 1 {
		t.Fatalf("stopping: err %v after %d calls", err, n)
	}
}

func TestBirthdayLeapDay(t *testing.T) {
	h := newHarness(t, nil)
	leap, feb28 := h.member("leap").ID, h.member("feb28").ID
	h.join(leap, "2000-02-29")
	h.join(feb28, "1990-02-28")
	for _, tt := range []struct {
		day  time.Time
		want []string
	}{
		{day(2027, 2, 28), []string{feb28, leap}}, // common year: 29 Feb is celebrated on 28 Feb
		{day(2027, 3, 1), nil},
		{day(2028, 2, 28), []string{feb28}}, // leap year: on its own day
		{day(2028, 2, 29), []string{leap}},
		{day(2100, 2, 28), []string{feb28, leap}}, // divisible by 100: common
		{day(2000, 2, 28), []string{feb28}},       // divisible by 400: leap
	} {
		if got := h.birthdays(tt.day); !slices.Equal(got, tt.want) {
			t.Errorf("%s: %v, want %v", tt.day.Format(dateLayout), got, tt.want)
		}
	}
}

func TestIndexesDropMergedMembers(t *testing.T) {
	h := newHarness(t, nil)
	target, other := h.member("a").ID, h.member("b").ID
	h.join(target, "1990-01-02")
	h.clk.add(24 * time.Hour)
	h.join(other, "1991-07-08")
	h.credit(other, "o1", 100)
	var code string
	h.do(func(tx store.Tx) (err error) { code, _, err = h.p.LinkCode(tx, target); return })
	h.do(func(tx store.Tx) error { _, err := h.p.Link(tx, code, "webchat", "b"); return err })
	if got := h.birthdays(day(2026, 7, 8)); len(got) != 0 {
		t.Errorf("merged member's birthday still yields %v", got)
	}
	if got := h.birthdays(day(2026, 1, 2)); !slices.Equal(got, []string{target}) {
		t.Errorf("target's birthday: %v", got)
	}
	if got := h.joinedOn(h.p.day(h.clk.now())); len(got) != 0 {
		t.Errorf("merged member still joined on its day: %v", got)
	}
	h.clk.add(400 * 24 * time.Hour)
	if got := h.idle(0); len(got) != 1 || !strings.HasPrefix(got[0], target+"@") {
		t.Errorf("idle members after the merge: %v, want only %s", got, target)
	}
	// No index bucket keeps a row naming the merged member.
	h.do(func(tx store.Tx) error {
		for _, b := range []store.Bucket{bucketBirthdays, bucketJoinDays, bucketIndexOf, bucketActivity} {
			err := tx.Scan(b, nil, func(k, _ []byte) error {
				if bytes.HasSuffix(k, []byte(other)) {
					t.Errorf("%s still has %q", b, k)
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
}

func TestJoinedOn(t *testing.T) {
	h := newHarness(t, nil)
	a, b, c, never := h.member("a").ID, h.member("b").ID, h.member("c").ID, h.member("d").ID
	h.join(a, "") // 10:00 on 10 March in Shanghai
	h.clk.set(time.Date(2026, 3, 10, 23, 30, 0, 0, shanghai))
	h.join(b, "")
	// 00:30 on 11 March in Shanghai is still 10 March in UTC: local days
	// are the programme's.
	h.clk.set(time.Date(2026, 3, 11, 0, 30, 0, 0, shanghai))
	h.join(c, "")
	// Joining again keeps JoinedAt.
	h.join(a, "1990-01-01")
	if got := h.joinedOn("2026-03-10"); !slices.Equal(got, []string{a, b}) {
		t.Errorf("10 March: %v, want [%s %s]", got, a, b)
	}
	if got := h.joinedOn("2026-03-11"); !slices.Equal(got, []string{c}) {
		t.Errorf("11 March: %v, want [%s]", got, c)
	}
	if got := h.joinedOn("2026-03-12"); len(got) != 0 {
		t.Errorf("12 March: %v", got)
	}
	_ = never // created on first contact, never joined: in no join day
	err := h.st.View(func(tx store.Tx) error {
		return h.p.JoinedOn(tx, "2026-3-10", func(*Member) error { return nil })
	})
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("bad day: %v, want ErrInvalid", err)
	}
}

func TestIdleSince(t *testing.T) {
	h := newHarness(t, nil)
	buyer, chatter, quiet := h.member("a").ID, h.member("b").ID, h.member("c").ID
	created := t0.Format("2006-01-02T15:04:05")
	const window = 60 * 24 * time.Hour
	if got := h.idle(window); len(got) != 0 {
		t.Fatalf("idle right after creation: %v", got)
	}
	h.clk.add(61 * 24 * time.Hour)
	if got := h.idle(window); len(got) != 3 {
		t.Fatalf("after 61 quiet days: %v, want all three", got)
	}
	// A purchase and a chat move members out; the quiet one stays, with
	// its creation as the last activity.
	h.credit(buyer, "o1", 50)
	h.do(func(tx store.Tx) error { return h.p.Touch(tx, chatter) })
	if got, want := h.idle(window), []string{quiet + "@" + created}; !slices.Equal(got, want) {
		t.Fatalf("after a purchase and a chat: %v, want %v", got, want)
	}
	// ActiveSince is the complement: exactly the buyer and the chatter.
	if got, want := h.active(window), []string{buyer, chatter}; !slices.Equal(got, want) {
		t.Fatalf("active: %v, want %v", got, want)
	}
	// The cutoff is inclusive: a member whose last activity is exactly
	// the cutoff is idle.
	if got := h.idle(0); len(got) != 3 {
		t.Fatalf("cutoff now: %v, want all three", got)
	}
	h.clk.add(30 * 24 * time.Hour)
	h.do(func(tx store.Tx) error { _, err := h.p.CheckIn(tx, quiet); return err })
	h.clk.add(31 * 24 * time.Hour)
	// The buyer's last activity is its purchase; the chatter's its chat.
	lastAt := t0.Add(61 * 24 * time.Hour).Format("2006-01-02T15:04:05")
	if got, want := h.idle(window), []string{buyer + "@" + lastAt, chatter + "@" + lastAt}; !slices.Equal(got, want) {
		t.Fatalf("later: %v, want %v", got, want)
	}
}

// TestQueriesCrossChunks: more matches than one chunk come out complete,
// in id order, and fn may write (here: the very rows being listed).
func TestQueriesCrossChunks(t *testing.T) {
	h := newHarness(t, nil)
	n := 2*indexChunk + 7
	h.do(func(tx store.Tx) error {
		for i := range n {
			m, _, err := h.p.EnsureMember(tx, "webchat", fmt.Sprint("u", i))
			if err != nil {
				return err
			}
			if _, err := h.p.Join(tx, m.ID, "M", "1990-09-09", true); err != nil {
				return err
			}
		}
		return nil
	})
	var ids []string
	h.do(func(tx store.Tx) error {
		return h.p.BirthdaysOn(tx, day(2026, 9, 9), func(m *Member) error {
			ids = append(ids, m.ID)
			return h.p.SetZone(tx, m.ID, "Asia/Tokyo") // a write while listing
		})
	})
	if len(ids) != n || !slices.IsSorted(ids) || len(slices.Compact(slices.Clone(ids))) != n {
		t.Fatalf("BirthdaysOn: %d ids (sorted %v), want %d distinct", len(ids), slices.IsSorted(ids), n)
	}
	if got := h.joinedOn(h.p.day(t0)); len(got) != n {
		t.Fatalf("JoinedOn: %d, want %d", len(got), n)
	}
	h.clk.add(100 * 24 * time.Hour)
	var idle []string
	h.do(func(tx store.Tx) error {
		return h.p.IdleSince(tx, h.clk.now(), func(id string, _ time.Time) error {
			idle = append(idle, id)
			return h.p.Touch(tx, id) // rewrites the activity row being listed
		})
	})
	if len(idle) != n || !slices.IsSorted(idle) {
		t.Fatalf("IdleSince: %d ids, want %d in order", len(idle), n)
	}
	if got := h.idle(time.Second); len(got) != 0 {
		t.Fatalf("touched members still idle: %d", len(got))
	}
}

func TestFavouriteCategory(t *testing.T) {
	h := newHarness(t, nil)
	a := h.member("a").ID
	order := func(id, cat string, items ...OrderItem) {
		h.do(func(tx store.Tx) error {
			_, err := h.p.CreditOrder(tx, Order{ID: id, Member: a, Amount: 100, Category: cat, Items: items})
			return err
		})
	}
	member := func() *Member {
		var m *Member
		h.do(func(tx store.Tx) (err error) { m, err = h.p.Member(tx, a); return })
		return m
	}
	if got := member().FavouriteCategory(); got != "" {
		t.Fatalf("no orders: %q", got)
	}
	// One order counts each distinct category once: tea (the order's and
	// the uncategorised item's) and coffee (two spellings, one category).
	order("o1", "Tea", OrderItem{Category: "coffee", Price: 1}, OrderItem{Category: " Coffee ", Price: 1}, OrderItem{Price: 1})
	m := member()
	if want := map[string]int{"tea": 1, "coffee": 1}; !mapsEqual(m.Categories, want) {
		t.Fatalf("after o1: %v, want %v", m.Categories, want)
	}
	if got := m.FavouriteCategory(); got != "coffee" {
		t.Fatalf("tie: %q, want coffee (alphabetical)", got)
	}
	order("o2", "", OrderItem{Category: "TEA", Price: 2})
	order("o2", "", OrderItem{Category: "TEA", Price: 2}) // a repeat counts nothing
	order("o3", "")                                       // no category: nothing
	if got := member().FavouriteCategory(); got != "tea" {
		t.Fatalf("after o2: %q, want tea (%v)", got, member().Categories)
	}
	// A refund does not take the count back.
	h.do(func(tx store.Tx) error { _, err := h.p.RefundOrder(tx, "o2"); return err })
	if m := member(); m.Categories["tea"] != 2 || m.Orders != 3 {
		t.Fatalf("after the refund: %v, %d orders", m.Categories, m.Orders)
	}
	if got := (&Member{Categories: map[string]int{"z": 2, "y": 2, "x": 1}}).FavouriteCategory(); got != "y" {
		t.Fatalf("tie of y and z: %q", got)
	}
	// Merging adds the other member's counts.
	b := h.member("b").ID
	h.do(func(tx store.Tx) error {
		_, err := h.p.CreditOrder(tx, Order{ID: "b1", Member: b, Amount: 10, Category: "cake"})
		return err
	})
	var code string
	h.do(func(tx store.Tx) (err error) { code, _, err = h.p.LinkCode(tx, a); return })
	h.do(func(tx store.Tx) error { _, err := h.p.Link(tx, code, "webchat", "b"); return err })
	if want := map[string]int{"tea": 2, "coffee": 1, "cake": 1}; !mapsEqual(member().Categories, want) {
		t.Fatalf("after the merge: %v, want %v", member().Categories, want)
	}
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestSetZoneAndLocation(t *testing.T) {
	h := newHarness(t, nil)
	a := h.member("a").ID
	member := func() *Member {
		var m *Member
		h.do(func(tx store.Tx) (err error) { m, err = h.p.Member(tx, a); return })
		return m
	}
	if loc := member().Location(shanghai); loc != shanghai {
		t.Fatalf("unknown zone: %v, want the default", loc)
	}
	h.do(func(tx store.Tx) error { return h.p.SetZone(tx, a, " Asia/Tokyo ") })
	if m := member(); m.Zone != "Asia/Tokyo" || m.Location(shanghai).String() != "Asia/Tokyo" {
		t.Fatalf("zone %q, location %v", m.Zone, m.Location(shanghai))
	}
	for _, bad := range []string{"Mars/Olympus_Mons", "Local", "../etc/passwd", "Asia/Tokyo\x00"} {
		err := h.try(func(tx store.Tx) error { return h.p.SetZone(tx, a, bad) })
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), a) {
			t.Errorf("SetZone(%q) = %v, want ErrInvalid naming %s", bad, err, a)
		}
	}
	if got := member().Zone; got != "Asia/Tokyo" {
		t.Fatalf("a refused zone changed it to %q", got)
	}
	if err := h.try(func(tx store.Tx) error { return h.p.SetZone(tx, "M999999", "UTC") }); !errors.Is(err, ErrNoMember) {
		t.Errorf("unknown member: %v", err)
	}
	h.do(func(tx store.Tx) error { return h.p.SetZone(tx, a, "") })
	if m := member(); m.Zone != "" || m.Location(time.UTC) != time.UTC {
		t.Fatalf("cleared: zone %q, location %v", m.Zone, m.Location(time.UTC))
	}
	// A zone that no longer loads (stored by an older tzdata) falls back.
	if loc := (&Member{Zone: "Nowhere/Gone"}).Location(shanghai); loc != shanghai {
		t.Fatalf("invalid stored zone: %v", loc)
	}
}

func TestImportWithZone(t *testing.T) {
	h := newHarness(t, nil)
	h.do(func(tx store.Tx) error {
		_, err := h.p.ImportMember(tx, ImportRow{ID: "C1", Name: "Ann", Birthday: "1980-04-04", Zone: "America/New_York"})
		return err
	})
	var m *Member
	h.do(func(tx store.Tx) (err error) { m, err = h.p.Member(tx, "C1"); return })
	if m.Zone != "America/New_York" || m.Location(shanghai).String() != "America/New_York" {
		t.Fatalf("imported zone %q", m.Zone)
	}
	// Imported members are joined (on the import's day) and indexed.
	if got := h.joinedOn(h.p.day(t0)); !slices.Equal(got, []string{"C1"}) {
		t.Fatalf("JoinedOn: %v", got)
	}
	if got := h.birthdays(day(2026, 4, 4)); !slices.Equal(got, []string{"C1"}) {
		t.Fatalf("BirthdaysOn: %v", got)
	}
	err := h.try(func(tx store.Tx) error {
		_, err := h.p.ImportMember(tx, ImportRow{ID: "C2", Zone: "Europe/Atlantis"})
		return err
	})
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), `"C2"`) || !strings.Contains(err.Error(), "zone") {
		t.Fatalf("bad zone: %v, want ErrInvalid naming row C2 and the zone column", err)
	}
}

// clearBucket deletes every key of b.
func clearBucket(tx store.Tx, b store.Bucket) error {
	for {
		more, err := clearChunk(tx, b)
		if err != nil || !more {
			return err
		}
	}
}

func TestEnsureIndexes(t *testing.T) {
	h := newHarness(t, nil)
	a, b, c := h.member("a").ID, h.member("b").ID, h.member("c").ID
	h.join(a, "1990-12-24")
	h.join(b, "1992-12-24")
	var code string // c is merged into b: not indexed
	h.do(func(tx store.Tx) (err error) { code, _, err = h.p.LinkCode(tx, b); return })
	h.do(func(tx store.Tx) error { _, err := h.p.Link(tx, code, "webchat", "c"); return err })
	// Chunks of two members: the build spans several transactions.
	defer func(size int) { buildChunk = size }(buildChunk)
	buildChunk = 2
	ensure := func() int {
		n, err := h.p.EnsureIndexes(h.st)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := ensure(); n != 2 { // a fresh database has no marker yet
		t.Fatalf("first EnsureIndexes: %d, want 2", n)
	}
	if n := ensure(); n != 0 {
		t.Fatalf("second EnsureIndexes: %d, want 0", n)
	}
	// Make it a database from before the indexes: no index rows (and a
	// junk row an older build could have left), no marker.
	h.do(func(tx store.Tx) error {
		for _, bk := range []store.Bucket{bucketBirthdays, bucketJoinDays, bucketIndexOf, bucketActivity} {
			if err := clearBucket(tx, bk); err != nil {
				return err
			}
		}
		if err := tx.Put(bucketBirthdays, store.Key("01-01", c), nil); err != nil {
			return err
		}
		return tx.Delete(bucketMeta, indexMarker)
	})
	if got := h.birthdays(day(2026, 12, 24)); len(got) != 0 {
		t.Fatalf("emptied index still yields %v", got)
	}
	if n := ensure(); n != 2 {
		t.Fatalf("EnsureIndexes on an old database: %d, want 2", n)
	}
	if got := h.birthdays(day(2026, 12, 24)); !slices.Equal(got, []string{a, b}) {
		t.Fatalf("rebuilt birthdays: %v", got)
	}
	if got := h.joinedOn(h.p.day(t0)); !slices.Equal(got, []string{a, b}) {
		t.Fatalf("rebuilt join days: %v", got)
	}
	h.clk.add(90 * 24 * time.Hour)
	if got := h.idle(60 * 24 * time.Hour); len(got) != 2 {
		t.Fatalf("rebuilt activity: %v", got)
	}
	if n := ensure(); n != 0 {
		t.Fatalf("EnsureIndexes again: %d, want 0", n)
	}
}
