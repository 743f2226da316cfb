package outreach

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/carebot/carebot/store"
)

// kind, period, member → Answer.
var bucketAnswers = store.RegisterBucket("outreach", "outreach_answers")

// Survey kinds.
const (
	SurveyNPS       = "nps"        // 0–10, quarterly
	SurveyCSAT      = "csat"       // 1–5 after a resolved ticket; period is "T<ticket>"
	SurveyNewMember = "new-member" // day-3 check: Choice "good" or "help"
)

// Answer is one member's answer to one survey.
type Answer struct {
	Kind   string `json:"kind"`
	Period string `json:"period"`
	// Member is the loyalty member, or channel/chat for a customer who is
	// not one (CSAT from a chat without the programme).
	Member  string    `json:"member"`
	Score   int       `json:"score"`
	Choice  string    `json:"choice,omitempty"`
	Channel string    `json:"channel,omitempty"`
	ChatID  string    `json:"chat_id,omitempty"`
	At      time.Time `json:"at"`
	// First is when the member first answered; a later press of another
	// button changes the score but not First.
	First time.Time `json:"first"`
}

// ErrBadAnswer is returned for an answer out of its survey's range.
var ErrBadAnswer = errors.New("invalid survey answer")

// SaveAnswer stores a; answering again replaces the score (a member who
// pressed the wrong button corrects it). It returns the answer it
// replaced, if any (had false: this was the member's first answer).
func SaveAnswer(tx store.Tx, a Answer) (prev Answer, had bool, err error) {
	switch {
	case a.Kind == "" || a.Period == "" || a.Member == "":
		return Answer{}, false, fmt.Errorf("save answer: %w: kind, period and member are required", ErrBadAnswer)
	case a.Kind == SurveyNPS && (a.Score < 0 || a.Score > 10):
		return Answer{}, false, fmt.Errorf("save answer: %w: NPS score %d is not 0–10", ErrBadAnswer, a.Score)
	case a.Kind == SurveyCSAT && (a.Score < 1 || a.Score > 5):
		return Answer{}, false, fmt.Errorf("save answer: %w: CSAT score %d is not 1–5", ErrBadAnswer, a.Score)
	}
	key := store.Key(a.Kind, a.Period, a.Member)
	var old Answer
	ok, err := store.GetJSON(tx, bucketAnswers, key, &old)
	if err != nil {
		return Answer{}, false, fmt.Errorf("save answer: %w", err)
	}
	a.First = a.At
	if ok {
		a.First = old.First
	}
	if err := store.PutJSON(tx, bucketAnswers, key, a); err != nil {
		return Answer{}, false, fmt.Errorf("save answer: %w", err)
	}
	return old, ok, nil
}

// GetAnswer returns a member's answer to a survey.
func GetAnswer(tx store.Tx, kind, period, member string) (Answer, bool, error) {
	var a Answer
	ok, err := store.GetJSON(tx, bucketAnswers, store.Key(kind, period, member), &a)
	if err != nil {
		return Answer{}, false, fmt.Errorf("survey answer: %w", err)
	}
	return a, ok, nil
}

// NPS summarises the answers to one NPS period.
type NPS struct {
	Period     string `json:"period"`
	Responses  int    `json:"responses"`
	Promoters  int    `json:"promoters"`  // 9–10
	Passives   int    `json:"passives"`   // 7–8
	Detractors int    `json:"detractors"` // 0–6
	// Score is %promoters − %detractors (−100…100), 0 without answers.
	Score float64 `json:"score"`
}

// NPSOf computes the Net Promoter Score of period.
func NPSOf(tx store.Tx, period string) (NPS, error) {
	n := NPS{Period: period}
	err := tx.Scan(bucketAnswers, store.Prefix(SurveyNPS, period), func(_, v []byte) error {
		var a Answer
		if err := store.DecodeJSON(v, &a); err != nil {
			return err
		}
		n.Responses++
		switch {
		case a.Score >= 9:
			n.Promoters++
		case a.Score >= 7:
			n.Passives++
		default:
			n.Detractors++
		}
		return nil
	})
	if err != nil {
		return NPS{}, fmt.Errorf("nps %s: %w", period, err)
	}
	if n.Responses > 0 {
		n.Score = round1(100 * float64(n.Promoters-n.Detractors) / float64(n.Responses))
	}
	return n, nil
}

// CSAT summarises satisfaction ratings given in a time range.
type CSAT struct {
	From      time.Time `json:"from"`
	To        time.Time `json:"to"`
	Responses int       `json:"responses"`
	// Average is the mean 1–5 score; Satisfied the share (0–100) of 4s
	// and 5s, the usual CSAT figure.
	Average   float64 `json:"average"`
	Satisfied float64 `json:"satisfied"`
}

// CSATBetween computes CSAT over the ratings last given within [from, to).
func CSATBetween(tx store.Tx, from, to time.Time) (CSAT, error) {
	c := CSAT{From: from, To: to}
	sum, happy := 0, 0
	err := tx.Scan(bucketAnswers, store.Prefix(SurveyCSAT), func(_, v []byte) error {
		var a Answer
		if err := store.DecodeJSON(v, &a); err != nil {
			return err
		}
		if a.At.Before(from) || !a.At.Before(to) {
			return nil
		}
		c.Responses++
		sum += a.Score
		if a.Score >= 4 {
			happy++
		}
		return nil
	})
	if err != nil {
		return CSAT{}, fmt.Errorf("csat: %w", err)
	}
	if c.Responses > 0 {
		c.Average = round1(float64(sum) / float64(c.Responses))
		c.Satisfied = round1(100 * float64(happy) / float64(c.Responses))
	}
	return c, nil
}

func round1(f float64) float64 { return math.Round(f*10) / 10 }
