package knowledge

import (
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"

	"github.com/carebot/carebot/segment"
)

// sharedSeg is the process's jieba segmenter: each load costs about 0.5 s
// and 130 MB, so every test shares it.
func sharedSeg(t testing.TB) *segment.Segmenter {
	t.Helper()
	seg, err := segment.Shared("")
	if err != nil {
		t.Fatalf("segmenter: %v", err)
	}
	return seg
}

// testBase builds a Base over testdata/kb.
func testBase(t testing.TB) *Base {
	t.Helper()
	entries, err := LoadDir("testdata/kb")
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewBase(sharedSeg(t), entries, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSearchParaphrases(t *testing.T) {
	b := testBase(t)
	tests := []struct {
		query, want string
		answered    bool // also above MinScore
	}{
		// zh-Hans
		{"运费多少钱", "shipping-fee", true},
		{"包邮么", "shipping-fee", true},
		{"几天能送到", "delivery-time", true},
		{"什么时候能到货", "delivery-time", true},
		{"怎么退货呀", "return-policy", true},
		{"退款多久能到", "refund-time", true},
		{"能开发票吗", "invoice", true},
		{"可以用微信支付吗", "payment-methods", true},
		{"物流信息怎么查", "order-tracking", true},
		// zh-Hant
		{"運費多少錢", "shipping-fee", true},
		{"怎麼申請退貨", "return-policy", true},
		{"退款什麼時候到帳", "refund-time", true},
		{"可以刷信用卡嗎", "payment-methods", true},
		{"包裹現在在哪裡", "order-tracking", false},
		{"幾天會到", "delivery-time", false},
		// en
		{"how much does shipping cost", "shipping-fee", true},
		{"I want to return an item", "return-policy", true},
		{"where is my order", "order-tracking", true},
		{"I need an invoice", "invoice", true},
		{"when do I get my refund", "refund-time", false},
		{"do you accept credit cards", "payment-methods", false},
	}
	for _, tt := range tests {
		ms := b.Search(tt.query, 3)
		if len(ms) == 0 || ms[0].Entry.ID != tt.want {
			t.Errorf("Search(%q) = %s, want %s first", tt.query, describe(ms), tt.want)
			continue
		}
		if m, ok := b.Answer(tt.query); tt.answered && (!ok || m.Entry.ID != tt.want) {
			t.Errorf("Answer(%q) = %s %.2f, %v; want %s above %.2f", tt.query, idOf(m), m.Score, ok, tt.want, b.MinScore())
		}
	}
}

func TestSearchRejectsUnrelated(t *testing.T) {
	b := testBase(t)
	for _, q := range []string{"今天天气怎么样", "what is the capital of France", "asdfgh", "", "？？？", "   ", "😀😀", "how old are you", "讲个笑话", "今天天氣如何"} {
		if m, ok := b.Answer(q); ok {
			t.Errorf("Answer(%q) = %s with %.2f, want no answer", q, m.Entry.ID, m.Score)
		}
	}
	for _, q := range []string{"asdfgh", "", "？？？", "\xff\xfe"} {
		if ms := b.Search(q, 3); ms != nil {
			t.Errorf("Search(%q) = %s, want nil", q, describe(ms))
		}
	}
}

func TestSearchScores(t *testing.T) {
	b := testBase(t)
	// A query that is one of the questions scores 1, in either script.
	for _, q := range []string{"运费怎么算？", "運費怎麼算？", "How much is shipping?", "how much is SHIPPING"} {
		ms := b.Search(q, 1)
		if len(ms) == 0 || ms[0].Entry.ID != "shipping-fee" || math.Abs(ms[0].Score-1) > 1e-9 {
			t.Errorf("Search(%q) = %s, want shipping-fee with score 1", q, describe(ms))
		}
	}
	// Unknown words lower the score: the same known words plus noise.
	base := b.Search("运费怎么算", 1)
	noisy := b.Search("运费怎么算 阿斯顿马丁赛车", 1)
	if len(base) == 0 || len(noisy) == 0 || noisy[0].Score >= base[0].Score {
		t.Errorf("unknown words did not lower the score: %s vs %s", describe(base), describe(noisy))
	}
	// Results are distinct entries, best first, within k.
	ms := b.Search("运费 退货 发票 退款 物流", 10)
	seen := map[string]bool{}
	for i, m := range ms {
		if seen[m.Entry.ID] {
			t.Errorf("entry %s returned twice", m.Entry.ID)
		}
		seen[m.Entry.ID] = true
		if m.Score < 0 || m.Score > 1 {
			t.Errorf("score %v outside [0,1]", m.Score)
		}
		if i > 0 && m.Score > ms[i-1].Score {
			t.Errorf("results not sorted: %s", describe(ms))
		}
		if m.Question == "" {
			t.Errorf("match for %s has no question", m.Entry.ID)
		}
	}
	if len(ms) < 4 {
		t.Errorf("broad query matched only %s", describe(ms))
	}
	if got := b.Search("运费 退货 发票 退款 物流", 2); len(got) != 2 {
		t.Errorf("k=2 returned %d matches", len(got))
	}
	if got := b.Search("运费", 0); got != nil {
		t.Errorf("k=0 returned %s", describe(got))
	}
}

func TestSearchLongQuery(t *testing.T) {
	b := testBase(t)
	q := strings.Repeat("我想问一下运费怎么算，", 500)
	ms := b.Search(q, 1)
	if len(ms) == 0 || ms[0].Entry.ID != "shipping-fee" {
		t.Errorf("long query: %s", describe(ms))
	}
}

func TestBaseAccessors(t *testing.T) {
	b := testBase(t)
	if b.Len() != 7 || len(b.Entries()) != 7 {
		t.Errorf("Len = %d, Entries = %d, want 7", b.Len(), len(b.Entries()))
	}
	e, ok := b.Entry("invoice")
	if !ok || e.ID != "invoice" {
		t.Errorf("Entry(invoice) = %v, %v", e, ok)
	}
	if _, ok := b.Entry("nope"); ok {
		t.Error("Entry(nope) found something")
	}
	// Entries returns a copy of the slice.
	es := b.Entries()
	es[0] = nil
	if b.Entries()[0] == nil {
		t.Error("Entries exposes the Base's own slice")
	}
	if b.MinScore() != DefaultMinScore {
		t.Errorf("MinScore = %v, want %v", b.MinScore(), DefaultMinScore)
	}
}

func TestNewBaseCopiesEntries(t *testing.T) {
	entries := []Entry{{ID: "a", Questions: map[string][]string{LocaleEn: {"free shipping"}}, Answer: map[string]string{LocaleEn: "Yes."}}}
	b, err := NewBase(sharedSeg(t), entries, Options{})
	if err != nil {
		t.Fatal(err)
	}
	entries[0].Answer[LocaleEn] = "changed"
	entries[0].Questions[LocaleEn][0] = "changed"
	e, _ := b.Entry("a")
	if e.AnswerFor(LocaleEn) != "Yes." || e.StandardQuestion(LocaleEn) != "free shipping" {
		t.Errorf("Base shares memory with the caller's entries: %+v", e)
	}
}

func TestNewBaseErrors(t *testing.T) {
	seg := sharedSeg(t)
	q := map[string][]string{LocaleEn: {"hello there"}}
	tests := []struct {
		name    string
		seg     *segment.Segmenter
		entries []Entry
		opts    Options
		want    string
	}{
		{"nil segmenter", nil, nil, Options{}, "segmenter is nil"},
		{"duplicate id", seg, []Entry{{ID: "a", Questions: q}, {ID: "a", Questions: q}}, Options{}, `duplicate id "a"`},
		{"empty id", seg, []Entry{{Questions: q}}, Options{}, "no id"},
		{"min score too high", seg, nil, Options{MinScore: 1.5}, "min score"},
		{"negative k1", seg, nil, Options{K1: -1}, "k1"},
		{"b above 1", seg, nil, Options{B: 2}, "b 2"},
		{"NaN min score", seg, nil, Options{MinScore: math.NaN()}, "min score"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewBase(tt.seg, tt.entries, tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewBase error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestEmptyBase(t *testing.T) {
	b, err := NewBase(sharedSeg(t), nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if ms := b.Search("运费", 3); ms != nil {
		t.Errorf("empty base found %s", describe(ms))
	}
	if _, ok := b.Answer("运费"); ok {
		t.Error("empty base answered")
	}
}

func TestDefaultOptions(t *testing.T) {
	d := DefaultOptions()
	if d.MinScore != DefaultMinScore || d.K1 != DefaultK1 || d.B != DefaultB {
		t.Errorf("DefaultOptions = %+v", d)
	}
	got, err := Options{MinScore: 0.3}.withDefaults()
	if err != nil || got.MinScore != 0.3 || got.K1 != DefaultK1 || got.B != DefaultB {
		t.Errorf("withDefaults = %+v, %v", got, err)
	}
}

func TestSearchConcurrent(t *testing.T) {
	b := testBase(t)
	queries := []struct{ q, want string }{
		{"运费多少钱", "shipping-fee"}, {"退款什麼時候到帳", "refund-time"},
		{"I need an invoice", "invoice"}, {"物流信息怎么查", "order-tracking"},
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				qq := queries[(g+i)%len(queries)]
				ms := b.Search(qq.q, 3)
				if len(ms) == 0 || ms[0].Entry.ID != qq.want {
					t.Errorf("concurrent Search(%q) = %s", qq.q, describe(ms))
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestStem(t *testing.T) {
	tests := []struct{ in, want string }{
		{"returns", "return"}, {"returned", "return"}, {"returning", "return"},
		{"shipping", "ship"}, {"shipped", "ship"}, {"ships", "ship"},
		{"change", "chang"}, {"changed", "chang"}, {"changing", "chang"},
		{"deliveries", "delivery"}, {"taxes", "tax"}, {"boxes", "box"},
		{"status", "status"}, {"is", "is"}, {"address", "address"},
		{"call", "call"}, {"calling", "call"}, {"iphone15", "iphone15"}, {"退货", "退货"},
	}
	for _, tt := range tests {
		if got := stem(tt.in); got != tt.want {
			t.Errorf("stem(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func describe(ms []Match) string {
	var parts []string
	for _, m := range ms {
		parts = append(parts, fmt.Sprintf("%s=%.2f", m.Entry.ID, m.Score))
	}
	return "[" + strings.Join(parts, " ") + "]"
}

func idOf(m Match) string {
	if m.Entry == nil {
		return "<none>"
	}
	return m.Entry.ID
}

func BenchmarkSearch(b *testing.B) {
	entries, err := LoadDir("../configs/kb")
	if err != nil {
		b.Fatal(err)
	}
	base, err := NewBase(sharedSeg(b), entries, Options{})
	if err != nil {
		b.Fatal(err)
	}
	cases := []struct{ name, q string }{
		{"zh-Hans", "退货运费谁出"},
		{"zh-Hant", "退貨運費誰出"},
		{"en", "who pays for return shipping"},
		{"unrelated", "what is the capital of France"},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				base.Search(c.q, 3)
			}
		})
	}
}

func BenchmarkNewBase(b *testing.B) {
	entries, err := LoadDir("../configs/kb")
	if err != nil {
		b.Fatal(err)
	}
	seg := sharedSeg(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := NewBase(seg, entries, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
