package knowledge

// Outcome is what the bot should do with a question.
type Outcome string

// The three outcomes of Decide.
const (
	// OutcomeAnswer: one entry is a confident match; answer with it.
	OutcomeAnswer Outcome = "answer"
	// OutcomeClarify: one or more entries are close; ask which is meant.
	OutcomeClarify Outcome = "clarify"
	// OutcomeReject: nothing is close; apologise and log the question.
	OutcomeReject Outcome = "reject"
)

// Decision is the outcome for a question with the entries behind it.
type Decision struct {
	Outcome Outcome
	// Matches are the best entries, best first: for OutcomeAnswer the first
	// is the answer; for OutcomeClarify they are the choices to offer; for
	// OutcomeReject they are the nearest entries, for the unanswered log.
	Matches []Match
}

// DefaultMargin is the lead over the runner-up an answer needs; see
// Options.Margin and the measurements in docs/knowledge-base.md.
const DefaultMargin = 0.1

// Decide searches query and chooses the outcome: answer when the best
// entry scores at least MinScore and leads the runner-up by Margin (or
// suggestions are off), clarify with up to suggestions entries that score
// at least ClarifyScore, otherwise reject.
func (b *Base) Decide(query string, suggestions int) Decision {
	k := max(suggestions, 3)
	ms := b.Search(query, k)
	if len(ms) > 0 && ms[0].Score >= b.opts.MinScore {
		// "invoice" matches "how to get an invoice" and "invoice was wrong"
		// nearly equally: guessing one of two is worse than asking.
		close := suggestions > 1 && len(ms) > 1 && ms[0].Score-ms[1].Score < b.opts.Margin && ms[1].Score >= b.opts.ClarifyScore
		if !close {
			return Decision{Outcome: OutcomeAnswer, Matches: ms}
		}
	}
	var close []Match
	for _, m := range ms {
		if len(close) < suggestions && m.Score >= b.opts.ClarifyScore {
			close = append(close, m)
		}
	}
	if len(close) > 0 {
		return Decision{Outcome: OutcomeClarify, Matches: close}
	}
	return Decision{Outcome: OutcomeReject, Matches: ms}
}

// ClarifyScore returns the score from which Decide offers an entry as a
// choice.
func (b *Base) ClarifyScore() float64 { return b.opts.ClarifyScore }
