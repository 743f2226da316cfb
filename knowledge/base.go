package knowledge

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/carebot/carebot/segment"
)

// Defaults for Options. K1 and B are the usual BM25 values.
//
// DefaultMinScore was chosen on the demo knowledge base (configs/kb/demo.yaml,
// 55 entries, 907 questions) by leave-one-out: each question asked against
// a Base built without it. Scores of right and wrong top answers overlap,
// so the threshold trades answers for mistakes; the measurements were
//
//	MinScore  answered right  answered wrong  out-of-domain rejected
//	0.45      56%             12%             30 of 33
//	0.50      47%              9%             31 of 33
//	0.55      40%              8%             33 of 33
//	0.60      33%              6%             33 of 33
//
// 0.55 is the lowest value that rejects every out-of-domain query of
// TestDemoKnowledgeBase (chit-chat, general knowledge, noise in three
// languages; the highest scores 0.52). Leave-one-out is pessimistic: a real
// customer's question usually shares more with the knowledge base than a
// phrasing deliberately taken out of it, and scores between MinScore·0.6
// and MinScore still lead to "did you mean" suggestions in package dialog.
const (
	DefaultMinScore = 0.40
	DefaultK1       = 1.2
	DefaultB        = 0.75
	// DefaultClarifyRatio sets ClarifyScore relative to MinScore: near
	// misses are better met with "did you mean" than with "sorry".
	DefaultClarifyRatio = 0.6
)

// Options tune retrieval. A zero field takes its default; to switch length
// normalisation off, use a tiny B such as 1e-9 rather than 0.
type Options struct {
	// MinScore is the normalised score from which Answer answers, in
	// (0,1]; default DefaultMinScore.
	MinScore float64
	// K1 is BM25's term-frequency saturation; default DefaultK1.
	K1 float64
	// B is BM25's document-length normalisation in (0,1]; default DefaultB.
	B float64
	// ClarifyScore is the score from which an entry that is not answered is
	// offered as a "did you mean" choice, in (0, MinScore]; default
	// DefaultClarifyRatio·MinScore.
	ClarifyScore float64
	// Synonyms are groups of words or phrases that mean the same, such as
	// {"退货", "退换货"} or {"refund", "money back"}; in questions and
	// queries alike, every phrase of a group is rewritten to the group's
	// first before matching. See LoadSynonyms and configs/synonyms.yaml.
	Synonyms [][]string
}

// DefaultOptions returns the options NewBase uses for zero fields.
func DefaultOptions() Options {
	return Options{MinScore: DefaultMinScore, K1: DefaultK1, B: DefaultB}
}

// withDefaults fills zero fields and checks the ranges.
func (o Options) withDefaults() (Options, error) {
	d := DefaultOptions()
	if o.MinScore == 0 {
		o.MinScore = d.MinScore
	}
	if o.K1 == 0 {
		o.K1 = d.K1
	}
	if o.B == 0 {
		o.B = d.B
	}
	if o.ClarifyScore == 0 {
		o.ClarifyScore = DefaultClarifyRatio * o.MinScore
	}
	var errs []error
	if !(o.ClarifyScore > 0 && o.ClarifyScore <= o.MinScore) {
		errs = append(errs, fmt.Errorf("clarify score %g is outside (0, min score %g]", o.ClarifyScore, o.MinScore))
	}
	if !(o.MinScore > 0 && o.MinScore <= 1) {
		errs = append(errs, fmt.Errorf("min score %g is outside (0,1]", o.MinScore))
	}
	if !(o.K1 > 0 && o.K1 < 100) {
		errs = append(errs, fmt.Errorf("k1 %g is outside (0,100)", o.K1))
	}
	if !(o.B > 0 && o.B <= 1) {
		errs = append(errs, fmt.Errorf("b %g is outside (0,1]", o.B))
	}
	return o, errors.Join(errs...)
}

// Match is one search result.
type Match struct {
	// Entry is the matched entry.
	Entry *Entry
	// Score is in [0,1]: 1 when the query is one of the entry's questions
	// word for word, lower as the query's words are missing from the best
	// question or unknown to the knowledge base.
	Score float64
	// Question is the entry's question that matched best, as written in
	// the knowledge base. When a Simplified and a Traditional question
	// normalise to the same words it is the one listed first.
	Question string
}

// scoring holds retrieval choices measured on the demo knowledge base by
// leave-one-out top-1 accuracy and out-of-domain scores. They are not
// Options because they change what a score means, and DefaultMinScore was
// chosen for these values. Measured (top-1 / lowest MinScore rejecting all
// out-of-domain queries): plain BM25 67% / -; function words at 0.3 72%;
// plus Han characters at 0.3 75%; plus idf over entries rather than
// questions 78% / 0.60; function words at 0.5 instead 78% / 0.55. Stemming
// adds about one point in English.
type scoring struct {
	funcWeight float64 // idf multiplier for functionWords
	charWeight float64 // weight of the Han character field; 0 disables it
	stem       bool    // stem English words
	// classWeight is the classifier probability's share of the score; 0
	// disables the classifier.
	classWeight float64
	temperature float64 // divides the classifier's logits
	coverageExp float64 // exponent of the query coverage scaling the score
	feats       featWeights
	train       trainParams
}

// defaultScoring is what NewBase uses.
var defaultScoring = scoring{
	funcWeight: 0.5, charWeight: 0.3, stem: true,
	classWeight: 0.6, temperature: 1, coverageExp: 1,
	feats: featWeights{word: 1, wordBigram: 0.7, hanChar: 0.5, hanBigram: 0.7, latinGram: 0.3, latinMin: 3, latinMax: 5},
	train: trainParams{epochs: 4, minSteps: 20000, rate: 2, skip: 1e-3},
}

// Base is a searchable knowledge base. It is immutable after NewBase and
// safe for concurrent use; callers must not modify the entries it returns.
type Base struct {
	seg     *segment.Segmenter
	opts    Options
	cfg     scoring
	entries []*Entry
	byID    map[string]*Entry
	// cache, when set during NewBase, supplies features of questions
	// analysed before; it lets the leave-one-out evaluation rebuild a Base
	// per question without cutting every question again.
	cache map[string]*analysis

	docs []doc            // one per distinct question of an entry
	q    [numFields]*bm25 // per field; its documents are docs
	// firstDoc is an entry's first document, -1 for none: the question
	// shown when the classifier finds an entry whose questions share no
	// word with the query.
	firstDoc []int32
	cls      *classifier // nil when disabled or nothing to learn
	syn      *synonymMap // nil without synonyms
	// exact maps the textKey of every indexed question to its entry (the
	// first, when entries share a question).
	exact map[uint64]int32
	// featW scales features per field (function words down); kept as
	// values so that Search does not build closures.
	featW [numFields]func(string) float64

	scratch sync.Pool // *scratch
}

// doc is one indexed question.
type doc struct {
	entry    int32
	question string
}

// scratch is the per-search working memory, pooled so that a search
// allocates little beyond what the segmenter returns.
type scratch struct {
	a         analysis
	docScore  []float64 // raw BM25 per question, zero between searches
	touched   []int32   // questions with a non-zero score
	bestScore []float64 // best normalised score per entry, zero between searches
	bestDoc   []int32
	hitEntry  []int32   // entries with a non-zero score
	prob      []float64 // classifier probability per entry
	logit     []float32 // classifier working memory
}

// NewBase indexes entries for search. It copies them, so the caller's
// slice may be reused. Every distinct question of an entry (after
// segment.Normalize, so a Traditional question that only differs in script
// from a Simplified one counts once) becomes a BM25 document with two
// fields: its jieba words (English stemmed) and, at weight 0.3, its Han
// characters, which let a paraphrase cut differently by jieba still match.
// Idf counts entries rather than questions, so that the word an entry's
// questions share — the one that identifies it — is not discounted for
// being frequent. Entries need unique, non-empty ids; an entry without
// questions is kept, reachable by Entry but never found by Search.
func NewBase(seg *segment.Segmenter, entries []Entry, opts Options) (*Base, error) {
	return newBase(seg, entries, opts, defaultScoring, nil)
}

func newBase(seg *segment.Segmenter, entries []Entry, opts Options, cfg scoring, cache map[string]*analysis) (*Base, error) {
	if seg == nil {
		return nil, errors.New("new knowledge base: segmenter is nil")
	}
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("new knowledge base: %w", err)
	}
	b := &Base{
		seg:     seg,
		opts:    opts,
		cfg:     cfg,
		cache:   cache,
		entries: make([]*Entry, len(entries)),
		byID:    make(map[string]*Entry, len(entries)),
	}
	copies := make([]Entry, len(entries))
	for i := range entries {
		copies[i] = cloneEntry(&entries[i])
		e := &copies[i]
		if e.ID == "" {
			return nil, fmt.Errorf("new knowledge base: entry %d has no id", i)
		}
		if _, dup := b.byID[e.ID]; dup {
			return nil, fmt.Errorf("new knowledge base: duplicate id %q", e.ID)
		}
		b.entries[i] = e
		b.byID[e.ID] = e
	}
	b.featW = [numFields]func(string) float64{fieldWord: b.funcScale, fieldChar: unitScale}
	if len(opts.Synonyms) > 0 {
		var a analysis
		b.syn = newSynonymMap(opts.Synonyms, func(p string) []string {
			b.analyze(p, &a)
			return slices.Clone(a.feats[fieldWord])
		})
		// Questions analysed before synonyms were known are analysed
		// again.
		b.cache = nil
	}
	b.index()
	b.cache = nil
	b.scratch.New = func() any {
		return &scratch{
			docScore:  make([]float64, len(b.docs)),
			bestScore: make([]float64, len(b.entries)),
			bestDoc:   make([]int32, len(b.entries)),
			prob:      make([]float64, len(b.entries)),
			logit:     make([]float32, len(b.entries)),
		}
	}
	return b, nil
}

// cloneEntry deep-copies e, so that a Base never shares maps or slices with
// its caller.
func cloneEntry(e *Entry) Entry {
	c := Entry{ID: e.ID, Tags: slices.Clone(e.Tags), Answer: cloneMap(e.Answer)}
	if e.Questions != nil {
		c.Questions = make(map[string][]string, len(e.Questions))
		for l, qs := range e.Questions {
			c.Questions[l] = slices.Clone(qs)
		}
	}
	for _, btn := range e.Buttons {
		c.Buttons = append(c.Buttons, Button{Label: cloneMap(btn.Label), Payload: btn.Payload})
	}
	return c
}

func cloneMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// localeOrder lists the keys of a locale map: the known locales first, in
// the order of locales, then any others sorted, so that indexing and
// Match.Question never depend on map iteration order.
func localeOrder[V any](m map[string]V) []string {
	order := make([]string, 0, len(m))
	for _, l := range locales {
		if _, ok := m[l]; ok {
			order = append(order, l)
		}
	}
	var rest []string
	for l := range m {
		if !isLocale(l) {
			rest = append(rest, l)
		}
	}
	slices.Sort(rest)
	return append(order, rest...)
}

// fieldWeight is the share of a field in the score.
func (b *Base) fieldWeight(f int) float64 {
	if f == fieldChar {
		return b.cfg.charWeight
	}
	return 1
}

// funcScale is the word field's feature weight: funcWeight for function
// words, else 1.
func (b *Base) funcScale(feat string) float64 {
	if functionWords[feat] {
		return b.cfg.funcWeight
	}
	return 1
}

// unitScale is the feature weight of fields without function words.
func unitScale(string) float64 { return 1 }

// textKey identifies a question by its features: two questions with the
// same key are the same document, and a query with the key of a question
// is that question.
func textKey(a *analysis) uint64 {
	h := hashSeed(0)
	for f := range a.feats {
		for _, t := range a.feats[f] {
			h = hashString(h, t)
			h = (h ^ 0xff) * fnvPrime
		}
		h = (h ^ 0xfe) * fnvPrime
	}
	return h
}

// index builds the documents and the indexes.
func (b *Base) index() {
	var qDocs [numFields][][]string
	var qGroup []int32
	var classX []sparseVec
	var a analysis
	b.firstDoc = make([]int32, len(b.entries))
	b.exact = make(map[uint64]int32)
	for ei, e := range b.entries {
		b.firstDoc[ei] = -1
		seen := make(map[uint64]bool)
		for _, l := range localeOrder(e.Questions) {
			for _, q := range e.Questions[l] {
				ap := b.cache[q]
				if ap == nil {
					b.analyze(q, &a)
					ap = &a
				}
				if len(ap.feats[fieldWord]) == 0 {
					continue
				}
				key := textKey(ap)
				if seen[key] {
					continue
				}
				seen[key] = true
				if _, dup := b.exact[key]; !dup {
					b.exact[key] = int32(ei)
				}
				for f := range qDocs {
					qDocs[f] = append(qDocs[f], slices.Clone(ap.feats[f]))
				}
				if b.firstDoc[ei] < 0 {
					b.firstDoc[ei] = int32(len(b.docs))
				}
				b.docs = append(b.docs, doc{entry: int32(ei), question: q})
				qGroup = append(qGroup, int32(ei))
				if b.cfg.classWeight > 0 {
					classX = append(classX, slices.Clone(ap.class))
				}
			}
		}
	}
	for f := range b.q {
		b.q[f] = buildBM25(qDocs[f], qGroup, len(b.entries), b.opts.K1, b.opts.B, b.fieldWeight(f), b.featW[f])
	}
	if b.cfg.classWeight > 0 && len(b.entries) > 1 && len(classX) > 0 {
		b.cls = trainClassifier(classX, qGroup, len(b.entries), b.cfg.train)
	}
}

// Search returns up to k entries best matching query, best first; an
// entry's score is that of its best question. Ties keep knowledge base
// order. A query without words, or whose words no question contains,
// returns nil.
//
// The score is the raw BM25 score of the best question divided by the
// score the query would get against a question identical to it, where a
// query word the knowledge base does not know counts at the weight of the
// rarest known word. A query that is one of the questions scores 1; a
// query whose known words all match but half of whose weight is unknown
// words scores at most 0.5. Dividing by the self score makes the scale
// independent of query length, so that one MinScore works for "运费" and
// for a long sentence. Function words ("的", "吗", "how", "the") weigh half
// as much as other words on both sides of the division, so that they
// neither make an unrelated question look similar nor, when unknown, sink
// a good match.
func (b *Base) Search(query string, k int) []Match {
	if k <= 0 || len(b.docs) == 0 {
		return nil
	}
	s := b.scratch.Get().(*scratch)
	defer b.putScratch(s)
	b.analyze(query, &s.a)
	if len(s.a.feats[fieldWord]) == 0 {
		return nil
	}
	exactEntry, isExact := b.exact[textKey(&s.a)]
	for f := range s.a.feats {
		// search walks runs of equal features to count them.
		slices.Sort(s.a.feats[f])
	}

	classKnown := b.cls != nil && b.cls.predict(s.a.class, b.cfg.temperature, s.logit, s.prob)
	selfQ, knownQ := 0.0, 0.0
	for f, x := range b.q {
		selfQ, knownQ, s.touched = x.search(s.a.feats[f], b.featW[f], s.docScore, s.touched, selfQ, knownQ)
	}
	if len(s.touched) == 0 || selfQ <= 0 {
		return nil
	}
	for _, d := range s.touched {
		e := b.docs[d].entry
		sc := s.docScore[d] / selfQ
		switch {
		case s.bestScore[e] == 0:
			s.hitEntry = append(s.hitEntry, e)
			s.bestScore[e], s.bestDoc[e] = sc, d
		case sc > s.bestScore[e] || sc == s.bestScore[e] && d < s.bestDoc[e]:
			s.bestScore[e], s.bestDoc[e] = sc, d
		}
	}
	if classKnown {
		b.combine(s, knownQ/selfQ)
	}
	if isExact && s.bestScore[exactEntry] > 0 {
		// The query is word for word one of the entry's questions.
		s.bestScore[exactEntry] = max(s.bestScore[exactEntry], 1)
	}

	// Top k by insertion: k is a handful and hitEntry rarely long.
	if k > len(s.hitEntry) {
		k = len(s.hitEntry)
	}
	top := make([]int32, 0, k)
	better := func(a, c int32) bool {
		if s.bestScore[a] != s.bestScore[c] {
			return s.bestScore[a] > s.bestScore[c]
		}
		return a < c
	}
	for _, e := range s.hitEntry {
		if len(top) == k && !better(e, top[k-1]) {
			continue
		}
		if len(top) < k {
			top = append(top, e)
		} else {
			top[k-1] = e
		}
		for i := len(top) - 1; i > 0 && better(top[i], top[i-1]); i-- {
			top[i], top[i-1] = top[i-1], top[i]
		}
	}
	out := make([]Match, len(top))
	for i, e := range top {
		out[i] = Match{Entry: b.entries[e], Score: min(max(s.bestScore[e], 0), 1), Question: b.docs[s.bestDoc[e]].question}
	}
	return out
}

// combine mixes the classifier's probability into the BM25 score of every
// entry, adding entries the classifier finds likely but whose questions
// share no word with the query. The mix is then scaled by coverage, the
// share of the query's weight that the knowledge base knows: softmax
// spreads all probability over the entries even for "what is the capital
// of France", where only "what is the" is known, and the classifier can
// only vouch for the known part. Scaling every entry alike keeps the
// ranking.
func (b *Base) combine(s *scratch, coverage float64) {
	lam := b.cfg.classWeight
	for e, p := range s.prob {
		if p >= minClassProb && s.bestScore[e] == 0 && b.firstDoc[e] >= 0 {
			s.hitEntry = append(s.hitEntry, int32(e))
			s.bestDoc[e] = b.firstDoc[e]
		}
	}
	scale := math.Pow(coverage, b.cfg.coverageExp)
	for _, e := range s.hitEntry {
		s.bestScore[e] = scale * (lam*s.prob[e] + (1-lam)*s.bestScore[e])
	}
}

// minClassProb is the classifier probability from which an entry without
// a BM25 match is a candidate at all.
const minClassProb = 0.01

// putScratch zeroes what the search touched and returns s to the pool.
func (b *Base) putScratch(s *scratch) {
	for _, d := range s.touched {
		s.docScore[d] = 0
	}
	for _, e := range s.hitEntry {
		s.bestScore[e] = 0
	}
	s.touched, s.hitEntry = s.touched[:0], s.hitEntry[:0]
	b.scratch.Put(s)
}

// Answer returns the best match if its score reaches MinScore.
func (b *Base) Answer(query string) (Match, bool) {
	ms := b.Search(query, 1)
	if len(ms) == 0 || ms[0].Score < b.opts.MinScore {
		return Match{}, false
	}
	return ms[0], true
}

// MinScore returns the score from which Answer answers.
func (b *Base) MinScore() float64 { return b.opts.MinScore }

// Entry returns the entry with id.
func (b *Base) Entry(id string) (*Entry, bool) {
	e, ok := b.byID[id]
	return e, ok
}

// Entries returns all entries in knowledge base order. The slice is the
// caller's; the entries are shared and must not be modified.
func (b *Base) Entries() []*Entry { return slices.Clone(b.entries) }

// Len returns the number of entries.
func (b *Base) Len() int { return len(b.entries) }
