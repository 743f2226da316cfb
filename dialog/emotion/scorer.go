package emotion

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/carebot/carebot/segment"
)

// Options tune a Scorer. The zero value of a field means its default (see
// DefaultOptions).
type Options struct {
	// Model, if not nil, is blended with the lexicon: the value is
	// (1-ModelWeight)·lexicon + ModelWeight·model.
	Model       *Model
	ModelWeight float64
	// HalfLife is how fast a conversation's running value forgets the past
	// in time; TurnDecay is the weight the running value keeps at each new
	// message (0 < TurnDecay < 1). See Conversation.
	HalfLife  time.Duration
	TurnDecay float64
	// MildBelow and ModerateBelow are the values at or below which a
	// message is at least mild or moderate even without a phrase that sets
	// the tier; PositiveAbove is where the label turns positive.
	MildBelow, ModerateBelow, PositiveAbove float64
	// RecentQuestions is how many recent questions a Conversation keeps to
	// notice one asked again.
	RecentQuestions int
	// MaxRunes is how much of a message is read: emotion shows in the
	// first lines, and a pasted essay must not cost more than a message.
	MaxRunes int
}

// DefaultOptions returns the defaults the zero fields of Options take.
func DefaultOptions() Options {
	return Options{
		ModelWeight:     0.4,
		HalfLife:        10 * time.Minute,
		TurnDecay:       0.6,
		MildBelow:       -0.2,
		ModerateBelow:   -0.7,
		PositiveAbove:   0.2,
		RecentQuestions: 8,
		MaxRunes:        1000,
	}
}

// withDefaults fills the zero fields of o.
func (o Options) withDefaults() Options {
	d := DefaultOptions()
	if o.ModelWeight == 0 {
		o.ModelWeight = d.ModelWeight
	}
	if o.HalfLife == 0 {
		o.HalfLife = d.HalfLife
	}
	if o.TurnDecay == 0 {
		o.TurnDecay = d.TurnDecay
	}
	if o.MildBelow == 0 {
		o.MildBelow = d.MildBelow
	}
	if o.ModerateBelow == 0 {
		o.ModerateBelow = d.ModerateBelow
	}
	if o.PositiveAbove == 0 {
		o.PositiveAbove = d.PositiveAbove
	}
	if o.RecentQuestions == 0 {
		o.RecentQuestions = d.RecentQuestions
	}
	if o.MaxRunes == 0 {
		o.MaxRunes = d.MaxRunes
	}
	return o
}

func (o Options) validate() error {
	var errs []error
	if o.ModelWeight < 0 || o.ModelWeight > 1 {
		errs = append(errs, fmt.Errorf("model weight %g is not in [0, 1]", o.ModelWeight))
	}
	if o.HalfLife < 0 {
		errs = append(errs, fmt.Errorf("half-life %s is negative", o.HalfLife))
	}
	if o.TurnDecay < 0 || o.TurnDecay >= 1 {
		errs = append(errs, fmt.Errorf("turn decay %g is not in [0, 1)", o.TurnDecay))
	}
	if !(-1 < o.ModerateBelow && o.ModerateBelow < o.MildBelow && o.MildBelow < 0) {
		errs = append(errs, fmt.Errorf("thresholds must satisfy -1 < moderate (%g) < mild (%g) < 0", o.ModerateBelow, o.MildBelow))
	}
	if o.PositiveAbove <= 0 || o.PositiveAbove >= 1 {
		errs = append(errs, fmt.Errorf("positive threshold %g is not in (0, 1)", o.PositiveAbove))
	}
	if o.RecentQuestions < 0 || o.MaxRunes < 0 {
		errs = append(errs, errors.New("recent questions and max runes must not be negative"))
	}
	return errors.Join(errs...)
}

// Scorer scores messages. It is safe for concurrent use.
type Scorer struct {
	seg  *segment.Segmenter
	lex  *Lexicon
	opts Options
	// scratch recycles the match buffers so that Score allocates only
	// what it returns.
	scratch sync.Pool
}

// NewScorer returns a scorer over lex. seg is needed only by a model
// trained with word features (see TrainOptions.Words) and may otherwise be
// nil.
func NewScorer(seg *segment.Segmenter, lex *Lexicon, opts Options) (*Scorer, error) {
	if lex == nil {
		return nil, errors.New("new emotion scorer: no lexicon")
	}
	opts = opts.withDefaults()
	if err := opts.validate(); err != nil {
		return nil, fmt.Errorf("new emotion scorer: %w", err)
	}
	if opts.Model != nil && opts.Model.Words && seg == nil {
		return nil, errors.New("new emotion scorer: the model uses jieba words but no segmenter was given")
	}
	s := &Scorer{seg: seg, lex: lex, opts: opts}
	s.scratch.New = func() any { return &scanned{matches: make([]match, 0, 16)} }
	return s, nil
}

// Options returns the options in effect, defaults filled in.
func (s *Scorer) Options() Options { return s.opts }

// Score scores one message without context. It never panics and reads at
// most Options.MaxRunes runes of text.
func (s *Scorer) Score(text string) Result {
	r, _ := s.score(text)
	return r
}

// score returns the result and the normalised text it read.
func (s *Scorer) score(text string) (Result, string) {
	text = capText(text, s.opts.MaxRunes)
	norm := segment.Normalize(text)
	if strings.ContainsAny(norm, "’‘") {
		// Normalize keeps typographic apostrophes; the lexicon writes don't.
		norm = strings.NewReplacer("’", "'", "‘", "'").Replace(norm)
	}
	sc := s.scratch.Get().(*scanned)
	*sc = scanned{matches: sc.matches[:0]}
	s.lex.scan(norm, sc)
	c := compose(norm, sc, capsWords(text))
	s.scratch.Put(sc)

	v := c.value
	if s.opts.Model != nil {
		m := s.opts.Model.value(s.seg, norm)
		v = blend(c.value, m, s.opts.ModelWeight)
		c.addCue(Cue{Text: "model", Kind: "model", Weight: round3(m)})
	}
	return s.finish(c, v), norm
}

// blend combines the lexicon's value and the model's linearly. (Adding the
// model to the lexicon's sum before tanh measured within a point of it on
// the review data.)
func blend(lex, model, w float64) float64 {
	return (1-w)*lex + w*model
}

// capText cuts text to at most maxRunes runes; text no longer than
// maxRunes bytes cannot have more runes and is returned without counting.
func capText(text string, maxRunes int) string {
	if maxRunes <= 0 || len(text) <= maxRunes {
		return text
	}
	n := 0
	for i := range text {
		if n == maxRunes {
			return text[:i]
		}
		n++
	}
	return text
}

// finish sets the tier, label and colour, keeping the value consistent with
// the tier: a message that earns a tier is negative however much praise it
// also holds.
func (s *Scorer) finish(c composed, blended float64) Result {
	o := s.opts
	v := max(-1, min(1, c.value))
	tier := TierNone
	switch {
	case c.escalation > 0, c.abuse > 0 && c.anger >= 2, c.abuse >= 2 && c.anger >= 1,
		// Naming a platform or the media is a threat only when upset.
		c.exposure > 0 && (c.mild+c.complaint+c.abuse > 0 || v <= o.MildBelow):
		tier = TierSevere
	case c.complaint > 0, c.abuse > 0, v <= o.ModerateBelow, c.sarcastic && c.negatives+c.mild > 0:
		tier = TierModerate
	case c.mild > 0 && v < o.PositiveAbove, c.insist, v <= o.MildBelow:
		tier = TierMild
	}
	return s.result(max(-1, min(1, blended)), tier, c.cues)
}

// result assembles a Result, moving the value into the tier's band.
func (s *Scorer) result(v float64, tier Tier, cues []Cue) Result {
	o := s.opts
	switch tier {
	case TierSevere:
		v = min(v, (o.ModerateBelow-1)/2)
	case TierModerate:
		v = min(v, o.ModerateBelow)
	case TierMild:
		v = min(v, o.MildBelow)
	}
	label := LabelNeutral
	switch {
	case tier != TierNone, v <= o.MildBelow:
		label = LabelNegative
	case v >= o.PositiveAbove:
		label = LabelPositive
	}
	return Result{Value: round3(v), Label: label, Colour: colourOf(tier), Tier: tier, Cues: cues}
}

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }
