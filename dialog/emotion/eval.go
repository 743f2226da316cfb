package emotion

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// TierExample is one message labelled with the tier it should get.
type TierExample struct {
	Text string
	Tier Tier
}

// Dataset is a labelled evaluation or training file: either binary
// reviews (label,review) or tiered messages (text,tier).
type Dataset struct {
	Binary []Example
	Tiers  []TierExample
}

// ReadDataset reads a CSV whose header is "label,review" (label 1 for
// positive, 0 for negative) or "text,tier". name is used in errors.
func ReadDataset(r io.Reader, name string) (Dataset, error) {
	var d Dataset
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true // reviews quote sloppily
	head, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return d, fmt.Errorf("%s: empty file, want a header label,review or text,tier", name)
	}
	if err != nil {
		return d, fmt.Errorf("%s: %w", name, err)
	}
	for i := range head {
		head[i] = strings.TrimSpace(strings.TrimPrefix(head[i], "\ufeff"))
	}
	header := strings.Join(head, ",")
	if header != "label,review" && header != "text,tier" {
		return d, fmt.Errorf("%s:1: header is %q, want label,review or text,tier", name, header)
	}
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return d, fmt.Errorf("%s: %w", name, err)
		}
		if len(rec) != 2 {
			return d, fmt.Errorf("%s:%d: want 2 fields, got %d", name, line, len(rec))
		}
		a, b := strings.TrimSpace(rec[0]), strings.TrimSpace(rec[1])
		if header == "label,review" {
			if b == "" {
				continue // a few public review sets have empty reviews
			}
			switch a {
			case "1":
				d.Binary = append(d.Binary, Example{Text: b, Positive: true})
			case "0":
				d.Binary = append(d.Binary, Example{Text: b})
			default:
				return d, fmt.Errorf("%s:%d: label %q is not 0 or 1", name, line, a)
			}
			continue
		}
		t, err := ParseTier(b)
		if err != nil {
			return d, fmt.Errorf("%s:%d: %w", name, line, err)
		}
		if a == "" {
			return d, fmt.Errorf("%s:%d: empty text", name, line)
		}
		d.Tiers = append(d.Tiers, TierExample{Text: a, Tier: t})
	}
	if len(d.Binary) == 0 && len(d.Tiers) == 0 {
		return d, fmt.Errorf("%s: no rows", name)
	}
	return d, nil
}

// ReadDatasetFile reads a dataset file.
func ReadDatasetFile(path string) (Dataset, error) {
	f, err := os.Open(path)
	if err != nil {
		return Dataset{}, fmt.Errorf("read dataset: %w", err)
	}
	defer f.Close()
	return ReadDataset(f, path)
}

// Eval holds evaluation results; the JSON keys are those `carebot emotion
// eval --json` promises. Binary metrics are set for label,review data and
// tier metrics for text,tier data; the others are nil (null in JSON).
type Eval struct {
	Messages int `json:"messages"`
	// Binary: a review is predicted negative when its value is at most 0.
	// Reviews have no neutral class, and one without any cue is more often
	// a plain account of what went wrong than praise, which uses praise
	// words (64–78% negative in the tuning data).
	Accuracy     *float64 `json:"accuracy"`
	MacroF1      *float64 `json:"macro_f1"`
	NegPrecision *float64 `json:"neg_precision"`
	NegRecall    *float64 `json:"neg_recall"`
	// Tiers: Confusion[want][got] counts messages by tier rank.
	TierAccuracy *float64         `json:"tier_accuracy"`
	TierRecall   map[Tier]float64 `json:"tier_recall"`
	Confusion    *[4][4]int       `json:"confusion,omitempty"`
	// Errors lists the tiered messages scored wrong, for tuning.
	Errors     []TierError `json:"-"`
	MsgsPerSec float64     `json:"msgs_per_sec"`
}

// TierError is a message whose tier came out wrong.
type TierError struct {
	Text      string
	Want, Got Tier
	Result    Result
}

// Evaluate scores every example of d and measures the scorer.
func (s *Scorer) Evaluate(d Dataset) Eval {
	if len(d.Tiers) > 0 {
		return s.evalTiers(d.Tiers)
	}
	return s.evalBinary(d.Binary)
}

func (s *Scorer) evalBinary(ex []Example) Eval {
	// tp, fp, fn for the negative class; tn is the rest.
	var tp, fp, fn, tn int
	start := time.Now()
	for _, e := range ex {
		negGot := s.Score(e.Text).Value <= 0
		switch {
		case negGot && !e.Positive:
			tp++
		case negGot && e.Positive:
			fp++
		case !negGot && !e.Positive:
			fn++
		default:
			tn++
		}
	}
	elapsed := time.Since(start)
	ratio := func(a, b int) float64 {
		if b == 0 {
			return 0
		}
		return float64(a) / float64(b)
	}
	f1 := func(p, r float64) float64 {
		if p+r == 0 {
			return 0
		}
		return 2 * p * r / (p + r)
	}
	negP, negR := ratio(tp, tp+fp), ratio(tp, tp+fn)
	posP, posR := ratio(tn, tn+fn), ratio(tn, tn+fp)
	acc := ratio(tp+tn, len(ex))
	macro := (f1(negP, negR) + f1(posP, posR)) / 2
	return Eval{
		Messages:     len(ex),
		Accuracy:     &acc,
		MacroF1:      &macro,
		NegPrecision: &negP,
		NegRecall:    &negR,
		MsgsPerSec:   perSec(len(ex), elapsed),
	}
}

func (s *Scorer) evalTiers(ex []TierExample) Eval {
	var conf [4][4]int
	var errs []TierError
	start := time.Now()
	results := make([]Result, len(ex))
	for i, e := range ex {
		results[i] = s.Score(e.Text)
	}
	elapsed := time.Since(start)
	right := 0
	for i, e := range ex {
		got := results[i].Tier
		conf[e.Tier.Rank()][got.Rank()]++
		if got == e.Tier {
			right++
		} else {
			errs = append(errs, TierError{Text: e.Text, Want: e.Tier, Got: got, Result: results[i]})
		}
	}
	recall := map[Tier]float64{}
	for _, t := range Tiers {
		row := conf[t.Rank()]
		n := row[0] + row[1] + row[2] + row[3]
		if n > 0 {
			recall[t] = float64(row[t.Rank()]) / float64(n)
		}
	}
	acc := float64(right) / float64(len(ex))
	return Eval{
		Messages:     len(ex),
		TierAccuracy: &acc,
		TierRecall:   recall,
		Confusion:    &conf,
		Errors:       errs,
		MsgsPerSec:   perSec(len(ex), elapsed),
	}
}

func perSec(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}
