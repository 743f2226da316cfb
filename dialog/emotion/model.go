package emotion

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"unicode"
	"unicode/utf8"

	"github.com/carebot/carebot/segment"
)

// ModelVersion is the version of the model file format this code writes
// and reads.
const ModelVersion = 1

// Model is a naive Bayes classifier of positive and negative text over
// character n-grams (Latin words count as one character) and, optionally,
// jieba words. It is what `carebot emotion train` writes; the Scorer blends
// it with the lexicon. It is read-only after training and safe for
// concurrent use.
type Model struct {
	Version int    `json:"version"`
	Kind    string `json:"kind"` // "naive-bayes"
	// NGrams is the longest character n-gram used; all shorter ones are
	// used too.
	NGrams int `json:"ngrams"`
	// Words says jieba words are features too, so scoring needs the
	// segmenter.
	Words bool `json:"words"`
	// Scale divides a text's evidence before tanh turns it into a value
	// in (-1, 1); training sets it so that a typical training text maps to
	// about ±0.76.
	Scale float64 `json:"scale"`
	// Weights maps n-grams to log P(f|positive) − log P(f|negative).
	Weights map[string]float32 `json:"weights"`
	// WordWeights maps jieba words likewise.
	WordWeights map[string]float32 `json:"word_weights,omitempty"`
	// Examples and Positives describe the training data.
	Examples  int `json:"examples"`
	Positives int `json:"positives"`
}

// Example is one labelled text for training or evaluation.
type Example struct {
	Text     string
	Positive bool
}

// TrainOptions tune TrainModel. Zero fields take the defaults.
type TrainOptions struct {
	NGrams   int     // longest character n-gram, default 3
	Words    bool    // add jieba words as features (needs a segmenter)
	MinCount int     // drop features seen fewer times, default 2
	Alpha    float64 // additive smoothing, default 1
	// MaxFeatures keeps the most informative features, default 200,000,
	// so that a model file stays a few megabytes.
	MaxFeatures int
}

// TrainModel trains a naive Bayes model. seg is needed when opts.Words is
// set.
func TrainModel(seg *segment.Segmenter, examples []Example, opts TrainOptions) (*Model, error) {
	if opts.NGrams == 0 {
		opts.NGrams = 2
	}
	if opts.MinCount == 0 {
		opts.MinCount = 2
	}
	if opts.Alpha == 0 {
		opts.Alpha = 1
	}
	if opts.MaxFeatures == 0 {
		opts.MaxFeatures = 200_000
	}
	if opts.NGrams < 1 || opts.NGrams > 5 {
		return nil, fmt.Errorf("train emotion model: n-grams %d is not from 1 to 5", opts.NGrams)
	}
	if opts.Words && seg == nil {
		return nil, errors.New("train emotion model: word features need the jieba segmenter")
	}
	var pos, neg int
	for _, ex := range examples {
		if ex.Positive {
			pos++
		} else {
			neg++
		}
	}
	if pos == 0 || neg == 0 {
		return nil, fmt.Errorf("train emotion model: need positive and negative examples, got %d and %d", pos, neg)
	}
	// counts[f] holds the feature's count in positive and negative texts.
	grams := map[string]*[2]float64{}
	words := map[string]*[2]float64{}
	var totals, wordTotals [2]float64
	for _, ex := range examples {
		cls := 1
		if ex.Positive {
			cls = 0
		}
		norm := segment.Normalize(ex.Text)
		eachGram(norm, opts.NGrams, func(g string) {
			c := grams[g]
			if c == nil {
				c = new([2]float64)
				grams[g] = c
			}
			c[cls]++
			totals[cls]++
		})
		if opts.Words {
			for _, w := range seg.Cut(norm) {
				c := words[w]
				if c == nil {
					c = new([2]float64)
					words[w] = c
				}
				c[cls]++
				wordTotals[cls]++
			}
		}
	}
	m := &Model{
		Version:   ModelVersion,
		Kind:      "naive-bayes",
		NGrams:    opts.NGrams,
		Words:     opts.Words,
		Examples:  len(examples),
		Positives: pos,
	}
	m.Weights = logRatios(grams, totals, opts)
	if opts.Words {
		m.WordWeights = logRatios(words, wordTotals, opts)
	}
	// Calibrate: the mean absolute evidence of the training texts maps to
	// tanh(1) ≈ 0.76.
	m.Scale = 1
	var sum float64
	for _, ex := range examples {
		sum += math.Abs(m.evidence(seg, segment.Normalize(ex.Text)))
	}
	if mean := sum / float64(len(examples)); mean > 0 {
		m.Scale = mean
	}
	return m, nil
}

// logRatios turns counts into smoothed log-likelihood ratios and keeps the
// most informative features.
func logRatios(counts map[string]*[2]float64, totals [2]float64, opts TrainOptions) map[string]float32 {
	type feat struct {
		key   string
		w     float64
		score float64
	}
	v := float64(len(counts))
	feats := make([]feat, 0, len(counts))
	for k, c := range counts {
		if c[0]+c[1] < float64(opts.MinCount) {
			continue
		}
		w := math.Log((c[0]+opts.Alpha)/(totals[0]+opts.Alpha*v)) - math.Log((c[1]+opts.Alpha)/(totals[1]+opts.Alpha*v))
		// Informative: a strong ratio seen often.
		feats = append(feats, feat{k, w, math.Abs(w) * math.Log1p(c[0]+c[1])})
	}
	if len(feats) > opts.MaxFeatures {
		slices.SortFunc(feats, func(a, b feat) int {
			switch {
			case a.score > b.score:
				return -1
			case a.score < b.score:
				return 1
			}
			return 0
		})
		feats = feats[:opts.MaxFeatures]
	}
	out := make(map[string]float32, len(feats))
	for _, f := range feats {
		out[f.key] = float32(f.w)
	}
	return out
}

// eachGram calls f with every character n-gram of norm up to n long.
// Han characters count one each, a run of Latin letters or digits counts
// one; n-grams do not cross punctuation, so each is a substring of norm
// (spaces included) and looking it up allocates nothing.
func eachGram(norm string, n int, f func(string)) {
	// starts and ends of the last n units in the current stretch.
	var starts, ends [5]int
	k := 0 // units in the window so far
	for i := 0; i < len(norm); {
		r, size := utf8.DecodeRuneInString(norm[i:])
		switch {
		case r == ' ':
			i += size
			continue
		case isASCIIAlnum(r):
			j := i + size
			for j < len(norm) && isASCIIAlnum(rune(norm[j])) {
				j++
			}
			pushUnit(&starts, &ends, &k, n, i, j)
			i = j
		case unicode.IsLetter(r) || unicode.IsNumber(r):
			pushUnit(&starts, &ends, &k, n, i, i+size)
			i += size
		default:
			k = 0 // punctuation, symbols, emoji end a stretch
			i += size
			continue
		}
		// Emit the n-grams that end at the unit just added.
		last := min(k, n)
		for l := 1; l <= last; l++ {
			f(norm[starts[(k-l)%n]:ends[(k-1)%n]])
		}
	}
}

func pushUnit(starts, ends *[5]int, k *int, n, start, end int) {
	starts[*k%n], ends[*k%n] = start, end
	*k++
}

// evidence sums the log-likelihood ratios of the features of norm and
// divides by the square root of their number. The division keeps a long
// review from saturating (naive Bayes counts correlated n-grams as
// independent evidence), and the class prior of the training data is left
// out: the share of negative reviews in a review set says nothing about a
// customer's next message. Both measured better across domains (food
// delivery ↔ shopping) than plain naive Bayes.
func (m *Model) evidence(seg *segment.Segmenter, norm string) float64 {
	var sum float64
	n := 0
	eachGram(norm, m.NGrams, func(g string) {
		sum += float64(m.Weights[g])
		n++
	})
	if m.Words && seg != nil {
		for _, w := range seg.Cut(norm) {
			sum += float64(m.WordWeights[w])
			n++
		}
	}
	if n == 0 {
		return 0
	}
	return sum / math.Sqrt(float64(n))
}

// value maps the evidence of norm into (-1, 1).
func (m *Model) value(seg *segment.Segmenter, norm string) float64 {
	if norm == "" {
		return 0
	}
	return math.Tanh(m.evidence(seg, norm) / m.Scale)
}

// Value returns the model's value for text, from -1 (negative) to 1.
func (m *Model) Value(seg *segment.Segmenter, text string) float64 {
	return m.value(seg, segment.Normalize(text))
}

// Write writes the model as gzip-compressed JSON.
func (m *Model) Write(w io.Writer) error {
	zw := gzip.NewWriter(w)
	if err := json.NewEncoder(zw).Encode(m); err != nil {
		return fmt.Errorf("write emotion model: %w", err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("write emotion model: %w", err)
	}
	return nil
}

// Save writes the model to path.
func (m *Model) Save(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("save emotion model: %w", err)
	}
	bw := bufio.NewWriter(f)
	if err := m.Write(bw); err != nil {
		f.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("save emotion model: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("save emotion model: %w", err)
	}
	return nil
}

// ReadModel reads a model written by Write and checks it.
func ReadModel(r io.Reader) (*Model, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("read emotion model: not a model file: %w", err)
	}
	defer zr.Close()
	var m Model
	if err := json.NewDecoder(zr).Decode(&m); err != nil {
		return nil, fmt.Errorf("read emotion model: %w", err)
	}
	switch {
	case m.Version != ModelVersion:
		return nil, fmt.Errorf("read emotion model: version %d, this carebot reads version %d (retrain with carebot emotion train)", m.Version, ModelVersion)
	case m.Kind != "naive-bayes":
		return nil, fmt.Errorf("read emotion model: unknown kind %q", m.Kind)
	case m.NGrams < 1 || m.NGrams > 5:
		return nil, fmt.Errorf("read emotion model: n-grams %d is not from 1 to 5", m.NGrams)
	case !(m.Scale > 0) || math.IsInf(m.Scale, 0):
		return nil, errors.New("read emotion model: bad scale")
	case len(m.Weights) == 0:
		return nil, errors.New("read emotion model: no weights")
	}
	return &m, nil
}

// LoadModel reads the model file at path.
func LoadModel(path string) (*Model, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load emotion model: %w", err)
	}
	defer f.Close()
	m, err := ReadModel(bufio.NewReader(f))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}
