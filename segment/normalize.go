package segment

import (
	"fmt"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/longbridgeapp/opencc"
)

// converter is the process's Traditional→Simplified converter, created on
// first use because building opencc's tries takes a few milliseconds and
// programs that never normalise text should not pay for it.
var converter struct {
	once sync.Once
	cc   *opencc.OpenCC
	err  error
	// trig lets Normalize skip opencc (about 10 µs and 120 allocations for
	// 20 characters) for text it would not change, which is all Simplified
	// and English text. nil means it could not be built and every text with
	// a Han character is converted.
	trig *triggers
}

// triggers describes where t2s can change text. opencc changes text only at
// a position where a dictionary key that converts to something else
// matches, so text in which no such key occurs converts to itself.
type triggers struct {
	single  bitset            // runes that convert on their own (後→后)
	starts  bitset            // first runes of converting phrases
	phrases map[rune][]string // converting phrases by first rune (瞭解→了解)
}

// bitset is a set of runes.
type bitset []uint64

func (b *bitset) add(r rune) {
	w := int(r) / 64
	for len(*b) <= w {
		*b = append(*b, 0)
	}
	(*b)[w] |= 1 << (uint(r) % 64)
}

func (b bitset) has(r rune) bool {
	w := int(r) / 64
	return w < len(b) && b[w]&(1<<(uint(r)%64)) != 0
}

// NormalizerError reports why the Traditional→Simplified converter could not
// be created, or nil if it works. Normalize keeps working without it — it
// then skips the conversion, so Traditional and Simplified spellings of a
// question stop matching each other — and logs nothing, because this package
// has no logger; a program that cares calls NormalizerError at startup and
// reports it.
func NormalizerError() error {
	initConverter()
	return converter.err
}

func initConverter() {
	converter.once.Do(func() {
		cc, err := opencc.New("t2s")
		if err != nil {
			converter.err = fmt.Errorf("create opencc t2s converter: %w", err)
			return
		}
		converter.cc = cc
		converter.trig = buildTriggers(cc)
	})
}

// buildTriggers reads opencc's exported dictionary tries and collects every
// key whose first replacement differs from the key. Those are opencc
// internals that may change, so any surprise (a panic, an error, no phrase
// keys at all) makes it return nil and callers fall back to converting every
// Han text; TestTriggersCoverDictionaries guards the result.
func buildTriggers(cc *opencc.OpenCC) (t *triggers) {
	defer func() {
		if recover() != nil {
			t = nil
		}
	}()
	t = &triggers{phrases: make(map[rune][]string)}
	for _, group := range cc.DictChains {
		for _, dict := range group.Dicts {
			for _, id := range dict.Trie.PrefixPredict(nil, 0) {
				key, err := dict.Trie.Key(id)
				if err != nil {
					return nil
				}
				v, err := dict.Trie.Value(id)
				if err != nil || v < 0 || v >= len(dict.Values) {
					return nil
				}
				vals := dict.Values[v]
				if len(vals) == 0 || vals[0] == string(key) {
					continue
				}
				r, size := utf8.DecodeRune(key)
				if r == utf8.RuneError {
					return nil
				}
				if size == len(key) {
					t.single.add(r)
					continue
				}
				t.starts.add(r)
				t.phrases[r] = append(t.phrases[r], string(key))
			}
		}
	}
	if len(t.phrases) == 0 || len(t.single) == 0 {
		return nil
	}
	return t
}

// needsConversion reports whether opencc could change s. It may say yes
// when opencc would not (乾隆 contains 乾, which converts alone) but never
// no when it would.
func needsConversion(s string) bool {
	t := converter.trig
	for i, r := range s {
		if r < 0x2E80 { // below the CJK blocks: nothing to convert
			continue
		}
		if t == nil {
			if unicode.Is(unicode.Han, r) {
				return true
			}
			continue
		}
		if t.single.has(r) {
			return true
		}
		if t.starts.has(r) {
			for _, p := range t.phrases[r] {
				if strings.HasPrefix(s[i:], p) {
					return true
				}
			}
		}
	}
	return false
}

// toSimplified converts valid UTF-8 s from Traditional to Simplified
// Chinese, phrase by phrase (乾淨→干净 but 乾隆 stays), or returns s
// unchanged if the converter is unavailable.
func toSimplified(s string) (out string) {
	initConverter()
	if converter.cc == nil || !needsConversion(s) {
		return s
	}
	// opencc is third-party code run on customer input; a bug in it must
	// cost the conversion of one message, not the process.
	defer func() {
		if recover() != nil {
			out = s
		}
	}()
	conv, err := converter.cc.Convert(s)
	if err != nil {
		return s
	}
	return conv
}

// Normalize prepares text for matching: invalid UTF-8 becomes U+FFFD,
// Traditional Chinese becomes Simplified (opencc "t2s"), full-width ASCII
// forms (U+FF01..U+FF5E) become ASCII and the ideographic space a space,
// letters are lower-cased, control characters count as whitespace, invisible
// format characters (zero-width space, BOM, soft hyphen…) are dropped, runs
// of whitespace become one space, and the result is trimmed. It never
// panics. Text that is already normalised is returned without allocating.
func Normalize(text string) string {
	if !utf8.ValidString(text) {
		text = strings.ToValidUTF8(text, "\uFFFD")
	}
	return fold(toSimplified(text))
}

// foldRune maps one rune for Normalize: ' ' for every kind of whitespace,
// -1 for a rune to drop, else the half-width lower-case form.
func foldRune(r rune) rune {
	switch {
	case r < utf8.RuneSelf:
		switch {
		case 'A' <= r && r <= 'Z':
			return r + 'a' - 'A'
		case r <= ' ' || r == 0x7F:
			// Controls, NUL included, are whitespace: cgo passes text to
			// jieba as a C string, which a NUL would cut short.
			return ' '
		}
		return r
	case r > 0x3000 && r < 0xA000:
		// CJK punctuation, kana and ideographs: no case, no spaces, no
		// format characters. Checked first because it is most of the text.
		return r
	case r >= 0xFF01 && r <= 0xFF5E:
		return unicode.ToLower(r - 0xFEE0)
	case unicode.IsSpace(r) || unicode.IsControl(r):
		return ' '
	case unicode.Is(unicode.Cf, r):
		return -1
	}
	return unicode.ToLower(r)
}

// fold applies foldRune and collapses and trims whitespace.
func fold(s string) string {
	if isFolded(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		switch f := foldRune(r); f {
		case -1:
		case ' ':
			space = b.Len() > 0
		default:
			if space {
				b.WriteByte(' ')
				space = false
			}
			b.WriteRune(f)
		}
	}
	return b.String()
}

// isFolded reports whether fold would return s unchanged.
func isFolded(s string) bool {
	space := true // a space at the start would be trimmed
	for _, r := range s {
		if foldRune(r) != r {
			return false
		}
		if r == ' ' {
			if space {
				return false
			}
			space = true
		} else {
			space = false
		}
	}
	return !space || s == ""
}

// IsTraditional reports whether text contains Traditional Chinese that t2s
// changes, judged phrase by phrase as Normalize converts.
func IsTraditional(text string) bool {
	if !utf8.ValidString(text) {
		text = strings.ToValidUTF8(text, "\uFFFD")
	}
	return toSimplified(text) != text
}

// DetectLocale guesses the locale of a customer's text from its script:
// "zh-Hant" if it contains Traditional Chinese, "zh-Hans" if it contains
// other Han characters, "en" if it contains Latin letters, else "" (emoji,
// digits, punctuation only). Mixed text counts as Chinese, because Chinese
// customers often mix in Latin product names.
func DetectLocale(text string) string {
	han, latin := false, false
	for _, r := range text {
		switch {
		case unicode.Is(unicode.Han, r):
			han = true
		case unicode.IsLetter(r) && unicode.Is(unicode.Latin, r):
			latin = true
		}
		if han {
			break
		}
	}
	switch {
	case han && IsTraditional(text):
		return "zh-Hant"
	case han:
		return "zh-Hans"
	case latin:
		return "en"
	}
	return ""
}
