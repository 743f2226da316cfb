package configs

import (
	"errors"
	"fmt"
	"os"
)

// Emotion configures how customer messages are scored for emotion (package
// dialog/emotion). The lexicons embedded under emotion/ are always loaded;
// these settings extend and tune them.
type Emotion struct {
	// Lexicons are extra lexicon files (YAML, the format of the embedded
	// emotion/*.yaml, described in docs/emotion.md), read in order after the
	// embedded ones: they add phrases and override the weight or kind of a
	// phrase already known.
	Lexicons []string `yaml:"lexicons"`
	// Model is a model file written by `carebot emotion train`; empty
	// scores with the lexicons alone.
	Model string `yaml:"model"`
	// ModelWeight is the model's share of a message's value, above 0 and
	// at most 1;
	// the lexicon has the rest. The model moves the value and the label,
	// never the tier, which comes from the lexicon's cues.
	ModelWeight float64 `yaml:"model_weight"`
	// HalfLife is how fast a conversation's running emotion fades: the
	// weight of what was said halves every HalfLife.
	HalfLife Duration `yaml:"half_life"`
	// TurnDecay is the weight the running emotion keeps at each new
	// message, above 0 and below 1 (near 0: only the last message counts).
	TurnDecay float64 `yaml:"turn_decay"`
	// MildBelow and ModerateBelow are the values (from -1 to 1) at or below
	// which a message is at least mild or moderate even without a phrase
	// that sets its tier; PositiveAbove is where its label turns positive.
	MildBelow     float64 `yaml:"mild_below"`
	ModerateBelow float64 `yaml:"moderate_below"`
	PositiveAbove float64 `yaml:"positive_above"`
	// RecentQuestions is how many of a customer's recent questions a
	// conversation remembers to notice one asked again.
	RecentQuestions int `yaml:"recent_questions"`
}

// Validate checks the emotion settings, naming each key.
func (e Emotion) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("emotion.%s: %s", key, fmt.Sprintf(format, args...)))
	}
	for i, f := range e.Lexicons {
		if f == "" {
			bad(fmt.Sprintf("lexicons[%d]", i), "empty file name")
		} else if st, err := os.Stat(f); err != nil {
			bad(fmt.Sprintf("lexicons[%d]", i), "%v", err)
		} else if st.IsDir() {
			bad(fmt.Sprintf("lexicons[%d]", i), "%s is a directory, want a .yaml file", f)
		}
	}
	if e.Model != "" {
		if _, err := os.Stat(e.Model); err != nil {
			bad("model", "%v (train one with: carebot emotion train --data LABELED.csv --out %s)", err, e.Model)
		}
	}
	if e.ModelWeight < 0 || e.ModelWeight > 1 || e.Model != "" && e.ModelWeight == 0 {
		bad("model_weight", "must be above 0 and at most 1 when a model is set, got %g", e.ModelWeight)
	}
	if e.HalfLife <= 0 {
		bad("half_life", "must be a positive duration such as 10m")
	}
	if e.TurnDecay <= 0 || e.TurnDecay >= 1 {
		bad("turn_decay", "must be above 0 and below 1, got %g", e.TurnDecay)
	}
	if !(-1 < e.ModerateBelow && e.ModerateBelow < e.MildBelow && e.MildBelow < 0) {
		bad("mild_below", "want -1 < moderate_below (%g) < mild_below (%g) < 0", e.ModerateBelow, e.MildBelow)
	}
	if e.PositiveAbove <= 0 || e.PositiveAbove >= 1 {
		bad("positive_above", "must be above 0 and below 1, got %g", e.PositiveAbove)
	}
	if e.RecentQuestions < 1 || e.RecentQuestions > 100 {
		bad("recent_questions", "must be from 1 to 100, got %d", e.RecentQuestions)
	}
	return errors.Join(errs...)
}
