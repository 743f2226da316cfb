package knowledge

import (
	"math"
	"strings"
	"testing"
)

func TestClassFeatures(t *testing.T) {
	fw := &defaultScoring.feats
	var v sparseVec
	// Han characters and their pairs, from the normalised text.
	classFeatures([]string{"退货"}, "退货", fw, &v)
	want := map[uint64]bool{
		hashString(hashSeed(kindWord), "退货"):                      true,
		hashString(hashSeed(kindHanChar), "退"):                    true,
		hashString(hashSeed(kindHanChar), "货"):                    true,
		hashString(hashString(hashSeed(kindHanBigram), "退"), "货"): true,
	}
	if len(v) != len(want) {
		t.Errorf("features of 退货: %d, want %d", len(v), len(want))
	}
	var ss float64
	for i, f := range v {
		if !want[f.id] {
			t.Errorf("unexpected feature %x", f.id)
		}
		if i > 0 && v[i-1].id >= f.id {
			t.Errorf("features not sorted and unique: %v", v)
		}
		ss += float64(f.val) * float64(f.val)
	}
	if math.Abs(ss-1) > 1e-5 {
		t.Errorf("squared length %v, want 1", ss)
	}

	// A typo still shares character n-grams with the word.
	grams := func(w string) map[uint64]bool {
		var v sparseVec
		latinGrams(w, fw, &v)
		m := map[uint64]bool{}
		for _, f := range v {
			m[f.id] = true
		}
		return m
	}
	refund, typo, other := grams("refund"), grams("refnd"), grams("password")
	shared := func(a, b map[uint64]bool) int {
		n := 0
		for id := range a {
			if b[id] {
				n++
			}
		}
		return n
	}
	if shared(refund, typo) < 2 || shared(refund, other) != 0 {
		t.Errorf("refund shares %d grams with refnd and %d with password", shared(refund, typo), shared(refund, other))
	}
	// 3- to 5-grams of "^refund$": 6 + 5 + 4.
	if len(refund) != 15 {
		t.Errorf("refund has %d grams, want 15", len(refund))
	}
	// Word pairs are features; the same words in another order differ.
	var ab, ba sparseVec
	classFeatures([]string{"card", "lost"}, "card lost", fw, &ab)
	classFeatures([]string{"lost", "card"}, "lost card", fw, &ba)
	if len(ab) != len(ba) || shared(ids(ab), ids(ba)) != len(ab)-1 {
		t.Errorf("word order: %d and %d features, %d shared", len(ab), len(ba), shared(ids(ab), ids(ba)))
	}
	// Nothing to featurise is no features, not a division by zero.
	classFeatures(nil, "", fw, &v)
	if len(v) != 0 {
		t.Errorf("empty text has features %v", v)
	}
}

func ids(v sparseVec) map[uint64]bool {
	m := map[uint64]bool{}
	for _, f := range v {
		m[f.id] = true
	}
	return m
}

func TestClassifierLearnsToyProblem(t *testing.T) {
	// Three classes, each told by one feature, with a shared noise feature.
	vec := func(ids ...uint64) sparseVec {
		var v sparseVec
		for _, id := range ids {
			v.add(id, 1)
		}
		v.compact()
		return v
	}
	x := []sparseVec{vec(1, 9), vec(1), vec(2, 9), vec(2), vec(3, 9), vec(3)}
	y := []int32{0, 0, 1, 1, 2, 2}
	c := trainClassifier(x, y, 3, defaultScoring.train)
	z, prob := make([]float32, 3), make([]float64, 3)
	for i, v := range x {
		if !c.predict(v, 1, z, prob) {
			t.Fatalf("example %d: no known feature", i)
		}
		if prob[y[i]] < 0.8 {
			t.Errorf("example %d: p(class %d) = %.2f, want ≥ 0.8 (%v)", i, y[i], prob[y[i]], prob)
		}
		sum := prob[0] + prob[1] + prob[2]
		if math.Abs(sum-1) > 1e-9 {
			t.Errorf("probabilities sum to %v", sum)
		}
	}
	// The noise feature alone says nothing: no class is sure.
	c.predict(vec(9), 1, z, prob)
	for k, p := range prob {
		if p > 0.6 {
			t.Errorf("noise feature alone: p(class %d) = %.2f", k, p)
		}
	}
	// An unknown feature is reported as such.
	if c.predict(vec(42), 1, z, prob) {
		t.Error("unknown feature reported as known")
	}
}

func TestSynonyms(t *testing.T) {
	groups, err := ParseSynonyms([]byte("synonyms:\n  - [退货, 退换货]\n  - [refund, money back]\n"), "test.yaml")
	if err != nil || len(groups) != 2 || groups[1][1] != "money back" {
		t.Fatalf("ParseSynonyms = %v, %v", groups, err)
	}
	for _, bad := range []string{"synonyms:\n  - [alone]\n", "synonyms:\n  - [a, '  ']\n", "synonym: []\n", "synonyms: 3\n"} {
		if _, err := ParseSynonyms([]byte(bad), "bad.yaml"); err == nil || !strings.Contains(err.Error(), "bad.yaml") {
			t.Errorf("ParseSynonyms(%q) error = %v, want one naming the file", bad, err)
		}
	}
	shipped, err := LoadSynonyms("../configs/synonyms.yaml")
	if err != nil || len(shipped) == 0 {
		t.Fatalf("configs/synonyms.yaml: %d groups, %v", len(shipped), err)
	}

	seg := sharedSeg(t)
	entries := []Entry{
		{ID: "refund", Questions: map[string][]string{LocaleEn: {"how do I get a refund"}, LocaleHans: {"怎么退货"}}},
		{ID: "card", Questions: map[string][]string{LocaleEn: {"my card is lost"}, LocaleHans: {"卡丢了"}}},
		{ID: "fee", Questions: map[string][]string{LocaleEn: {"what are the fees"}, LocaleHans: {"手续费多少"}}},
	}
	with, err := NewBase(seg, entries, Options{Synonyms: groups})
	if err != nil {
		t.Fatal(err)
	}
	without, err := NewBase(seg, entries, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// The rewrite: a phrase of several words, and a Traditional variant
	// (converted before synonyms apply).
	var a analysis
	with.analyze("I want my MONEY BACK", &a)
	if !containsWord(a.feats[fieldWord], "refund") || containsWord(a.feats[fieldWord], "money") {
		t.Errorf("money back not rewritten: %v", a.feats[fieldWord])
	}
	with.analyze("可以退換貨嗎", &a)
	if !containsWord(a.feats[fieldWord], "退货") {
		t.Errorf("退換貨 not rewritten: %v", a.feats[fieldWord])
	}
	for _, q := range []string{"I want my money back", "可以退換貨嗎"} {
		ms := with.Search(q, 1)
		if len(ms) == 0 || ms[0].Entry.ID != "refund" {
			t.Errorf("with synonyms, Search(%q) = %s, want refund", q, describe(ms))
			continue
		}
		if old := without.Search(q, 3); len(old) > 0 && old[0].Entry.ID == "refund" && old[0].Score >= ms[0].Score {
			t.Errorf("synonyms did not raise %q: %.2f without, %.2f with", q, old[0].Score, ms[0].Score)
		}
	}
}

func containsWord(words []string, w string) bool {
	for _, x := range words {
		if x == w {
			return true
		}
	}
	return false
}

func TestScriptsMeetEachOther(t *testing.T) {
	seg := sharedSeg(t)
	// One entry per script only, so that a match must cross scripts.
	entries := []Entry{
		{ID: "invoice", Questions: map[string][]string{LocaleHans: {"怎么开发票", "可以开电子发票吗"}}},
		{ID: "shipping", Questions: map[string][]string{LocaleHant: {"運費怎麼算", "滿多少免運費"}}},
		{ID: "account", Questions: map[string][]string{LocaleHans: {"怎么注册会员", "忘记密码怎么办"}}},
	}
	b, err := NewBase(seg, entries, Options{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ query, want string }{
		{"怎麼開發票", "invoice"},    // Traditional query, Simplified entry
		{"可以開電子發票嗎", "invoice"}, // and word for word
		{"运费怎么算", "shipping"},   // Simplified query, Traditional entry
		{"满多少免运费", "shipping"},  // and word for word
		{"忘記密碼了怎麼辦", "account"}, // paraphrase across scripts
	}
	for _, tt := range tests {
		m, ok := b.Answer(tt.query)
		if !ok || m.Entry.ID != tt.want {
			t.Errorf("Answer(%q) = %s %.2f, %v; want %s", tt.query, idOf(m), m.Score, ok, tt.want)
		}
	}
	for _, q := range []string{"可以開電子發票嗎", "满多少免运费"} {
		if ms := b.Search(q, 1); len(ms) == 0 || ms[0].Score != 1 {
			t.Errorf("Search(%q) = %s, want score 1 for the same question in the other script", q, describe(ms))
		}
	}
}
