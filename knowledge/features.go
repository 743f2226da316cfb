package knowledge

import (
	"math"
	"slices"
	"unicode"
	"unicode/utf8"
)

// Feature kinds of the classifier. Each kind seeds the hash differently,
// so that the word "ab" and the character bigram "ab" are distinct
// features.
const (
	kindWord uint64 = iota + 1
	kindWordBigram
	kindHanChar
	kindHanBigram
	kindLatinGram
)

// featWeights are the classifier's input weights per feature kind before
// the vector is normalised to unit length. Words carry meaning; the
// n-grams are there for what jieba and the stemmer miss (typos,
// morphology, paraphrases cut differently), so they weigh less.
type featWeights struct {
	word, wordBigram, hanChar, hanBigram, latinGram float64
	latinMin, latinMax                              int // character n-gram lengths of Latin words; 0 disables
	// hanFunc multiplies hanChar for a character that is a function word
	// on its own (的, 吗, 么, 我, 是 …): such characters are in most
	// Chinese questions and say little about which entry is meant. 0
	// leaves them at hanChar.
	hanFunc float64
	// funcWord multiplies word for a word in functionWords ("the", "my",
	// "how", 怎么, 我们 …), as funcWeight does in BM25: with ten
	// questions an entry, the classifier otherwise learns that an entry
	// whose few questions happen to say "my" or "can i" is the one for
	// every such question. 0 leaves them at word.
	funcWord float64
}

// fnv64 constants: FNV-1a, fast and good enough for feature hashing.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func hashString(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime
	}
	return h
}

func hashSeed(kind uint64) uint64 { return (fnvOffset ^ kind) * fnvPrime }

// feat is one feature of a vector: its hashed id and its value.
type feat struct {
	id  uint64
	val float32
}

// sparseVec is a feature vector, sorted by id after compact.
type sparseVec []feat

func (v *sparseVec) reset() { *v = (*v)[:0] }

func (v *sparseVec) add(id uint64, w float64) { *v = append(*v, feat{id, float32(w)}) }

// classFeatures fills v with the classifier features of a text from its
// analysed words (stemmed, synonyms applied) and its normalised form:
// words, adjacent word pairs, Han characters and character pairs, and
// character n-grams of Latin words; a function word weighs fw.funcWord
// times the other words, and a Han character that is a function word
// fw.hanFunc times the other characters. Repeated features are summed,
// and the vector is scaled to unit length so that long and short
// questions weigh the same in training.
func classFeatures(words []string, norm string, fw *featWeights, v *sparseVec) {
	v.reset()
	for i, w := range words {
		ww := fw.word
		if fw.funcWord > 0 && functionWords[w] {
			ww *= fw.funcWord
		}
		v.add(hashString(hashSeed(kindWord), w), ww)
		if i > 0 && fw.wordBigram > 0 {
			h := hashString(hashSeed(kindWordBigram), words[i-1])
			h = hashString((h^0xff)*fnvPrime, w)
			v.add(h, fw.wordBigram)
		}
		if fw.latinMax > 0 && isLatinWord(w) {
			latinGrams(w, fw, v)
		}
	}
	if fw.hanChar > 0 || fw.hanBigram > 0 {
		prev := ""
		for i, r := range norm {
			if r < 0x2E80 || !unicode.Is(unicode.Han, r) {
				prev = ""
				continue
			}
			c := norm[i : i+utf8.RuneLen(r)]
			if fw.hanChar > 0 {
				w := fw.hanChar
				if fw.hanFunc > 0 && functionWords[c] {
					w *= fw.hanFunc
				}
				v.add(hashString(hashSeed(kindHanChar), c), w)
			}
			if prev != "" && fw.hanBigram > 0 {
				v.add(hashString(hashString(hashSeed(kindHanBigram), prev), c), fw.hanBigram)
			}
			prev = c
		}
	}
	v.compact()
}

// latinGrams adds the character n-grams of a lower-case Latin word with
// its boundaries marked ("^ref", "und$"), so that "refnd" still shares
// most of its grams with "refund".
func latinGrams(w string, fw *featWeights, v *sparseVec) {
	if len(w) < 3 {
		return
	}
	var buf [64]byte
	if len(w)+2 > len(buf) {
		return
	}
	buf[0] = '^'
	copy(buf[1:], w)
	buf[len(w)+1] = '$'
	s := buf[:len(w)+2]
	for n := fw.latinMin; n <= fw.latinMax; n++ {
		for i := 0; i+n <= len(s); i++ {
			h := hashSeed(kindLatinGram)
			for _, c := range s[i : i+n] {
				h ^= uint64(c)
				h *= fnvPrime
			}
			v.add(h, fw.latinGram)
		}
	}
}

func isLatinWord(w string) bool {
	for i := 0; i < len(w); i++ {
		if c := w[i]; c < 'a' || c > 'z' {
			return false
		}
	}
	return w != ""
}

// compact sorts v by id, sums repeated ids and scales v to unit length.
func (v *sparseVec) compact() {
	fs := *v
	if len(fs) == 0 {
		return
	}
	slices.SortFunc(fs, func(a, b feat) int {
		switch {
		case a.id < b.id:
			return -1
		case a.id > b.id:
			return 1
		}
		return 0
	})
	out := fs[:1]
	for _, f := range fs[1:] {
		if last := &out[len(out)-1]; last.id == f.id {
			last.val += f.val
			continue
		}
		out = append(out, f)
	}
	var ss float64
	for _, f := range out {
		ss += float64(f.val) * float64(f.val)
	}
	if ss > 0 {
		inv := float32(1 / math.Sqrt(ss))
		for i := range out {
			out[i].val *= inv
		}
	}
	*v = out
}
