package knowledge

import (
	"unicode"
	"unicode/utf8"

	"github.com/carebot/carebot/segment"
)

// Fields of the index. Every text is indexed twice: as jieba words, which
// carry the meaning, and as single Han characters, which let a paraphrase
// that jieba cuts differently still meet the question (开票 against
// 开发票, 到帐 against 到账) at a lower weight.
const (
	fieldWord = iota
	fieldChar
	numFields
)

// analysis is the features of one text per field, reused across calls.
type analysis struct {
	feats [numFields][]string
	// class is the classifier's feature vector, filled when the
	// classifier is on.
	class sparseVec
	words []string // spare buffer for rewriting synonyms
}

// analyze fills a with the features of text: the words of seg.Cut, English
// words stemmed, and the Han characters of the normalised text.
func (b *Base) analyze(text string, a *analysis) {
	for f := range a.feats {
		a.feats[f] = a.feats[f][:0]
	}
	a.class.reset()
	norm := segment.Normalize(text)
	if norm == "" {
		return
	}
	// Cut normalises again; on normalised text that is a scan without
	// allocation.
	for _, t := range b.seg.Cut(norm) {
		// Function words are looked up unstemmed ("does" is not "doe").
		if b.cfg.stem && !functionWords[t] {
			t = stem(t)
		}
		a.feats[fieldWord] = append(a.feats[fieldWord], t)
	}
	if b.syn != nil {
		a.words = b.syn.apply(a.feats[fieldWord], a.words[:0])
		a.feats[fieldWord], a.words = a.words, a.feats[fieldWord]
	}
	if b.cfg.charWeight > 0 {
		for i, r := range norm {
			if r >= 0x2E80 && unicode.Is(unicode.Han, r) {
				a.feats[fieldChar] = append(a.feats[fieldChar], norm[i:i+utf8.RuneLen(r)])
			}
		}
	}
	if b.cfg.classWeight > 0 {
		classFeatures(a.feats[fieldWord], norm, &b.cfg.feats, &a.class)
	}
}

// stem strips common English inflections so that "returns", "returned"
// and "returning" meet "return", "shipping" meets "ship" and "changed"
// meets "change" (both "chang"). It is deliberately light: over-stemming
// would merge unrelated FAQ words, and index and query go through the same
// function, so consistency matters more than linguistic accuracy.
// Non-ASCII tokens are returned unchanged.
func stem(w string) string {
	for i := 0; i < len(w); i++ {
		if c := w[i]; c < 'a' || c > 'z' {
			return w
		}
	}
	n := len(w)
	switch {
	case n > 4 && hasSuffix(w, "ies"):
		w = w[:n-3] + "y"
	case n > 4 && hasSuffix(w, "sses"):
		w = w[:n-2]
	case n > 4 && (hasSuffix(w, "xes") || hasSuffix(w, "ches") || hasSuffix(w, "shes") || hasSuffix(w, "zes")):
		w = w[:n-2]
	case n > 3 && hasSuffix(w, "s") && !hasSuffix(w, "ss") && !hasSuffix(w, "us") && !hasSuffix(w, "is"):
		w = w[:n-1]
	case n > 5 && hasSuffix(w, "ing"):
		w = undouble(w[:n-3])
	case n > 4 && hasSuffix(w, "ed"):
		w = undouble(w[:n-2])
	}
	// A final e comes and goes with inflection (change, changed,
	// changing), so it is dropped everywhere.
	if n := len(w); n > 3 && w[n-1] == 'e' {
		w = w[:n-1]
	}
	return w
}

func hasSuffix(s, suffix string) bool {
	return len(s) >= len(suffix) && s[len(s)-len(suffix):] == suffix
}

// undouble turns "shipp" (from shipping) into "ship"; ll, ss and zz stay
// (call, pass, buzz).
func undouble(w string) string {
	n := len(w)
	if n >= 3 && w[n-1] == w[n-2] && !isVowel(w[n-1]) && w[n-1] != 'l' && w[n-1] != 's' && w[n-1] != 'z' {
		return w[:n-1]
	}
	return w
}

func isVowel(c byte) bool { return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u' }
