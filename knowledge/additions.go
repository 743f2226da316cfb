package knowledge

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/carebot/carebot/segment"
	"github.com/carebot/carebot/store"
)

// bucketAdditions keeps questions added to entries at run time (from the
// unanswered list), entry id → Addition list. They live in the database
// rather than in the YAML files so that the embedded demo can be extended
// too and a manager's additions never rewrite a file an operator owns.
var bucketAdditions = store.RegisterBucket("knowledge", "knowledge_additions")

// maxQuestionLen bounds an added question; longer text is not a question.
const maxQuestionLen = 300

// Addition is one question added to an entry at run time.
type Addition struct {
	Locale string    `json:"locale"`
	Text   string    `json:"text"`
	By     string    `json:"by,omitempty"`
	Time   time.Time `json:"time"`
}

// AddQuestion adds text as a similar question of entry id (which must be in
// b) and removes the question from the unanswered list, in the caller's
// transaction. An empty locale is detected from the text. Adding a question
// the entry already has is not an error and adds nothing; it reports
// whether the question was new.
func AddQuestion(tx store.Tx, b *Base, id, locale, text, by string, at time.Time) (Addition, bool, error) {
	e, ok := b.Entry(id)
	if !ok {
		return Addition{}, false, fmt.Errorf("add question: no entry %q", id)
	}
	text = strings.TrimSpace(strings.ToValidUTF8(text, ""))
	if text == "" {
		return Addition{}, false, fmt.Errorf("add question: empty text")
	}
	if utf8.RuneCountInString(text) > maxQuestionLen {
		return Addition{}, false, fmt.Errorf("add question: longer than %d characters", maxQuestionLen)
	}
	if locale == "" {
		locale = segment.DetectLocale(text)
	}
	if !isLocale(locale) {
		return Addition{}, false, fmt.Errorf("add question: locale %q is not one of zh-Hans, zh-Hant, en", locale)
	}
	add := Addition{Locale: locale, Text: text, By: by, Time: at}
	norm := segment.Normalize(text)
	if err := tx.Delete(bucketUnanswered, []byte(norm)); err != nil {
		return add, false, err
	}
	for _, qs := range e.Questions {
		for _, q := range qs {
			if segment.Normalize(q) == norm {
				return add, false, nil
			}
		}
	}
	var list []Addition
	if _, err := store.GetJSON(tx, bucketAdditions, []byte(id), &list); err != nil {
		return add, false, fmt.Errorf("add question: %w", err)
	}
	if slices.ContainsFunc(list, func(a Addition) bool { return segment.Normalize(a.Text) == norm }) {
		return add, false, nil
	}
	list = append(list, add)
	if err := store.PutJSON(tx, bucketAdditions, []byte(id), list); err != nil {
		return add, false, fmt.Errorf("add question: %w", err)
	}
	return add, true, nil
}

// Additions returns every question added at run time, by entry id.
func Additions(tx store.Tx) (map[string][]Addition, error) {
	out := map[string][]Addition{}
	err := tx.Scan(bucketAdditions, nil, func(k, v []byte) error {
		var list []Addition
		if err := store.DecodeJSON(v, &list); err != nil {
			return fmt.Errorf("additions of %s: %w", k, err)
		}
		out[string(k)] = list
		return nil
	})
	return out, err
}

// WithAdditions returns entries with the added questions appended; it
// returns the ids of additions whose entry no longer exists, which the
// caller reports (the knowledge base files may have dropped the entry).
func WithAdditions(entries []Entry, adds map[string][]Addition) ([]Entry, []string) {
	out := make([]Entry, len(entries))
	seen := map[string]bool{}
	for i := range entries {
		e := cloneEntry(&entries[i])
		if e.Questions == nil && len(adds[e.ID]) > 0 {
			e.Questions = map[string][]string{}
		}
		for _, a := range adds[e.ID] {
			e.Questions[a.Locale] = append(e.Questions[a.Locale], a.Text)
		}
		seen[e.ID] = true
		out[i] = e
	}
	var orphans []string
	for id := range adds {
		if !seen[id] {
			orphans = append(orphans, id)
		}
	}
	slices.Sort(orphans)
	return out, orphans
}
