package dialog

import (
	"fmt"
	"strconv"
	"strings"
)

// Payloads of survey buttons sent by scheduled care: "nps:PERIOD:SCORE"
// (0–10) and "welcome:PERIOD:good|help" (the new-member check).
const (
	PayloadNPSPrefix       = "nps:"
	PayloadNewMemberPrefix = "welcome:"
)

// Survey kinds in a SurveyAnswer.
const (
	SurveyNPS       = "nps"
	SurveyNewMember = "new-member"
)

// New-member check answers.
const (
	ChoiceGood = "good"
	ChoiceHelp = "help"
)

// SurveyAnswer is a customer's press of a survey button.
type SurveyAnswer struct {
	Kind   string
	Period string
	Score  int
	Choice string
}

// NPSButtons are the 0–10 buttons of an NPS prompt for period.
func NPSButtons(period string) []Button {
	bs := make([]Button, 11)
	for i := range bs {
		bs[i] = Button{Label: strconv.Itoa(i), Payload: fmt.Sprintf("%s%s:%d", PayloadNPSPrefix, period, i)}
	}
	return bs
}

// NewMemberButtons are the two buttons of the new-member check, labelled
// in locale.
func (r *Router) NewMemberButtons(period, locale string) []Button {
	return []Button{
		{Label: r.text("button_all_good", locale), Payload: PayloadNewMemberPrefix + period + ":" + ChoiceGood},
		{Label: r.text("button_need_help", locale), Payload: PayloadNewMemberPrefix + period + ":" + ChoiceHelp},
	}
}

// parseSurvey reads a survey button's payload; anything malformed (a
// forged or truncated payload) is not a survey answer.
func parseSurvey(payload string) (SurveyAnswer, bool) {
	if rest, ok := strings.CutPrefix(payload, PayloadNPSPrefix); ok {
		period, score, ok := strings.Cut(rest, ":")
		s, err := strconv.Atoi(score)
		if !ok || err != nil || s < 0 || s > 10 || !validPeriod(period) {
			return SurveyAnswer{}, false
		}
		return SurveyAnswer{Kind: SurveyNPS, Period: period, Score: s}, true
	}
	if rest, ok := strings.CutPrefix(payload, PayloadNewMemberPrefix); ok {
		period, choice, ok := strings.Cut(rest, ":")
		if !ok || !validPeriod(period) || (choice != ChoiceGood && choice != ChoiceHelp) {
			return SurveyAnswer{}, false
		}
		return SurveyAnswer{Kind: SurveyNewMember, Period: period, Choice: choice}, true
	}
	return SurveyAnswer{}, false
}

// validPeriod accepts the period names care uses ("2026Q4", "2026-11-20").
func validPeriod(p string) bool {
	if p == "" || len(p) > 20 {
		return false
	}
	for _, c := range p {
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c == '-') {
			return false
		}
	}
	return true
}
