package knowledge

import (
	"fmt"
	"runtime"
	"slices"
	"time"

	"github.com/carebot/carebot/segment"
)

// evalDepth is how deep the ranking is read for top-3 and MRR: a right
// entry below rank 10 counts as not found.
const evalDepth = 10

// EvalResult measures a knowledge base against labelled questions. Rates
// are shares in [0,1] of the in-scope test questions unless named oos.
type EvalResult struct {
	Entries   int `json:"entries"`
	KBSize    int `json:"kb_questions"`
	Questions int `json:"questions"`
	OOS       int `json:"oos_questions"`
	// Top1, Top3 and MRR rank entries by score, whatever the outcome.
	Top1 float64 `json:"top1"`
	Top3 float64 `json:"top3"`
	MRR  float64 `json:"mrr"`
	// Answered, Clarified and Rejected are the outcomes of Decide.
	Answered  float64 `json:"answered"`
	Clarified float64 `json:"clarified"`
	Rejected  float64 `json:"rejected"`
	// AnsweredRight is the share answered with the right entry;
	// AnsweredWrong the share answered with a wrong one.
	AnsweredRight float64 `json:"answered_right"`
	AnsweredWrong float64 `json:"answered_wrong"`
	// OOSRejected is the share of out-of-scope questions rejected (neither
	// answered nor clarified).
	OOSRejected float64 `json:"oos_rejected"`
	// OOSAnswered is the share of out-of-scope questions answered.
	OOSAnswered float64 `json:"oos_answered"`
	P50us       float64 `json:"p50_us"`
	P99us       float64 `json:"p99_us"`
	BuildMs     float64 `json:"build_ms"`
	HeapMB      float64 `json:"heap_mb"`
}

// EvaluateCSV builds a Base from labelled knowledge-base questions (one
// entry per category), measuring build time and the heap it holds, and
// evaluates it with Evaluate.
func EvaluateCSV(seg *segment.Segmenter, kb, tests, oos []LabeledQuestion, opts Options) (EvalResult, *Base, error) {
	return EvaluateEntries(seg, EntriesFromLabeled(kb), tests, oos, opts)
}

// EvaluateEntries is EvaluateCSV for a knowledge base already made of
// entries (a YAML knowledge base); test categories are entry ids.
func EvaluateEntries(seg *segment.Segmenter, entries []Entry, tests, oos []LabeledQuestion, opts Options) (EvalResult, *Base, error) {
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	b, err := NewBase(seg, entries, opts)
	if err != nil {
		return EvalResult{}, nil, fmt.Errorf("build index: %w", err)
	}
	build := time.Since(start)
	runtime.GC()
	runtime.ReadMemStats(&after)
	res := Evaluate(b, tests, oos)
	for _, e := range entries {
		for _, qs := range e.Questions {
			res.KBSize += len(qs)
		}
	}
	res.BuildMs = float64(build.Microseconds()) / 1000
	res.HeapMB = float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / (1 << 20)
	runtime.KeepAlive(b)
	return res, b, nil
}

// Evaluate asks every test question and every out-of-scope question and
// measures ranking, outcomes and latency (of Decide, one query at a time).
func Evaluate(b *Base, tests, oos []LabeledQuestion) EvalResult {
	res := EvalResult{Entries: b.Len(), Questions: len(tests), OOS: len(oos)}
	lat := make([]time.Duration, 0, len(tests)+len(oos))
	var top1, top3, rr, ans, clar, rej, right, wrong float64
	for _, q := range tests {
		start := time.Now()
		d := b.Decide(q.Text, 3)
		lat = append(lat, time.Since(start))
		ranked := b.Search(q.Text, evalDepth)
		for i, m := range ranked {
			if m.Entry.ID == q.Category {
				rr += 1 / float64(i+1)
				if i == 0 {
					top1++
				}
				if i < 3 {
					top3++
				}
				break
			}
		}
		switch d.Outcome {
		case OutcomeAnswer:
			ans++
			if d.Matches[0].Entry.ID == q.Category {
				right++
			} else {
				wrong++
			}
		case OutcomeClarify:
			clar++
		default:
			rej++
		}
	}
	var oosRej, oosAns float64
	for _, q := range oos {
		start := time.Now()
		d := b.Decide(q.Text, 3)
		lat = append(lat, time.Since(start))
		switch d.Outcome {
		case OutcomeReject:
			oosRej++
		case OutcomeAnswer:
			oosAns++
		}
	}
	if n := float64(len(tests)); n > 0 {
		res.Top1, res.Top3, res.MRR = top1/n, top3/n, rr/n
		res.Answered, res.Clarified, res.Rejected = ans/n, clar/n, rej/n
		res.AnsweredRight, res.AnsweredWrong = right/n, wrong/n
	}
	if n := float64(len(oos)); n > 0 {
		res.OOSRejected, res.OOSAnswered = oosRej/n, oosAns/n
	}
	res.P50us, res.P99us = percentileMicros(lat, 0.50), percentileMicros(lat, 0.99)
	return res
}

func percentileMicros(d []time.Duration, p float64) float64 {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := int(p * float64(len(s)-1))
	return float64(s[i].Nanoseconds()) / 1000
}
