package wxapi

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSplit(t *testing.T) {
	tests := []struct {
		name  string
		text  string
		limit int
		want  []string
	}{
		{"short", "你好", 10, []string{"你好"}},
		{"empty", "", 10, []string{""}},
		{"paragraphs", "aaaa bbb\n\ncccc", 10, []string{"aaaa bbb", "cccc"}},
		{"sentence", "一二三。四五六。七八", 25, []string{"一二三。四五六。", "七八"}},
		{"english sentence", "One two. Three four", 12, []string{"One two.", "Three four"}},
		{"no boundary", "abcdefghij", 4, []string{"abcd", "efgh", "ij"}},
		{"inside characters", "一二三四五", 7, []string{"一二", "三四", "五"}},
		{"early boundary ignored", "a。bcdefghijklmnop", 12, []string{"a。bcdefghi", "jklmnop"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Split(tt.text, tt.limit)
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("Split(%q, %d) = %q, want %q", tt.text, tt.limit, got, tt.want)
			}
		})
	}
}

// FuzzSplit checks Split's promises on any input: parts fit, characters
// are never cut, and nothing but whitespace at the cuts is lost.
func FuzzSplit(f *testing.F) {
	f.Add("感谢您的耐心等待。我们已经为您核实了订单信息！", 16)
	f.Add("line one\nline two\n\nparagraph", 9)
	f.Add("\xff\xfe\xfd", 4)
	f.Fuzz(func(t *testing.T, text string, limit int) {
		if limit < 4 || limit > 4096 {
			return
		}
		parts := Split(text, limit)
		var kept strings.Builder
		for _, p := range parts {
			if len(p) > limit {
				t.Fatalf("part of %d bytes > %d", len(p), limit)
			}
			if utf8.ValidString(text) && !utf8.ValidString(p) {
				t.Fatalf("part %q cuts a character", p)
			}
			kept.WriteString(p)
		}
		strip := func(s string) string { return strings.Join(strings.Fields(s), "") }
		if utf8.ValidString(text) && strip(kept.String()) != strip(text) {
			t.Fatalf("Split(%q) = %q loses text", text, parts)
		}
	})
}
