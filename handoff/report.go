package handoff

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/carebot/carebot/store"
)

// CauseCount is one line of a cause report.
type CauseCount struct {
	Cause string `json:"cause"`
	Count int    `json:"count"`
}

// Report summarises the tickets resolved in a period: the member emotion
// archive read by cause, for the weekly report.
type Report struct {
	From     time.Time `json:"from"`
	To       time.Time `json:"to"`
	Opened   int       `json:"opened"`
	Resolved int       `json:"resolved"`
	// ByTier counts tickets opened in the period by tier.
	ByTier map[string]int `json:"by_tier"`
	// Causes counts resolved tickets by cause, most frequent first.
	Causes []CauseCount `json:"causes"`
	// TopCauses are the first three of Causes.
	TopCauses []CauseCount `json:"top_causes"`
	// SLAMissed counts tickets escalated for a missed claim deadline.
	SLAMissed int `json:"sla_missed"`
	// CSATAverage is the mean score of the rated tickets, 0 when none.
	CSATAverage float64 `json:"csat_average"`
	CSATCount   int     `json:"csat_count"`
	Reopened    int     `json:"reopened"`
}

// BuildReport reads every ticket opened or resolved in [from, to).
func BuildReport(tx store.Tx, from, to time.Time) (Report, error) {
	r := Report{From: from, To: to, ByTier: map[string]int{}, Causes: []CauseCount{}}
	causes := map[string]int{}
	csatSum := 0
	in := func(t time.Time) bool { return !t.IsZero() && !t.Before(from) && t.Before(to) }
	err := tx.Scan(bucketTickets, nil, func(_, v []byte) error {
		var t Ticket
		if err := store.DecodeJSON(v, &t); err != nil {
			return err
		}
		if in(t.Created) {
			r.Opened++
			r.ByTier[string(t.Tier)]++
			if t.Escalated {
				r.SLAMissed++
			}
		}
		if in(t.Resolved) {
			r.Resolved++
			causes[t.Cause]++
			if t.CSAT > 0 {
				r.CSATCount++
				csatSum += t.CSAT
			}
			if t.Reopened > 0 {
				r.Reopened++
			}
		}
		return nil
	})
	if err != nil {
		return r, fmt.Errorf("ticket report: %w", err)
	}
	for c, n := range causes {
		r.Causes = append(r.Causes, CauseCount{Cause: c, Count: n})
	}
	slices.SortFunc(r.Causes, func(a, b CauseCount) int {
		return cmp.Or(b.Count-a.Count, cmp.Compare(a.Cause, b.Cause))
	})
	r.TopCauses = r.Causes[:min(3, len(r.Causes))]
	if r.CSATCount > 0 {
		r.CSATAverage = float64(csatSum) / float64(r.CSATCount)
	}
	return r, nil
}
