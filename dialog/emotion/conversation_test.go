package emotion

import (
	"encoding/json"
	"math"
	"testing"
	"time"
)

func TestObserveRepeatedQuestion(t *testing.T) {
	s := newTestScorer(t, Options{})
	var c Conversation
	now := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	steps := []struct {
		text   string
		tier   Tier
		repeat bool
	}{
		{"我的订单什么时候发货", TierNone, false},
		{"退货运费谁出", TierNone, false},
		{"我的订单什么时候发货？", TierMild, true},       // asked again, punctuation aside
		{"请问我的订单什么时候发货呢", TierModerate, true}, // a third time
		{"好的", TierNone, false},               // too short to count as a question
		{"好的", TierNone, false},
	}
	for i, st := range steps {
		r := s.Observe(&c, st.text, now.Add(time.Duration(i)*time.Minute))
		if r.Tier != st.tier || hasCue(r, "repeat") != st.repeat {
			t.Fatalf("step %d %q: tier %s repeat cue %v, want %s %v (%+v)", i, st.text, r.Tier, hasCue(r, "repeat"), st.tier, st.repeat, r)
		}
	}
	if c.Turns != len(steps) {
		t.Errorf("turns %d", c.Turns)
	}
}

func TestObserveRecentIsBounded(t *testing.T) {
	s := newTestScorer(t, Options{RecentQuestions: 3})
	var c Conversation
	now := time.Now()
	for _, q := range []string{"第一个问题是什么", "第二个问题是什么", "第三个问题是什么", "第四个问题是什么"} {
		s.Observe(&c, q, now)
	}
	if len(c.Recent) != 3 {
		t.Fatalf("recent %v", c.Recent)
	}
	// The first question has been forgotten.
	if r := s.Observe(&c, "第一个问题是什么", now); hasCue(r, "repeat") {
		t.Errorf("forgotten question counted as repeated: %+v", r)
	}
}

func TestObserveConsecutiveNegatives(t *testing.T) {
	s := newTestScorer(t, Options{})
	var c Conversation
	now := time.Now()
	want := []int{1, 2, 3, 0, 1}
	for i, text := range []string{"有点慢", "还没到", "太差了", "好的，谢谢你", "又没到"} {
		s.Observe(&c, text, now)
		if c.Negatives != want[i] {
			t.Fatalf("after %q: negatives %d, want %d", text, c.Negatives, want[i])
		}
	}
}

func TestObserveDecay(t *testing.T) {
	s := newTestScorer(t, Options{HalfLife: 10 * time.Minute, TurnDecay: 0.5})
	var c Conversation
	t0 := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	r := s.Observe(&c, "质量太差了，我要投诉", t0)
	if c.Value != r.Value || c.Last != t0 {
		t.Fatalf("first message: conversation %+v, result %.3f", c, r.Value)
	}
	// Half-life in time: the value halves after ten minutes of silence.
	if got := s.Running(&c, t0.Add(10*time.Minute)); math.Abs(got-r.Value/2) > 0.001 {
		t.Errorf("running after one half-life %.3f, want %.3f", got, r.Value/2)
	}
	if got := s.Running(&c, t0.Add(-time.Minute)); got != c.Value {
		t.Errorf("running before the last message %.3f", got)
	}
	// Per turn: a neutral message right away keeps TurnDecay of the past.
	before := c.Value
	n := s.Observe(&c, "我的订单号是12345", t0)
	if want := 0.5*before + 0.5*n.Value; math.Abs(c.Value-want) > 0.001 {
		t.Errorf("after a neutral turn %.3f, want %.3f", c.Value, want)
	}
	// An hour later, the old anger has mostly faded before the new message.
	later := t0.Add(time.Hour)
	faded := s.Running(&c, later)
	p := s.Observe(&c, "谢谢，问题解决了", later)
	if want := 0.5*faded + 0.5*p.Value; math.Abs(c.Value-want) > 0.001 || c.Value <= 0 {
		t.Errorf("after an hour and praise %.3f, want %.3f > 0", c.Value, want)
	}
}

func TestConversationJSON(t *testing.T) {
	s := newTestScorer(t, Options{})
	var c Conversation
	s.Observe(&c, "怎么还没发货", time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC))
	data, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var back Conversation
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if back.Value != c.Value || back.Negatives != c.Negatives || back.Turns != c.Turns || !back.Last.Equal(c.Last) || len(back.Recent) != len(c.Recent) {
		t.Fatalf("round trip %s → %+v, want %+v", data, back, c)
	}
	if r := s.Observe(&back, "怎么还没发货？？", c.Last.Add(time.Minute)); !hasCue(r, "repeat") {
		t.Errorf("restored conversation forgot the question: %+v", r)
	}
}
