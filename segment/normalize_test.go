package segment

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestNormalize(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", ""},
		{"already normal", "运费怎么算", "运费怎么算"},
		{"traditional", "退貨運費誰出", "退货运费谁出"},
		{"traditional phrase keeps 乾隆", "乾隆皇帝", "乾隆皇帝"},
		{"traditional phrase converts 乾淨", "乾淨的衣服", "干净的衣服"},
		// These convert only as phrases: none of 瞭, 覆, 沈 changes alone.
		{"phrase-only 瞭解", "我瞭解了", "我了解了"},
		{"phrase-only 答覆", "請儘快答覆", "请尽快答复"},
		{"phrase-only 沈默", "沈默", "沉默"},
		{"full-width letters and digits", "ＡＢＣ１２３", "abc123"},
		{"full-width punctuation", "运费？！", "运费?!"},
		{"ideographic space", "运费　怎么算", "运费 怎么算"},
		{"case folding", "How Long does DELIVERY take?", "how long does delivery take?"},
		{"non-ASCII case folding", "ÉCOLE Straße", "école straße"},
		{"whitespace runs collapse and trim", " \t运费\n\n  怎么算\r\n ", "运费 怎么算"},
		{"control characters are spaces", "运费\x00怎么\x7f算", "运费 怎么 算"},
		{"zero-width characters dropped", "运\u200b费\ufeff", "运费"},
		{"invalid UTF-8 replaced", "a\xffb", "a\ufffdb"},
		{"truncated UTF-8 replaced", "运费\xe6\x80", "运费\ufffd"},
		{"emoji kept", "好评👍", "好评👍"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Normalize(tt.in); got != tt.want {
				t.Errorf("Normalize(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestNormalizeIsIdempotentAndValid(t *testing.T) {
	inputs := []string{
		"退貨運費誰出？　ＯＫ", "\xff\xfe\xfd", " a  B\tc ", "乾淨", "運\u200b費", strings.Repeat("ＡＢ ", 50),
	}
	for _, in := range inputs {
		once := Normalize(in)
		if !utf8.ValidString(once) {
			t.Errorf("Normalize(%q) = %q is not valid UTF-8", in, once)
		}
		if twice := Normalize(once); twice != once {
			t.Errorf("Normalize is not idempotent on %q: %q then %q", in, once, twice)
		}
	}
}

func TestNormalizerAvailable(t *testing.T) {
	if err := NormalizerError(); err != nil {
		t.Fatalf("NormalizerError() = %v", err)
	}
}

// TestTriggersCoverDictionaries checks the shortcut that skips opencc for
// text it cannot change: every rune that converts on its own, and the
// phrase-only triggers, must be in the trigger set, and the set must not
// degrade to "all Han" without anyone noticing.
func TestTriggersCoverDictionaries(t *testing.T) {
	initConverter()
	if converter.trig == nil {
		t.Fatal("trigger set was not built from opencc's dictionaries; Normalize falls back to converting all Han text")
	}
	ranges := [][2]rune{{0x3400, 0x4DBF}, {0x4E00, 0x9FFF}, {0xF900, 0xFAFF}}
	changed := 0
	for _, rg := range ranges {
		for r := rg[0]; r <= rg[1]; r++ {
			s := string(r)
			out, err := converter.cc.Convert(s)
			if err != nil {
				t.Fatalf("Convert(%q): %v", s, err)
			}
			if out == s {
				continue
			}
			changed++
			if !needsConversion(s) {
				t.Errorf("%q converts to %q but is not a trigger", s, out)
			}
		}
	}
	if changed < 2000 {
		t.Errorf("only %d single characters convert; the t2s dictionary looks wrong", changed)
	}
	for _, s := range []string{"我瞭解", "答覆", "藉口", "沈默", "么麼"} {
		if !needsConversion(s) {
			t.Errorf("phrase %q is not recognised as convertible", s)
		}
	}
	// Common Simplified text must take the fast path: 么 and 著 start
	// converting phrases (么麼, 著衣…) but convert nothing alone.
	for _, s := range []string{"运费怎么算", "著名", "how long", "瞭", "覆盖", ""} {
		if needsConversion(s) {
			t.Errorf("needsConversion(%q) = true, want false", s)
		}
	}
}

func TestIsTraditional(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"退貨運費誰出", true},
		{"退货运费谁出", false},
		{"我瞭解", true},
		{"乾隆", false}, // same in both scripts
		{"hello", false},
		{"", false},
		{"\xff運", true},
	}
	for _, tt := range tests {
		if got := IsTraditional(tt.in); got != tt.want {
			t.Errorf("IsTraditional(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestDetectLocale(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"能開發票嗎", "zh-Hant"},
		{"能开发票吗", "zh-Hans"},
		{"iPhone 15 怎么退货", "zh-Hans"},
		{"iPhone 15 怎麼退貨", "zh-Hant"},
		{"How long does delivery take?", "en"},
		{"ＯＫ", "en"},
		{"123 ?!", ""},
		{"👍", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := DetectLocale(tt.in); got != tt.want {
			t.Errorf("DetectLocale(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestFoldHelpersAgree(t *testing.T) {
	// isFolded must say "unchanged" exactly when fold returns its input,
	// or Normalize would skip work it had to do.
	inputs := []string{"", " ", "a", "a ", " a", "a  b", "a b", "A", "ａ", "\t", "运费", "運費", "a\u200bb", "x\x00y"}
	for _, in := range inputs {
		var b strings.Builder
		space := false
		for _, r := range in {
			switch f := foldRune(r); {
			case f < 0:
			case unicode.IsSpace(f):
				space = b.Len() > 0
			default:
				if space {
					b.WriteByte(' ')
					space = false
				}
				b.WriteRune(f)
			}
		}
		want := b.String()
		if got := fold(in); got != want {
			t.Errorf("fold(%q) = %q, want %q", in, got, want)
		}
		if isFolded(in) != (want == in) {
			t.Errorf("isFolded(%q) = %v, but fold gives %q", in, isFolded(in), want)
		}
	}
}

// BenchmarkNormalize measures the cost per message. The t2s conversion is
// only paid by text with Traditional characters; see converter.triggers.
func BenchmarkNormalize(b *testing.B) {
	cases := []struct{ name, text string }{
		{"simplified20", "请问退货的运费由谁来支付呢我想知道一下谢谢"},
		{"traditional20", "請問退貨的運費由誰來支付呢我想知道一下謝謝"},
		{"english", "How long does DELIVERY take to Shanghai?"},
		{"normalized", "how long does delivery take"},
	}
	initConverter()
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Normalize(c.text)
			}
		})
	}
}
