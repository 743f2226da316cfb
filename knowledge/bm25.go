package knowledge

import (
	"math"
	"slices"
)

// bm25 is an inverted index over one field of a set of documents.
type bm25 struct {
	terms map[string]int32 // feature → index into weight and post
	// weight is a term's idf times the field's and the feature's weight:
	// everything a posting's w is multiplied by.
	weight []float64
	post   [][]posting
	// oov is the weight of a query feature no document contains: the idf
	// of a feature in a single group, times the field weight, so that a
	// query made of unknown words cannot look like a good match.
	oov    float64
	avgLen float64
	k1, b  float64
}

// posting is a document containing a term, with the term's BM25
// term-frequency factor precomputed: search adds weight·w without touching
// the document again. w is a float64 so that a query equal to a question
// sums exactly the products its self score does and scores exactly 1.
type posting struct {
	doc   int32
	group int32 // the document's group, so that search can filter by it without a lookup
	w     float64
}

// buildBM25 indexes docs, each a list of features. idf counts groups, not
// documents: group[d] is the group of document d, and groups are numbered
// 0..groups-1. For the question index a group is an entry, so a word that
// appears in many questions of one entry — the very word that identifies
// it — keeps a high idf. Every weight is multiplied by fieldWeight and by
// featWeight of the feature.
func buildBM25(docs [][]string, group []int32, groups int, k1, b, fieldWeight float64, featWeight func(string) float64) *bm25 {
	x := &bm25{terms: make(map[string]int32), k1: k1, b: b}
	total := 0
	for _, d := range docs {
		total += len(d)
	}
	x.avgLen = max(float64(total)/float64(max(len(docs), 1)), 1)
	counts := make(map[string]int)
	var order []string
	for di, d := range docs {
		clear(counts)
		order = order[:0]
		for _, t := range d {
			if counts[t] == 0 {
				order = append(order, t)
			}
			counts[t]++
		}
		// Sorted, so that term ids and float summation order in search are
		// the same on every build.
		slices.Sort(order)
		for _, t := range order {
			id, ok := x.terms[t]
			if !ok {
				id = int32(len(x.post))
				x.terms[t] = id
				x.post = append(x.post, nil)
			}
			w := x.tf(float64(counts[t]), float64(len(d)))
			x.post[id] = append(x.post[id], posting{doc: int32(di), group: group[di], w: w})
		}
	}
	n := float64(groups)
	x.weight = make([]float64, len(x.post))
	names := make([]string, len(x.post))
	for t, id := range x.terms {
		names[id] = t
	}
	for id, ps := range x.post {
		df, last := 0, int32(-1)
		for _, p := range ps { // postings are in document order, and documents in group order
			if g := group[p.doc]; g != last {
				df++
				last = g
			}
		}
		x.weight[id] = bm25IDF(n, float64(df)) * fieldWeight * featWeight(names[id])
		x.post[id] = slices.Clip(ps)
	}
	x.oov = bm25IDF(n, 1) * fieldWeight
	return x
}

// bm25IDF is the Lucene form of BM25's idf, which stays positive for terms
// in more than half of the groups: "怎么" in most entries should add
// little, not subtract.
func bm25IDF(n, df float64) float64 {
	return math.Log(1 + (n-df+0.5)/(df+0.5))
}

// tf is BM25's term-frequency factor for tf occurrences in a text of
// length features.
func (x *bm25) tf(tf, length float64) float64 {
	return (x.k1 + 1) * tf / (tf + x.k1*(1-x.b+x.b*length/x.avgLen))
}

// search adds the raw BM25 score of every document sharing a feature with
// the query into acc, appending documents it touches for the first time to
// touched, and adds the query's score against itself to self, with unknown
// features at the oov weight scaled by featWeight. feats must be sorted.
// self accumulates across fields in the order acc does, so that a query
// equal to a document gets a score of exactly 1; known accumulates the
// part of self that comes from features some document contains. When
// allow is not nil, only documents of groups it marks are scored.
func (x *bm25) search(feats []string, featWeight func(string) float64, allow []bool, acc []float64, touched []int32, self, known float64) (float64, float64, []int32) {
	qLen := float64(len(feats))
	for i := 0; i < len(feats); {
		j := i + 1
		for j < len(feats) && feats[j] == feats[i] {
			j++
		}
		w := x.tf(float64(j-i), qLen)
		id, ok := x.terms[feats[i]]
		if !ok {
			self += x.oov * featWeight(feats[i]) * w
			i = j
			continue
		}
		tw := x.weight[id]
		self += tw * w
		known += tw * w
		for _, p := range x.post[id] {
			if allow != nil && !allow[p.group] {
				continue
			}
			if acc[p.doc] == 0 {
				touched = append(touched, p.doc)
			}
			acc[p.doc] += tw * p.w
		}
		i = j
	}
	return self, known, touched
}
