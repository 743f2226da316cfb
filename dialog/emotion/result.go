package emotion

import "fmt"

// Tier is a care level that says how upset a customer is; handoff maps each
// tier to an action.
type Tier string

// The tiers, from calm to escalating.
const (
	TierNone     Tier = "none"     // nothing to act on
	TierMild     Tier = "mild"     // 略有不满: impatience, disappointment
	TierModerate Tier = "moderate" // 投诉抱怨: a complaint, anger, a refund demand, abuse
	TierSevere   Tier = "severe"   // 投诉升级: a threat to escalate outside the company, or abuse with repeated anger
)

// Tiers lists the tiers in rank order.
var Tiers = []Tier{TierNone, TierMild, TierModerate, TierSevere}

// Rank orders tiers: none 0, mild 1, moderate 2, severe 3; an unknown tier
// ranks -1 so that it never passes a threshold.
func (t Tier) Rank() int {
	switch t {
	case TierNone:
		return 0
	case TierMild:
		return 1
	case TierModerate:
		return 2
	case TierSevere:
		return 3
	}
	return -1
}

// ParseTier parses a tier name as written in configuration and test files.
func ParseTier(s string) (Tier, error) {
	t := Tier(s)
	if t.Rank() < 0 {
		return "", fmt.Errorf("unknown emotion tier %q (want none, mild, moderate or severe)", s)
	}
	return t, nil
}

// Label is the polarity of a message.
type Label string

// The labels.
const (
	LabelPositive Label = "positive"
	LabelNeutral  Label = "neutral"
	LabelNegative Label = "negative"
)

// Colours for the agent console.
const (
	ColourGreen  = "green"  // tier none
	ColourYellow = "yellow" // tier mild
	ColourRed    = "red"    // tier moderate or severe
)

// Cue is one piece of evidence behind a score, shown to agents so they see
// why a message was flagged.
type Cue struct {
	// Text is the matched phrase as normalised (Simplified, lower case), or
	// a description such as "!!!" or "asked again".
	Text string `json:"text"`
	// Kind is word, negation, degree, contrast, sarcasm, punctuation, caps,
	// emoji, mild, complaint, abuse, escalation, repeat or model.
	Kind string `json:"kind"`
	// Weight is the cue's contribution to the value before squashing: a
	// negation or degree cue carries the modified word's final weight.
	Weight float64 `json:"weight"`
}

// Result is the emotion of one message.
type Result struct {
	// Value is from -1 (very negative) to 1 (very positive).
	Value  float64 `json:"value"`
	Label  Label   `json:"label"`
	Colour string  `json:"colour"`
	Tier   Tier    `json:"tier"`
	Cues   []Cue   `json:"cues,omitempty"`
}

// colourOf is the console colour of a tier.
func colourOf(t Tier) string {
	switch t {
	case TierMild:
		return ColourYellow
	case TierModerate, TierSevere:
		return ColourRed
	}
	return ColourGreen
}
