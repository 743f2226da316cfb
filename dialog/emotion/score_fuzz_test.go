package emotion

import (
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

// FuzzScore scores arbitrary text with the embedded lexicons. It must
// never panic; the value is a number in [-1, 1]; tier, label and colour
// agree (a tier means a negative label and a warm colour); the same text
// scores the same; and a conversation observing it keeps a running value
// in [-1, 1].
func FuzzScore(f *testing.F) {
	for _, s := range []string{
		"质量太差了，我要投诉", "我要曝光你们，投诉到消协", "谢谢，非常满意！", "你们是骗子吗？？？", "WHY IS MY ORDER LATE",
		"not bad at all", "呵呵，真是好服务", "退款多久能到账", "", "\xff\xfe", "😡😡😡", strings.Repeat("差", 3000),
		"It's great, isn’t it?", "不不不不不好", "滚",
	} {
		f.Add(s)
	}
	s := newTestScorer(f, Options{})
	colours := map[Tier]string{TierNone: ColourGreen, TierMild: ColourYellow, TierModerate: ColourRed, TierSevere: ColourRed}
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, text string) {
		r := s.Score(text)
		switch {
		case math.IsNaN(r.Value) || r.Value < -1 || r.Value > 1:
			t.Fatalf("value %v", r.Value)
		case r.Tier.Rank() < 0:
			t.Fatalf("tier %q", r.Tier)
		case r.Colour != colours[r.Tier]:
			t.Fatalf("tier %s with colour %s", r.Tier, r.Colour)
		case r.Tier != TierNone && r.Label != LabelNegative:
			t.Fatalf("tier %s with label %s", r.Tier, r.Label)
		case r.Label != LabelNegative && r.Label != LabelNeutral && r.Label != LabelPositive:
			t.Fatalf("label %q", r.Label)
		}
		if again := s.Score(text); !reflect.DeepEqual(again, r) {
			t.Fatalf("the same text scored twice:\n%+v\n%+v", r, again)
		}
		var c Conversation
		for i := range 3 {
			s.Observe(&c, text, now.Add(time.Duration(i)*time.Minute))
			if v := s.Running(&c, now.Add(time.Duration(i)*time.Minute)); math.IsNaN(v) || v < -1 || v > 1 {
				t.Fatalf("running value %v after %d turns", v, i+1)
			}
		}
	})
}

// FuzzReadDataset reads arbitrary evaluation files: it must never panic,
// and a file it reads has rows, each with text and a known tier.
func FuzzReadDataset(f *testing.F) {
	f.Add([]byte("text,tier\n请问这个面霜孕妇能用吗,none\n太差了,moderate\n"))
	f.Add([]byte("label,review\n1,很好\n0,\"差, 很差\"\n1,\n"))
	f.Add([]byte("\ufefftext , tier\n\"x\"y\",mild\n"))
	f.Add([]byte("label,review\n2,x\n"))
	f.Add([]byte("text,tier,extra\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := ReadDataset(strings.NewReader(string(data)), "fuzz.csv")
		if err != nil {
			return
		}
		if len(d.Binary) == 0 && len(d.Tiers) == 0 {
			t.Fatal("read a dataset without rows")
		}
		for _, e := range d.Binary {
			if e.Text == "" {
				t.Fatalf("binary example without text")
			}
		}
		for _, e := range d.Tiers {
			if e.Text == "" || e.Tier.Rank() < 0 {
				t.Fatalf("tier example %+v", e)
			}
		}
	})
}
