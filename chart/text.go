package chart

import (
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The server cannot measure text in the browser's font, so layout uses an
// estimate per character in ems that errs on the wide side: a label that is
// estimated too wide is thinned or cut a little early, one estimated too
// narrow would overlap its neighbour.

// runeEm is the estimated advance of r in ems.
func runeEm(r rune) float64 {
	switch {
	case wide(r):
		return 1
	case strings.ContainsRune("iljI.,:;!|' ()[]ft", r):
		return 0.36
	case strings.ContainsRune("mwMW@%", r):
		return 0.9
	case r >= 'A' && r <= 'Z':
		return 0.7
	case r == '…':
		return 1
	}
	return 0.6
}

// wide reports whether r is drawn a full em wide: CJK ideographs, kana,
// Hangul, full-width forms and emoji.
func wide(r rune) bool {
	switch {
	case r >= 0x1100 && r <= 0x115F, // Hangul Jamo
		r >= 0x2E80 && r <= 0xA4CF, // CJK radicals … Yi
		r >= 0xAC00 && r <= 0xD7A3, // Hangul syllables
		r >= 0xF900 && r <= 0xFAFF, // CJK compatibility ideographs
		r >= 0xFE30 && r <= 0xFE4F, // CJK compatibility forms
		r >= 0xFF00 && r <= 0xFF60, // full-width forms
		r >= 0xFFE0 && r <= 0xFFE6,
		r >= 0x1F300 && r <= 0x1FAFF, // emoji
		r >= 0x20000 && r <= 0x3FFFD: // CJK extensions
		return true
	}
	return false
}

// textWidth estimates the width of s at font size size.
func textWidth(s string, size float64) float64 {
	em := 0.0
	for _, r := range s {
		em += runeEm(r)
	}
	return em * size
}

// truncate cuts s so that it fits in maxW at font size size, ending it with
// "…" when anything was cut. It cuts between runes, never inside one.
func truncate(s string, maxW, size float64) string {
	if textWidth(s, size) <= maxW {
		return s
	}
	budget := maxW - runeEm('…')*size
	w := 0.0
	end := 0
	for i, r := range s {
		w += runeEm(r) * size
		if w > budget {
			break
		}
		end = i + utf8.RuneLen(r)
	}
	return strings.TrimRight(s[:end], " ") + "…"
}

// clean folds runs of white space (including newlines that users paste into
// knowledge-base questions) into single spaces, since SVG text is one line.
func clean(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// displayLabels returns the labels as drawn: cleaned, and "2026-11-23" shortened
// to "11-23" when every label is such a date in the same year, since the year
// then says nothing and the shorter label needs less thinning.
func displayLabels(labels []string) []string {
	out := make([]string, len(labels))
	for i, l := range labels {
		out[i] = clean(l)
	}
	if len(out) == 0 {
		return out
	}
	year := ""
	for _, l := range out {
		if !isDate(l) || (year != "" && l[:4] != year) {
			return out
		}
		year = l[:4]
	}
	for i, l := range out {
		out[i] = l[5:]
	}
	return out
}

// isDate reports whether s looks like "2006-01-02".
func isDate(s string) bool {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return false
	}
	for i := 0; i < 10; i++ {
		if i != 4 && i != 7 && (s[i] < '0' || s[i] > '9') {
			return false
		}
	}
	return true
}

// namedLuminance holds the relative luminance of the colour names callers
// are likely to use for semantic colours; other names get a halo instead.
var namedLuminance = map[string]float64{
	"black": 0, "white": 1, "red": 0.21, "green": 0.15, "blue": 0.07,
	"yellow": 0.93, "orange": 0.48, "gold": 0.70, "gray": 0.22, "grey": 0.22,
	"purple": 0.06, "lime": 0.72, "limegreen": 0.44, "crimson": 0.16,
	"orangered": 0.26, "tomato": 0.31, "navy": 0.02, "teal": 0.16,
}

// luminance returns the relative luminance (WCAG) of a colour written as
// #rgb, #rrggbb or one of a few names, and false for anything else.
func luminance(color string) (float64, bool) {
	c := strings.ToLower(strings.TrimSpace(color))
	if l, ok := namedLuminance[c]; ok {
		return l, true
	}
	if !strings.HasPrefix(c, "#") {
		return 0, false
	}
	hex := c[1:]
	if len(hex) == 3 {
		hex = string([]byte{hex[0], hex[0], hex[1], hex[1], hex[2], hex[2]})
	}
	if len(hex) != 6 {
		return 0, false
	}
	n, err := strconv.ParseUint(hex, 16, 32)
	if err != nil {
		return 0, false
	}
	lin := func(v uint64) float64 {
		x := float64(v) / 255
		if x <= 0.04045 {
			return x / 12.92
		}
		return math.Pow((x+0.055)/1.055, 2.4)
	}
	return 0.2126*lin(n>>16&0xff) + 0.7152*lin(n>>8&0xff) + 0.0722*lin(n&0xff), true
}
