package line

import (
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// LINE counts a message's characters in UTF-16 code units, as JavaScript
// does, so an emoji outside the Basic Multilingual Plane counts twice.
// Counting the same way keeps every part under the limit whatever it holds.

// utf16Len is the length of s in UTF-16 code units.
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16Units(r)
	}
	return n
}

// utf16Units is how many UTF-16 code units r takes (invalid runes become
// U+FFFD, one unit).
func utf16Units(r rune) int {
	if n := utf16.RuneLen(r); n > 0 {
		return n
	}
	return 1
}

// clipUTF16 returns the longest prefix of s of at most n UTF-16 code units
// that does not cut a character in two.
func clipUTF16(s string, n int) string {
	units := 0
	for i, r := range s {
		units += utf16Units(r)
		if units > n {
			return s[:i]
		}
	}
	return s
}

// splitText cuts s into parts of at most limit UTF-16 code units, in order.
// Each cut falls after the last sentence end (or line break) in the second
// half of the window, else at the last space there, else at the limit: a
// reader should see whole sentences where the text allows it. Whitespace at
// a cut is dropped; a text that is only whitespace gives no parts.
func splitText(s string, limit int) []string {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	var parts []string
	for utf16Len(s) > limit {
		cut := cutPoint(s, limit)
		if head := strings.TrimRightFunc(s[:cut], unicode.IsSpace); head != "" {
			parts = append(parts, head)
		}
		s = strings.TrimLeftFunc(s[cut:], unicode.IsSpace)
	}
	if strings.TrimSpace(s) != "" {
		parts = append(parts, s)
	}
	return parts
}

// cutPoint returns the byte offset at which to cut s, which is longer than
// limit units: 0 < cut ≤ the offset of the limit.
func cutPoint(s string, limit int) int {
	units, end := 0, 0
	sentence, space := -1, -1
	for i, r := range s {
		units += utf16Units(r)
		if units > limit {
			break
		}
		end = i + utf8.RuneLen(r)
		if units < limit/2 {
			continue
		}
		switch {
		case endsSentence(r, s[end:]):
			sentence = end
		case unicode.IsSpace(r):
			space = i
		}
	}
	switch {
	case sentence > 0:
		return sentence
	case space > 0:
		return space
	case end > 0:
		return end
	}
	// A limit below one character: take one anyway so the caller advances.
	_, size := utf8.DecodeRuneInString(s)
	return size
}

// endsSentence reports whether r, followed by rest, ends a sentence: CJK
// full stops and line breaks always do, Latin ones when a space or the end
// of the text follows (so "3.14" and "e.g" stay whole).
func endsSentence(r rune, rest string) bool {
	switch r {
	case '\n', '。', '！', '？', '；', '…':
		return true
	case '.', '!', '?':
		next, _ := utf8.DecodeRuneInString(rest)
		return rest == "" || unicode.IsSpace(next)
	}
	return false
}
