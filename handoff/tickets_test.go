package handoff

import (
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/carebot/carebot/dialog/emotion"
	"github.com/carebot/carebot/store"
)

func openTicketStore(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "tickets.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

var (
	t0         = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	alice      = Account{Name: "alice", Role: RoleAgent}
	bob        = Account{Name: "bob", Role: RoleAgent}
	supervisor = Account{Name: "sam", Role: RoleSupervisor}
)

func openTicket(t *testing.T, st *store.Store, tier emotion.Tier, chat string, now time.Time) *Ticket {
	t.Helper()
	d := DefaultRules().Decide(Input{Tier: tier, Negative: true})
	if !d.Open {
		t.Fatalf("tier %s opens no ticket", tier)
	}
	var tk *Ticket
	err := st.Update(func(tx store.Tx) error {
		var err error
		tk, err = Open(tx, OpenParams{Decision: d, Trigger: "质量太差了", Channel: "webchat", ChatID: chat}, now)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

func update(t *testing.T, st *store.Store, fn func(tx store.Tx) (*Ticket, error)) (*Ticket, error) {
	t.Helper()
	var out *Ticket
	err := st.Update(func(tx store.Tx) error {
		var err error
		out, err = fn(tx)
		return err
	})
	return out, err
}

func TestTicketLifecycle(t *testing.T) {
	st := openTicketStore(t)
	tk := openTicket(t, st, emotion.TierModerate, "c1", t0)
	if tk.Status != StatusOpen || tk.Queue != QueueAgent || !tk.Silenced || !tk.Deadline.Equal(t0.Add(time.Hour)) {
		t.Fatalf("opened ticket = %+v", tk)
	}
	claimed, err := update(t, st, func(tx store.Tx) (*Ticket, error) { return Claim(tx, tk.ID, alice, t0.Add(time.Minute)) })
	if err != nil || claimed.Status != StatusClaimed || claimed.Agent != "alice" {
		t.Fatalf("claim: %v %+v", err, claimed)
	}
	if _, err := update(t, st, func(tx store.Tx) (*Ticket, error) { return Reply(tx, tk.ID, bob, "hi", t0) }); !errors.Is(err, ErrForbidden) {
		t.Fatalf("bob replied on alice's ticket: %v", err)
	}
	if _, err := update(t, st, func(tx store.Tx) (*Ticket, error) { return Resolve(tx, tk.ID, alice, "", "", nil, t0) }); !errors.Is(err, ErrInvalid) {
		t.Fatalf("resolve without cause: %v", err)
	}
	if _, err := update(t, st, func(tx store.Tx) (*Ticket, error) {
		return Resolve(tx, tk.ID, alice, "天气", "", []string{"物流慢", "质量问题"}, t0)
	}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("resolve with unknown cause: %v", err)
	}
	res, err := update(t, st, func(tx store.Tx) (*Ticket, error) {
		return Resolve(tx, tk.ID, alice, "质量问题", "换新并补偿 20 元", []string{"物流慢", "质量问题"}, t0.Add(30*time.Minute))
	})
	if err != nil || res.Status != StatusResolved || res.Cause != "质量问题" || res.Silenced {
		t.Fatalf("resolve: %v %+v", err, res)
	}
	rated, err := update(t, st, func(tx store.Tx) (*Ticket, error) { return RecordCSAT(tx, tk.ID, 4, t0.Add(31*time.Minute)) })
	if err != nil || rated.CSAT != 4 {
		t.Fatalf("csat: %v %+v", err, rated)
	}
	kinds := []string{}
	for _, e := range rated.Events {
		kinds = append(kinds, e.Kind)
	}
	want := []string{EventOpen, EventClaim, EventResolve, EventCSAT}
	if len(kinds) != len(want) {
		t.Fatalf("events = %v, want %v", kinds, want)
	}
	for i := range want {
		if kinds[i] != want[i] {
			t.Fatalf("events = %v, want %v", kinds, want)
		}
	}
	err = st.View(func(tx store.Tx) error {
		active := 0
		if err := ListActive(tx, func(*Ticket) error { active++; return nil }); err != nil {
			return err
		}
		if active != 0 {
			t.Errorf("resolved ticket still active")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Two agents claim the same ticket at the same moment: exactly one wins.
func TestClaimRaceExactlyOneWins(t *testing.T) {
	st := openTicketStore(t)
	for round := range 20 {
		tk := openTicket(t, st, emotion.TierModerate, "race", t0)
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, who := range []Account{alice, bob} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = update(t, st, func(tx store.Tx) (*Ticket, error) { return Claim(tx, tk.ID, who, t0) })
			}()
		}
		wg.Wait()
		wins := 0
		for _, err := range errs {
			switch {
			case err == nil:
				wins++
			case !errors.Is(err, ErrConflict):
				t.Fatalf("round %d: unexpected error %v", round, err)
			}
		}
		if wins != 1 {
			t.Fatalf("round %d: %d claims won, want exactly 1 (%v)", round, wins, errs)
		}
	}
}

func TestAgentsSeeTheirQueueSupervisorsAll(t *testing.T) {
	st := openTicketStore(t)
	agentT := openTicket(t, st, emotion.TierModerate, "a", t0)
	severeT := openTicket(t, st, emotion.TierSevere, "b", t0)
	if severeT.Queue != QueueSupervisor {
		t.Fatalf("severe ticket queue = %s", severeT.Queue)
	}
	err := st.View(func(tx store.Tx) error {
		for _, c := range []struct {
			who  Account
			want []uint64
		}{
			{alice, []uint64{agentT.ID}},
			{supervisor, []uint64{agentT.ID, severeT.ID}},
		} {
			ts, err := List(tx, c.who, Filter{Status: "open"})
			if err != nil {
				return err
			}
			var got []uint64
			for _, t := range ts {
				got = append(got, t.ID)
			}
			if len(got) != len(c.want) {
				t.Errorf("%s sees %v, want %v", c.who.Name, got, c.want)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := update(t, st, func(tx store.Tx) (*Ticket, error) { return Claim(tx, severeT.ID, alice, t0) }); !errors.Is(err, ErrForbidden) {
		t.Fatalf("agent claimed a supervisor ticket: %v", err)
	}
}

func TestQueueOrderBySLAThenTier(t *testing.T) {
	st := openTicketStore(t)
	severe := openTicket(t, st, emotion.TierSevere, "s", t0)            // deadline +4h
	moderate := openTicket(t, st, emotion.TierModerate, "m", t0)        // +1h
	mild := openTicket(t, st, emotion.TierMild, "l", t0.Add(time.Hour)) // +1h10m
	err := st.View(func(tx store.Tx) error {
		ts, err := List(tx, supervisor, Filter{})
		if err != nil {
			return err
		}
		want := []uint64{moderate.ID, mild.ID, severe.ID}
		for i, tk := range ts {
			if tk.ID != want[i] {
				t.Errorf("queue[%d] = %d, want %d", i, tk.ID, want[i])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestEscalateOverdueOnce(t *testing.T) {
	st := openTicketStore(t)
	tk := openTicket(t, st, emotion.TierMild, "e", t0) // 10-minute SLA
	claimedLate := openTicket(t, st, emotion.TierMild, "f", t0)
	if _, err := update(t, st, func(tx store.Tx) (*Ticket, error) { return Claim(tx, claimedLate.ID, alice, t0.Add(time.Minute)) }); err != nil {
		t.Fatal(err)
	}
	escalate := func(at time.Time) []*Ticket {
		var due []*Ticket
		if err := st.Update(func(tx store.Tx) error {
			var err error
			due, err = EscalateOverdue(tx, at)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return due
	}
	if due := escalate(t0.Add(9 * time.Minute)); len(due) != 0 {
		t.Fatalf("escalated before the deadline: %v", due)
	}
	due := escalate(t0.Add(10 * time.Minute))
	if len(due) != 1 || due[0].ID != tk.ID || due[0].Queue != QueueSupervisor || !due[0].Escalated || due[0].Priority <= tk.Priority {
		t.Fatalf("escalation = %+v", due)
	}
	if again := escalate(t0.Add(20 * time.Minute)); len(again) != 0 {
		t.Fatalf("escalated twice: %v", again)
	}
}

func TestReopenAndRelapse(t *testing.T) {
	st := openTicketStore(t)
	tk := openTicket(t, st, emotion.TierModerate, "r", t0)
	if _, err := update(t, st, func(tx store.Tx) (*Ticket, error) {
		return Resolve(tx, tk.ID, alice, "物流慢", "", nil, t0.Add(time.Hour))
	}); err != nil {
		t.Fatal(err)
	}
	rel, err := update(t, st, func(tx store.Tx) (*Ticket, error) { return Relapse(tx, tk.ID, "还是有点慢", t0.Add(2*time.Hour)) })
	if err != nil || rel.Relapses != 1 || rel.Status != StatusResolved {
		t.Fatalf("relapse: %v %+v", err, rel)
	}
	d := DefaultRules().Decide(Input{Tier: emotion.TierSevere, Negative: true})
	re, err := update(t, st, func(tx store.Tx) (*Ticket, error) {
		return Reopen(tx, tk.ID, d, "我要去12315投诉", nil, t0.Add(48*time.Hour))
	})
	if err != nil || re.Status != StatusOpen || re.Tier != emotion.TierSevere || re.Queue != QueueSupervisor || re.Reopened != 1 || re.Agent != "" {
		t.Fatalf("reopen: %v %+v", err, re)
	}
}

func TestRaiseOnlyUpwards(t *testing.T) {
	st := openTicketStore(t)
	tk := openTicket(t, st, emotion.TierMild, "u", t0)
	rules := DefaultRules()
	same, err := update(t, st, func(tx store.Tx) (*Ticket, error) {
		return Raise(tx, tk.ID, rules.Decide(Input{Tier: emotion.TierMild, Negative: true}), "x", nil, t0)
	})
	if err != nil || len(same.Events) != 1 {
		t.Fatalf("a mild message raised a mild ticket: %v %+v", err, same)
	}
	up, err := update(t, st, func(tx store.Tx) (*Ticket, error) {
		return Raise(tx, tk.ID, rules.Decide(Input{Tier: emotion.TierSevere, Negative: true}), "曝光你们", nil, t0.Add(time.Minute))
	})
	if err != nil || up.Tier != emotion.TierSevere || up.Queue != QueueSupervisor || !up.Silenced || up.Trigger != "曝光你们" {
		t.Fatalf("raise: %v %+v", err, up)
	}
	if !up.Deadline.Equal(t0.Add(10 * time.Minute)) {
		t.Errorf("raise moved the deadline later: %v", up.Deadline)
	}
}

func TestReport(t *testing.T) {
	st := openTicketStore(t)
	causes := []string{"物流慢", "物流慢", "质量问题", "态度", "价格", "物流慢", "质量问题"}
	for i, c := range causes {
		tk := openTicket(t, st, emotion.TierModerate, string(rune('a'+i)), t0)
		if _, err := update(t, st, func(tx store.Tx) (*Ticket, error) {
			return Resolve(tx, tk.ID, supervisor, c, "", nil, t0.Add(time.Hour))
		}); err != nil {
			t.Fatal(err)
		}
		if _, err := update(t, st, func(tx store.Tx) (*Ticket, error) { return RecordCSAT(tx, tk.ID, 1+i%5, t0.Add(2*time.Hour)) }); err != nil {
			t.Fatal(err)
		}
	}
	openTicket(t, st, emotion.TierSevere, "z", t0.Add(8*24*time.Hour)) // outside the week
	var r Report
	if err := st.View(func(tx store.Tx) error {
		var err error
		r, err = BuildReport(tx, t0, t0.Add(7*24*time.Hour))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if r.Opened != 7 || r.Resolved != 7 || r.ByTier["moderate"] != 7 {
		t.Fatalf("report counts = %+v", r)
	}
	want := []CauseCount{{"物流慢", 3}, {"质量问题", 2}, {"价格", 1}}
	if len(r.TopCauses) != 3 {
		t.Fatalf("top causes = %v", r.TopCauses)
	}
	for i := range want {
		if r.TopCauses[i] != want[i] {
			t.Fatalf("top causes = %v, want %v", r.TopCauses, want)
		}
	}
	if r.CSATCount != 7 || r.CSATAverage != float64(1+2+3+4+5+1+2)/7 {
		t.Errorf("csat = %d, %g", r.CSATCount, r.CSATAverage)
	}
}
