package wxapi

import (
	"strings"
	"unicode/utf8"
)

// MaxTextBytes is the longest text sent in one message. WeCom documents
// 2,048 bytes for a kf text message and WeChat gives no number for the
// Official Account's customer-service texts, where longer texts are
// reported to fail with 45002; 2,048 bytes of UTF-8 (about 680 Chinese
// characters) is safe for both.
const MaxTextBytes = 2048

// Split cuts text into parts of at most limit bytes, at the latest
// paragraph break, else line break, else sentence end, else space that
// fits, and only as a last resort inside a run of text (never inside a
// UTF-8 character). Parts keep their text exactly: joined, they are text
// minus the whitespace at the cuts.
func Split(text string, limit int) []string {
	var parts []string
	for len(text) > limit {
		cut := cutPoint(text, limit)
		part := strings.TrimRight(text[:cut], " \t\r\n")
		if part != "" {
			parts = append(parts, part)
		}
		text = strings.TrimLeft(text[cut:], " \t\r\n")
	}
	if text != "" || len(parts) == 0 {
		parts = append(parts, text)
	}
	return parts
}

// sentenceEnds are the marks after which a cut reads naturally.
var sentenceEnds = []string{"。", "！", "？", "；", "…", "! ", "? ", ". ", "; "}

// cutPoint returns where to cut text, which is longer than limit bytes:
// just after the best boundary in the second half of its first limit
// bytes (one in the first half would leave a stub part), else at the last
// character boundary within the limit.
func cutPoint(text string, limit int) int {
	window := text[:limit]
	half := limit / 2
	for _, seps := range [][]string{{"\n\n"}, {"\n"}, sentenceEnds, {" "}} {
		best := -1
		for _, sep := range seps {
			if i := strings.LastIndex(window, sep); i >= 0 && i+len(sep) > best {
				best = i + len(sep)
			}
		}
		if best > half {
			return best
		}
	}
	cut := limit
	for cut > 0 && !utf8.RuneStart(text[cut]) {
		cut--
	}
	if cut == 0 {
		return limit // not UTF-8 at all: any cut will do
	}
	return cut
}
