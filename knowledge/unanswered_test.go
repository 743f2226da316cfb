package knowledge

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/carebot/carebot/store"
)

func TestUnansweredAggregatesByQuery(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "kb.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	t0 := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	records := []Unanswered{
		{Query: "可以寄到火星吗", Text: "可以寄到火星吗？", Locale: "zh-Hans", Outcome: "unanswered", Time: t0},
		{Query: "可以寄到火星吗", Text: "可以寄到火星嗎", Locale: "zh-Hant", Outcome: "clarify", Time: t0.Add(time.Hour)},
		{Query: "可以寄到火星吗", Text: "可以寄到火星吗？", Locale: "zh-Hans", Outcome: "unanswered", Time: t0.Add(2 * time.Hour)},
		{Query: "do you sell pets", Text: "Do you sell pets?", Locale: "en", Outcome: "unanswered", Time: t0.Add(3 * time.Hour)},
		{Query: "   ", Text: "", Time: t0},
	}
	for _, r := range records {
		if err := st.Update(func(tx store.Tx) error { return RecordUnanswered(tx, r) }); err != nil {
			t.Fatal(err)
		}
	}
	var top []UnansweredStat
	if err := st.View(func(tx store.Tx) error {
		var err error
		top, err = TopUnanswered(tx, 10)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(top) != 2 {
		t.Fatalf("got %d aggregates, want 2: %+v", len(top), top)
	}
	mars := top[0]
	if mars.Query != "可以寄到火星吗" || mars.Count != 3 || mars.Outcomes["clarify"] != 1 || mars.Locales["zh-Hant"] != 1 {
		t.Fatalf("aggregate: %+v", mars)
	}
	if len(mars.Examples) != 2 || !mars.FirstSeen.Equal(t0) || !mars.LastSeen.Equal(t0.Add(2*time.Hour)) {
		t.Fatalf("examples or times: %+v", mars)
	}
	if top[1].Query != "do you sell pets" {
		t.Fatalf("second: %+v", top[1])
	}
}
