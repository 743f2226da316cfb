package knowledge

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/carebot/carebot/store"
)

// bucketUnanswered aggregates questions the bot could not answer, keyed by
// their normalised text, so the knowledge base owner sees what to add first.
var bucketUnanswered = store.RegisterBucket("knowledge", "knowledge_unanswered")

// maxExamples is how many original phrasings an aggregate keeps.
const maxExamples = 3

// Unanswered is one question the bot could not answer directly.
type Unanswered struct {
	// Query is the normalised text that was searched; it is the aggregate key.
	Query string
	// Text is what the customer wrote.
	Text    string
	Locale  string
	Outcome string // "unanswered" or "clarify"
	Channel string
	Time    time.Time
	// Nearest are the closest entries, best first.
	Nearest []Match
}

// NearEntry is an entry close to an unanswered question.
type NearEntry struct {
	ID    string  `json:"id"`
	Score float64 `json:"score"`
}

// UnansweredStat aggregates every time one question went unanswered.
type UnansweredStat struct {
	Query    string         `json:"query"`
	Count    int            `json:"count"`
	Outcomes map[string]int `json:"outcomes"`
	Locales  map[string]int `json:"locales"`
	Examples []string       `json:"examples"`
	// Nearest are the entries closest to the question when it was last
	// asked, best first: where a manager would most likely add it.
	Nearest   []NearEntry `json:"nearest,omitempty"`
	FirstSeen time.Time   `json:"first_seen"`
	LastSeen  time.Time   `json:"last_seen"`
}

// RecordUnanswered adds q to its aggregate inside the caller's transaction,
// so the log is written exactly when the conversation turn is.
func RecordUnanswered(tx store.Tx, q Unanswered) error {
	query := strings.TrimSpace(q.Query)
	if query == "" {
		return nil
	}
	if len(query) > 512 {
		query = strings.ToValidUTF8(query[:512], "")
	}
	key := []byte(query)
	var st UnansweredStat
	if _, err := store.GetJSON(tx, bucketUnanswered, key, &st); err != nil {
		return fmt.Errorf("read unanswered %q: %w", query, err)
	}
	if st.Count == 0 {
		st = UnansweredStat{Query: query, FirstSeen: q.Time, Outcomes: map[string]int{}, Locales: map[string]int{}}
	}
	st.Count++
	st.LastSeen = q.Time
	st.Nearest = st.Nearest[:0]
	for _, m := range q.Nearest {
		if m.Entry != nil && len(st.Nearest) < 3 {
			st.Nearest = append(st.Nearest, NearEntry{ID: m.Entry.ID, Score: m.Score})
		}
	}
	st.Outcomes[q.Outcome]++
	if q.Locale != "" {
		st.Locales[q.Locale]++
	}
	text := strings.TrimSpace(q.Text)
	if len(text) > 300 {
		text = strings.ToValidUTF8(text[:300], "") + "…"
	}
	if text != "" && !contains(st.Examples, text) {
		st.Examples = append(st.Examples, text)
		if len(st.Examples) > maxExamples {
			st.Examples = st.Examples[len(st.Examples)-maxExamples:]
		}
	}
	return store.PutJSON(tx, bucketUnanswered, key, st)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TopUnanswered returns the n most frequent unanswered questions, most
// frequent first, then most recent.
func TopUnanswered(tx store.Tx, n int) ([]UnansweredStat, error) {
	var all []UnansweredStat
	err := tx.Scan(bucketUnanswered, nil, func(_, v []byte) error {
		var st UnansweredStat
		if err := store.DecodeJSON(v, &st); err != nil {
			return err
		}
		all = append(all, st)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list unanswered: %w", err)
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].Count != all[j].Count {
			return all[i].Count > all[j].Count
		}
		return all[i].LastSeen.After(all[j].LastSeen)
	})
	if len(all) > n {
		all = all[:n]
	}
	return all, nil
}
