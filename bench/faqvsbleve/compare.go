package main

import (
	"cmp"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/custom"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/keyword"
	"github.com/blevesearch/bleve/v2/analysis/tokenizer/whitespace"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/blevesearch/bleve/v2/search/query"
	index "github.com/blevesearch/bleve_index_api"

	"github.com/carebot/carebot/knowledge"
	"github.com/carebot/carebot/segment"
)

// System names as they appear in the report.
const (
	nameCarebot = "carebot"
	nameBleve   = "bleve"
)

// bleveHits is how many question hits bleve returns per query. The
// prediction is the best hit's category; top-3 needs three distinct
// categories, which the 20 nearest questions almost always contain.
const bleveHits = 20

// wsAnalyzer is the name of the bleve analyzer that splits on whitespace
// only, so that bleve indexes exactly carebot's tokens, unchanged.
const wsAnalyzer = "carebot-tokens"

// Config says how to run one comparison.
type Config struct {
	// Rounds is how many times every test question is asked to both
	// systems; latencies are the median over rounds of each round's
	// percentile, so that one noisy round on a shared machine does not
	// decide the result.
	Rounds int
	// Warmup is how many test questions each system answers, untimed,
	// before the first timed round, to fault in caches and pools.
	Warmup int
	// CarebotFirst says which system is built, warmed and asked first.
	// Callers alternate it between sets; within a round the order also
	// alternates per question.
	CarebotFirst bool
	// BleveIndex is the bleve index type: IndexMemOnly (the default, what
	// bleve.NewMemOnly gives) or IndexScorch.
	BleveIndex string
	// BleveCategoryFromID makes bleve's side look a hit's category up by
	// its document id (the question's row number) instead of loading the
	// stored category field, which leaves only the search itself to time.
	BleveCategoryFromID bool
	// BleveScoring is bleve's scoring model: "tf-idf" (bleve's default)
	// or "bm25", which bleve offers since v2.5; empty means the default.
	BleveScoring string
}

// Bleve index types Config.BleveIndex may name.
const (
	// IndexMemOnly is bleve.NewMemOnly: the upsidedown index over the
	// gtreap in-memory key-value store, the obvious pick for an index
	// rebuilt at every start.
	IndexMemOnly = "memonly"
	// IndexScorch is bleve's default index type for on-disk indexes,
	// opened without a path so that it stays in memory. It is there to
	// check that the comparison does not hinge on NewMemOnly's older
	// index type.
	IndexScorch = "scorch"
)

// Result is one system's numbers on one set.
type Result struct {
	System string `json:"system"`
	// Top1 and Top3 are the shares of test questions whose category is
	// the first, or among the first three, categories returned.
	Top1 float64 `json:"top1"`
	Top3 float64 `json:"top3"`
	// P50us and P99us are per-question latencies in microseconds, from
	// the raw question to the ranked categories (carebot's Search
	// segments inside; for bleve the seg.Cut of the question is included).
	P50us float64 `json:"p50_us"`
	P99us float64 `json:"p99_us"`
	// BuildMs is the time to build the index from the knowledge base's
	// raw questions, segmentation included for both.
	BuildMs float64 `json:"build_ms"`
	// HeapMB is the Go heap the built index holds (gojieba's dictionaries
	// live in C memory and are shared, so neither system is charged).
	HeapMB float64 `json:"heap_mb"`
	// OOSRejected is the share of out-of-scope questions rejected and
	// InScopeAnswered the share of in-scope ones answered (Decide's
	// outcome); nil when the set has no out-of-scope questions or the
	// system has no calibrated rejection (bleve).
	OOSRejected     *float64 `json:"oos_rejected"`
	InScopeAnswered *float64 `json:"in_scope_answered"`
}

// Ratios compare carebot with bleve: above 1 means carebot is better.
type Ratios struct {
	// Top1 and Top3 are carebot/bleve.
	Top1 float64 `json:"top1_carebot_over_bleve"`
	Top3 float64 `json:"top3_carebot_over_bleve"`
	// P50 and P99 are bleve/carebot: carebot's speed-up.
	P50 float64 `json:"p50_speedup_bleve_over_carebot"`
	P99 float64 `json:"p99_speedup_bleve_over_carebot"`
	// Build and Heap are bleve/carebot: how many times less carebot needs.
	Build float64 `json:"build_bleve_over_carebot"`
	Heap  float64 `json:"heap_bleve_over_carebot"`
}

// Report is the comparison on one set.
type Report struct {
	Set         string `json:"set"`
	KBQuestions int    `json:"kb_questions"`
	Entries     int    `json:"entries"`
	Questions   int    `json:"questions"`
	OOS         int    `json:"oos_questions"`
	Rounds      int    `json:"rounds"`
	BleveIndex  string `json:"bleve_index"`
	// BleveCategory says where bleve's side read a hit's category:
	// "stored" (the stored field) or "id" (from the document id).
	BleveCategory string `json:"bleve_category"`
	// BleveScoring is bleve's scoring model.
	BleveScoring string `json:"bleve_scoring"`
	// SegmentP50us is the median time of carebot's segmenter alone on a
	// test question: part of both systems' latency (inside Search for
	// carebot, before the query for bleve).
	SegmentP50us float64 `json:"segment_p50_us"`
	// Results holds carebot's result, then bleve's.
	Results []Result `json:"results"`
	Ratios  Ratios   `json:"ratios"`
}

// system is what the benchmark needs of either side: answer a question
// with categories, best first.
type system interface {
	name() string
	top3(q string) []string
}

// carebotSystem answers with knowledge.Base.Search.
type carebotSystem struct{ base *knowledge.Base }

func (c *carebotSystem) name() string { return nameCarebot }

func (c *carebotSystem) top3(q string) []string {
	ms := c.base.Search(q, 3)
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Entry.ID
	}
	return out
}

// bleveSystem answers with a bleve index of one document per knowledge
// base question.
type bleveSystem struct {
	seg   *segment.Segmenter
	index bleve.Index
	// cats[i] is the category of document strconv.Itoa(i); used instead of
	// the stored field when fromID is set.
	cats   []string
	fromID bool
}

func (b *bleveSystem) name() string { return nameBleve }

// top3 cuts the question with carebot's segmenter, as the index was
// built, and returns the first three distinct categories among the
// nearest questions. A failed search answers nothing, which counts as
// wrong: it does not happen with an in-memory index, and panicking would
// lose the whole run.
func (b *bleveSystem) top3(q string) []string {
	toks := b.seg.Cut(q)
	if len(toks) == 0 {
		return nil
	}
	mq := bleve.NewMatchQuery(strings.Join(toks, " "))
	mq.SetField("tokens")
	mq.Analyzer = wsAnalyzer
	mq.SetOperator(query.MatchQueryOperatorOr)
	req := bleve.NewSearchRequestOptions(mq, bleveHits, 0, false)
	if !b.fromID {
		req.Fields = []string{"category"}
	}
	res, err := b.index.Search(req)
	if err != nil {
		return nil
	}
	out := make([]string, 0, 3)
	for _, h := range res.Hits {
		var cat string
		if b.fromID {
			if i, err := strconv.Atoi(h.ID); err == nil && i >= 0 && i < len(b.cats) {
				cat = b.cats[i]
			}
		} else {
			cat, _ = h.Fields["category"].(string)
		}
		if cat == "" || slices.Contains(out, cat) {
			continue
		}
		out = append(out, cat)
		if len(out) == 3 {
			break
		}
	}
	return out
}

// bleveDoc is the document indexed per knowledge base question.
type bleveDoc struct {
	Category string `json:"category"`
	Tokens   string `json:"tokens"`
}

// bleveMapping maps bleveDoc: tokens analysed by whitespace only, the
// category stored but not indexed. Everything a plain FAQ lookup does not
// need (the _all field, term vectors, doc values, dynamic fields) is off,
// so that bleve is not charged for features it is not asked to use.
func bleveMapping(scoring string) (*mapping.IndexMappingImpl, error) {
	im := bleve.NewIndexMapping()
	im.ScoringModel = scoring
	err := im.AddCustomAnalyzer(wsAnalyzer, map[string]any{
		"type":          custom.Name,
		"tokenizer":     whitespace.Name,
		"token_filters": []string{},
	})
	if err != nil {
		return nil, fmt.Errorf("bleve analyzer: %w", err)
	}
	tokens := bleve.NewTextFieldMapping()
	tokens.Analyzer = wsAnalyzer
	tokens.Store = false
	tokens.IncludeInAll = false
	tokens.IncludeTermVectors = false
	tokens.DocValues = false

	category := bleve.NewTextFieldMapping()
	category.Analyzer = keyword.Name
	category.Index = false
	category.Store = true
	category.IncludeInAll = false
	category.IncludeTermVectors = false
	category.DocValues = false

	doc := bleve.NewDocumentStaticMapping()
	doc.AddFieldMappingsAt("tokens", tokens)
	doc.AddFieldMappingsAt("category", category)
	im.DefaultMapping = doc
	im.DefaultAnalyzer = wsAnalyzer
	im.StoreDynamic = false
	im.IndexDynamic = false
	im.DocValuesDynamic = false
	if err := im.Validate(); err != nil {
		return nil, fmt.Errorf("bleve mapping: %w", err)
	}
	return im, nil
}

// buildBleve indexes every knowledge base question in one batch, as a
// developer loading a FAQ at startup would.
func buildBleve(seg *segment.Segmenter, kb []knowledge.LabeledQuestion, indexType, scoring string, fromID bool) (*bleveSystem, error) {
	im, err := bleveMapping(scoring)
	if err != nil {
		return nil, err
	}
	if scoring == index.BM25Scoring && indexType == IndexMemOnly {
		// upsidedown has no BM25 statistics: bleve would silently score
		// with tf-idf and the report would be mislabelled.
		return nil, fmt.Errorf("bleve scores bm25 only with the %s index; %s (upsidedown) falls back to tf-idf", IndexScorch, IndexMemOnly)
	}
	var idx bleve.Index
	switch indexType {
	case IndexMemOnly:
		idx, err = bleve.NewMemOnly(im)
	case IndexScorch:
		// An empty path keeps scorch's segments in memory (it then
		// also skips its persister and treats batches as unsafe).
		idx, err = bleve.NewUsing("", im, scorch.Name, scorch.Name, nil)
	default:
		return nil, fmt.Errorf("unknown bleve index type %q (want %s or %s)", indexType, IndexMemOnly, IndexScorch)
	}
	if err != nil {
		return nil, fmt.Errorf("bleve index: %w", err)
	}
	batch := idx.NewBatch()
	cats := make([]string, len(kb))
	for i, q := range kb {
		cats[i] = q.Category
		doc := bleveDoc{Category: q.Category, Tokens: strings.Join(seg.Cut(q.Text), " ")}
		if err := batch.Index(strconv.Itoa(i), doc); err != nil {
			idx.Close()
			return nil, fmt.Errorf("bleve index question %d: %w", i+1, err)
		}
	}
	if err := idx.Batch(batch); err != nil {
		idx.Close()
		return nil, fmt.Errorf("bleve index: %w", err)
	}
	return &bleveSystem{seg: seg, index: idx, cats: cats, fromID: fromID}, nil
}

// buildCarebot builds carebot's index the way the bot does.
func buildCarebot(seg *segment.Segmenter, kb []knowledge.LabeledQuestion) (*carebotSystem, error) {
	base, err := knowledge.NewBase(seg, knowledge.EntriesFromLabeled(kb), knowledge.DefaultOptions())
	if err != nil {
		return nil, fmt.Errorf("carebot index: %w", err)
	}
	return &carebotSystem{base: base}, nil
}

// measureBuild runs build and returns its result with the wall time and
// the Go heap it retains; collecting before each reading keeps garbage
// from earlier work out of the difference.
func measureBuild[T any](build func() (T, error)) (T, time.Duration, float64, error) {
	// Two collections: sync.Pool contents (carebot's query scratch sized
	// for the previous set's index) survive the first as victims and would
	// otherwise be freed during the build and make its delta negative.
	runtime.GC()
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	v, err := build()
	took := time.Since(start)
	runtime.GC()
	runtime.ReadMemStats(&after)
	heap := float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / (1 << 20)
	return v, took, heap, err
}

// Compare builds both indexes of kb, asks them every test question and,
// for carebot, every out-of-scope question, and reports both side by
// side. The segmenter is loaded before either build, so neither is
// charged for it.
func Compare(set string, seg *segment.Segmenter, kb, tests, oos []knowledge.LabeledQuestion, cfg Config) (Report, error) {
	cfg.Rounds = max(cfg.Rounds, 1)
	if cfg.BleveIndex == "" {
		cfg.BleveIndex = IndexMemOnly
	}
	rep := Report{Set: set, KBQuestions: len(kb), Questions: len(tests), OOS: len(oos), Rounds: cfg.Rounds, BleveIndex: cfg.BleveIndex, BleveCategory: "stored"}
	if cfg.BleveCategoryFromID {
		rep.BleveCategory = "id"
	}
	rep.BleveScoring = cmp.Or(cfg.BleveScoring, index.DefaultScoringModel)
	if len(kb) == 0 || len(tests) == 0 {
		return rep, fmt.Errorf("%s: empty knowledge base or test set", set)
	}

	var (
		cb               *carebotSystem
		bl               *bleveSystem
		cbRes, blRes     = Result{System: nameCarebot}, Result{System: nameBleve}
		cbBuild, blBuild time.Duration
		cbHeap, blHeap   float64
	)
	buildCb := func() (err error) {
		cb, cbBuild, cbHeap, err = measureBuild(func() (*carebotSystem, error) { return buildCarebot(seg, kb) })
		return err
	}
	buildBl := func() (err error) {
		bl, blBuild, blHeap, err = measureBuild(func() (*bleveSystem, error) {
			return buildBleve(seg, kb, cfg.BleveIndex, cfg.BleveScoring, cfg.BleveCategoryFromID)
		})
		return err
	}
	order := []func() error{buildCb, buildBl}
	if !cfg.CarebotFirst {
		order[0], order[1] = order[1], order[0]
	}
	for _, build := range order {
		if err := build(); err != nil {
			if bl != nil {
				bl.index.Close()
			}
			return rep, fmt.Errorf("%s: %w", set, err)
		}
	}
	defer bl.index.Close()
	rep.Entries = cb.base.Len()
	cbRes.BuildMs, blRes.BuildMs = ms(cbBuild), ms(blBuild)
	cbRes.HeapMB, blRes.HeapMB = cbHeap, blHeap

	systems := [2]system{cb, bl}
	if !cfg.CarebotFirst {
		systems[0], systems[1] = bl, cb
	}
	for _, s := range systems {
		for _, q := range tests[:min(cfg.Warmup, len(tests))] {
			s.top3(q.Text)
		}
	}

	// Each round asks every question to both systems back to back, the
	// first system alternating per question, so that both see the same
	// machine load. Accuracy is taken from the first round: later rounds
	// only add latency samples (carebot and NewMemOnly answer the same
	// every time; scorch may reorder equally scored questions, which the
	// README reports).
	lat := map[string][]time.Duration{}
	p50s, p99s := map[string][]float64{}, map[string][]float64{}
	hits1, hits3 := map[string]int{}, map[string]int{}
	for r := range cfg.Rounds {
		clear(lat)
		for i, q := range tests {
			first := (i + r) % 2
			for j := range 2 {
				s := systems[(first+j)%2]
				start := time.Now()
				got := s.top3(q.Text)
				lat[s.name()] = append(lat[s.name()], time.Since(start))
				if r == 0 {
					if len(got) > 0 && got[0] == q.Category {
						hits1[s.name()]++
					}
					if slices.Contains(got, q.Category) {
						hits3[s.name()]++
					}
				}
			}
		}
		for name, d := range lat {
			p50s[name] = append(p50s[name], percentileMicros(d, 0.50))
			p99s[name] = append(p99s[name], percentileMicros(d, 0.99))
		}
	}
	cut := make([]time.Duration, len(tests))
	for i, q := range tests {
		start := time.Now()
		seg.Cut(q.Text)
		cut[i] = time.Since(start)
	}
	rep.SegmentP50us = percentileMicros(cut, 0.50)

	n := float64(len(tests))
	for _, res := range []*Result{&cbRes, &blRes} {
		res.Top1 = float64(hits1[res.System]) / n
		res.Top3 = float64(hits3[res.System]) / n
		res.P50us = median(p50s[res.System])
		res.P99us = median(p99s[res.System])
	}

	if len(oos) > 0 {
		// Rejection is untimed: Decide is Search plus two comparisons.
		rejected, answered := 0, 0
		for _, q := range oos {
			if cb.base.Decide(q.Text, 3).Outcome == knowledge.OutcomeReject {
				rejected++
			}
		}
		for _, q := range tests {
			if cb.base.Decide(q.Text, 3).Outcome == knowledge.OutcomeAnswer {
				answered++
			}
		}
		rej, ans := float64(rejected)/float64(len(oos)), float64(answered)/n
		cbRes.OOSRejected, cbRes.InScopeAnswered = &rej, &ans
	}

	rep.Results = []Result{cbRes, blRes}
	rep.Ratios = Ratios{
		Top1:  ratio(cbRes.Top1, blRes.Top1),
		Top3:  ratio(cbRes.Top3, blRes.Top3),
		P50:   ratio(blRes.P50us, cbRes.P50us),
		P99:   ratio(blRes.P99us, cbRes.P99us),
		Build: ratio(blRes.BuildMs, cbRes.BuildMs),
		Heap:  ratio(blRes.HeapMB, cbRes.HeapMB),
	}
	runtime.KeepAlive(cb)
	return rep, nil
}

// ms converts a duration to fractional milliseconds.
func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// ratio is a/b, or 0 when b is not positive (reported as "-").
func ratio(a, b float64) float64 {
	if b <= 0 {
		return 0
	}
	return a / b
}

// percentileMicros returns the p-quantile of d in microseconds, taken as
// the element at rank p·(n-1), as knowledge.Evaluate does.
func percentileMicros(d []time.Duration, p float64) float64 {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return float64(s[int(p*float64(len(s)-1))].Nanoseconds()) / 1000
}

// median returns the middle value of xs (the mean of the two middle ones
// for an even count), 0 for none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
