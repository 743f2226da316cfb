package wecom

import (
	"strings"
	"unicode/utf8"
)

// maxTextBytes is the longest text sent in one message: WeCom documents
// 2,048 bytes for a kf text message.
const maxTextBytes = 2048

// split cuts text into parts of at most limit bytes, at the latest
// paragraph break, else line break, else sentence end, else space that
// fits, and only as a last resort inside a run of text (never inside a
// UTF-8 character). Parts keep their text exactly: joined, they are text
// minus the whitespace at the cuts.
func split(text string, limit int) []string {
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
