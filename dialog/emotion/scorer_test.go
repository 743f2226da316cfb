package emotion

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
)

// defaultLexicon loads carebot's embedded lexicons from the source tree
// (this package must not import configs, which embeds them).
func defaultLexicon(t testing.TB) *Lexicon {
	t.Helper()
	lex, err := LoadDefaultLexicon(os.DirFS("../../configs"), "emotion")
	if err != nil {
		t.Fatal(err)
	}
	return lex
}

func newTestScorer(t testing.TB, opts Options) *Scorer {
	t.Helper()
	s, err := NewScorer(nil, defaultLexicon(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func hasCue(r Result, kind string) bool {
	for _, c := range r.Cues {
		if c.Kind == kind {
			return true
		}
	}
	return false
}

func TestScoreTiers(t *testing.T) {
	s := newTestScorer(t, Options{})
	tests := []struct {
		text string
		tier Tier
	}{
		{"请问你们周末发货吗", TierNone},
		{"东西收到了，很满意，谢谢！", TierNone},
		{"Thanks, the jacket fits perfectly", TierNone},
		{"物流有点慢", TierMild},
		{"不太满意", TierMild},
		{"a bit late again", TierMild},
		{"等了好久还没发货", TierMild},
		{"质量太差了，我要投诉", TierModerate},
		{"你们这是什么破服务！！！", TierModerate},
		{"I want a refund, this is unacceptable", TierModerate},
		{"骗子", TierModerate},
		{"再不处理我就打12315", TierSevere},
		{"我要去消协投诉你们", TierSevere},
		{"我要发微博曝光你们", TierSevere},
		{"已经联系律师了，准备起诉", TierSevere},
		{"I'm filing a chargeback", TierSevere},
		{"My lawyer will contact you", TierSevere},
		{"垃圾！骗子！！滚！！！😡😡", TierSevere},
		{"You scammers!!! I'm DONE!!! 🤬", TierSevere},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			r := s.Score(tt.text)
			if r.Tier != tt.tier {
				t.Fatalf("tier %s, want %s (value %.3f, cues %v)", r.Tier, tt.tier, r.Value, r.Cues)
			}
			wantColour := map[Tier]string{TierNone: ColourGreen, TierMild: ColourYellow, TierModerate: ColourRed, TierSevere: ColourRed}[tt.tier]
			if r.Colour != wantColour {
				t.Errorf("colour %s, want %s", r.Colour, wantColour)
			}
			if tt.tier != TierNone && (r.Label != LabelNegative || r.Value > s.Options().MildBelow) {
				t.Errorf("a %s message has label %s and value %.3f", tt.tier, r.Label, r.Value)
			}
			if r.Value < -1 || r.Value > 1 {
				t.Errorf("value %g out of range", r.Value)
			}
			if tt.tier != TierNone && len(r.Cues) == 0 {
				t.Error("no cues say why")
			}
		})
	}
}

func TestScorePolarity(t *testing.T) {
	s := newTestScorer(t, Options{})
	tests := []struct {
		name, text string
		sign       int // -1 negative value, 0 not negative, 1 positive value
		cue        string
	}{
		{"negated praise", "不满意", -1, ""},
		{"negation word", "东西不错", 1, ""},
		{"negated blame", "并没有失望", 0, "negation"},
		{"negated blame traditional", "不會難吃", 0, "negation"},
		{"en negated praise", "not happy with this", -1, "negation"},
		{"en negated blame", "not bad at all", 0, "negation"},
		{"soft negation", "不太好", -1, "negation"},
		{"contrast ends negative", "质量不错，但是物流太慢了", -1, "contrast"},
		{"contrast ends positive", "物流有点慢，但是质量非常好", 1, "contrast"},
		{"en contrast", "shipping was slow but the quality is excellent", 1, "contrast"},
		{"concession", "虽然等了几天，但是品质真的很好", 1, "contrast"},
		{"quoted praise", "真是“好”服务啊", -1, "sarcasm"},
		{"quoted praise ascii", "真是'好'服务啊", -1, "sarcasm"},
		{"hehe", "呵呵，你们服务真好", -1, "sarcasm"},
		{"yeah right", "yeah right, great service", -1, "sarcasm"},
		{"just great", "great, just great", -1, "sarcasm"},
		{"quoted emphasis in praise", "物流一个字“快”，包装也很好", 1, ""},
		{"angry emoji", "😡", -1, "emoji"},
		{"happy emoji", "收到了👍", 1, "emoji"},
		{"wechat sticker", "[发怒]", -1, "emoji"},
		{"好 as very", "送得好慢", -1, "degree"},
		{"neutral phrase hides 不好", "不好意思，请问几点发货", 0, ""},
		{"快递 is not 快", "快递到了吗", 0, ""},
		{"word boundary", "there is an issue with my order", -1, ""},
		{"hehe before a grievance", "呵呵。说好的包邮呢", -1, "sarcasm"},
		// A contrast reaches its own sentence, 呵呵 its own and the next.
		{"contrast stays in its sentence", "质量很好，做工精细，很满意。客服回复有点慢，但是后来解决了。物流很快。", 1, "contrast"},
		{"hehe as a laugh in a long review", "非常好用，很满意，已经推荐给朋友了。孩子也很喜欢。下次还来买，呵呵。", 1, ""},
		// In a review-length text 呵呵 mocks nothing, even in the sentence
		// of the praise; a chat line keeps the sarcasm (hehe above).
		{"hehe in a long review's praise", "这本书是买来送给孩子的，他每天晚上都看得很认真，呵呵，我自己也很喜欢，内容很有趣，故事讲得很生动，已经推荐给身边的朋友了。", 1, ""},
		{"hehe in a short message's praise", "呵呵，我也很喜欢，真不错", -1, "sarcasm"},
		{"experience words", "内容很无聊，看不下去", -1, ""},
		{"comparison", "没有以前的好", -1, "negation"},
		{"comparison with 那么", "没有实体店买的那么好用", -1, "negation"},
		{"compound holding a negator", "无线连接很稳定", 1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.Score(tt.text)
			switch {
			case tt.sign < 0 && r.Value >= 0,
				tt.sign > 0 && r.Value <= 0,
				tt.sign == 0 && r.Value < 0:
				t.Fatalf("%q: value %.3f, want sign %d (cues %v)", tt.text, r.Value, tt.sign, r.Cues)
			}
			if tt.cue != "" && !hasCue(r, tt.cue) {
				t.Errorf("%q: no %s cue in %v", tt.text, tt.cue, r.Cues)
			}
		})
	}
}

func TestScoreDegreeAndPunctuation(t *testing.T) {
	s := newTestScorer(t, Options{})
	less := func(a, b string) {
		t.Helper()
		ra, rb := s.Score(a), s.Score(b)
		if !(ra.Value < rb.Value) {
			t.Errorf("%q (%.3f) should score below %q (%.3f)", a, ra.Value, b, rb.Value)
		}
	}
	less("太慢了", "有点慢")
	less("非常失望", "失望")
	less("very slow", "a bit slow")
	less("满意", "非常满意")
	less("太慢了！！！", "太慢了")
	less("THIS IS TERRIBLE", "this is terrible")
	r := s.Score("到底什么时候发货？？？")
	if r.Tier != TierMild || !hasCue(r, "punctuation") {
		t.Errorf("insistent question: %+v", r)
	}
	if r := s.Score("什么时候发货？"); r.Tier != TierNone {
		t.Errorf("plain question: %+v", r)
	}
}

func TestScoreTraditionalMatchesSimplified(t *testing.T) {
	s := newTestScorer(t, Options{})
	pairs := [][2]string{
		{"品質太差了，我要投訴", "品质太差了，我要投诉"},
		{"再不處理我就去消保官那邊申訴", "再不处理我就去消保官那边申诉"},
		{"出貨有點慢耶", "出货有点慢耶"},
		{"真是「好」服務啊", "真是「好」服务啊"},
	}
	for _, p := range pairs {
		a, b := s.Score(p[0]), s.Score(p[1])
		if a.Tier != b.Tier || math.Abs(a.Value-b.Value) > 1e-9 {
			t.Errorf("%q → %s %.3f but %q → %s %.3f", p[0], a.Tier, a.Value, p[1], b.Tier, b.Value)
		}
	}
	// Words only Taiwan uses come from zh-hant.yaml.
	if r := s.Score("我要跟信用卡公司申請退刷"); r.Tier != TierSevere {
		t.Errorf("退刷: %+v", r)
	}
}

func TestScoreGarbage(t *testing.T) {
	s := newTestScorer(t, Options{})
	long := strings.Repeat("太差了！", 2500) // 10,000 runes
	inputs := []string{
		"", " ", "\x00\x00", "\xff\xfe\xfd", "差\xff评", "!!!!!!!!", "??????", "？？？",
		"'", "“", "「」", "*", "not", "不", "太", "好", "\u200b", "😡\u200d🔥",
		long, strings.Repeat("a", 10000), strings.Repeat("\xff", 10000),
	}
	for _, in := range inputs {
		r := s.Score(in)
		if r.Tier.Rank() < 0 || r.Value < -1 || r.Value > 1 || math.IsNaN(r.Value) || r.Colour == "" || r.Label == "" {
			t.Errorf("Score(%.20q) = %+v", in, r)
		}
		if len(r.Cues) > maxCues {
			t.Errorf("Score(%.20q): %d cues", in, len(r.Cues))
		}
	}
	if r := s.Score(""); r.Tier != TierNone || r.Value != 0 || r.Label != LabelNeutral {
		t.Errorf("empty: %+v", r)
	}
	if r := s.Score(long); r.Tier == TierNone {
		t.Errorf("a long complaint scored %+v", r)
	}
}

func TestScoreConcurrent(t *testing.T) {
	s := newTestScorer(t, Options{})
	texts := []string{"质量太差了，我要投诉", "东西不错👍", "再不处理我就打12315", "not bad at all", "呵呵"}
	want := make([]Result, len(texts))
	for i, x := range texts {
		want[i] = s.Score(x)
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				k := (g + i) % len(texts)
				if got := s.Score(texts[k]); got.Value != want[k].Value || got.Tier != want[k].Tier || len(got.Cues) != len(want[k].Cues) {
					t.Errorf("concurrent Score(%q) = %+v, want %+v", texts[k], got, want[k])
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestTiers(t *testing.T) {
	for i, tier := range Tiers {
		if tier.Rank() != i {
			t.Errorf("%s ranks %d", tier, tier.Rank())
		}
		got, err := ParseTier(string(tier))
		if err != nil || got != tier {
			t.Errorf("ParseTier(%s) = %s, %v", tier, got, err)
		}
	}
	if _, err := ParseTier("furious"); err == nil {
		t.Error("ParseTier accepted an unknown tier")
	}
	if Tier("x").Rank() != -1 {
		t.Error("unknown tier ranks")
	}
}

func TestNewScorerOptions(t *testing.T) {
	lex := defaultLexicon(t)
	if _, err := NewScorer(nil, nil, Options{}); err == nil {
		t.Error("no lexicon accepted")
	}
	for _, o := range []Options{
		{ModelWeight: 2},
		{TurnDecay: 1},
		{MildBelow: -0.8, ModerateBelow: -0.5},
		{PositiveAbove: 1.5},
	} {
		if _, err := NewScorer(nil, lex, o); err == nil {
			t.Errorf("options %+v accepted", o)
		}
	}
	if _, err := NewScorer(nil, lex, Options{Model: &Model{Words: true}}); err == nil {
		t.Error("a word model without a segmenter accepted")
	}
}

func TestLexiconFiles(t *testing.T) {
	fsys := fstest.MapFS{
		"base.yaml":        {Data: []byte("version: 1\nwords: {满意: 0.6, great: 0.7, sue: 0.1}\nnegators: [不, not]\ndegrees: {很: 1.3}\nmild: {有点慢: -0.3}\n")},
		"user.yaml":        {Data: []byte("# a shop's own words\nwords: {給力: 0.8, disappoint*: -0.6}\nescalations: {sue: -0.9, \"315\": -0.8}\nremove: [有点慢]\n")},
		"bad-section.yaml": {Data: []byte("wordz: {好: 0.5}\n")},
		"bad-weight.yaml":  {Data: []byte("words: {好: 5}\n")},
		"bad-degree.yaml":  {Data: []byte("degrees: {很: 0}\n")},
		"two-kinds.yaml":   {Data: []byte("words: {好: 0.5}\nneutral: [好]\n")},
		"bad-remove.yaml":  {Data: []byte("remove: [没有这个词]\n")},
		"version.yaml":     {Data: []byte("version: 9\nwords: {好: 0.5}\n")},
		"empty.yaml":       {Data: []byte("")},
		"dir/a.yaml":       {Data: []byte("words: {好: 0.5}\n")},
	}
	lex, err := LoadLexicon(fsys, "base.yaml", "user.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewScorer(nil, lex, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// 給力 is Traditional in the file and Simplified in the message.
	if r := s.Score("给力"); r.Value <= 0 {
		t.Errorf("user word: %+v", r)
	}
	if r := s.Score("I'll sue"); r.Tier != TierSevere {
		t.Errorf("override of sue: %+v", r)
	}
	if r := s.Score("there is an issue"); len(r.Cues) != 0 {
		t.Errorf("sue matched inside issue: %+v", r)
	}
	if r := s.Score("3150 yuan"); len(r.Cues) != 0 {
		t.Errorf("315 matched inside 3150: %+v", r)
	}
	if r := s.Score("very disappointing"); r.Value >= 0 {
		t.Errorf("prefix entry: %+v", r)
	}
	if r := s.Score("有点慢"); r.Tier != TierNone {
		t.Errorf("removed entry still matches: %+v", r)
	}
	if got := lex.Files(); len(got) != 2 || lex.Len() < 6 {
		t.Errorf("files %v, %d entries", got, lex.Len())
	}
	if _, err := LoadLexicon(fsys, "dir"); err != nil {
		t.Errorf("directory: %v", err)
	}
	for _, bad := range []string{"bad-section.yaml", "bad-weight.yaml", "bad-degree.yaml", "two-kinds.yaml", "bad-remove.yaml", "version.yaml", "missing.yaml", "empty.yaml"} {
		if _, err := LoadLexicon(fsys, bad); err == nil {
			t.Errorf("%s: no error", bad)
		} else if !strings.Contains(err.Error(), strings.TrimSuffix(bad, ".yaml")) {
			t.Errorf("%s: error does not name the file: %v", bad, err)
		}
	}
}

func TestLoadDefaultLexiconWithUserFile(t *testing.T) {
	dir := t.TempDir()
	user := filepath.Join(dir, "shop.yaml")
	if err := os.WriteFile(user, []byte("complaints: {发货这么慢: -0.6}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	lex, err := LoadDefaultLexicon(os.DirFS("../../configs"), "emotion", user)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewScorer(nil, lex, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r := s.Score("发货这么慢"); r.Tier != TierModerate {
		t.Errorf("user complaint: %+v", r)
	}
	if _, err := LoadDefaultLexicon(os.DirFS("../../configs"), "emotion", filepath.Join(dir, "missing.yaml")); err == nil {
		t.Error("missing user file accepted")
	}
}
