package telegram

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSplitText(t *testing.T) {
	tests := []struct {
		name  string
		text  string
		limit int
		want  []string
	}{
		{"fits", "Hello. World.", 20, []string{"Hello. World."}},
		{"empty", "  ", 10, nil},
		{"latin sentences", "One two. Three four. Five.", 12, []string{"One two.", "Three four.", "Five."}},
		{"chinese sentences", "今天发货。明天到达！还有问题吗？", 6, []string{"今天发货。", "明天到达！", "还有问题吗？"}},
		{"newline", "line one\nline two", 12, []string{"line one", "line two"}},
		{"decimal point is no sentence end", "Price 3.50 now ok", 12, []string{"Price 3.50", "now ok"}},
		{"space when no sentence end", "aaa bbb ccc ddd", 8, []string{"aaa bbb", "ccc ddd"}},
		{"hard cut", "abcdefghij", 4, []string{"abcd", "efgh", "ij"}},
		// 😀 is two UTF-16 units: a part of limit 3 holds one and a letter.
		{"surrogate pairs stay whole", "😀😀😀", 3, []string{"😀", "😀", "😀"}},
		{"early stop is not a stub", "Hi. " + strings.Repeat("x ", 10), 12, []string{"Hi. x x x x", "x x x x x x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := splitText(tt.text, tt.limit)
			if strings.Join(got, "|") != strings.Join(tt.want, "|") || len(got) != len(tt.want) {
				t.Fatalf("splitText(%q, %d) = %q, want %q", tt.text, tt.limit, got, tt.want)
			}
		})
	}
}

// Whatever the input, parts fit, are valid UTF-8 and keep every
// non-space character in order.
func FuzzSplitText(f *testing.F) {
	f.Add("今天发货。明天到达！ Hello. 😀😀 a\nb", 5)
	f.Add("\xff\xfe bad utf8. ok", 2)
	f.Fuzz(func(t *testing.T, s string, limit int) {
		if limit < 2 || limit > 5000 {
			return
		}
		s = strings.ToValidUTF8(s, "\uFFFD")
		parts := splitText(s, limit)
		var joined strings.Builder
		for _, p := range parts {
			if utf16Len(p) > limit || p == "" || !utf8.ValidString(p) {
				t.Fatalf("bad part %q (limit %d)", p, limit)
			}
			joined.WriteString(p)
		}
		strip := func(x string) string { return strings.Join(strings.Fields(x), "") }
		if strip(joined.String()) != strip(s) {
			t.Fatalf("parts %q lose or reorder text of %q", parts, s)
		}
	})
}
