package emotion

import (
	"strings"
	"unicode/utf8"
)

// match is one lexicon entry found in the normalised text.
type match struct {
	e          *entry
	start, end int // byte offsets in the normalised text
	// unit is the position of the match counted in units (a Han character,
	// a Latin word, a number or an emoji each count one; a match counts
	// one), which is how far negators and degree words reach.
	unit int
	// clause counts the clause breaks (，,。.!?;…) before the match, and
	// clauseStart says nothing but spaces separates it from the last one.
	clause      int
	clauseStart bool
	// sentence counts the sentences before the match's (they end at
	// 。.!?;… or a line break): contrast and sarcasm reach no further
	// than their sentence, so that one 但是 or 呵呵 in a long review does
	// not weigh the whole of it.
	sentence int
	// factor is the weight contrast words give the match (compose sets it).
	factor float64
}

// scanned is what one pass over the normalised text finds.
type scanned struct {
	matches []match
	// exclaimRuns and questionRuns count runs of two or more ! or ?, the
	// written form of raised voice and insistence.
	exclaimRuns, questionRuns int
	// questions counts single question marks.
	questions int
	// clauses counts the clause breaks and units the units (see match)
	// of the whole text: together they tell a review from a chat line.
	clauses, units int
}

// isClauseBreak reports whether r ends a clause. Normalize has folded
// full-width ，！？；： to ASCII; the ideographic ones remain.
func isClauseBreak(r rune) bool {
	switch r {
	case ',', '.', '!', '?', ';', ':', '~', '\n',
		'。', '、', '；', '…', '～', '—':
		return true
	}
	return false
}

// isSentenceEnd reports whether the clause break r ends a sentence.
func isSentenceEnd(r rune) bool {
	switch r {
	case '.', ';', '\n', '。', '；', '…':
		return true
	}
	return false
}

// scan finds lexicon entries in s by longest match, left to right. It
// does not allocate beyond growing sc.matches.
func (lex *Lexicon) scan(s string, sc *scanned) {
	unit, clause, sentence := 0, 0, 0
	endSentence := false // a sentence ended; the next content starts a new one
	clauseStart := true
	prevAlnum := false // the previous rune was an ASCII letter or digit
	run, runLen := rune(0), 0
	endRun := func() {
		if runLen >= 2 {
			if run == '!' {
				sc.exclaimRuns++
			} else {
				sc.questionRuns++
			}
		} else if runLen == 1 && run == '?' {
			sc.questions++
		}
		run, runLen = 0, 0
	}
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == '!' || r == '?' {
			// "?!" and "!?" count with the run they continue.
			if runLen == 0 {
				run = r
			}
			runLen++
			endSentence = true
			clause++
			clauseStart = true
			prevAlnum = false
			i += size
			continue
		}
		endRun()
		alnum := isASCIIAlnum(r)
		if !(alnum && prevAlnum) {
			if m, ok := lex.matchAt(s, i); ok {
				if endSentence {
					sentence, endSentence = sentence+1, false
				}
				m.unit, m.clause, m.clauseStart, m.sentence = unit, clause, clauseStart, sentence
				sc.matches = append(sc.matches, m)
				unit++
				clauseStart = false
				last, _ := utf8.DecodeLastRuneInString(s[:m.end])
				prevAlnum = isASCIIAlnum(last)
				i = m.end
				continue
			}
		}
		switch {
		case r == ' ':
		case isClauseBreak(r):
			clause++
			clauseStart = true
			if isSentenceEnd(r) {
				endSentence = true
			}
		case alnum:
			if !prevAlnum {
				unit++
			}
			clauseStart = false
			if endSentence {
				sentence, endSentence = sentence+1, false
			}
		case r == '\'' || r == '’' || r == '"' || r == '“' || r == '”' || r == '「' || r == '」' || r == '『' || r == '』' || r == '‘':
			// Quotes neither count nor break a clause.
		default:
			unit++
			clauseStart = false
			if endSentence {
				sentence, endSentence = sentence+1, false
			}
		}
		prevAlnum = alnum
		i += size
	}
	endRun()
	sc.clauses, sc.units = clause, unit
}

// matchAt returns the longest entry that matches s at byte i, respecting
// word boundaries for entries that begin or end with a Latin letter.
func (lex *Lexicon) matchAt(s string, i int) (match, bool) {
	r, _ := utf8.DecodeRuneInString(s[i:])
	for _, e := range lex.candidates(r) {
		if !strings.HasPrefix(s[i:], e.text) {
			continue
		}
		end := i + len(e.text)
		if e.latinEnd && end < len(s) && isASCIIAlnum(rune(s[end])) {
			continue
		}
		if e.prefix {
			for end < len(s) && isASCIILetter(s[end]) {
				end++
			}
		}
		return match{e: e, start: i, end: end}, true
	}
	return match{}, false
}

func isASCIILetter(b byte) bool { return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' }

// isQuote reports whether r is a quotation mark, which around praise
// (真是“好”服务, 'great' service) marks sarcasm.
func isQuote(r rune) bool {
	switch r {
	case '"', '\'', '“', '”', '‘', '’', '「', '」', '『', '』':
		return true
	}
	return false
}

// quoted reports whether s[start:end] is directly enclosed in quotes.
func quoted(s string, start, end int) bool {
	if start == 0 || end >= len(s) {
		return false
	}
	before, _ := utf8.DecodeLastRuneInString(s[:start])
	after, _ := utf8.DecodeRuneInString(s[end:])
	return isQuote(before) && isQuote(after)
}

// capsWords counts shouted words in the original text: four or more
// capital letters in a row with no lower-case letter in the word ("AGAIN",
// "DONE"). Shorter runs are too often acronyms (BBB, UPS, OK).
func capsWords(text string) int {
	n, caps, lower := 0, 0, false
	flush := func() {
		if caps >= 4 && !lower {
			n++
		}
		caps, lower = 0, false
	}
	for i := 0; i < len(text); i++ {
		b := text[i]
		switch {
		case 'A' <= b && b <= 'Z':
			caps++
		case 'a' <= b && b <= 'z':
			lower = true
		default:
			flush()
		}
	}
	flush()
	return n
}
