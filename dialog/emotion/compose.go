package emotion

import (
	"math"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Tunable weights of the composition. They are constants rather than
// lexicon entries because they describe grammar, not vocabulary.
const (
	negateWindow     = 3    // units from a negator or degree word to the word it modifies
	tierNegateWindow = 1    // a negator cancels a tier phrase only right before it (不会投诉)
	negatePositive   = 0.9  // 不满意: a negated praise word counts this much blame
	negateNegative   = 0.3  // 不难吃: a negated blame word counts this much praise
	softNegation     = 0.5  // 不太满意: a negator before a degree word softens
	beforeContrast   = 0.3  // weight of what precedes 但是/but in its sentence
	afterContrast    = 1.5  // weight of what follows it in its sentence
	concessionWeight = 0.5  // weight of the clause holding 虽然/although
	sarcasmFlip      = 1.2  // praise under sarcasm counts this much blame
	exclaimBoost     = 0.2  // per run of !! or ?? on a negative message, up to three
	capsBoost        = 0.15 // per shouted word, up to two
	insistWeight     = -0.3 // ?? on a message with no other cue: impatience
	angerEmoji       = -0.6 // an emoji at or below this weight is anger
	// A text of at least reviewClauses clause breaks and reviewUnits
	// units (about two lines of Chinese) is read as a review or a story
	// rather than a chat line; chat messages are far shorter.
	reviewClauses = 4
	reviewUnits   = 40
	maxCues       = 24
)

// composed is the lexicon's reading of a message before tiering.
type composed struct {
	value float64 // squashed into (-1, 1)
	cues  []Cue
	// counts of the tier-setting cues that were not negated
	mild, complaint, abuse, escalation, exposure int
	anger                                        int // runs of !!, anger emoji, shouted words
	insist                                       bool
	// sarcastic says praise was mocked; negatives counts the other
	// negative cues, since mockery on top of a grievance is a complaint.
	sarcastic bool
	negatives int
}

func (c *composed) addCue(q Cue) {
	if len(c.cues) < maxCues {
		c.cues = append(c.cues, q)
	}
}

// composer walks the matches of one message, keeping the modifiers that
// wait for the next sentiment word.
type composer struct {
	norm string
	ms   []match
	c    composed
	sum  float64
	// concessionClause is the clause holding 虽然/although, or -1.
	concessionClause int
	// Pending modifiers of the next sentiment word, all in one clause.
	negs, negUnit         int
	degree                float64
	degreeUnit            int
	negBeforeDeg, degSeen bool
	modClause             int
	// marked says a sarcasm marker (呵呵) is present; markedSentences has
	// a bit for each sentence it reaches (its own and the next: 呵呵。说好
	// 的包邮呢), mocked a bit for each praise cue in them, and grievance
	// says a negative cue is in them too.
	marked, grievance bool
	markedSentences   uint64
	mocked            uint32
	// compared is the clause of the last 没有/没, which can begin a
	// comparison (没有以前的好), or -1.
	compared int
	// quoted holds the cues of praise in quotes (“好”服务), judged once the
	// whole message is known.
	quoted  [4]struct{ cue, start int }
	nQuoted int
}

// isContrast reports whether ms[i] is a contrast word that splits its
// sentence: 但是 anywhere, 就是 only at the start of a clause.
func (p *composer) isContrast(i int) bool {
	m := p.ms[i]
	return m.e.kind == kindContrast || m.e.kind == kindClauseContrast && m.clauseStart && i > 0
}

// prepare sets the weight each match gets from contrast words and finds
// the sentences that sarcasm markers reach. A contrast raises what follows
// it in its sentence and lowers what precedes it there (with two, what lies
// between them precedes the second); a review of ten sentences with one
// 但是 in the middle is not decided by that sentence alone.
//
// In a review-length text (see isReview) a sarcasm marker mocks nothing:
// there 呵呵 is a laugh far more often than a sneer (the writer of a long
// review says what is wrong in words), and it keeps only its own small
// negative weight. Measured on six review domains (docs/emotion.md), this
// raised the furthest one, books, by a point and moved the others by at
// most 0.05 points; chat messages, where sarcasm matters, are too short to
// be affected.
func (p *composer) prepare(sc *scanned) {
	ms := p.ms
	prev := -1 // the previous contrast
	review := isReview(sc)
	for i := range ms {
		ms[i].factor = 1
		if ms[i].e.kind == kindSarcasm && !review {
			p.markedSentences |= sentenceBit(ms[i].sentence) | sentenceBit(ms[i].sentence+1)
		}
	}
	for i := range ms {
		if !p.isContrast(i) {
			continue
		}
		s := ms[i].sentence
		for j := i + 1; j < len(ms) && ms[j].sentence == s; j++ {
			ms[j].factor = afterContrast
		}
		for j := i - 1; j > prev && ms[j].sentence == s; j-- {
			ms[j].factor = beforeContrast
		}
		prev = i
	}
}

func sentenceBit(s int) uint64 { return 1 << min(s, 63) }

// isReview reports whether the scanned text is long enough to be a review
// or a story rather than a chat line.
func isReview(sc *scanned) bool {
	return sc.clauses >= reviewClauses && sc.units >= reviewUnits
}

// compose combines the matches of one message into a value and cues.
func compose(norm string, sc *scanned, caps int) composed {
	p := composer{norm: norm, ms: sc.matches, concessionClause: -1, modClause: -1, compared: -1}
	if n := len(p.ms); n > 0 {
		// One allocation: a cue per match, punctuation and the model.
		p.c.cues = make([]Cue, 0, min(n+2, maxCues))
	}
	p.reset()
	p.prepare(sc)
	for i := range p.ms {
		p.step(i)
	}
	p.mockQuoted()
	p.mockMarked()
	p.punctuate(sc, caps)
	p.c.value = math.Tanh(p.sum)
	return p.c
}

func (p *composer) reset() {
	p.negs, p.degree, p.negBeforeDeg, p.degSeen = 0, 1, false, false
}

func (p *composer) cue(m match, kind string, w float64) {
	p.c.addCue(Cue{Text: p.norm[m.start:m.end], Kind: kind, Weight: round3(w)})
}

// step handles the match ms[i].
func (p *composer) step(i int) {
	m := p.ms[i]
	e := m.e
	if m.clause != p.modClause {
		p.reset()
		p.modClause = m.clause
	}
	factor := m.factor // how much this clause weighs
	if m.clause == p.concessionClause {
		factor = min(factor, concessionWeight)
	}
	switch e.kind {
	case kindNegator:
		if t := e.text; t == "没有" || t == "没" {
			p.compared = m.clause
		}
		if p.negs > 0 && m.unit-p.negUnit > negateWindow {
			p.negs = 0
		}
		p.negs++
		p.negUnit = m.unit
		p.negBeforeDeg = false
	case kindDegree:
		p.addDegree(m)
	case kindContrast, kindClauseContrast:
		if p.isContrast(i) {
			p.cue(m, "contrast", afterContrast)
		}
	case kindConcession:
		p.concessionClause = m.clause
		p.cue(m, "contrast", concessionWeight)
	case kindNeutral:
	case kindWord:
		// A word that doubles as a degree word (好) is one where it reads
		// "very" (好慢, 好大).
		if e.degree > 0 && degreeHere(p.norm, p.ms, i) {
			p.addDegree(m)
			return
		}
		p.word(m, factor)
	default:
		p.phrase(m, factor)
	}
}

func (p *composer) addDegree(m match) {
	p.degree *= m.e.degree
	p.degreeUnit = m.unit
	p.negBeforeDeg = p.negs > 0
	p.degSeen = true
}

// word weighs a sentiment word with its pending negators and degree words.
func (p *composer) word(m match, factor float64) {
	w, kind := m.e.weight, "word"
	negated := p.negs > 0 && m.unit-p.negUnit <= negateWindow
	if !negated && w > 0 && p.compared == m.clause && comparedTo(p.norm[:m.start]) {
		// 没有以前的好, 没有实体店那么好: the praise goes to something
		// else, further away than a negator reaches.
		p.negs, negated = 1, true
	}
	soft := negated && p.negBeforeDeg
	if p.degSeen && m.unit-p.degreeUnit <= negateWindow {
		if soft {
			// 不太满意, not very good: the negation is softened and the
			// degree word does not amplify.
			w, kind = -w*softNegation, "negation"
		} else {
			w, kind = w*p.degree, "degree"
		}
	}
	if negated && !soft {
		if p.negs%2 == 1 {
			if w > 0 {
				w = -w * negatePositive
			} else {
				w = -w * negateNegative
			}
		}
		kind = "negation"
	}
	switch {
	case w > 0 && quoted(p.norm, m.start, m.end) && p.nQuoted < len(p.quoted) && len(p.c.cues) < maxCues:
		p.quoted[p.nQuoted].cue, p.quoted[p.nQuoted].start = len(p.c.cues), m.start
		p.nQuoted++
	case w < 0:
		p.c.negatives++
		p.aggrieve(m)
	}
	if w > 0 && kind != "negation" {
		p.mock(m)
	}
	w *= factor
	p.sum += w
	p.cue(m, kind, w)
	p.reset()
}

// phrase weighs a tier phrase, a sarcasm marker or an emoji.
func (p *composer) phrase(m match, factor float64) {
	e, c := m.e, &p.c
	w := e.weight
	switch e.kind {
	case kindMild, kindComplaint, kindAbuse, kindEscalation, kindExposure:
		if p.negs > 0 && m.unit-p.negUnit <= tierNegateWindow {
			// 不会投诉, won't sue: a mention, not a threat.
			w *= 0.3
			p.sum += w
			p.cue(m, "negation", w)
			p.reset()
			return
		}
		p.aggrieve(m)
		switch e.kind {
		case kindMild:
			c.mild++
		case kindComplaint:
			c.complaint++
		case kindAbuse:
			c.abuse++
		case kindEscalation:
			c.escalation++
		case kindExposure:
			c.exposure++
		}
		w *= max(factor, 1) // a complaint is not softened by a contrast
	case kindSarcasm:
		p.marked = true
	case kindEmoji:
		if w <= angerEmoji {
			c.anger++
		}
		if w < 0 {
			c.negatives++
			p.aggrieve(m)
		} else if w > 0 {
			p.mock(m)
		}
	}
	p.sum += w
	p.cue(m, e.kind.cueKind(), w)
	p.reset()
}

// flip turns a praise cue into mockery, keeping the sum in step.
func (p *composer) flip(q *Cue) {
	p.sum -= q.Weight * (1 + sarcasmFlip)
	q.Weight = round3(-q.Weight * sarcasmFlip)
	q.Kind = "sarcasm"
}

// mockQuoted decides about praise in quotes: it mocks when the message
// also complains, or when the praise is one character (真是“好”服务); a
// quoted word in a happy message is emphasis (一个字“赞”).
func (p *composer) mockQuoted() {
	c := &p.c
	for _, qc := range p.quoted[:p.nQuoted] {
		q := &c.cues[qc.cue]
		oneRune := utf8.RuneCountInString(q.Text) == 1 &&
			!strings.HasSuffix(strings.TrimRight(p.norm[:qc.start], "\"'“”‘’「」『』"), "字")
		if oneRune || c.negatives+c.mild+c.complaint+c.abuse+c.escalation > 0 {
			p.flip(q)
			c.sarcastic = true
		}
	}
}

// mock notes that the praise cue about to be added for m is mocked if a
// sarcasm marker reaches its sentence.
func (p *composer) mock(m match) {
	if n := len(p.c.cues); n < maxCues && p.markedSentences&sentenceBit(m.sentence) != 0 {
		p.mocked |= 1 << n
	}
}

// aggrieve notes a negative cue; one where a sarcasm marker reaches makes
// the marker sarcasm even without praise to mock (呵呵，说好的包邮呢).
func (p *composer) aggrieve(m match) {
	if p.markedSentences&sentenceBit(m.sentence) != 0 {
		p.grievance = true
	}
}

// mockMarked turns the praise near a sarcasm marker (呵呵, yeah right)
// into blame. The marker reaches its sentence and the next: in a long
// review, 呵呵 after a happy sentence is more often a laugh than a sneer,
// and it must not turn the praise of the whole review.
func (p *composer) mockMarked() {
	if !p.marked || p.mocked == 0 && !p.grievance {
		return
	}
	p.c.sarcastic = true
	for j := range p.c.cues {
		q := &p.c.cues[j]
		if p.mocked&(1<<j) != 0 && q.Weight > 0 && (q.Kind == "word" || q.Kind == "degree" || q.Kind == "emoji") {
			p.flip(q)
		}
	}
}

// punctuate lets repeated !! and ??, and shouting, raise a negative
// message, and reads ?? on a message without any other cue as impatience.
func (p *composer) punctuate(sc *scanned, caps int) {
	c := &p.c
	c.anger += sc.exclaimRuns + min(caps, 2)
	switch {
	case p.sum < 0:
		boost := exclaimBoost*float64(min(sc.exclaimRuns+sc.questionRuns, 3)) + capsBoost*float64(min(caps, 2))
		if boost > 0 {
			p.sum *= 1 + boost
			c.addCue(Cue{Text: punctText(sc, caps), Kind: "punctuation", Weight: round3(boost)})
		}
	case p.sum == 0 && sc.questionRuns > 0:
		p.sum = insistWeight
		c.insist = true
		c.addCue(Cue{Text: "??", Kind: "punctuation", Weight: insistWeight})
	}
}

// comparedTo reports whether the text before a praise word ends the
// standard of a comparison: 的 (没有以前的好) or 那么/这么 (没有实体店那么好).
func comparedTo(before string) bool {
	before = strings.TrimRight(before, " ")
	for _, suf := range []string{"的", "那么", "这么", "那样", "这样"} {
		if strings.HasSuffix(before, suf) {
			return true
		}
	}
	return false
}

// degreeHere reports whether the word ms[i], which doubles as a degree
// word, acts as one: when a sentiment word follows it directly (好慢), or a
// Han character that is not a particle does (好大, 好神奇 — "very", not
// praise).
func degreeHere(norm string, ms []match, i int) bool {
	m := ms[i]
	if i+1 < len(ms) && ms[i+1].start == m.end {
		return ms[i+1].e.kind == kindWord
	}
	r, _ := utf8.DecodeRuneInString(norm[m.end:])
	return unicode.Is(unicode.Han, r) && !strings.ContainsRune("的了啊呀吧哦喔耶呢嘛啦哈么评", r)
}

// punctText describes the punctuation and shouting that raised a score.
func punctText(sc *scanned, caps int) string {
	var parts []string
	if sc.exclaimRuns > 0 {
		parts = append(parts, "!!")
	}
	if sc.questionRuns > 0 {
		parts = append(parts, "??")
	}
	if caps > 0 {
		parts = append(parts, "CAPS")
	}
	return strings.Join(parts, " ")
}
