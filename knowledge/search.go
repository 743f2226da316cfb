package knowledge

import "slices"

// scratch is the per-search working memory, pooled so that a search
// allocates little beyond what the segmenter returns.
type scratch struct {
	a         analysis
	docScore  []float64 // raw BM25 per question, zero between searches
	entScore  []float64 // raw BM25 per entry in the entry index
	entTouch  []int32
	touched   []int32   // questions with a non-zero score
	bestScore []float64 // best normalised score per entry, zero between searches
	bestDoc   []int32
	hitEntry  []int32   // entries with a non-zero score
	prob      []float64 // classifier probability per entry
	logit     []float32 // classifier working memory
	cut       []float32 // candidates' working memory
	allow     []bool    // candidate entries, see candidates
}

// Search returns up to k entries best matching query, best first. Ties
// keep knowledge base order. A query without words, or whose words no
// question contains, returns nil.
//
// An entry's score mixes three views of the query, each in [0,1]:
//
//   - q, BM25 against the entry's best question, divided by the score the
//     query would get against a question identical to it, where a query
//     word the knowledge base does not know counts at the weight of the
//     rarest known word. Dividing by the self score makes the scale
//     independent of query length. Function words ("的", "吗", "how",
//     "the") weigh half as much as other words on both sides;
//   - e, the same against the entry as one document of all its
//     questions, which finds an entry whose questions each hold part of
//     the query;
//   - p, the classifier's probability of the entry.
//
// The score is c·(0.5·p + 0.5·(0.2·q + 0.8·e)), where the coverage c is
// the share of the query's BM25 self score made of words the knowledge
// base knows: the classifier's probabilities always sum to 1, even for
// "what is the capital of France", and coverage takes them down when most
// of the query is foreign to the knowledge base. A query that is one of
// the questions word for word scores 1.
//
// In a knowledge base of more than 48 entries, questions are only scored
// for the 24 entries that the classifier and the entry index rank first,
// which cuts the time of a search over 15,000 questions by a third and
// changed no top-1 or top-3 result on the dev splits.
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
	selfE := 0.0
	for f, x := range b.ent {
		if x != nil {
			selfE, _, s.entTouch = x.search(s.a.feats[f], b.featW[f], nil, s.entScore, s.entTouch, selfE, 0)
		}
	}
	allow := b.candidates(s, classKnown, selfE)
	selfQ, knownQ := 0.0, 0.0
	for f, x := range b.q {
		selfQ, knownQ, s.touched = x.search(s.a.feats[f], b.featW[f], allow, s.docScore, s.touched, selfQ, knownQ)
	}
	if len(s.touched) == 0 && len(s.entTouch) == 0 || selfQ <= 0 {
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
	if selfE > 0 {
		b.mixEntries(s, selfE)
	}
	if classKnown {
		b.combine(s, knownQ/selfQ)
	}
	if isExact && s.bestScore[exactEntry] > 0 {
		// The query is word for word one of the entry's questions.
		s.bestScore[exactEntry] = max(s.bestScore[exactEntry], 1)
	}

	return b.topMatches(s, k)
}

// topMatches returns the k best entries of s.hitEntry as matches.
func (b *Base) topMatches(s *scratch, k int) []Match {
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

// mixEntries mixes the entry index's normalised score into every entry's
// best-question score; selfE is the query's score against itself there.
func (b *Base) mixEntries(s *scratch, selfE float64) {
	mu := b.cfg.entryWeight
	for _, e := range s.entTouch {
		if s.bestScore[e] == 0 {
			s.hitEntry = append(s.hitEntry, e)
			s.bestDoc[e] = b.firstDoc[e]
		}
		s.bestScore[e] = (1-mu)*s.bestScore[e] + mu*min(s.entScore[e]/selfE, 1)
	}
}

// maxCandidates is how many entries a search scores question by question
// in a large knowledge base. Walking the postings of every question is
// most of a search's time on 15,000 questions, and an entry that neither
// the classifier nor the entry index puts among the first few dozen does
// not reach the top of the ranking through its best question alone.
const maxCandidates = 24

// candidates returns the entries whose questions a search scores, marked
// in s.allow, or nil for all of them: the maxCandidates best by the
// classifier and the entry index.
func (b *Base) candidates(s *scratch, classKnown bool, selfE float64) []bool {
	if len(b.entries) <= 2*maxCandidates || !classKnown || selfE <= 0 {
		return nil
	}
	lam, mu := b.cfg.classWeight, b.cfg.entryWeight
	pre := s.logit[:0] // free once predict is done
	for e := range b.entries {
		pre = append(pre, float32(lam*s.prob[e]))
	}
	for _, e := range s.entTouch {
		pre[e] += float32((1 - lam) * mu * min(s.entScore[e]/selfE, 1))
	}
	// The maxCandidates-th largest score is the cut; ties may let a few
	// more through, which is harmless.
	s.cut = append(s.cut[:0], pre...)
	slices.Sort(s.cut)
	cut := s.cut[len(s.cut)-maxCandidates]
	for e, v := range pre {
		s.allow[e] = v >= cut
	}
	return s.allow
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
	scale := coverage
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
	for _, e := range s.entTouch {
		s.entScore[e] = 0
	}
	s.touched, s.hitEntry, s.entTouch = s.touched[:0], s.hitEntry[:0], s.entTouch[:0]
	b.scratch.Put(s)
}
