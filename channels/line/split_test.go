package line

import (
	"reflect"
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
		{"short", "Hello.", 10, []string{"Hello."}},
		{"empty", "", 10, nil},
		{"blank", " \n\t", 10, nil},
		{"at sentence", "One two. Three four.", 12, []string{"One two.", "Three four."}},
		{"last sentence in window", "Aa. Bb. Cc. Dd.", 12, []string{"Aa. Bb. Cc.", "Dd."}},
		{"decimal point is no sentence end", "Pi is 3.14159 and e is 2.71828", 16, []string{"Pi is 3.14159", "and e is 2.71828"}},
		{"line break", "first line\nsecond line", 15, []string{"first line", "second line"}},
		{"CJK full stop", "退貨需要七天。換貨需要十天。", 10, []string{"退貨需要七天。", "換貨需要十天。"}},
		{"CJK without punctuation", "一二三四五六七八九十一二", 5, []string{"一二三四五", "六七八九十", "一二"}},
		{"word boundary", "alpha beta gamma delta", 12, []string{"alpha beta", "gamma delta"}},
		{"no boundary", "abcdefghij", 4, []string{"abcd", "efgh", "ij"}},
		// An emoji outside the BMP is two UTF-16 units, as LINE counts it,
		// and is never cut in half.
		{"surrogate pairs", "😀😀😀", 4, []string{"😀😀", "😀"}},
		{"pair at the edge", "a😀b", 2, []string{"a", "😀", "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := splitText(tt.text, tt.limit)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("splitText(%q, %d) = %q, want %q", tt.text, tt.limit, got, tt.want)
			}
		})
	}
}

func TestSplitTextInvariants(t *testing.T) {
	texts := []string{
		sentences(12000),
		strings.Repeat("客服很好。", 3000),
		strings.Repeat("😀 ok! ", 3000),
		strings.Repeat("x", 12001),
		"\xff\xfe broken " + strings.Repeat("utf8 ", 2000),
	}
	for i, text := range texts {
		parts := splitText(text, maxTextLen)
		if len(parts) < 2 {
			t.Errorf("text %d: %d parts", i, len(parts))
		}
		for j, p := range parts {
			if n := utf16Len(p); n == 0 || n > maxTextLen {
				t.Errorf("text %d part %d: %d units", i, j, n)
			}
			if utf8.ValidString(text) && !utf8.ValidString(p) {
				t.Errorf("text %d part %d: a character was cut", i, j)
			}
		}
		// Only whitespace at the cuts is dropped.
		if got := strings.Join(strings.Fields(strings.Join(parts, "")), ""); got != strings.Join(strings.Fields(text), "") {
			t.Errorf("text %d: parts do not add up to the text", i)
		}
	}
}

func TestClipUTF16(t *testing.T) {
	for _, tt := range []struct {
		in   string
		n    int
		want string
	}{
		{"short", 20, "short"},
		{"exactly twenty chars", 20, "exactly twenty chars"},
		{"退貨政策與換貨流程說明以及常見問題解答一覽表", 20, "退貨政策與換貨流程說明以及常見問題解答一"},
		{"ab😀", 3, "ab"},
	} {
		if got := clipUTF16(tt.in, tt.n); got != tt.want {
			t.Errorf("clipUTF16(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}
