package telegram

import (
	"strings"
	"unicode"
)

// splitText cuts s into parts of at most limit UTF-16 code units (the unit
// Telegram counts in), each cut made after the last sentence end that fits
// (。！？, or .!? before a space, or a line break), else at the last space,
// else after the last whole character. Whitespace around a cut is dropped.
func splitText(s string, limit int) []string {
	var parts []string
	for {
		s = strings.TrimLeft(s, " \t\r\n")
		if utf16Len(s) <= limit {
			if s = strings.TrimRight(s, " \t\r\n"); s != "" {
				parts = append(parts, s)
			}
			return parts
		}
		cut := cutPoint(s, limit)
		if part := strings.TrimRight(s[:cut], " \t\r\n"); part != "" {
			parts = append(parts, part)
		}
		s = s[cut:]
	}
}

// cutPoint returns the byte index at which to cut s, which is longer than
// limit UTF-16 units. A boundary in the second half of the part is
// preferred, so that one early full stop does not leave a stub.
func cutPoint(s string, limit int) int {
	var (
		units           int
		sentence, space int // last boundaries found, 0 if none
		hard            = len(s)
		prev            rune
	)
	for i, r := range s {
		if i > 0 {
			switch {
			case prev == '\n' || prev == '。' || prev == '！' || prev == '？':
				sentence = i
			case (prev == '.' || prev == '!' || prev == '?') && unicode.IsSpace(r):
				sentence = i
			case unicode.IsSpace(r):
				space = i
			}
		}
		n := 1
		if r >= 0x10000 {
			n = 2 // a surrogate pair
		}
		if units+n > limit {
			hard = i
			break
		}
		units += n
		prev = r
	}
	if hard == 0 {
		// limit is smaller than the first character: cut after it anyway.
		for i := range s {
			if i > 0 {
				return i
			}
		}
		return len(s)
	}
	switch {
	case sentence > 0 && sentence >= hard/2:
		return sentence
	case space > 0 && space >= hard/2:
		return space
	case sentence > 0:
		return sentence
	case space > 0:
		return space
	}
	return hard
}

// utf16Len is the length of s in UTF-16 code units.
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
	}
	return n
}
